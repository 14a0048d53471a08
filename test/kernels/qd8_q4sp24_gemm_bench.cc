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
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sdk/format/format.h"
#include "sdk/kernels/dispatch.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/qd8-q4r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4sp24-gemm/pack.h"

namespace {

namespace k = kite::kernels;

constexpr size_t kColdPoolBytes = size_t{1} << 30;

struct Shape {
  size_t rows, cols;
};
constexpr Shape kShapes[] = {{2048, 2048}, {5632, 2048}, {2048, 5632}};

struct Buffer {
  explicit Buffer(size_t n) : storage(new uint8_t[n + 64]) {
    data = storage.get() + (64 - reinterpret_cast<uintptr_t>(storage.get()) % 64) % 64;
  }
  std::unique_ptr<uint8_t[]> storage;
  uint8_t* data;
};

// `copies` back-to-back copies of one packed rows x cols matrix (random bytes with sane
// f16 scales; every byte pattern is a valid layout for both families).
struct WeightPool {
  bool sparse = false;
  size_t rows = 0, cols = 0, matrix_bytes = 0, copies = 0;
  std::unique_ptr<Buffer> bytes;
};

WeightPool* GetPool(bool sparse, size_t rows, size_t cols, bool cold) {
  static WeightPool pool;
  const size_t matrix_bytes =
      sparse ? kite::PackedBytes(kite::DType::Q4_G_SP24, kite::Layout::Q4_SP24_R16_G64, rows, cols,
                                 kite::kQ4SP24BlockCols)
             : kite::PackedBytes(kite::DType::Q4_G, kite::Layout::Q4_R16_G32, rows, cols,
                                 kite::kQ4R16GroupSize);
  const size_t copies = cold ? (kColdPoolBytes + matrix_bytes - 1) / matrix_bytes : 1;
  if (pool.sparse == sparse && pool.rows == rows && pool.cols == cols && pool.copies == copies) {
    return &pool;
  }
  pool.bytes.reset();
  pool.bytes = std::make_unique<Buffer>(matrix_bytes * copies);
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> byte(0, 255);
  for (size_t i = 0; i < matrix_bytes; ++i) pool.bytes->data[i] = static_cast<uint8_t>(byte(rng));
  const size_t block = sparse ? kite::kQ4SP24BlockBytes : kite::kQ4R16BlockBytes;
  const size_t scales = sparse ? kite::kQ4SP24ScalesOffset : kite::kQ4R16ScalesOffset;
  const size_t scale_bytes = sparse ? 32 : 64;  // dense: scales and offsets
  const uint16_t h = kite::FloatToHalf(0.01f);
  for (size_t b = 0; b < matrix_bytes / block; ++b) {
    for (size_t i = 0; i < scale_bytes; i += 2) {
      std::memcpy(pool.bytes->data + b * block + scales + i, &h, 2);
    }
  }
  for (size_t c = 1; c < copies; ++c) {
    std::memcpy(pool.bytes->data + c * matrix_bytes, pool.bytes->data, matrix_bytes);
  }
  pool.sparse = sparse;
  pool.rows = rows;
  pool.cols = cols;
  pool.matrix_bytes = matrix_bytes;
  pool.copies = copies;
  return &pool;
}

void BM_Gemm(benchmark::State& state, const k::KernelTable* table, bool sparse, Shape shape,
             size_t m, bool cold) {
  const size_t groups = (shape.cols + 31) / 32;
  WeightPool* pool = GetPool(sparse, shape.rows, shape.cols, cold);
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(shape.cols);
  std::vector<int8_t> xq(m * groups * 32);
  std::vector<float> xscale(m * groups);
  std::vector<int32_t> xsum(m * groups);
  for (size_t t = 0; t < m; ++t) {
    for (float& v : x) v = dist(rng);
    k::q8_quantize_ref(shape.cols, 32, x.data(), xq.data() + t * groups * 32,
                       xscale.data() + t * groups, xsum.data() + t * groups);
  }
  std::vector<float> y(m * shape.rows);
  size_t copy = 0;
  for (auto _ : state) {
    const uint8_t* w = pool->bytes->data + copy * pool->matrix_bytes;
    if (sparse) {
      table->qd8_q4sp24_gemm(m, shape.rows, groups, w, xq.data(), xscale.data(), y.data(),
                             shape.rows);
    } else {
      table->qd8_q4r16_gemm(m, shape.rows, groups, w, xq.data(), xscale.data(), xsum.data(),
                            y.data(), shape.rows);
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    if (++copy == pool->copies) copy = 0;
  }
  const auto iterations = static_cast<int64_t>(state.iterations());
  state.SetBytesProcessed(iterations * static_cast<int64_t>(pool->matrix_bytes));
  state.counters["int8_ops"] = benchmark::Counter(
      static_cast<double>(iterations) * 2.0 * static_cast<double>(m * shape.rows * groups * 32),
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = 0;
  const k::KernelTable* const* tables = k::AllSupportedKernelTables(&n);
  for (const Shape& shape : kShapes) {
    for (int mode = 0; mode < 3; ++mode) {  // m1 cold, m1 cached, m64
      for (size_t i = 0; i < n; ++i) {
        for (bool sparse : {false, true}) {
          const size_t m = mode == 2 ? 64 : 1;
          const std::string name = std::string(sparse ? "qd8_q4sp24_gemm/" : "qd8_q4r16_gemm/") +
                                   k::IsaName(tables[i]->isa) +
                                   (mode == 0   ? "/m1"
                                    : mode == 1 ? "/m1_cached"
                                                : "/m64") +
                                   "/" + std::to_string(shape.rows) + "x" +
                                   std::to_string(shape.cols);
          benchmark::RegisterBenchmark(name.c_str(), BM_Gemm, tables[i], sparse, shape, m,
                                       mode == 0)
              ->Unit(m == 1 ? benchmark::kMicrosecond : benchmark::kMillisecond);
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
