// A parallel loop for the converter's host-side passes. Host tools only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace kite::convert {

/// Calls fn(item, worker) for every item in [0, n) on min(workers, n) threads (worker 0 is
/// the calling thread); item i runs on worker i % workers, so a caller that keeps one set
/// of buffers per worker and gathers results per item gets the same results for any
/// thread count. Returns when every call has returned.
template <typename Fn>
void ForEachParallel(size_t n, size_t workers, const Fn& fn) {
  workers = std::max<size_t>(1, std::min(workers, n));
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w) {
    pool.emplace_back([&fn, n, w, workers] {
      for (size_t i = w; i < n; i += workers) fn(i, w);
    });
  }
  for (size_t i = 0; i < n; i += workers) fn(i, 0);
  for (std::thread& t : pool) t.join();
}

/// `requested` threads, or one per CPU when it is 0.
inline size_t ThreadsOrCpus(size_t requested) {
  return requested > 0 ? requested : std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace kite::convert
