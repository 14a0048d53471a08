// The SPIR-V of every shader, compiled from shaders/*.comp by glslc (or assembled from
// shaders/*.spvasm by spirv-as) at build time and checked by spirv-val (CMakeLists.txt),
// embedded as uint32 words.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kite::vulkan {

/// One shader's SPIR-V: `words` uint32 words. Static storage.
struct ShaderCode {
  const uint32_t* spirv;
  size_t words;
};

/// shaders/q4r16_matvec.comp: Q4_R16_G32(_SYM) x int8 matvec (Q4R16Matvec).
ShaderCode Q4R16MatvecShader();
/// shaders/q4r16_matvec_dot.spvasm: the same with packed 4x8-bit integer dot products
/// (OpSDot; Q4R16Matvec's kIntegerDot variant). Needs VK_KHR_shader_integer_dot_product.
ShaderCode Q4R16MatvecDotShader();
/// shaders/q3r16_matvec.comp: Q3_R16_G32 x int8 matvec and tiled GEMM (Q3R16Matvec).
ShaderCode Q3R16MatvecShader();
/// shaders/q3r16_matvec_dot.spvasm: the same with packed 4x8-bit integer dot products
/// (OpSDot), made by tools/gen-dot-shader.py.
ShaderCode Q3R16MatvecDotShader();
/// shaders/rmsnorm.comp: RMS normalisation (RmsNorm).
ShaderCode RmsNormShader();

// Matrix and input ops (vkmat).
/// shaders/q8_quantize.comp: f32 rows to int8 groups of 32 (Q8Quantize).
ShaderCode Q8QuantizeShader();
/// shaders/f32_matvec.comp: f32 row-major matrix times f32 rows (DenseMatvec, F32).
ShaderCode F32MatvecShader();
/// shaders/q8c_matvec.comp: Q8_C matrix (int8 rows, f32 row scales) times f32 rows
/// (DenseMatvec, Q8_C).
ShaderCode Q8CMatvecShader();
/// shaders/embedding_{f32,q8c,q4r16,q4g,q4sp24,q3r16}.comp: table rows to f32 (Embedding).
ShaderCode EmbeddingF32Shader();
ShaderCode EmbeddingQ8CShader();
ShaderCode EmbeddingQ4R16Shader();
ShaderCode EmbeddingQ4gShader();
ShaderCode EmbeddingQ4Sp24Shader();
ShaderCode EmbeddingQ3R16Shader();
// Element-wise ops, RoPE and attention.
/// shaders/elementwise.comp: add and SwiGLU (Elementwise).
ShaderCode ElementwiseShader();
/// shaders/rope.comp: rotary position embedding (Rope).
ShaderCode RopeShader();
/// shaders/attention.comp: causal attention over an f32 or int8 KV cache (Attention).
ShaderCode AttentionShader();
/// shaders/q8kv_quantize.comp: f32 K/V rows to the int8 cache (Q8kvQuantize).
ShaderCode Q8kvQuantizeShader();
// The other 4-bit layouts (vkq4).
/// shaders/q4sp24_matvec.comp: Q4_SP24_R16_G64 (2:4 sparse) x int8 matvec (Q4Sp24Matvec).
ShaderCode Q4Sp24MatvecShader();
/// shaders/q4g_matvec.comp: Q4_ROW_GROUPS x int8 matvec (Q4gMatvec).
ShaderCode Q4gMatvecShader();
// The fma probe and the f16 weights' matvec (vkfp16).
/// shaders/fma_probe.comp: GLSL's fma() of operand triples (ProbeFma, fma_probe.h).
ShaderCode FmaProbeShader();
/// shaders/f16_matvec.comp: f16 row-major matrix times f32 rows (DenseMatvec, F16). Needs
/// DeviceFacts::storage_buffer_16bit.
ShaderCode F16MatvecShader();

}  // namespace kite::vulkan
