// RMS normalisation: out = weight * x / sqrt(mean(x^2) + eps).
#pragma once

#include <cstddef>

namespace kite::kernels {

/// Normalises `n` floats of `x` and scales by `weight`; `out` may alias `x`. Pure.
using RmsNormFn = void (*)(size_t n, const float* x, const float* weight, float eps, float* out);

/// Scalar reference (the specification).
void rmsnorm_ref(size_t n, const float* x, const float* weight, float eps, float* out);

}  // namespace kite::kernels
