// Dense f32 fully-connected layers on XNNPACK: the uncompressed baseline path.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>

#include "sdk/base/status.h"

namespace kite::xnnpack {

/// True when this build has the XNNPACK backend.
bool Available();

/// One y = W x operator: W is [rows, cols] row-major f32 (borrowed, e.g. from the mapped
/// model; XNNPACK packs its own copy at creation). Created once per model at load and
/// shared by its sessions; Run allocates nothing and is thread-safe (an operator holds
/// per-call state, so concurrent Runs on one operator take turns).
class DenseLinear {
 public:
  DenseLinear() = default;
  DenseLinear(DenseLinear&& other);
  DenseLinear& operator=(DenseLinear&& other);
  DenseLinear(const DenseLinear&) = delete;
  DenseLinear& operator=(const DenseLinear&) = delete;
  ~DenseLinear();

  /// Creates the operator; input rows are `x_stride` floats apart, output rows `y_stride`.
  static Result<DenseLinear> Create(size_t rows, size_t cols, size_t x_stride, size_t y_stride,
                                    const float* weights);

  /// y[t] = W x[t] for t < n, on `pthreadpool` (a pthreadpool_t, or null for the caller's
  /// thread). Inputs must be readable 16 bytes past their end (XNN_EXTRA_BYTES).
  void Run(size_t n, const float* x, float* y, void* pthreadpool);

  const float* weights() const { return weights_; }

 private:
  void* op_ = nullptr;
  const float* weights_ = nullptr;
  std::unique_ptr<std::mutex> mutex_;
};

}  // namespace kite::xnnpack
