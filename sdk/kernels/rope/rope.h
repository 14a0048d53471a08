// Rotary position embedding on interleaved pairs (llama2.c / Meta Llama convention).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kite::kernels {

/// Rotates each pair (x[2i], x[2i+1]) of each of `n_heads` heads of `head_dim` floats
/// by angle pos * theta^(-2i / head_dim), in place. `head_dim` is even. Pure.
using RopeFn = void (*)(size_t n_heads, size_t head_dim, size_t pos, float theta, float* x);

/// Scalar reference (the specification).
void rope_ref(size_t n_heads, size_t head_dim, size_t pos, float theta, float* x);

/// The same rotation with the head_dim / 2 inverse frequencies given (angle pos *
/// inv_freq[i], e.g. Llama 3's scaled RoPE, computed once at load) instead of derived from
/// theta. Scalar only: scaled models are rare on the devices Kite targets. Pure.
void rope_freqs_ref(size_t n_heads, size_t head_dim, size_t pos, const float* inv_freq,
                    float* x);
/// Signature of rope_freqs_ref (the kernel table's rope_freqs entry).
using RopeFreqsFn = void (*)(size_t n_heads, size_t head_dim, size_t pos, const float* inv_freq,
                             float* x);

/// Fills inv_freq[0 .. head_dim / 2) with the unscaled inverse frequencies (radians per
/// position) theta^(-2i / head_dim), computed in float exactly as rope_ref computes them.
/// `head_dim` is even. Pure; used at load (a scaled model's table) and by the converter.
void RopeInverseFrequencies(size_t head_dim, float theta, float* inv_freq);

/// The rotations of every pair at positions 0 .. n_pos - 1, for a backend that cannot call
/// libm (the Vulkan RoPE's table): cos_sin[2 (pos pairs + i)] and [2 (pos pairs + i) + 1]
/// are the cosine and sine of pair i's angle float(pos) * inv_freq[i], computed as the CPU
/// kernels compute them (RopeCosSin, sdk/kernels/rope/angle.h), so a rotation by them is
/// rope_freqs_ref's bit for bit (and rope_ref's with RopeInverseFrequencies' table).
/// `pairs` = head_dim / 2; cos_sin holds 2 n_pos pairs floats. Pure.
void RopeCosSinTable(size_t pairs, const float* inv_freq, size_t n_pos, float* cos_sin);

/// Llama 3 RoPE frequency scaling (kite.schema.RopeScaling.LLAMA3): rescales the
/// n = head_dim / 2 base inverse frequencies `inv_freq` (radians per position) in place.
/// `original_max_seq_len` is the context length the base frequencies were trained for.
/// Requires factor > 0 and high_freq_factor > low_freq_factor > 0. Pure; one definition for
/// the runtime's table (sdk/runtime/loader) and the converter's float model.
void ScaleRopeLlama3(float* inv_freq, uint32_t n, float factor, float low_freq_factor,
                     float high_freq_factor, uint32_t original_max_seq_len);

/// AVX2 variant; the CPU must support AVX2 + FMA (x86-64 builds with GCC or
/// Clang only; dispatch checks the features). Same contract and thread safety as the reference.
/// Computes the head_dim / 2 angles with libm exactly as the reference, then rotates
/// all heads with vector multiplies and adds (no FMA): same results as the reference.
/// Uses 2 KB of stack; no other memory.
void rope_avx2(size_t n_heads, size_t head_dim, size_t pos, float theta, float* x);

/// AVX-512 variant; the CPU must support AVX512F/BW/VL/DQ + FMA (x86-64 builds with GCC or
/// Clang only; dispatch checks the features). Same contract and thread safety as the reference.
/// Computes the head_dim / 2 angles with libm exactly as the reference, then rotates
/// all heads with vector multiplies and adds (no FMA): same results as the reference.
/// Uses 2 KB of stack; no other memory.
void rope_avx512(size_t n_heads, size_t head_dim, size_t pos, float theta, float* x);

/// NEON variant (aarch64, or armv7 with NEON + VFPv4; dispatch checks the features). Same
/// contract and thread safety as the reference. Computes the head_dim / 2 angles with libm
/// exactly as the reference, then rotates 4 pairs per step with separate multiplies and
/// adds: same results as the reference (for normal values; armv7 NEON flushes denormals).
/// Uses 2 KB of stack; no other memory.
void rope_neon(size_t n_heads, size_t head_dim, size_t pos, float theta, float* x);

}  // namespace kite::kernels
