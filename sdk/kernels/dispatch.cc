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

// Each table is the one below it (scalar for the first of an architecture) with only what
// differs overridden by name. Families without a faster variant keep their reference:
// q4_matvec on x86 (the row-group layout; the converter writes Q4_R16_G32 for speed) and
// rope_freqs (scaled RoPE, rare on the devices Kite targets) everywhere.
constexpr KernelTable MakeScalarTable() {
  KernelTable t{};
  t.isa = Isa::kScalar;
  t.f32_matvec = f32_matvec_ref;
  t.q8_quantize = q8_quantize_ref;
  t.q4_matvec = q4_matvec_ref;
  t.q8c_matvec = q8c_matvec_ref;
  t.rmsnorm = rmsnorm_ref;
  t.rope = rope_ref;
  t.rope_freqs = rope_freqs_ref;
  t.swiglu = swiglu_ref;
  t.qd8_q4r16_gemm = qd8_q4r16_gemm_ref;
  t.attention = attention_ref;
  t.qd8_q4sp24_gemm = qd8_q4sp24_gemm_ref;
  t.qd8_q4r16sym_gemm = qd8_q4r16sym_gemm_ref;
  t.attention_q8kv = attention_q8kv_ref;
  t.qd8_q4r16cb_gemm = qd8_q4r16cb_gemm_ref;
  t.qd8_q3r16_gemm = qd8_q3r16_gemm_ref;
  return t;
}
constexpr KernelTable kScalarTable = MakeScalarTable();

// `base` for `isa`, with the fields `set` overrides (by name).
template <class Set>
constexpr KernelTable Derive(KernelTable base, Isa isa, Set set) {
  base.isa = isa;
  set(base);
  return base;
}

// The dense 4-bit GEMMs (both Q4_R16_G32 layouts) of the variant named by suffix `s`.
#define KITE_SET_DENSE_Q4_GEMMS(t, s)    \
  t.qd8_q4r16_gemm = qd8_q4r16_gemm_##s; \
  t.qd8_q4r16sym_gemm = qd8_q4r16sym_gemm_##s

#if defined(KITE_KERNELS_X86)
// Every 4-bit GEMM (dense and 2:4 sparse) of the x86 variant named by suffix `s`.
#define KITE_SET_X86_Q4_GEMMS(t, s) \
  KITE_SET_DENSE_Q4_GEMMS(t, s);    \
  t.qd8_q4sp24_gemm = qd8_q4sp24_gemm_##s

// The families with one variant per x86 vector width (suffix `s`: avx2 or avx512); the
// AVX-512 table replaces every family the AVX2 one has.
#define KITE_SET_X86_VECTOR_FAMILIES(t, s) \
  t.f32_matvec = f32_matvec_##s;           \
  t.q8_quantize = q8_quantize_##s;         \
  t.q8c_matvec = q8c_matvec_##s;           \
  t.rmsnorm = rmsnorm_##s;                 \
  t.rope = rope_##s;                       \
  t.swiglu = swiglu_##s;                   \
  t.attention = attention_##s;             \
  t.attention_q8kv = attention_q8kv_##s

constexpr KernelTable kAvx2Table = Derive(kScalarTable, Isa::kAvx2, [](KernelTable& t) {
  KITE_SET_X86_VECTOR_FAMILIES(t, avx2);
  KITE_SET_X86_Q4_GEMMS(t, avx2);
  t.qd8_q4r16cb_gemm = qd8_q4r16cb_gemm_avx2;
  t.qd8_q3r16_gemm = qd8_q3r16_gemm_avx2;  // also the AVX-VNNI table's
});

#if defined(KITE_KERNELS_AVXVNNI)
// AVX2 plus the 256-bit vpdpbusd GEMMs.
constexpr KernelTable kAvxVnniTable = Derive(
    kAvx2Table, Isa::kAvxVnni, [](KernelTable& t) {
      KITE_SET_X86_Q4_GEMMS(t, avxvnni);
      t.qd8_q4r16cb_gemm = qd8_q4r16cb_gemm_avxvnni;
    });
#endif

// AVX-512 does not need AVX-VNNI (see Isa), so it starts from the AVX2 table.
constexpr KernelTable kAvx512VnniTable = Derive(kAvx2Table, Isa::kAvx512Vnni, [](KernelTable& t) {
  KITE_SET_X86_VECTOR_FAMILIES(t, avx512);
  KITE_SET_X86_Q4_GEMMS(t, avx512vnni);
  t.qd8_q4r16cb_gemm = qd8_q4r16cb_gemm_avx512vnni;
  t.qd8_q3r16_gemm = qd8_q3r16_gemm_avx512vnni;
});
#endif

#if defined(KITE_KERNELS_ARM)
// Every family but rope_freqs (see above) has one NEON variant, shared by the
// three Arm tables; the 4-bit GEMMs use dotprod (dense and 2:4) and i8mm (dense only), the
// 3-bit GEMM dotprod and i8mm.
constexpr KernelTable kNeonTable = Derive(kScalarTable, Isa::kNeon, [](KernelTable& t) {
  t.f32_matvec = f32_matvec_neon;
  t.q8_quantize = q8_quantize_neon;
  t.q4_matvec = q4_matvec_neon;
  t.q8c_matvec = q8c_matvec_neon;
  t.rmsnorm = rmsnorm_neon;
  t.rope = rope_neon;
  t.swiglu = swiglu_neon;
  t.attention = attention_neon;
  t.attention_q8kv = attention_q8kv_neon;
  KITE_SET_DENSE_Q4_GEMMS(t, neon);
  t.qd8_q4sp24_gemm = qd8_q4sp24_gemm_neon;
  t.qd8_q4r16cb_gemm = qd8_q4r16cb_gemm_neon;
  t.qd8_q3r16_gemm = qd8_q3r16_gemm_neon;
});

#if defined(KITE_KERNELS_NEONDOT)
constexpr KernelTable kNeonDotTable = Derive(kNeonTable, Isa::kNeonDot, [](KernelTable& t) {
  KITE_SET_DENSE_Q4_GEMMS(t, neondot);
  t.qd8_q4sp24_gemm = qd8_q4sp24_gemm_neondot;
  t.qd8_q4r16cb_gemm = qd8_q4r16cb_gemm_neondot;
  t.qd8_q3r16_gemm = qd8_q3r16_gemm_neondot;
});
#endif

#if defined(KITE_KERNELS_I8MM)
// i8mm needs dotprod (see Isa) and its GEMMs call the dotprod ones for an odd last token.
// The 2:4 GEMM keeps its dotprod variant (its per-row gather does not fit smmla's 2x8 tiles;
// expanded to dense weights, smmla would issue as many multiplies per token as the sparse
// sdot does, plus the expansion).
constexpr KernelTable kNeonI8mmTable = Derive(kNeonDotTable, Isa::kNeonI8mm, [](KernelTable& t) {
  KITE_SET_DENSE_Q4_GEMMS(t, i8mm);
  t.qd8_q4r16cb_gemm = qd8_q4r16cb_gemm_i8mm;
  t.qd8_q3r16_gemm = qd8_q3r16_gemm_i8mm;
});
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
