// SwiGLU gate: gate[i] = silu(gate[i]) * up[i], silu(x) = x / (1 + exp(-x)).
#pragma once

#include <cstddef>

namespace kite::kernels {

/// Applies the gate in place on `n` floats of `gate`. Pure.
using SwigluFn = void (*)(size_t n, float* gate, const float* up);

/// Scalar reference (the specification).
void swiglu_ref(size_t n, float* gate, const float* up);

}  // namespace kite::kernels
