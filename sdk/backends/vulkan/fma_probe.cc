#include "sdk/backends/vulkan/fma_probe.h"

#include <cstring>
#include <utility>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/op.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/shaders.h"

namespace kite::vulkan {

namespace {

// Longest the probe's one dispatch may take (a few microseconds anywhere).
constexpr uint64_t kProbeTimeoutNs = 10000000000ull;

// Products a * b = p + e with e at or just below half an ulp of p, so that rounding the
// product first loses e (or rounds a tie to even) before c cancels p.
constexpr FmaProbeCase kCases[kFmaProbeCases] = {
    {2.0f, 3.0f, 1.0f, 7.0f, 7.0f},
    // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24: a tie, rounded to the even 1 + 2^-11.
    {0x1.001p0f, 0x1.001p0f, -0x1.002p0f, 0x1p-24f, 0.0f},
    {0x1.001p0f, 0x1.001p0f, -1.0f, 0x1.0008p-11f, 0x1p-11f},
    {-0x1.001p0f, 0x1.001p0f, 0x1.002p0f, -0x1p-24f, 0.0f},
    // (1 + 2^-23)(1 - 2^-24) = 1 + 2^-24 - 2^-47: just below the tie, rounded to 1.
    {0x1.000002p0f, 0x1.fffffep-1f, -1.0f, 0x1.fffffcp-25f, 0.0f},
    // 2^20 (1 + 2^-23)^2 = 2^20 (1 + 2^-22 + 2^-46).
    {0x1.000002p10f, 0x1.000002p10f, -0x1.000004p20f, 0x1p-26f, 0.0f},
};

bool SameBits(float x, float y) { return std::memcmp(&x, &y, sizeof(float)) == 0; }

}  // namespace

const FmaProbeCase* FmaProbeCases() { return kCases; }

FmaProbeAnswer DecideFma(const float* results) {
  bool all_fused = true;
  bool all_twice = true;
  for (uint32_t i = 0; i < kFmaProbeCases; ++i) {
    all_fused = all_fused && SameBits(results[i], kCases[i].fused);
    all_twice = all_twice && SameBits(results[i], kCases[i].rounded_twice);
  }
  if (all_fused) return FmaProbeAnswer::kFused;
  return all_twice ? FmaProbeAnswer::kNotFused : FmaProbeAnswer::kInconsistent;
}

Result<FmaProbeAnswer> ProbeFma(Device& device) {
  const char* name = "fma_probe";
  const uint32_t spec[] = {1};
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline, CreateOpPipeline(device, name, FmaProbeShader(), 2,
                                                            sizeof(uint32_t), spec, 1));
  KITE_ASSIGN_OR_RETURN(Buffer in, Buffer::Create(device, kFmaProbeCases * 3 * 4, name));
  KITE_ASSIGN_OR_RETURN(Buffer out, Buffer::Create(device, kFmaProbeCases * 4, name));
  KITE_CHECK_OR_RETURN(in.data() != nullptr && out.data() != nullptr, Error::kUnsupported,
                       "fma probe: no host-visible memory");
  float* v = static_cast<float*>(in.data());
  for (uint32_t i = 0; i < kFmaProbeCases; ++i) {
    v[3 * i] = kCases[i].a;
    v[3 * i + 1] = kCases[i].b;
    v[3 * i + 2] = kCases[i].c;
  }
  std::memset(out.data(), 0xff, kFmaProbeCases * 4);  // NaNs: a dispatch that did not run
  KITE_ASSIGN_OR_RETURN(DescriptorPool pool, DescriptorPool::Create(device, 1, 2));
  const Buffer* buffers[] = {&in, &out};
  const uint32_t n = kFmaProbeCases;
  KITE_ASSIGN_OR_RETURN(Dispatch dispatch,
                        pipeline.Prepare(pool, buffers, &n, kFmaProbeCases, 1, 0));
  KITE_ASSIGN_OR_RETURN(VkCommandBuffer commands, device.Begin());
  dispatch.Record(commands, 1, 0);
  const Status s = device.SubmitAndWait(kProbeTimeoutNs);
  KITE_CHECK_OR_RETURN(s.ok(), s.code(), "fma probe: %s", s.message());
  float results[kFmaProbeCases];
  std::memcpy(results, out.data(), sizeof(results));
  return DecideFma(results);
}

}  // namespace kite::vulkan
