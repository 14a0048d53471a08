// Whether the device's GLSL fma() is fused (one rounding, as the CPU's vfmadd) or a
// multiplication and an addition each rounded (lavapipe): a shader computes fma() on
// operands whose two roundings differ, and the host compares the results with both
// answers. Device::Create runs it (FmaMode::kAuto) and passes the answer to every pipeline
// as a specialization constant, so FmaExact (shaders/fma_exact.glsl) is plain fma() where
// that already rounds once.
#pragma once

#include <cstdint>

#include "sdk/base/status.h"

namespace kite::vulkan {

class Device;

/// One probe operation: fma(a, b, c), and its result rounded once and rounded twice
/// (a * b rounded, then + c rounded).
struct FmaProbeCase {
  float a, b, c;
  float fused;
  float rounded_twice;
};

/// Number of probe operations.
inline constexpr uint32_t kFmaProbeCases = 6;

/// The probe operations (static storage, kFmaProbeCases of them): the first gives the same
/// result both ways (a check that the shader ran at all), the others differ.
const FmaProbeCase* FmaProbeCases();

/// What the probe's results say.
enum class FmaProbeAnswer {
  kFused,         ///< every result is the one-rounding one
  kNotFused,      ///< every result is the two-rounding one
  kInconsistent,  ///< some are neither, or the two kinds are mixed
};

/// The answer for `results[i]` = the device's fma() of FmaProbeCases()[i], i <
/// kFmaProbeCases, compared bit for bit. Pure.
FmaProbeAnswer DecideFma(const float* results);

/// Runs the probe shader on `device` (its own command stream, one dispatch) and returns
/// DecideFma of the results. Errors: the shader's pipeline or buffers cannot be made, the
/// device is lost or the dispatch times out (a status naming the probe; a timeout leaves
/// the device's own stream failed).
Result<FmaProbeAnswer> ProbeFma(Device& device);

}  // namespace kite::vulkan
