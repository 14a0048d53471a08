// The kernel table: one function pointer per kernel family, chosen once when a model is
// loaded. Hot code calls through the table and never asks which ISA it runs on.
#pragma once

#include <cstddef>

#include "sdk/kernels/attention/attention.h"
#include "sdk/kernels/f32-matvec/f32-matvec.h"
#include "sdk/kernels/q4-matvec/q4-matvec.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/q8c-matvec/q8c-matvec.h"
#include "sdk/kernels/qd8-q3r16-gemm/qd8-q3r16-gemm.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "sdk/kernels/qd8-q4sp24-gemm/qd8-q4sp24-gemm.h"
#include "sdk/kernels/rmsnorm/rmsnorm.h"
#include "sdk/kernels/rope/rope.h"
#include "sdk/kernels/swiglu/swiglu.h"

namespace kite::kernels {

/// Instruction sets, lowest first within each architecture. A request for one picks the
/// best available at or below it on the same architecture; a ceiling naming the other
/// architecture's ISA (e.g. KITE_ISA=avx2 on Arm) leaves only the scalar kernels.
///
/// x86-64: kAvx2 means AVX2 + FMA + F16C; kAvxVnni adds AVX-VNNI (256-bit vpdpbusd);
/// kAvx512Vnni means AVX-512 F/BW/VL/DQ/VNNI + AVX2 + FMA + F16C (it does not need AVX-VNNI;
/// every AVX-512 VNNI CPU has DQ, which the AVX-512 elementwise kernels use).
///
/// Arm: kNeon is Advanced SIMD (aarch64, or armv7 with NEON + VFPv4); kNeonDot adds the
/// dot product instructions (sdot, aarch64 only); kNeonI8mm adds the int8 matrix multiply
/// (smmla, aarch64 only; dispatch also requires dotprod, which every such CPU has).
enum class Isa : int {
  kScalar = 0,
  kAvx2 = 1,
  kAvxVnni = 2,
  kAvx512Vnni = 3,
  kNeon = 11,
  kNeonDot = 12,
  kNeonI8mm = 13,
  kBest = 1000,
};

/// Name of an ISA: "scalar", "avx2", "avxvnni", "avx512vnni", "neon", "neondot", "i8mm",
/// "best" ("unknown" otherwise). The returned string is static.
const char* IsaName(Isa isa);

/// Parses an ISA name as printed by IsaName (ASCII case-insensitive). Returns kBest and
/// sets *ok = false (when `ok` is non-null) for null or unknown names; otherwise sets
/// *ok = true. Pure; thread-safe.
Isa ParseIsa(const char* name, bool* ok = nullptr);

/// The ISA ceiling requested by the environment variable KITE_ISA (a name accepted by
/// ParseIsa). Unset or empty: kBest with *valid = true. Set to an unknown name: kBest with
/// *valid = false, so the caller can warn. `valid` may be null. Reads the environment with
/// getenv: do not call concurrently with setenv/putenv.
Isa MaxIsaFromEnvironment(bool* valid = nullptr);

/// Function pointers of every kernel family for one ISA. Immutable; shared freely. Every
/// pointer is non-null; families without a faster variant point at their *_ref kernel.
/// (softmax has no entry: only the attention kernels call it, each its own ISA's variant.)
struct KernelTable {
  Isa isa;
  F32MatvecFn f32_matvec;
  Q8QuantizeFn q8_quantize;
  Q4MatvecFn q4_matvec;
  Q8cMatvecFn q8c_matvec;
  RmsNormFn rmsnorm;
  RopeFn rope;
  RopeFreqsFn rope_freqs;  ///< RoPE with given inverse frequencies (e.g. Llama 3 scaled)
  SwigluFn swiglu;
  Qd8Q4r16GemmFn qd8_q4r16_gemm;  ///< Q4_R16_G32 weights x q8 activations (decode/prefill).
  AttentionFn attention;          ///< one head of causal attention over the KV cache
  Qd8Q4sp24GemmFn qd8_q4sp24_gemm;  ///< 2:4 sparse Q4_SP24_R16_G64 weights x q8 activations
  Qd8Q4r16GemmFn qd8_q4r16sym_gemm;  ///< offset-free Q4_R16_G32_SYM weights x q8 activations
  AttentionQ8kvFn attention_q8kv;  ///< attention over an int8 KV cache (SessionOptions::kv_type)
  Qd8Q4r16CbGemmFn qd8_q4r16cb_gemm;  ///< codebook Q4_R16_G32_CB weights x q8 activations
  Qd8Q3r16GemmFn qd8_q3r16_gemm;  ///< 3-bit Q3_R16_G32 / Q3_R16_G64 weights x q8 activations
};

/// True when this build has kernels for `isa` and this CPU (and OS) can run them.
/// kScalar is always supported; kBest is not an ISA (false). Thread-safe.
bool IsaSupported(Isa isa);

/// The best table this build and CPU support at or below `max_isa` (kScalar at worst).
/// Thread-safe; the result is a static object valid for the program's lifetime.
const KernelTable& SelectKernels(Isa max_isa);

/// Every table this build and CPU support, in ascending ISA order (the scalar one first);
/// stores their number in *n. The array and tables are static, valid for the program's
/// lifetime. Thread-safe. Meant for tests and benchmarks that run every variant.
const KernelTable* const* AllSupportedKernelTables(size_t* n);

}  // namespace kite::kernels
