// The runtime's one thread pool: parallel loops over an index range, with no allocation
// per call. On hosts it wraps pthreadpool (the pool XNNPACK uses); a single-threaded
// build runs every loop inline.
#pragma once

#include <cstddef>

#include "sdk/runtime/status.h"

namespace kite {

/// A fixed set of worker threads. Create once (allocates), then ParallelFor as often as
/// needed (never allocates). ParallelFor is not reentrant: one caller at a time.
class ThreadPool {
 public:
  /// Task body: processes items [begin, end) of the loop.
  using RangeFn = void (*)(void* context, size_t begin, size_t end);

  ThreadPool() = default;
  ThreadPool(ThreadPool&& other);
  ThreadPool& operator=(ThreadPool&& other);
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool();

  /// A pool running loops on `threads` threads, the caller's included (threads >= 1; 1
  /// creates no thread). Fails with kOutOfMemory when threads cannot be started.
  static Result<ThreadPool> Create(size_t threads);

  /// Calls fn(context, begin, end) over [0, n) in tiles of `tile` items (the last may be
  /// shorter), spread over the pool's threads; returns when all are done.
  void ParallelFor(size_t n, size_t tile, RangeFn fn, void* context);

  size_t threads() const { return threads_; }
  /// The underlying pthreadpool_t (for libraries that share the pool, e.g. XNNPACK), or
  /// null for a single-threaded pool.
  void* native() const { return pool_; }

 private:
  void* pool_ = nullptr;
  size_t threads_ = 1;
};

}  // namespace kite
