#include "platform/thread_pool.h"

#include <pthread.h>
#include <pthreadpool.h>
#include <time.h>

// ThreadSanitizer cannot see pthreadpool's synchronization: the library is not instrumented
// and hands tiles to its workers and waits for them through its own atomics and futexes.
// Without help every tile's writes would be reported as racing with the caller's reads
// after ParallelFor (false positives). The two happens-before edges pthreadpool guarantees
// are declared instead: the caller's work before the loop happens before every tile, and
// every tile happens before the caller returns from the loop. Nothing else is hidden
// (tiles are not ordered among themselves), so real races between tiles still show.
#if defined(__SANITIZE_THREAD__)
#define KITE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KITE_TSAN 1
#endif
#endif
#ifdef KITE_TSAN
#include <sanitizer/tsan_interface.h>
#define KITE_TSAN_RELEASE(addr) __tsan_release(addr)
#define KITE_TSAN_ACQUIRE(addr) __tsan_acquire(addr)
#else
#define KITE_TSAN_RELEASE(addr) ((void)(addr))
#define KITE_TSAN_ACQUIRE(addr) ((void)(addr))
#endif

namespace kite {
namespace {

long long NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

struct Task {
  ThreadPool::RangeFn fn;
  void* context;
  size_t n;
  pthread_t caller;
  long long caller_busy_ns;  // written by the caller's tiles only
  char loop_start;           // TSan synchronization addresses (see KITE_TSAN above)
  char loop_end;
};

void RunTile(void* task, size_t begin, size_t tile) {
  Task* t = static_cast<Task*>(task);
  KITE_TSAN_ACQUIRE(&t->loop_start);
  const size_t end = begin + tile < t->n ? begin + tile : t->n;
  if (!pthread_equal(pthread_self(), t->caller)) {
    t->fn(t->context, begin, end);
    KITE_TSAN_RELEASE(&t->loop_end);
    return;
  }
  const long long start = NowNs();
  t->fn(t->context, begin, end);
  t->caller_busy_ns += NowNs() - start;
}

}  // namespace

ThreadPool::ThreadPool(ThreadPool&& other) { *this = static_cast<ThreadPool&&>(other); }

ThreadPool& ThreadPool::operator=(ThreadPool&& other) {
  if (this != &other) {
    if (pool_ != nullptr) pthreadpool_destroy(static_cast<pthreadpool_t>(pool_));
    pool_ = other.pool_;
    threads_ = other.threads_;
    stalled_streak_ = other.stalled_streak_;
    inline_left_ = other.inline_left_;
    inline_total_ = other.inline_total_;
    other.pool_ = nullptr;
    other.threads_ = 1;
  }
  return *this;
}

ThreadPool::~ThreadPool() {
  if (pool_ != nullptr) pthreadpool_destroy(static_cast<pthreadpool_t>(pool_));
}

Result<ThreadPool> ThreadPool::Create(size_t threads) {
  KITE_CHECK_OR_RETURN(threads >= 1, Error::kInvalidArgument, "thread count %zu is below 1", threads);
  ThreadPool p;
  p.threads_ = threads;
  if (threads > 1) {
    p.pool_ = pthreadpool_create(threads);
    KITE_CHECK_OR_RETURN(p.pool_ != nullptr, Error::kOutOfMemory, "cannot start %zu threads", threads);
  }
  return p;
}

void ThreadPool::ParallelFor(size_t n, size_t tile, RangeFn fn, void* context) {
  if (n == 0) return;
  if (tile == 0) tile = 1;
  if (pool_ == nullptr || n <= tile) {
    fn(context, 0, n);
    return;
  }
  if (inline_left_ > 0) {
    --inline_left_;
    ++inline_total_;
    fn(context, 0, n);
    return;
  }
  Task task{fn, context, n, pthread_self(), 0, 0, 0};
  const long long start = NowNs();
  KITE_TSAN_RELEASE(&task.loop_start);
  pthreadpool_parallelize_1d_tile_1d(static_cast<pthreadpool_t>(pool_), RunTile, &task, n, tile,
                                     /*flags=*/0);
  KITE_TSAN_ACQUIRE(&task.loop_end);
  const long long waited = NowNs() - start - task.caller_busy_ns;
  if (waited > task.caller_busy_ns + kStallSlackNs) {
    if (++stalled_streak_ >= kStallStreak) {
      stalled_streak_ = 0;
      inline_left_ = kInlineCalls;
    }
  } else {
    stalled_streak_ = 0;
  }
}

}  // namespace kite
