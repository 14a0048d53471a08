// Micro-benchmarks of the elementwise, small matvec and attention kernel variants (Google
// Benchmark; not a ctest test). Variants the CPU cannot run are reported as skipped.
//   elementwise_bench --benchmark_filter=Q8cMatvec      (GB/s = weight + x + y bytes / s)
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "sdk/kernels/attention/attention.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/f32-matvec/f32-matvec.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/q8c-matvec/q8c-matvec.h"
#include "sdk/kernels/rmsnorm/rmsnorm.h"
#include "sdk/kernels/rope/rope.h"
#include "sdk/kernels/softmax/softmax.h"
#include "sdk/kernels/swiglu/swiglu.h"

namespace k = kite::kernels;

namespace {

bool Always() { return true; }
#if defined(__x86_64__)
bool HasAvx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
bool HasAvx512() {
  return HasAvx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}
#endif

std::vector<float> Normal(size_t n, uint32_t seed, float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Decimal GB/s from bytes moved per iteration (summed over threads).
void SetGBps(benchmark::State& state, double bytes_per_iteration) {
  state.counters["GB/s"] =
      benchmark::Counter(bytes_per_iteration / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// Rows are split between the benchmark's threads (each streams its own block), so with
// Threads(2) the counter is the bandwidth of both cores together.
void BM_Q8cMatvec(benchmark::State& state, k::Q8cMatvecFn fn, bool (*supported)()) {
  if (!supported()) return state.SkipWithError("ISA not supported");
  const size_t rows = static_cast<size_t>(state.range(0));
  const size_t cols = static_cast<size_t>(state.range(1));
  const size_t r0 = rows * state.thread_index() / state.threads();
  const size_t r1 = rows * (state.thread_index() + 1) / state.threads();
  std::mt19937 rng(1);
  std::vector<int8_t> w((r1 - r0) * cols);
  for (int8_t& v : w) v = static_cast<int8_t>(rng());
  const auto scales = Normal(r1 - r0, 2, 0.01f);
  const auto x = Normal(cols, 3);
  std::vector<float> y(r1 - r0);
  for (auto _ : state) {
    fn(r1 - r0, cols, w.data(), scales.data(), x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetGBps(state, static_cast<double>((r1 - r0) * (cols + 8) + cols * 4));
}

void BM_F32Matvec(benchmark::State& state, k::F32MatvecFn fn, bool (*supported)()) {
  if (!supported()) return state.SkipWithError("ISA not supported");
  const size_t rows = static_cast<size_t>(state.range(0));
  const size_t cols = static_cast<size_t>(state.range(1));
  const auto w = Normal(rows * cols, 1);
  const auto x = Normal(cols, 3);
  std::vector<float> y(rows);
  for (auto _ : state) {
    fn(rows, cols, w.data(), x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetGBps(state, static_cast<double>(rows * cols * 4 + cols * 4 + rows * 4));
}

// One head over a cache with 4 kv heads (kv_stride = 4 * head_dim), as in a GQA model.
void BM_Attention(benchmark::State& state, k::AttentionFn fn, bool (*supported)()) {
  if (!supported()) return state.SkipWithError("ISA not supported");
  const size_t head_dim = static_cast<size_t>(state.range(0));
  const size_t n_pos = static_cast<size_t>(state.range(1));
  const size_t stride = 4 * head_dim;
  const auto q = Normal(head_dim, 1);
  const auto keys = Normal(n_pos * stride, 2);
  const auto values = Normal(n_pos * stride, 3);
  std::vector<float> scores(n_pos), out(head_dim);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  for (auto _ : state) {
    fn(head_dim, n_pos, q.data(), keys.data(), values.data(), stride, scale, scores.data(),
       out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetGBps(state, static_cast<double>(2 * n_pos * head_dim * 4));  // K and V bytes read
}

// attention_q8kv on the same shapes: int8 rows (4 KV heads apart) and an f16 scale and
// offset per row.
void BM_AttentionQ8kv(benchmark::State& state, k::AttentionQ8kvFn fn, bool (*supported)()) {
  if (!supported()) return state.SkipWithError("ISA not supported");
  const size_t head_dim = static_cast<size_t>(state.range(0));
  const size_t n_pos = static_cast<size_t>(state.range(1));
  const size_t stride = 4 * head_dim;
  const auto q = Normal(head_dim, 1);
  std::vector<int8_t> keys(n_pos * stride), values(n_pos * stride);
  for (size_t i = 0; i < keys.size(); ++i) {
    keys[i] = static_cast<int8_t>((i * 37) % 255 - 127);
    values[i] = static_cast<int8_t>((i * 91) % 255 - 127);
  }
  // f16 scale and offset per row (4 KV heads: 8 values apart).
  std::vector<uint16_t> key_params(n_pos * 8), value_params(n_pos * 8);
  for (size_t i = 0; i < key_params.size(); i += 2) {
    key_params[i] = kite::FloatToHalf(0.02f);
    key_params[i + 1] = kite::FloatToHalf(0.1f);
    value_params[i] = kite::FloatToHalf(0.03f);
    value_params[i + 1] = kite::FloatToHalf(-0.2f);
  }
  std::vector<float> scores(n_pos), out(head_dim);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  for (auto _ : state) {
    fn(head_dim, n_pos, q.data(), keys.data(), key_params.data(), values.data(),
       value_params.data(), stride, 8, scale, scores.data(), out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetGBps(state, static_cast<double>(2 * n_pos * (head_dim + 4)));  // K, V, scale and offset
}

void BM_RmsNorm(benchmark::State& state, k::RmsNormFn fn, bool (*supported)()) {
  if (!supported()) return state.SkipWithError("ISA not supported");
  const size_t n = static_cast<size_t>(state.range(0));
  const auto x = Normal(n, 1);
  const auto weight = Normal(n, 2);
  std::vector<float> out(n);
  for (auto _ : state) {
    fn(n, x.data(), weight.data(), 1e-5f, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

void BM_Softmax(benchmark::State& state, k::SoftmaxFn fn, bool (*supported)()) {
  if (!supported()) return state.SkipWithError("ISA not supported");
  const size_t n = static_cast<size_t>(state.range(0));
  const auto logits = Normal(n, 1, 5.0f);
  std::vector<float> x(n);
  for (auto _ : state) {
    state.PauseTiming();
    x = logits;  // softmax is in place; keep the input distribution fixed
    state.ResumeTiming();
    fn(n, x.data());
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

void BM_Swiglu(benchmark::State& state, k::SwigluFn fn, bool (*supported)()) {
  if (!supported()) return state.SkipWithError("ISA not supported");
  const size_t n = static_cast<size_t>(state.range(0));
  const auto input = Normal(n, 1, 2.0f);
  const auto up = Normal(n, 2);
  std::vector<float> gate(n);
  for (auto _ : state) {
    state.PauseTiming();
    gate = input;  // in place; keep the input distribution fixed
    state.ResumeTiming();
    fn(n, gate.data(), up.data());
    benchmark::DoNotOptimize(gate.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

void BM_Rope(benchmark::State& state, k::RopeFn fn, bool (*supported)()) {
  if (!supported()) return state.SkipWithError("ISA not supported");
  const size_t n_heads = static_cast<size_t>(state.range(0));
  const size_t head_dim = static_cast<size_t>(state.range(1));
  auto x = Normal(n_heads * head_dim, 1);
  size_t pos = 100;
  for (auto _ : state) {
    fn(n_heads, head_dim, pos++ & 1023, 10000.0f, x.data());  // a rotation keeps the norm
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n_heads * head_dim));
}

void BM_Q8Quantize(benchmark::State& state, k::Q8QuantizeFn fn, bool (*supported)()) {
  if (!supported()) return state.SkipWithError("ISA not supported");
  const size_t n = static_cast<size_t>(state.range(0));
  const size_t group = static_cast<size_t>(state.range(1));
  const size_t groups = (n + group - 1) / group;
  const auto x = Normal(n, 1);
  std::vector<int8_t> q(groups * group);
  std::vector<float> scales(groups);
  std::vector<int32_t> sums(groups);
  for (auto _ : state) {
    fn(n, group, x.data(), q.data(), scales.data(), sums.data());
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

// clang-format off
#if defined(__x86_64__)
#define KITE_BENCH_VARIANTS(bm, family, ...)                                              \
  BENCHMARK_CAPTURE(bm, ref, k::family##_ref, Always) __VA_ARGS__;                        \
  BENCHMARK_CAPTURE(bm, avx2, k::family##_avx2, HasAvx2) __VA_ARGS__;                     \
  BENCHMARK_CAPTURE(bm, avx512, k::family##_avx512, HasAvx512) __VA_ARGS__
#else
#define KITE_BENCH_VARIANTS(bm, family, ...) \
  BENCHMARK_CAPTURE(bm, ref, k::family##_ref, Always) __VA_ARGS__
#endif

KITE_BENCH_VARIANTS(BM_Q8cMatvec, q8c_matvec,
                    ->Args({32000, 2048})->Args({2048, 2048})->Unit(benchmark::kMicrosecond));
KITE_BENCH_VARIANTS(BM_Q8cMatvec, q8c_matvec,
                    ->Args({32000, 2048})->Threads(2)->UseRealTime()
                    ->Unit(benchmark::kMicrosecond));
KITE_BENCH_VARIANTS(BM_F32Matvec, f32_matvec,
                    ->Args({2048, 2048})->Args({256, 2048})->Unit(benchmark::kMicrosecond));
KITE_BENCH_VARIANTS(BM_Attention, attention,
                    ->Args({64, 512})->Args({128, 4096})->Args({8, 256})->Args({8, 512})
                    ->Unit(benchmark::kMicrosecond));
KITE_BENCH_VARIANTS(BM_AttentionQ8kv, attention_q8kv,
                    ->Args({64, 512})->Args({128, 4096})->Args({8, 256})->Args({8, 512})
                    ->Unit(benchmark::kMicrosecond));
KITE_BENCH_VARIANTS(BM_RmsNorm, rmsnorm, ->Arg(2048)->Arg(32000));
KITE_BENCH_VARIANTS(BM_Softmax, softmax, ->Arg(2048)->Arg(32000));
KITE_BENCH_VARIANTS(BM_Swiglu, swiglu, ->Arg(5632)->Arg(32000));
KITE_BENCH_VARIANTS(BM_Rope, rope, ->Args({32, 64})->Args({32, 128}));
KITE_BENCH_VARIANTS(BM_Q8Quantize, q8_quantize, ->Args({2048, 32})->Args({5632, 64}));
// clang-format on

}  // namespace

BENCHMARK_MAIN();
