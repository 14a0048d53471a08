// The runtime's one thread pool: parallel loops over an index range, with no allocation
// per call. On hosts it runs its own workers, which spin for the next loop for a short
// while (kWorkerSpinNs in posix/thread_pool.cc, 200 us) before they sleep: a decode step
// runs about five loops per layer with microseconds of serial work between them, and a
// wake-up through the kernel costs more than that. Starting a loop writes one cache line
// and makes no system call while the workers spin. Each thread owns a contiguous, even
// share of a loop's tiles, claims half of what is left of it per call (single tiles at
// the end), and then takes single tiles left in the others' shares. A
// pthreadpool of the same size is kept for libraries that want one (XNNPACK, native()).
// A single-threaded build runs every loop inline.
//
// Busy machines: a parallel loop returns only when every thread has finished its part, so
// a worker that another process keeps off its core (a scheduler time slice: milliseconds)
// stalls every loop, and a decode step runs about a hundred loops. The host pool therefore
// watches how long the caller waits for its workers after finishing its own tiles. After
// kStallStreak loops in a row each waited longer than the caller worked (plus
// kStallSlackNs), it runs the next kInlineCalls loops on the caller alone, then tries the
// workers again. Results do not change: every tile computes the same thing on any thread.
#pragma once

#include <cstddef>

#include "sdk/base/status.h"

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

  /// Calls fn(context, begin, end) over [0, n), each call over one or more whole tiles of
  /// `tile` items (begin a multiple of `tile`; end one too, or n), spread over the pool's
  /// threads; returns when all are done. While the pool has fallen back to the caller (see
  /// above), one call fn(context, 0, n) instead.
  void ParallelFor(size_t n, size_t tile, RangeFn fn, void* context);

  /// Consecutive stalled loops that make the pool fall back to the caller alone.
  static constexpr unsigned kStallStreak = 4;
  /// Loops run on the caller alone after such a streak, before the workers are tried again.
  static constexpr unsigned kInlineCalls = 1024;
  /// A loop is stalled when the caller waited more than its own work plus this (ns).
  static constexpr long long kStallSlackNs = 200000;

  /// Loops run on the caller alone so far because workers stalled (for tests and stats).
  unsigned long long inline_fallback_calls() const { return inline_total_; }

  size_t threads() const { return threads_; }
  /// The underlying pthreadpool_t (for libraries that share the pool, e.g. XNNPACK), or
  /// null for a single-threaded pool.
  void* native() const { return pool_; }

  struct Shared;  // state shared with the workers (posix/thread_pool.cc)

 private:
  static void* WorkerMain(void* arg);
  void Destroy();

  void* pool_ = nullptr;
  Shared* shared_ = nullptr;
  size_t threads_ = 1;
  unsigned stalled_streak_ = 0;     // consecutive stalled parallel loops
  unsigned inline_left_ = 0;        // loops still to run on the caller alone
  unsigned long long inline_total_ = 0;
};

}  // namespace kite
