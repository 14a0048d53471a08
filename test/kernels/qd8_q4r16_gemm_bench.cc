// Micro-benchmarks of qd8-q4r16-gemm (layout Q4_R16_G32) and qd8-q4r16sym-gemm (offset-free
// Q4_R16_G32_SYM), every variant this CPU supports, single thread, at TinyLlama-1.1B shapes:
//   m = 1  (decode): weights stream from DRAM (the benchmark cycles through >= 1 GiB of
//          copies, as a real model's 0.6 GB per token would); reported as bytes/s of
//          weights. "m1_cached" repeats one copy (L2/L3-resident) for comparison.
//   m = 64 (prefill): reported as int8 ops/s, 2 * m * rows * cols ops per call.
//   prefill_m<m>: the offset-free layout at m = 8, 16, 64, 128 tokens on cache-resident
//          weights at k = 576 (smollm-135m) and 2048, also as int8 ops/s;
//          prefill_cold_m<m>: m = 64, 128 with the weights streaming from DRAM.
// Roofline probes run first: a streaming read of 1 GiB (bytes/s), a vpdpbusd loop (int8
// ops/s) and tile_mix_avx512vnni/*, loops with the prefill tile's instruction mix (what this
// CPU allows a 4-bit tile: see BM_TileMix). Not a test: run by hand, e.g.
//   qd8_q4r16_gemm_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "platform/cpu_features.h"
#include "sdk/format/format.h"
#include "sdk/kernels/dispatch.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/qd8-q4r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "test/kernels/qd8_gemm_bench.h"

