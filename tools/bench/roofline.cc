#include "tools/bench/roofline.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "tools/bench/proc_memory.h"
#include "tools/bench/roofline_kernels.h"

namespace kite::bench {

uint64_t ReadSumPortable(const uint64_t* p, size_t n) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += p[i];
    s1 += p[i + 1];
    s2 += p[i + 2];
    s3 += p[i + 3];
  }
  for (; i < n; ++i) s0 += p[i];
  return s0 + s1 + s2 + s3;
}

namespace {

using Clock = std::chrono::steady_clock;

// Keeps results alive so the measured loops are not optimized away.
std::atomic<uint64_t> g_sink{0};

// Runs body(i) on `threads` threads that start together; returns the wall time in seconds
// from the start signal to the last thread's end.
double RunTogether(unsigned threads, const std::function<void(unsigned)>& body) {
  std::atomic<unsigned> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      body(i);
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  const auto start = Clock::now();
  go.store(true, std::memory_order_release);
  for (std::thread& t : pool) t.join();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

enum class Isa { kPortable, kAvx2, kAvx512, kAvx512Vnni };

Isa BestIsa() {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) {
    return __builtin_cpu_supports("avx512vnni") ? Isa::kAvx512Vnni : Isa::kAvx512;
  }
  if (__builtin_cpu_supports("avx2")) return Isa::kAvx2;
#endif
  return Isa::kPortable;
}

}  // namespace

ReadSumFn BestReadSum(std::string* isa) {
  const Isa best = BestIsa();
  ReadSumFn sum = ReadSumPortable;
  const char* name = "portable";
#if defined(__x86_64__) || defined(_M_X64)
  if (best == Isa::kAvx512 || best == Isa::kAvx512Vnni) {
    sum = ReadSumAvx512;
    name = "avx512";
  } else if (best == Isa::kAvx2) {
    sum = ReadSumAvx2;
    name = "avx2";
  }
#endif
  if (isa != nullptr) *isa = name;
  return sum;
}

Bandwidth MeasureReadBandwidth(unsigned threads, uint64_t bytes, unsigned runs) {
  Bandwidth result;
  threads = std::max(1u, threads);
  result.threads = threads;
  result.runs = runs;
  constexpr uint64_t kHuge = uint64_t{2} << 20;
  bytes = (bytes + kHuge - 1) / kHuge * kHuge;
  result.buffer_bytes = bytes;
  // One extra huge page so the buffer can start on a 2 MiB boundary.
  const size_t mapped = bytes + kHuge;
  void* map = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) return result;
  const uintptr_t aligned = (reinterpret_cast<uintptr_t>(map) + kHuge - 1) / kHuge * kHuge;
  auto* buffer = reinterpret_cast<uint64_t*>(aligned);
  const uint64_t huge_before = AnonHugeBytes();
  madvise(buffer, bytes, MADV_HUGEPAGE);
  const size_t words = bytes / sizeof(uint64_t);
  // Each slice is a multiple of 64 words (512 bytes) so every thread's loads stay aligned.
  const size_t slice = (words / threads) / 64 * 64;
  auto range = [&](unsigned i, size_t* begin, size_t* count) {
    *begin = i * slice;
    *count = i + 1 == threads ? words - *begin : slice;
  };
  // Fill from the measuring threads, so the pages are placed as they will be read.
  RunTogether(threads, [&](unsigned i) {
    size_t begin, count;
    range(i, &begin, &count);
    for (size_t w = 0; w < count; ++w) buffer[begin + w] = begin + w;
  });
  const uint64_t huge_after = AnonHugeBytes();
  result.huge_bytes =
      huge_after > huge_before ? std::min<uint64_t>(huge_after - huge_before, bytes) : 0;

  const ReadSumFn sum = BestReadSum(&result.isa);
  double best = 0;
  for (unsigned r = 0; r < runs; ++r) {
    const double seconds = RunTogether(threads, [&](unsigned i) {
      size_t begin, count;
      range(i, &begin, &count);
      g_sink.fetch_add(sum(buffer + begin, count), std::memory_order_relaxed);
    });
    if (seconds > 0) best = std::max(best, static_cast<double>(bytes) / seconds / 1e9);
  }
  munmap(map, mapped);
  result.gb_per_s = best;
  return result;
}

Int8Peak MeasureInt8Peak(unsigned threads, unsigned runs) {
  Int8Peak result;
  threads = std::max(1u, threads);
  result.threads = threads;
  result.runs = runs;
  result.isa = "none";
#if defined(__x86_64__) || defined(_M_X64)
  const Isa isa = BestIsa();
  uint64_t (*loop)(uint64_t, int32_t) = nullptr;
  uint64_t macs_per_iteration = 0;
  if (isa == Isa::kAvx512Vnni) {
    loop = DotLoopAvx512Vnni;
    macs_per_iteration = kVnniMacsPerIteration;
    result.isa = "avx512-vnni";
  } else if (isa == Isa::kAvx2 || isa == Isa::kAvx512) {
    loop = DotLoopAvx2;
    macs_per_iteration = kAvx2MacsPerIteration;
    result.isa = "avx2";
  }
  if (loop == nullptr) return result;

  // Calibrate on one thread: grow the iteration count until a call takes >= 20 ms, then
  // aim for about 0.2 s per measured run.
  uint64_t iterations = 1 << 14;
  double seconds = 0;
  for (;;) {
    const auto start = Clock::now();
    g_sink.fetch_add(loop(iterations, 3), std::memory_order_relaxed);
    seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (seconds >= 0.02 || iterations >= (uint64_t{1} << 40)) break;
    iterations *= 4;
  }
  iterations = std::max<uint64_t>(1, static_cast<uint64_t>(iterations * (0.2 / seconds)));

  double best = 0;
  for (unsigned r = 0; r < runs; ++r) {
    const double wall = RunTogether(threads, [&](unsigned i) {
      g_sink.fetch_add(loop(iterations, static_cast<int32_t>(i + r)), std::memory_order_relaxed);
    });
    const double ops = 2.0 * static_cast<double>(macs_per_iteration) *
                       static_cast<double>(iterations) * threads;
    if (wall > 0) best = std::max(best, ops / wall / 1e9);
  }
  result.gops = best;
#endif
  return result;
}

}  // namespace kite::bench
