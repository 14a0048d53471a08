// The host thread pool: every item runs exactly once, and the fall-back to the caller when
// workers stall (platform/thread_pool.h).
#include "platform/thread_pool.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace kite {
namespace {

struct Coverage {
  std::vector<std::atomic<int>> hits;
  explicit Coverage(size_t n) : hits(n) {}
};

void CountItems(void* context, size_t begin, size_t end) {
  auto* c = static_cast<Coverage*>(context);
  for (size_t i = begin; i < end; ++i) c->hits[i].fetch_add(1);
}

TEST(ThreadPool, EveryItemRunsOnce) {
  for (size_t threads : {1, 2, 3}) {
    Result<ThreadPool> pool = ThreadPool::Create(threads);
    ASSERT_TRUE(pool.ok()) << pool.status().message();
    for (size_t n : {1, 2, 7, 64, 1000}) {
      for (size_t tile : {0, 1, 3, 64, 5000}) {
        Coverage c(n);
        pool->ParallelFor(n, tile, CountItems, &c);
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(c.hits[i].load(), 1) << "threads " << threads << " n " << n << " tile "
                                         << tile << " item " << i;
        }
      }
    }
  }
}

// Every call covers whole tiles (begin a multiple of the tile; end one too, or n): callers
// rely on it for block-aligned work. Calls over several tiles happen (a thread claims half
// of its remaining share at a time), and the calls partition [0, n).
struct Calls {
  size_t n, tile;
  std::atomic<int> misaligned{0}, multi_tile{0};
  Coverage covered;
  Calls(size_t n_, size_t tile_) : n(n_), tile(tile_), covered(n_) {}
};

void CheckCall(void* context, size_t begin, size_t end) {
  auto* c = static_cast<Calls*>(context);
  if (begin % c->tile != 0 || (end % c->tile != 0 && end != c->n) || end <= begin) {
    c->misaligned.fetch_add(1);
  }
  if (end - begin > c->tile) c->multi_tile.fetch_add(1);
  CountItems(&c->covered, begin, end);
}

TEST(ThreadPool, CallsCoverWholeTiles) {
  for (size_t threads : {2, 3}) {
    Result<ThreadPool> pool = ThreadPool::Create(threads);
    ASSERT_TRUE(pool.ok()) << pool.status().message();
    int multi = 0;
    for (size_t n : {5, 64, 97, 1000}) {
      for (size_t tile : {1, 2, 7}) {
        Calls c(n, tile);
        pool->ParallelFor(n, tile, CheckCall, &c);
        EXPECT_EQ(c.misaligned.load(), 0) << "threads " << threads << " n " << n << " tile " << tile;
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(c.covered.hits[i].load(), 1) << "n " << n << " tile " << tile << " item " << i;
        }
        multi += c.multi_tile.load();
      }
    }
    // 1000 items in tiles of 1 over 3 threads: a share of 333 tiles is claimed in halves.
    EXPECT_GT(multi, 0) << "threads " << threads;
  }
}

// Workers that have stopped spinning and sleep are woken for the next loop, and a pool
// destroyed while its workers spin or sleep joins them (the test would hang otherwise).
TEST(ThreadPool, WakesSleepingWorkersAndJoinsThem) {
  for (int pause_us : {0, 5000}) {
    Result<ThreadPool> pool = ThreadPool::Create(3);
    ASSERT_TRUE(pool.ok()) << pool.status().message();
    for (int round = 0; round < 20; ++round) {
      std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
      Coverage c(257);
      pool->ParallelFor(257, 2, CountItems, &c);
      for (size_t i = 0; i < c.hits.size(); ++i) {
        ASSERT_EQ(c.hits[i].load(), 1) << "pause " << pause_us << " round " << round << " item " << i;
      }
    }
  }
}

// A moved-to pool runs loops on its threads; the moved-from pool runs them inline.
TEST(ThreadPool, MovedPoolKeepsItsThreads) {
  Result<ThreadPool> made = ThreadPool::Create(2);
  ASSERT_TRUE(made.ok());
  ThreadPool a = static_cast<ThreadPool&&>(*made);
  ThreadPool b;
  b = static_cast<ThreadPool&&>(a);
  EXPECT_EQ(b.threads(), 2u);
  EXPECT_EQ(a.threads(), 1u);
  for (ThreadPool* p : {&a, &b}) {
    Coverage c(100);
    p->ParallelFor(100, 3, CountItems, &c);
    for (auto& h : c.hits) ASSERT_EQ(h.load(), 1);
  }
}

TEST(ThreadPool, RejectsZeroThreads) { EXPECT_FALSE(ThreadPool::Create(0).ok()); }

// Tiles on the caller spin for `caller_us`; tiles on a worker sleep for `worker_us` (a
// worker that another process keeps off its core). Records whether a worker ran a tile.
struct Slow {
  pthread_t caller;
  int caller_us;
  int worker_us;
  std::atomic<bool> worker_ran{false};
};

void SlowItems(void* context, size_t, size_t) {
  auto* s = static_cast<Slow*>(context);
  if (pthread_equal(pthread_self(), s->caller)) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(s->caller_us);
    while (std::chrono::steady_clock::now() < until) {
    }
    return;
  }
  s->worker_ran = true;
  std::this_thread::sleep_for(std::chrono::microseconds(s->worker_us));
}

TEST(ThreadPool, FallsBackToTheCallerWhileWorkersStall) {
  Result<ThreadPool> made = ThreadPool::Create(2);
  ASSERT_TRUE(made.ok());
  ThreadPool& pool = *made;
  // Each loop's worker tile takes 10 ms while the caller works 1 ms: the caller waits.
  Slow slow;
  slow.caller = pthread_self();
  slow.caller_us = 1000;
  slow.worker_us = 10000;
  int loops = 0;
  while (pool.inline_fallback_calls() == 0 && loops < 200) {
    pool.ParallelFor(2, 1, SlowItems, &slow);
    ++loops;
  }
  ASSERT_GT(pool.inline_fallback_calls(), 0u) << "no fall-back after " << loops << " loops";
  EXPECT_GE(loops, static_cast<int>(ThreadPool::kStallStreak));
  // The loop above ended on the first loop run by the caller alone. The next
  // kInlineCalls - 1 loops run there too: every item, none on a worker.
  EXPECT_EQ(pool.inline_fallback_calls(), 1u);
  slow.worker_ran = false;
  for (unsigned i = 2; i < ThreadPool::kInlineCalls; ++i) {
    Coverage c(8);
    pool.ParallelFor(8, 1, CountItems, &c);
    for (auto& h : c.hits) ASSERT_EQ(h.load(), 1);
  }
  pool.ParallelFor(2, 1, SlowItems, &slow);
  EXPECT_FALSE(slow.worker_ran.load());
  EXPECT_EQ(pool.inline_fallback_calls(), ThreadPool::kInlineCalls);
  // Then the workers are tried again: with fast workers, a worker gets tiles.
  slow.caller_us = 200;
  slow.worker_us = 0;
  for (int i = 0; i < 2000 && !slow.worker_ran.load(); ++i) pool.ParallelFor(64, 1, SlowItems, &slow);
  EXPECT_TRUE(slow.worker_ran.load());
}

}  // namespace
}  // namespace kite
