#include "platform/thread_pool.h"

#include <pthread.h>
#include <pthreadpool.h>
#include <time.h>

#include <atomic>
#include <new>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KITE_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__) || defined(__arm__)
#define KITE_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define KITE_CPU_RELAX() ((void)0)
#endif

namespace kite {
namespace {

long long NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// A worker spins this long for the next loop before it sleeps on the condition variable
// (a decode step's serial parts between loops take microseconds; a futex wake-up costs
// tens of them).
constexpr long long kWorkerSpinNs = 200000;

// One thread's share of a loop's tiles: [next, end). The owner claims half of what is left
// at a time (one call over many tiles early, single tiles near the end); the other threads
// take single tiles of what is left when they run out (a worker kept off its core loses its
// unclaimed tiles). So a loop ends unevenly by at most about one tile, with few calls.
struct alignas(64) Range {
  std::atomic<size_t> next{0};
  size_t end = 0;
};

}  // namespace

// Shared by the caller and the workers. A loop is published by bumping `generation` after
// writing the loop's fields; the workers' completions are counted down in `pending`.
struct ThreadPool::Shared {
  size_t threads = 0;
  pthread_t* workers = nullptr;  // threads - 1
  size_t started = 0;
  Range* ranges = nullptr;  // threads entries

  RangeFn fn = nullptr;
  void* context = nullptr;
  size_t n = 0, tile = 0;

  alignas(64) std::atomic<unsigned long long> generation{0};
  alignas(64) std::atomic<size_t> pending{0};
  alignas(64) std::atomic<int> sleepers{0};
  std::atomic<bool> stop{false};
  pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t wake = PTHREAD_COND_INITIALIZER;

