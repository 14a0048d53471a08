// What the 4-bit x int8 GEMM micro-benchmarks (qd8_q4r16_gemm_bench.cc,
// qd8_q4sp24_gemm_bench.cc) share: the weight pool (one packed matrix, or enough copies of it
// to stream >= 1 GiB from DRAM), the quantized activations, the timed loop with its counters
// and the benchmark names.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "sdk/kernels/dispatch.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"

namespace kite::qd8_gemm_bench {

inline constexpr size_t kColdPoolBytes = size_t{1} << 30;

/// The three runs of every variant and shape: m = 1 streaming from DRAM, m = 1 on one
/// cache-resident copy, m = 64.
enum class Mode { kM1, kM1Cached, kM64 };
inline constexpr Mode kModes[] = {Mode::kM1, Mode::kM1Cached, Mode::kM64};
inline size_t Tokens(Mode mode) { return mode == Mode::kM64 ? 64 : 1; }

/// 64-byte aligned byte buffer of `size` bytes (uninitialized).
struct Buffer {
  explicit Buffer(size_t n) : storage(new uint8_t[n + 64]), size(n) {
    data = storage.get() + (64 - reinterpret_cast<uintptr_t>(storage.get()) % 64) % 64;
  }
  std::unique_ptr<uint8_t[]> storage;
  uint8_t* data;
  size_t size;
};

/// `copies` back-to-back copies of one packed rows x cols matrix of format `format` (the
/// caller's tag).
struct WeightPool {
  int format = -1;
  size_t rows = 0, cols = 0, matrix_bytes = 0, copies = 0;
  std::unique_ptr<Buffer> bytes;
};

/// The pool for (format, rows, cols): one copy, or (cold) enough to stream kColdPoolBytes;
/// kept between calls with the same arguments. pack(data) writes one matrix of matrix_bytes
/// at data. Not thread-safe (benchmarks run one at a time).
template <class Pack>
WeightPool* GetPool(int format, size_t rows, size_t cols, size_t matrix_bytes, bool cold,
                    Pack pack) {
  static WeightPool pool;
  const size_t copies = cold ? (kColdPoolBytes + matrix_bytes - 1) / matrix_bytes : 1;
  if (pool.format == format && pool.rows == rows && pool.cols == cols && pool.copies == copies) {
    return &pool;
  }
  pool.bytes.reset();
  pool.bytes = std::make_unique<Buffer>(matrix_bytes * copies);
  pack(pool.bytes->data);
  for (size_t c = 1; c < copies; ++c) {
    std::memcpy(pool.bytes->data + c * matrix_bytes, pool.bytes->data, matrix_bytes);
  }
  pool.format = format;
  pool.rows = rows;
  pool.cols = cols;
  pool.matrix_bytes = matrix_bytes;
  pool.copies = copies;
  return &pool;
}

/// m tokens of cols random floats through q8_quantize_ref (group 32).
struct Acts {
  Acts(size_t m, size_t cols) : groups((cols + 31) / 32) {
    std::mt19937 rng(1);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(cols);
    q.resize(m * groups * 32);
    scale.resize(m * groups);
    sum.resize(m * groups);
    for (size_t t = 0; t < m; ++t) {
      for (float& v : x) v = dist(rng);
      kernels::q8_quantize_ref(cols, 32, x.data(), q.data() + t * groups * 32,
                               scale.data() + t * groups, sum.data() + t * groups);
    }
  }
  size_t groups;
  std::vector<int8_t> q;
  std::vector<float> scale;
  std::vector<int32_t> sum;
};

/// The timed loop: call(w, y) computes the m x rows outputs y from the packed matrix w, a
/// different copy of the pool each time. Reports the weight bytes per call as bytes/s and
/// 2 m rows cols (dense-equivalent) as int8_ops/s.
template <class Call>
void TimeCalls(benchmark::State& state, const WeightPool& pool, size_t m, Call call) {
  std::vector<float> y(m * pool.rows);
  size_t copy = 0;
  for (auto _ : state) {
    call(pool.bytes->data + copy * pool.matrix_bytes, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    if (++copy == pool.copies) copy = 0;
  }
  const auto iterations = static_cast<int64_t>(state.iterations());
  const size_t cols = (pool.cols + 31) / 32 * 32;
  state.SetBytesProcessed(iterations * static_cast<int64_t>(pool.matrix_bytes));
  state.counters["int8_ops"] = benchmark::Counter(
      static_cast<double>(iterations) * 2.0 * static_cast<double>(m * pool.rows * cols),
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

/// "<family>/<isa>/<m1|m1_cached|m64>/<rows>x<cols>".
inline std::string BenchName(const char* family, kernels::Isa isa, Mode mode, size_t rows,
                             size_t cols) {
  const char* run = mode == Mode::kM1 ? "/m1" : mode == Mode::kM1Cached ? "/m1_cached" : "/m64";
  return std::string(family) + "/" + kernels::IsaName(isa) + run + "/" + std::to_string(rows) +
         "x" + std::to_string(cols);
}

/// Registers `bench` under `name` with the unit of its mode (us for m = 1, ms for m = 64).
template <class... Args>
void Register(const std::string& name, Mode mode, Args&&... args) {
  benchmark::RegisterBenchmark(name.c_str(), std::forward<Args>(args)...)
      ->Unit(Tokens(mode) == 1 ? benchmark::kMicrosecond : benchmark::kMillisecond);
}

}  // namespace kite::qd8_gemm_bench
