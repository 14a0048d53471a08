#include "sdk/kernels/dispatch.h"

#include <cstdlib>

#include "platform/cpu_features.h"

namespace kite::kernels {

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvxVnni: return "avxvnni";
    case Isa::kAvx512Vnni: return "avx512vnni";
    case Isa::kNeon: return "neon";
    case Isa::kNeonDot: return "neondot";
    case Isa::kNeonI8mm: return "i8mm";
    case Isa::kBest: return "best";
  }
  return "unknown";
}

namespace {

bool EqualsIgnoreCase(const char* a, const char* b) {
  for (; *a != '\0' && *b != '\0'; ++a, ++b) {
    char ca = *a, cb = *b;
    if (ca >= 'A' && ca <= 'Z') ca = static_cast<char>(ca - 'A' + 'a');
    if (cb >= 'A' && cb <= 'Z') cb = static_cast<char>(cb - 'A' + 'a');
    if (ca != cb) return false;
  }
  return *a == *b;
}

constexpr Isa kAllIsas[] = {Isa::kScalar, Isa::kAvx2,    Isa::kAvxVnni,  Isa::kAvx512Vnni,
                            Isa::kNeon,   Isa::kNeonDot, Isa::kNeonI8mm};
constexpr size_t kNumIsas = sizeof(kAllIsas) / sizeof(kAllIsas[0]);

// Tables list the families in KernelTable order: f32_matvec, q8_quantize, q4_matvec,
// q8c_matvec, rmsnorm, rope, softmax, swiglu, qd8_q4r16_gemm, attention, qd8_q4s24_gemm,
// qd8_q4r16s_gemm.
// q4_matvec (the row-group layout) has only the reference: the converter writes Q4_R16_G32
// for speed.
constexpr KernelTable kScalarTable = {
    Isa::kScalar, f32_matvec_ref, q8_quantize_ref, q4_matvec_ref,      q8c_matvec_ref,
    rmsnorm_ref,  rope_ref,       softmax_ref,     swiglu_ref,         qd8_q4r16_gemm_ref,
    attention_ref, qd8_q4s24_gemm_ref, qd8_q4r16s_gemm_ref,
};

#if defined(KITE_KERNELS_X86)
constexpr KernelTable kAvx2Table = {
    Isa::kAvx2,   f32_matvec_avx2, q8_quantize_avx2, q4_matvec_ref,      q8c_matvec_avx2,
    rmsnorm_avx2, rope_avx2,       softmax_avx2,     swiglu_avx2,        qd8_q4r16_gemm_avx2,
    attention_avx2, qd8_q4s24_gemm_avx2, qd8_q4r16s_gemm_avx2,
};
#if defined(KITE_KERNELS_AVXVNNI)
constexpr KernelTable kAvxVnniTable = {
    Isa::kAvxVnni, f32_matvec_avx2, q8_quantize_avx2, q4_matvec_ref, q8c_matvec_avx2,
    rmsnorm_avx2,  rope_avx2,       softmax_avx2,     swiglu_avx2,   qd8_q4r16_gemm_avxvnni,
    attention_avx2, qd8_q4s24_gemm_avxvnni, qd8_q4r16s_gemm_avxvnni,
};
#endif
constexpr KernelTable kAvx512VnniTable = {
    Isa::kAvx512Vnni, f32_matvec_avx512, q8_quantize_avx512, q4_matvec_ref, q8c_matvec_avx512,
    rmsnorm_avx512,   rope_avx512,       softmax_avx512,     swiglu_avx512, qd8_q4r16_gemm_avx512vnni,
    attention_avx512, qd8_q4s24_gemm_avx512vnni, qd8_q4r16s_gemm_avx512vnni,
};
#endif

#if defined(KITE_KERNELS_ARM)
// q8-quantize, rmsnorm, rope and softmax have one NEON variant each, shared by the three Arm
// tables; f32/q8c matvec, swiglu, attention and the 2:4 sparse 4-bit GEMM use their
// reference on Arm so far. Only the dense 4-bit GEMMs (both layouts) use dotprod / i8mm.
constexpr KernelTable kNeonTable = {
    Isa::kNeon,   f32_matvec_ref, q8_quantize_neon, q4_matvec_ref,      q8c_matvec_ref,
    rmsnorm_neon, rope_neon,      softmax_neon,     swiglu_ref,         qd8_q4r16_gemm_neon,
    attention_ref, qd8_q4s24_gemm_ref, qd8_q4r16s_gemm_neon,
};
#if defined(KITE_KERNELS_NEONDOT)
constexpr KernelTable kNeonDotTable = {
    Isa::kNeonDot, f32_matvec_ref, q8_quantize_neon, q4_matvec_ref,      q8c_matvec_ref,
    rmsnorm_neon,  rope_neon,      softmax_neon,     swiglu_ref,         qd8_q4r16_gemm_neondot,
    attention_ref, qd8_q4s24_gemm_ref, qd8_q4r16s_gemm_neondot,
};
#endif
#if defined(KITE_KERNELS_I8MM)
constexpr KernelTable kNeonI8mmTable = {
    Isa::kNeonI8mm, f32_matvec_ref, q8_quantize_neon, q4_matvec_ref,      q8c_matvec_ref,
    rmsnorm_neon,   rope_neon,      softmax_neon,     swiglu_ref,         qd8_q4r16_gemm_i8mm,
    attention_ref, qd8_q4s24_gemm_ref, qd8_q4r16s_gemm_i8mm,
};
#endif
#endif

// The table compiled for `isa`, or null when this build has none.
const KernelTable* TableFor(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return &kScalarTable;
#if defined(KITE_KERNELS_X86)
    case Isa::kAvx2: return &kAvx2Table;
#if defined(KITE_KERNELS_AVXVNNI)
    case Isa::kAvxVnni: return &kAvxVnniTable;
#endif
    case Isa::kAvx512Vnni: return &kAvx512VnniTable;
#endif
#if defined(KITE_KERNELS_ARM)
    case Isa::kNeon: return &kNeonTable;
#if defined(KITE_KERNELS_NEONDOT)
    case Isa::kNeonDot: return &kNeonDotTable;
#endif
#if defined(KITE_KERNELS_I8MM)
    case Isa::kNeonI8mm: return &kNeonI8mmTable;
#endif
#endif
    default: return nullptr;
  }
}

