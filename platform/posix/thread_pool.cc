#include "platform/thread_pool.h"

#include <pthreadpool.h>

namespace kite {
namespace {

struct Task {
  ThreadPool::RangeFn fn;
  void* context;
  size_t n;
};

void RunTile(void* task, size_t begin, size_t tile) {
  const Task* t = static_cast<const Task*>(task);
  const size_t end = begin + tile < t->n ? begin + tile : t->n;
  t->fn(t->context, begin, end);
}

}  // namespace

ThreadPool::ThreadPool(ThreadPool&& other) { *this = static_cast<ThreadPool&&>(other); }

ThreadPool& ThreadPool::operator=(ThreadPool&& other) {
  if (this != &other) {
    if (pool_ != nullptr) pthreadpool_destroy(static_cast<pthreadpool_t>(pool_));
    pool_ = other.pool_;
    threads_ = other.threads_;
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
  Task task{fn, context, n};
  pthreadpool_parallelize_1d_tile_1d(static_cast<pthreadpool_t>(pool_), RunTile, &task, n, tile,
                                     /*flags=*/0);
}

}  // namespace kite
