// ThreadPool for bare-metal targets: one thread, every loop runs inline on the caller.
#include "platform/thread_pool.h"

namespace kite {

ThreadPool::ThreadPool(ThreadPool&& other) { *this = static_cast<ThreadPool&&>(other); }

ThreadPool& ThreadPool::operator=(ThreadPool&& other) {
  threads_ = other.threads_;
  other.threads_ = 1;
  return *this;
}

ThreadPool::~ThreadPool() = default;

Result<ThreadPool> ThreadPool::Create(size_t threads) {
  KITE_CHECK_OR_RETURN(threads == 1, Error::kUnsupported,
                       "%zu threads requested, but this bare-metal build is single-threaded "
                       "(use threads = 1)",
                       threads);
  return ThreadPool();
}

void ThreadPool::ParallelFor(size_t n, size_t tile, RangeFn fn, void* context) {
  if (n != 0) fn(context, 0, n);
}

}  // namespace kite
