// Micro-benchmarks of qd8-q4r16-gemm (layout Q4_R16_G32) and qd8-q4r16sym-gemm (offset-free
// Q4_R16_G32_SYM), every variant this CPU supports, single thread, at TinyLlama-1.1B shapes:
//   m = 1  (decode): weights stream from DRAM (the benchmark cycles through >= 1 GiB of
//          copies, as a real model's 0.6 GB per token would); reported as bytes/s of
//          weights. "m1_cached" repeats one copy (L2/L3-resident) for comparison.
//   m = 64 (prefill): reported as int8 ops/s, 2 * m * rows * cols ops per call.
//   prefill_m<m>: the offset-free layout at m = 8, 16, 64, 128 tokens on cache-resident
//          weights at k = 576 (smollm-135m) and 2048, also as int8 ops/s.
// Two roofline probes run first: a streaming read of 1 GiB (bytes/s) and a vpdpbusd loop
// (int8 ops/s). Not a test: run by hand, e.g.
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
void BM_GemmPrefill(benchmark::State& state, k::Qd8Q4r16GemmFn fn, Shape shape, size_t m) {
  const WeightPool* pool = GetPackedPool(shape.rows, shape.cols, false, true);
  const Acts a(m, shape.cols);
  TimeCalls(state, *pool, m, [&](const uint8_t* w, float* y) {
    fn(m, shape.rows, a.groups, w, a.q.data(), a.scale.data(), a.sum.data(), y, shape.rows);
  });
}
constexpr Shape kPrefillShapes[] = {
    {1536, 576, "smollm ffn_gate/up"},
    {2048, 2048, "tinyllama attn_q/o"},
};
constexpr size_t kPrefillTokens[] = {8, 16, 64, 128};

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
#endif

}  // namespace

int main(int argc, char** argv) {
#if defined(__x86_64__) && defined(__GNUC__)
  benchmark::RegisterBenchmark("roofline/read_bandwidth_1GiB", BM_ReadBandwidth)
      ->Unit(benchmark::kMillisecond);
  if (kite::GetCpuFeatures().avx512_vnni) {
    benchmark::RegisterBenchmark("roofline/int8_peak_avx512vnni", BM_Int8PeakAvx512Vnni)
        ->Unit(benchmark::kMillisecond);
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
                                     BM_GemmPrefill, tables[i]->qd8_q4r16sym_gemm, shape, m)
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