namespace {

namespace k = kite::kernels;
using namespace kite::qd8_gemm_bench;  // the shared pool, loop and names (qd8_gemm_bench.h)

struct Shape {
  size_t rows, cols;
  const char* what;
};
constexpr Shape kShapes[] = {
    {2048, 2048, "attn_q/o"},
    {5632, 2048, "ffn_gate/up"},
    {2048, 5632, "ffn_down"},
    {32000, 2048, "lm_head"},
};

// One packed random rows x cols matrix; `sym`: the offset-free layout Q4_R16_G32_SYM instead
// of Q4_R16_G32.
WeightPool* GetPackedPool(size_t rows, size_t cols, bool cold, bool sym) {
  const size_t matrix_bytes =
      sym ? kite::PackedBytes(kite::DType::Q4_G, kite::Layout::Q4_R16_G32_SYM, rows, cols,
                              kite::kQ4R16GroupSize)
          : kite::PackedBytes(kite::DType::Q4_G, kite::Layout::Q4_R16_G32, rows, cols,
                              kite::kQ4R16GroupSize);
  return GetPool(sym, rows, cols, matrix_bytes, cold, [&](uint8_t* data) {
    const size_t groups = (cols + 31) / 32;
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> nibble(0, 15);
    std::uniform_real_distribution<float> scale(0.001f, 0.05f), offset(-0.4f, 0.0f);
    std::vector<uint8_t> u(rows * groups * 32);
    for (auto& v : u) v = static_cast<uint8_t>(nibble(rng));
    std::vector<uint16_t> d(rows * groups), o(rows * groups);
    for (auto& v : d) v = kite::FloatToHalf(scale(rng));
    for (auto& v : o) v = kite::FloatToHalf(offset(rng));
    if (sym) {
      k::PackQ4R16Sym(rows, cols, u.data(), d.data(), data);
    } else {
      k::PackQ4R16(rows, cols, u.data(), d.data(), o.data(), data);
    }
  });
}

void BM_Gemm(benchmark::State& state, k::Qd8Q4r16GemmFn fn, Shape shape, Mode mode, bool sym) {
  const size_t m = Tokens(mode);
  const WeightPool* pool = GetPackedPool(shape.rows, shape.cols, mode == Mode::kM1, sym);
  const Acts a(m, shape.cols);
  TimeCalls(state, *pool, m, [&](const uint8_t* w, float* y) {
    fn(m, shape.rows, a.groups, w, a.q.data(), a.scale.data(), a.sum.data(), y, shape.rows);
  });
}

// Prefill at other token counts (the offset-free layout, cache-resident weights): m tokens
// of the shape, so tile widths and the narrower last tile show at smollm (k = 576) and
// tinyllama (k = 2048) widths.
// `cold`: the weights stream from DRAM (copies of the matrix filling kColdPoolBytes), as a
// real model's 0.6 GB do once per prefill chunk.
void BM_GemmPrefill(benchmark::State& state, k::Qd8Q4r16GemmFn fn, Shape shape, size_t m,
                    bool cold) {
  const WeightPool* pool = GetPackedPool(shape.rows, shape.cols, cold, true);
  const Acts a(m, shape.cols);
  TimeCalls(state, *pool, m, [&](const uint8_t* w, float* y) {
    fn(m, shape.rows, a.groups, w, a.q.data(), a.scale.data(), a.sum.data(), y, shape.rows);
  });
}
constexpr Shape kPrefillShapes[] = {
    {1536, 576, "smollm ffn_gate/up"},
    {512, 2048, "L2-resident at k = 2048 (0.6 MB)"},
    {2048, 2048, "tinyllama attn_q/o"},
};
constexpr size_t kPrefillTokens[] = {8, 16, 64, 128};
// Prefill from DRAM ("prefill_cold_m<m>"): tinyllama's ffn_gate/up at a prefill chunk's
// token counts.
constexpr Shape kPrefillColdShape = {5632, 2048, "tinyllama ffn_gate/up"};
constexpr size_t kPrefillColdTokens[] = {64, 128};

// The codebook layout Q4_R16_G32_CB: the offset-free pool's bytes (the same blocks) read
// through a non-uniform codebook.
void BM_GemmCb(benchmark::State& state, k::Qd8Q4r16CbGemmFn fn, Shape shape, Mode mode) {
  const size_t m = Tokens(mode);
  const WeightPool* pool = GetPackedPool(shape.rows, shape.cols, mode == Mode::kM1, true);
  const Acts a(m, shape.cols);
  static const int8_t kCodebook[kite::kQ4CodebookEntries] = {-127, -90, -64, -45, -31, -20, -11,
                                                             -4,   3,   10,  19,  30,  44,  62,
                                                             88,   127};
  TimeCalls(state, *pool, m, [&](const uint8_t* w, float* y) {
    fn(m, shape.rows, a.groups, w, kCodebook, a.q.data(), a.scale.data(), a.sum.data(), y,
       shape.rows);
  });
}

#if defined(__x86_64__) && defined(__GNUC__)
// Streaming read bandwidth: sums 1 GiB with 256-bit loads (enough to saturate DRAM).
__attribute__((target("avx2"))) void BM_ReadBandwidth(benchmark::State& state) {
  Buffer buf(kColdPoolBytes);
  std::memset(buf.data, 1, buf.size);
  for (auto _ : state) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < buf.size; i += 128) {
      a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(buf.data + i)));
      a1 = _mm256_add_epi64(a1,
                            _mm256_load_si256(reinterpret_cast<const __m256i*>(buf.data + i + 32)));
      a2 = _mm256_add_epi64(a2,
                            _mm256_load_si256(reinterpret_cast<const __m256i*>(buf.data + i + 64)));
      a3 = _mm256_add_epi64(a3,
                            _mm256_load_si256(reinterpret_cast<const __m256i*>(buf.data + i + 96)));
    }
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(buf.size));
}

