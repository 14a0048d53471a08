// Micro-benchmarks of qd8-q4sp24-gemm (2:4 sparse 4-bit) beside qd8-q4r16-gemm (dense
// 4-bit), every variant this CPU supports, single thread, at TinyLlama-1.1B shapes:
//   m = 1  (decode): weights stream from DRAM (the benchmark cycles through >= 1 GiB of
//          copies); reported as bytes/s of weights and as time per call, so the dense and
//          sparse rows of one shape compare directly. "m1_cached" repeats one copy.
//   m = 64 (prefill): time per call and dense-equivalent int8 ops/s (2 * m * rows * cols).
// Not a test: run by hand, e.g.
//   qd8_q4sp24_gemm_bench --benchmark_counters_tabular=true --benchmark_filter=m1/
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <random>

#include "sdk/format/format.h"
#include "sdk/kernels/dispatch.h"
#include "sdk/kernels/fp16.h"
#include "test/kernels/qd8_gemm_bench.h"

namespace {

namespace k = kite::kernels;
using namespace kite::qd8_gemm_bench;  // the shared pool, loop and names (qd8_gemm_bench.h)

struct Shape {
  size_t rows, cols;
};
constexpr Shape kShapes[] = {{2048, 2048}, {5632, 2048}, {2048, 5632}};

// One packed rows x cols matrix: random bytes with sane f16 scales (every byte pattern is a
// valid layout for both families).
WeightPool* GetRandomPool(bool sparse, size_t rows, size_t cols, bool cold) {
  const size_t matrix_bytes =
      sparse ? kite::PackedBytes(kite::DType::Q4_G_SP24, kite::Layout::Q4_SP24_R16_G64, rows, cols,
                                 kite::kQ4SP24BlockCols)
             : kite::PackedBytes(kite::DType::Q4_G, kite::Layout::Q4_R16_G32, rows, cols,
                                 kite::kQ4R16GroupSize);
  return GetPool(sparse, rows, cols, matrix_bytes, cold, [&](uint8_t* data) {
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> byte(0, 255);
    for (size_t i = 0; i < matrix_bytes; ++i) data[i] = static_cast<uint8_t>(byte(rng));
    const size_t block = sparse ? kite::kQ4SP24BlockBytes : kite::kQ4R16BlockBytes;
    const size_t scales = sparse ? kite::kQ4SP24ScalesOffset : kite::kQ4R16ScalesOffset;
    const size_t scale_bytes = sparse ? 32 : 64;  // dense: scales and offsets
    const uint16_t h = kite::FloatToHalf(0.01f);
    for (size_t b = 0; b < matrix_bytes / block; ++b) {
      for (size_t i = 0; i < scale_bytes; i += 2) std::memcpy(data + b * block + scales + i, &h, 2);
    }
  });
}

void BM_Gemm(benchmark::State& state, const k::KernelTable* table, bool sparse, Shape shape,
             Mode mode) {
  const size_t m = Tokens(mode);
  const WeightPool* pool = GetRandomPool(sparse, shape.rows, shape.cols, mode == Mode::kM1);
  const Acts a(m, shape.cols);
  TimeCalls(state, *pool, m, [&](const uint8_t* w, float* y) {
    if (sparse) {
      table->qd8_q4sp24_gemm(m, shape.rows, a.groups, w, a.q.data(), a.scale.data(), y,
                             shape.rows);
    } else {
      table->qd8_q4r16_gemm(m, shape.rows, a.groups, w, a.q.data(), a.scale.data(), a.sum.data(),
                            y, shape.rows);
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = 0;
  const k::KernelTable* const* tables = k::AllSupportedKernelTables(&n);
  for (const Shape& shape : kShapes) {
    for (const Mode mode : kModes) {
      for (size_t i = 0; i < n; ++i) {
        for (bool sparse : {false, true}) {
          Register(BenchName(sparse ? "qd8_q4sp24_gemm" : "qd8_q4r16_gemm", tables[i]->isa, mode,
                             shape.rows, shape.cols),
                   mode, BM_Gemm, tables[i], sparse, shape, mode);
        }
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
