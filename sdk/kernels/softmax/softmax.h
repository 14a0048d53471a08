// Numerically stable softmax in place.
#pragma once

#include <cstddef>

namespace kite::kernels {

/// x[i] = exp(x[i] - max) / sum_j exp(x[j] - max) over `n` > 0 floats. Pure.
using SoftmaxFn = void (*)(size_t n, float* x);

/// Scalar reference (the specification).
void softmax_ref(size_t n, float* x);

}  // namespace kite::kernels