  // Runs tiles of the current loop on thread `self`: its own range first, then the others'.
  void RunTiles(size_t self) {
    for (size_t k = 0; k < threads; ++k) {
      Range& r = ranges[(self + k) % threads];
      size_t t = r.next.load(std::memory_order_relaxed);
      for (;;) {
        if (t >= r.end) break;
        const size_t left = r.end - t;
        const size_t take = k == 0 && left > 1 ? left / 2 : 1;
        if (!r.next.compare_exchange_weak(t, t + take, std::memory_order_relaxed)) continue;
        const size_t begin = t * tile;
        const size_t end = (t + take) * tile;
        fn(context, begin, end < n ? end : n);
        t = r.next.load(std::memory_order_relaxed);
      }
    }
  }
};

// What a worker thread is started with (freed by the worker).
struct WorkerArg {
  ThreadPool::Shared* shared;
  size_t index;
};

void* ThreadPool::WorkerMain(void* arg) {
  const WorkerArg a = *static_cast<WorkerArg*>(arg);
  delete static_cast<WorkerArg*>(arg);
  Shared& s = *a.shared;
  unsigned long long seen = 0;
  for (;;) {
    unsigned long long gen = s.generation.load(std::memory_order_acquire);
    if (gen == seen && !s.stop.load(std::memory_order_acquire)) {
      const long long spin_start = NowNs();
      for (unsigned i = 1; gen == seen; ++i) {
        KITE_CPU_RELAX();
        gen = s.generation.load(std::memory_order_acquire);
        if ((i & 255) == 0 && (s.stop.load(std::memory_order_acquire) ||
                               NowNs() - spin_start > kWorkerSpinNs)) {
          break;
        }
      }
      if (gen == seen) {
        // Sleep. `sleepers` and `generation` are both sequentially consistent, so either
        // this thread sees the new generation or the caller sees a sleeper and signals
        // under the mutex (after this thread waits).
        pthread_mutex_lock(&s.mutex);
        s.sleepers.fetch_add(1);
        while ((gen = s.generation.load()) == seen && !s.stop.load()) {
          pthread_cond_wait(&s.wake, &s.mutex);
        }
        s.sleepers.fetch_sub(1);
        pthread_mutex_unlock(&s.mutex);
      }
    }
    if (s.stop.load(std::memory_order_acquire)) return nullptr;
    seen = gen;
    s.RunTiles(a.index);
    s.pending.fetch_sub(1, std::memory_order_acq_rel);
  }
}

ThreadPool::ThreadPool(ThreadPool&& other) { *this = static_cast<ThreadPool&&>(other); }

ThreadPool& ThreadPool::operator=(ThreadPool&& other) {
  if (this != &other) {
    Destroy();
    pool_ = other.pool_;
    shared_ = other.shared_;
    threads_ = other.threads_;
    stalled_streak_ = other.stalled_streak_;
    inline_left_ = other.inline_left_;
    inline_total_ = other.inline_total_;
    other.pool_ = nullptr;
    other.shared_ = nullptr;
    other.threads_ = 1;
  }
  return *this;
}

ThreadPool::~ThreadPool() { Destroy(); }

void ThreadPool::Destroy() {
  if (shared_ != nullptr) {
    Shared& s = *shared_;
    pthread_mutex_lock(&s.mutex);
    s.stop.store(true);
    pthread_cond_broadcast(&s.wake);
    pthread_mutex_unlock(&s.mutex);
    for (size_t i = 0; i < s.started; ++i) pthread_join(s.workers[i], nullptr);
    delete[] s.workers;
    delete[] s.ranges;
    delete shared_;
    shared_ = nullptr;
  }
  if (pool_ != nullptr) {
    pthreadpool_destroy(static_cast<pthreadpool_t>(pool_));
    pool_ = nullptr;
  }
}

Result<ThreadPool> ThreadPool::Create(size_t threads) {
  KITE_CHECK_OR_RETURN(threads >= 1, Error::kInvalidArgument, "thread count %zu is below 1", threads);
  ThreadPool p;
  p.threads_ = threads;
  if (threads == 1) return p;
  p.pool_ = pthreadpool_create(threads);
  KITE_CHECK_OR_RETURN(p.pool_ != nullptr, Error::kOutOfMemory, "cannot start %zu threads", threads);
  p.shared_ = new (std::nothrow) Shared;
  KITE_CHECK_OR_RETURN(p.shared_ != nullptr, Error::kOutOfMemory, "cannot start %zu threads", threads);
  Shared& s = *p.shared_;
  s.threads = threads;
  s.workers = new (std::nothrow) pthread_t[threads - 1];
  s.ranges = new (std::nothrow) Range[threads];
  KITE_CHECK_OR_RETURN(s.workers != nullptr && s.ranges != nullptr, Error::kOutOfMemory,
                       "cannot start %zu threads", threads);
  for (size_t i = 1; i < threads; ++i) {
    auto* arg = new (std::nothrow) WorkerArg{&s, i};
    KITE_CHECK_OR_RETURN(arg != nullptr, Error::kOutOfMemory, "cannot start %zu threads", threads);
    if (pthread_create(&s.workers[i - 1], nullptr, WorkerMain, arg) != 0) {
      delete arg;
      KITE_CHECK_OR_RETURN(false, Error::kOutOfMemory, "cannot start %zu threads", threads);
    }
    ++s.started;
  }
  return p;
}

void ThreadPool::ParallelFor(size_t n, size_t tile, RangeFn fn, void* context) {
  if (n == 0) return;
  if (tile == 0) tile = 1;
  if (shared_ == nullptr || n <= tile) {
    fn(context, 0, n);
    return;
  }
  if (inline_left_ > 0) {
    --inline_left_;
    ++inline_total_;
    fn(context, 0, n);
    return;
  }
  Shared& s = *shared_;
  const size_t tiles = (n + tile - 1) / tile;
  s.fn = fn;
  s.context = context;
  s.n = n;
  s.tile = tile;
  // Contiguous, even shares of the tiles: thread i owns tiles [i·tiles/T, (i+1)·tiles/T).
  for (size_t i = 0; i < s.threads; ++i) {
    s.ranges[i].next.store(i * tiles / s.threads, std::memory_order_relaxed);
    s.ranges[i].end = (i + 1) * tiles / s.threads;
  }
  s.pending.store(s.threads - 1, std::memory_order_relaxed);
  const long long start = NowNs();
  s.generation.fetch_add(1);  // sequentially consistent: see WorkerMain
  if (s.sleepers.load() > 0) {
    pthread_mutex_lock(&s.mutex);
    pthread_cond_broadcast(&s.wake);
    pthread_mutex_unlock(&s.mutex);
  }
  s.RunTiles(0);
  const long long busy = NowNs() - start;
  // Spin: yielding the core here would, on a loaded machine, hand the caller's time slice
  // to another process just before its workers finish.
  while (s.pending.load(std::memory_order_acquire) != 0) KITE_CPU_RELAX();
  const long long waited = NowNs() - start - busy;
  if (waited > busy + kStallSlackNs) {
    if (++stalled_streak_ >= kStallStreak) {
      stalled_streak_ = 0;
      inline_left_ = kInlineCalls;
    }
  } else {
    stalled_streak_ = 0;
  }
}

}  // namespace kite