// Int8 peak: independent 512-bit vpdpbusd chains (64 multiply-adds = 128 ops each).
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void BM_Int8PeakAvx512Vnni(
    benchmark::State& state) {
  constexpr int kChains = 12;
  constexpr int64_t kSteps = 1 << 20;
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  for (auto _ : state) {
    __m512i acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_epi32(i);
    for (int64_t s = 0; s < kSteps; ++s) {
#pragma GCC unroll 12
      for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
      __asm__ volatile("" : "+v"(a), "+v"(b));
    }
    for (int i = 1; i < kChains; ++i) acc[0] = _mm512_add_epi32(acc[0], acc[i]);
    benchmark::DoNotOptimize(acc[0]);
  }
  state.counters["int8_ops"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kSteps * kChains * 128.0,
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

// The instruction mix of the prefill tile (PairTile<true, false, 6> in
// sdk/kernels/qd8-q4r16-gemm/avx512vnni.cc: 6 tokens, two 16-row blocks, one group of 32
// per step) on L1-resident data, to tell what the machine allows such a tile from what the
// kernel does. One step is 96 vpdpbusd into 12 dot-product chains (zmm0-11) from 4 weight
// slices (zmm12-15) and 2 activation broadcasts (zmm16-17), plus, by probe:
//   dp_only:     nothing (the int8 peak with this loop's structure);
//   dp_mulfma:   the float work that cannot shrink bit-identically (docs/performance.md):
//                6 restarts of the chains (vpbroadcastd + copy), 12 vsubps (magic off),
//                6 vbroadcastss (xscale), 12 vmulps, 12 vfmadd231ps into zmm18-29, 2 vcvtph2ps;
//   dp_fma:      dp_mulfma without the 6 vbroadcastss and 12 vmulps: the float work if the
//                activations had one scale per token instead of one per group of 32 (a
//                different rounding, not what the kernels compute);
//   pair_tile:   dp_mulfma + the tile's memory and integer work: 8 weight loads unpacked by
//                16 vpandd + 8 vpsrlw, 48 activation vpbroadcastd from memory;
//   unpacked:    pair_tile with the nibbles unpacked beforehand (16 int8 weight loads, no
//                vpandd/vpsrlw): what "unpack once, reuse for many tokens" could reach.
// Registers: rsi weights (1088 bytes), rdx activations (6 tokens 2048 bytes apart), rcx
// the constants (restart values, xscale, nibble mask, magic), rax the step count.
#define KITE_MIX_X(t, p)                                     \
  "vpbroadcastd " #t "*2048+" #p "*4(%%rdx), %%zmm16\n\t" \
  "vpbroadcastd " #t "*2048+16+" #p "*4(%%rdx), %%zmm17\n\t"
#define KITE_MIX_DP(a, b)                      \
  "vpdpbusd %%zmm16, %%zmm12, %%zmm" #a "\n\t" \
  "vpdpbusd %%zmm16, %%zmm14, %%zmm" #b "\n\t" \
  "vpdpbusd %%zmm17, %%zmm13, %%zmm" #a "\n\t" \
  "vpdpbusd %%zmm17, %%zmm15, %%zmm" #b "\n\t"
#define KITE_MIX_DP6 \
  KITE_MIX_DP(0, 6) KITE_MIX_DP(1, 7) KITE_MIX_DP(2, 8) KITE_MIX_DP(3, 9) KITE_MIX_DP(4, 10) \
  KITE_MIX_DP(5, 11)
#define KITE_MIX_XDP6(p)                                                                 \
  KITE_MIX_X(0, p) KITE_MIX_DP(0, 6) KITE_MIX_X(1, p) KITE_MIX_DP(1, 7) KITE_MIX_X(2, p) \
  KITE_MIX_DP(2, 8) KITE_MIX_X(3, p) KITE_MIX_DP(3, 9) KITE_MIX_X(4, p)                  \
  KITE_MIX_DP(4, 10) KITE_MIX_X(5, p) KITE_MIX_DP(5, 11)
#define KITE_MIX_UNPACK(p)                            \
  "vmovdqu64 " #p "*64(%%rsi), %%zmm12\n\t"           \
  "vmovdqu64 256+" #p "*64(%%rsi), %%zmm14\n\t"       \
  "vpsrlw $4, %%zmm12, %%zmm13\n\t"                   \
  "vpsrlw $4, %%zmm14, %%zmm15\n\t"                   \
  "vpandd %%zmm30, %%zmm12, %%zmm12\n\t"              \
  "vpandd %%zmm30, %%zmm13, %%zmm13\n\t"              \
  "vpandd %%zmm30, %%zmm14, %%zmm14\n\t"              \
  "vpandd %%zmm30, %%zmm15, %%zmm15\n\t"
#define KITE_MIX_LOAD(p)                              \
  "vmovdqu64 " #p "*256(%%rsi), %%zmm12\n\t"          \
  "vmovdqu64 " #p "*256+64(%%rsi), %%zmm13\n\t"       \
  "vmovdqu64 " #p "*256+128(%%rsi), %%zmm14\n\t"      \
  "vmovdqu64 " #p "*256+192(%%rsi), %%zmm15\n\t"
#define KITE_MIX_RESTART(a, b)                         \
  "vpbroadcastd " #a "*4(%%rcx), %%zmm" #a "\n\t"      \
  "vmovdqa64 %%zmm" #a ", %%zmm" #b "\n\t"
#define KITE_MIX_RESTART6                                                              \
  KITE_MIX_RESTART(0, 6) KITE_MIX_RESTART(1, 7) KITE_MIX_RESTART(2, 8)                \
  KITE_MIX_RESTART(3, 9) KITE_MIX_RESTART(4, 10) KITE_MIX_RESTART(5, 11)
#define KITE_MIX_FLOAT(a, b, f0, f1)                             \
  "vbroadcastss 64+" #a "*4(%%rcx), %%zmm14\n\t"                 \
  "vsubps %%zmm31, %%zmm" #a ", %%zmm" #a "\n\t"                 \
  "vsubps %%zmm31, %%zmm" #b ", %%zmm" #b "\n\t"                 \
  "vmulps %%zmm14, %%zmm" #a ", %%zmm" #a "\n\t"                 \
  "vmulps %%zmm14, %%zmm" #b ", %%zmm" #b "\n\t"                 \
  "vfmadd231ps %%zmm12, %%zmm" #a ", %%zmm" #f0 "\n\t"           \
  "vfmadd231ps %%zmm13, %%zmm" #b ", %%zmm" #f1 "\n\t"
// The same without the multiply by xscale (one FMA per token, block and group).
#define KITE_MIX_FMA(a, b, f0, f1)                               \
  "vsubps %%zmm31, %%zmm" #a ", %%zmm" #a "\n\t"                 \
  "vsubps %%zmm31, %%zmm" #b ", %%zmm" #b "\n\t"                 \
  "vfmadd231ps %%zmm12, %%zmm" #a ", %%zmm" #f0 "\n\t"           \
  "vfmadd231ps %%zmm13, %%zmm" #b ", %%zmm" #f1 "\n\t"
#define KITE_MIX_FMA6                                                                    \
  "vcvtph2ps 1024(%%rsi), %%zmm12\n\t"                                                   \
  "vcvtph2ps 1056(%%rsi), %%zmm13\n\t" KITE_MIX_FMA(0, 6, 18, 24)                        \
  KITE_MIX_FMA(1, 7, 19, 25) KITE_MIX_FMA(2, 8, 20, 26) KITE_MIX_FMA(3, 9, 21, 27)       \
  KITE_MIX_FMA(4, 10, 22, 28) KITE_MIX_FMA(5, 11, 23, 29)
#define KITE_MIX_FLOAT6                                                                  \
  "vcvtph2ps 1024(%%rsi), %%zmm12\n\t"                                                   \
  "vcvtph2ps 1056(%%rsi), %%zmm13\n\t" KITE_MIX_FLOAT(0, 6, 18, 24)                      \
  KITE_MIX_FLOAT(1, 7, 19, 25) KITE_MIX_FLOAT(2, 8, 20, 26) KITE_MIX_FLOAT(3, 9, 21, 27) \
  KITE_MIX_FLOAT(4, 10, 22, 28) KITE_MIX_FLOAT(5, 11, 23, 29)
#define KITE_MIX_ZERO(k) "vpxord %%zmm" #k ", %%zmm" #k ", %%zmm" #k "\n\t"
// The float accumulators zmm18-29 start at 0.
#define KITE_MIX_ZERO_ACC                                                                  \
  KITE_MIX_ZERO(18) KITE_MIX_ZERO(19) KITE_MIX_ZERO(20) KITE_MIX_ZERO(21) KITE_MIX_ZERO(22) \
  KITE_MIX_ZERO(23) KITE_MIX_ZERO(24) KITE_MIX_ZERO(25) KITE_MIX_ZERO(26) KITE_MIX_ZERO(27) \
  KITE_MIX_ZERO(28) KITE_MIX_ZERO(29)
#define KITE_MIX_LOOP(step)                                                        \
  asm volatile(                                                                    \
      "vpbroadcastd 128(%%rcx), %%zmm30\n\t"                                       \
      "vbroadcastss 132(%%rcx), %%zmm31\n\t"                                       \
      "vmovdqu64 (%%rsi), %%zmm12\n\t"                                             \
      "vmovdqu64 64(%%rsi), %%zmm13\n\t"                                           \
      "vmovdqu64 128(%%rsi), %%zmm14\n\t"                                          \
      "vmovdqu64 192(%%rsi), %%zmm15\n\t"                                          \
      "vpbroadcastd (%%rdx), %%zmm16\n\t"                                          \
      "vpbroadcastd 4(%%rdx), %%zmm17\n\t" KITE_MIX_RESTART6 KITE_MIX_ZERO_ACC              \
      ".p2align 6\n\t"                                                             \
      "1:\n\t" step                                                                \
      "dec %%rax\n\t"                                                              \
      "jnz 1b\n\t"                                                                 \
      "vzeroupper\n\t"                                                             \
      : "+a"(n)                                                                    \
      : "S"(w), "d"(x), "c"(c)                                                     \
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",    \
        "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16",     \
        "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24",    \
        "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc", "memory")

enum class Mix { kDpOnly, kDpMulFma, kDpFma, kPairTile, kUnpacked };

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void MixLoop(Mix mix, uint64_t n,
                                                                      const uint8_t* w,
                                                                      const int8_t* x,
                                                                      const uint32_t* c) {
  switch (mix) {
    case Mix::kDpOnly:
      KITE_MIX_LOOP(KITE_MIX_DP6 KITE_MIX_DP6 KITE_MIX_DP6 KITE_MIX_DP6);
      break;
    case Mix::kDpMulFma:
      KITE_MIX_LOOP(KITE_MIX_RESTART6 KITE_MIX_DP6 KITE_MIX_DP6 KITE_MIX_DP6 KITE_MIX_DP6
                        KITE_MIX_FLOAT6);
      break;
    case Mix::kDpFma:
      KITE_MIX_LOOP(KITE_MIX_RESTART6 KITE_MIX_DP6 KITE_MIX_DP6 KITE_MIX_DP6 KITE_MIX_DP6
                        KITE_MIX_FMA6);
      break;
    case Mix::kPairTile:
      KITE_MIX_LOOP(KITE_MIX_RESTART6 KITE_MIX_UNPACK(0) KITE_MIX_XDP6(0) KITE_MIX_UNPACK(1)
                        KITE_MIX_XDP6(1) KITE_MIX_UNPACK(2) KITE_MIX_XDP6(2) KITE_MIX_UNPACK(3)
                            KITE_MIX_XDP6(3) KITE_MIX_FLOAT6);
      break;
    case Mix::kUnpacked:
      KITE_MIX_LOOP(KITE_MIX_RESTART6 KITE_MIX_LOAD(0) KITE_MIX_XDP6(0) KITE_MIX_LOAD(1)
                        KITE_MIX_XDP6(1) KITE_MIX_LOAD(2) KITE_MIX_XDP6(2) KITE_MIX_LOAD(3)
                            KITE_MIX_XDP6(3) KITE_MIX_FLOAT6);
      break;
  }
}

void BM_TileMix(benchmark::State& state, Mix mix) {
  constexpr uint64_t kSteps = 1 << 18;
  alignas(64) static uint8_t w[1088];
  alignas(64) static int8_t x[6 * 2048];
  alignas(64) static uint32_t c[34];
  std::mt19937 rng(3);
  for (uint8_t& v : w) v = static_cast<uint8_t>(rng() & 0x3F);  // no f16 Inf/NaN scales
  for (int8_t& v : x) v = static_cast<int8_t>(rng() % 64);
  // Finite float bits for the restart values, xscale and the subtracted constant (only the
  // timing matters); the nibble mask.
  const float one = 1.0f;
  for (int i = 0; i < 34; ++i) std::memcpy(&c[i], &one, sizeof(one));
  c[32] = 0x0F0F0F0F;
  for (auto _ : state) MixLoop(mix, kSteps, w, x, c);
  state.counters["int8_ops"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kSteps * 96 * 128.0,
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
#endif

}  // namespace

int main(int argc, char** argv) {
#if defined(__x86_64__) && defined(__GNUC__)
  benchmark::RegisterBenchmark("roofline/read_bandwidth_1GiB", BM_ReadBandwidth)
      ->Unit(benchmark::kMillisecond);
  if (kite::GetCpuFeatures().avx512_vnni) {
    benchmark::RegisterBenchmark("roofline/int8_peak_avx512vnni", BM_Int8PeakAvx512Vnni)
        ->Unit(benchmark::kMillisecond);
    const std::pair<const char*, Mix> mixes[] = {{"dp_only", Mix::kDpOnly},
                                                 {"dp_mulfma", Mix::kDpMulFma},
                                                 {"dp_fma", Mix::kDpFma},
                                                 {"pair_tile", Mix::kPairTile},
                                                 {"unpacked", Mix::kUnpacked}};
    for (const auto& [name, mix] : mixes) {
      benchmark::RegisterBenchmark((std::string("tile_mix_avx512vnni/") + name).c_str(),
                                   BM_TileMix, mix)
          ->Unit(benchmark::kMillisecond);
    }
  }
#endif
  size_t n = 0;
  const k::KernelTable* const* tables = k::AllSupportedKernelTables(&n);
  for (const Shape& shape : kShapes) {
    for (const Mode mode : kModes) {
      for (const bool sym : {false, true}) {
        for (size_t i = 0; i < n; ++i) {
          Register(BenchName(sym ? "qd8_q4r16sym_gemm" : "qd8_q4r16_gemm", tables[i]->isa, mode,
                             shape.rows, shape.cols),
                   mode, BM_Gemm, sym ? tables[i]->qd8_q4r16sym_gemm : tables[i]->qd8_q4r16_gemm,
                   shape, mode, sym);
        }
      }
      for (size_t i = 0; i < n; ++i) {
        Register(BenchName("qd8_q4r16cb_gemm", tables[i]->isa, mode, shape.rows, shape.cols),
                 mode, BM_GemmCb, tables[i]->qd8_q4r16cb_gemm, shape, mode);
      }
    }
  }
  for (const Shape& shape : kPrefillShapes) {
    for (const size_t m : kPrefillTokens) {
      for (size_t i = 0; i < n; ++i) {
        benchmark::RegisterBenchmark((std::string("qd8_q4r16sym_gemm/") +
                                      k::IsaName(tables[i]->isa) + "/prefill_m" +
                                      std::to_string(m) + "/" + std::to_string(shape.rows) +
                                      "x" + std::to_string(shape.cols))
                                         .c_str(),
                                     BM_GemmPrefill, tables[i]->qd8_q4r16sym_gemm, shape, m,
                                     false)
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  for (const size_t m : kPrefillColdTokens) {
    for (size_t i = 0; i < n; ++i) {
      const Shape& shape = kPrefillColdShape;
      benchmark::RegisterBenchmark((std::string("qd8_q4r16sym_gemm/") +
                                    k::IsaName(tables[i]->isa) + "/prefill_cold_m" +
                                    std::to_string(m) + "/" + std::to_string(shape.rows) + "x" +
                                    std::to_string(shape.cols))
                                       .c_str(),
                                   BM_GemmPrefill, tables[i]->qd8_q4r16sym_gemm, shape, m, true)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
