// Rotary position embedding on interleaved pairs (llama2.c / Meta Llama convention).
#pragma once

#include <cstddef>

namespace kite::kernels {

/// Rotates each pair (x[2i], x[2i+1]) of each of `n_heads` heads of `head_dim` floats
/// by angle pos * theta^(-2i / head_dim), in place. `head_dim` is even. Pure.
using RopeFn = void (*)(size_t n_heads, size_t head_dim, size_t pos, float theta, float* x);

/// Scalar reference (the specification).
void rope_ref(size_t n_heads, size_t head_dim, size_t pos, float theta, float* x);

}  // namespace kite::kernels