bool CpuRuns(Isa isa) {
  const CpuFeatures& f = GetCpuFeatures();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return avx2;
    case Isa::kAvxVnni: return avx2 && f.avx_vnni;
    case Isa::kAvx512Vnni:
      return avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512_vnni;
    case Isa::kNeon: return f.neon;
    case Isa::kNeonDot: return f.neon && f.dotprod;
    case Isa::kNeonI8mm: return f.neon && f.dotprod && f.i8mm;
    case Isa::kBest: return false;
  }
  return false;
}

bool IsArm(Isa isa) {
  return isa == Isa::kNeon || isa == Isa::kNeonDot || isa == Isa::kNeonI8mm;
}

struct SupportedList {
  const KernelTable* tables[kNumIsas];
  size_t n;
};

SupportedList BuildSupportedList() {
  SupportedList list{};
  for (Isa isa : kAllIsas) {
    if (IsaSupported(isa)) list.tables[list.n++] = TableFor(isa);
  }
  return list;
}

const SupportedList& Supported() {
  static const SupportedList list = BuildSupportedList();
  return list;
}

}  // namespace

Isa ParseIsa(const char* name, bool* ok) {
  if (name != nullptr) {
    for (Isa isa : kAllIsas) {
      if (EqualsIgnoreCase(name, IsaName(isa))) {
        if (ok != nullptr) *ok = true;
        return isa;
      }
    }
    if (EqualsIgnoreCase(name, IsaName(Isa::kBest))) {
      if (ok != nullptr) *ok = true;
      return Isa::kBest;
    }
  }
  if (ok != nullptr) *ok = false;
  return Isa::kBest;
}

Isa MaxIsaFromEnvironment(bool* valid) {
  const char* value = std::getenv("KITE_ISA");
  if (value == nullptr || value[0] == '\0') {
    if (valid != nullptr) *valid = true;
    return Isa::kBest;
  }
  return ParseIsa(value, valid);
}

bool IsaSupported(Isa isa) { return TableFor(isa) != nullptr && CpuRuns(isa); }

const KernelTable& SelectKernels(Isa max_isa) {
  const SupportedList& list = Supported();
  // Ascending order: the last table at or below the ceiling (and of the ceiling's
  // architecture, unless it is kBest) is the best one.
  const KernelTable* best = list.tables[0];
  for (size_t i = 1; i < list.n; ++i) {
    const Isa isa = list.tables[i]->isa;
    const bool same_arch = max_isa == Isa::kBest || IsArm(isa) == IsArm(max_isa);
    if (same_arch && static_cast<int>(isa) <= static_cast<int>(max_isa)) best = list.tables[i];
  }
  return *best;
}

const KernelTable* const* AllSupportedKernelTables(size_t* n) {
  const SupportedList& list = Supported();
  if (n != nullptr) *n = list.n;
  return list.tables;
}

}  // namespace kite::kernels
