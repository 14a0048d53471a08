#include "sdk/backends/xnnpack/dense_linear.h"

#include <cassert>
#include <cmath>
#include <new>

#include <xnnpack.h>

namespace kite::xnnpack {
namespace {

// xnn_initialize is idempotent and thread-safe; remember its outcome.
bool Initialize() {
  static const bool ok = xnn_initialize(/*allocator=*/nullptr) == xnn_status_success;
  return ok;
}

}  // namespace

bool Available() { return Initialize(); }

DenseLinear::DenseLinear(DenseLinear&& other) { *this = static_cast<DenseLinear&&>(other); }

DenseLinear& DenseLinear::operator=(DenseLinear&& other) {
  if (this != &other) {
    if (op_ != nullptr) xnn_delete_operator(static_cast<xnn_operator_t>(op_));
    op_ = other.op_;
    weights_ = other.weights_;
    mutex_ = static_cast<std::unique_ptr<std::mutex>&&>(other.mutex_);
    other.op_ = nullptr;
    other.weights_ = nullptr;
  }
  return *this;
}

DenseLinear::~DenseLinear() {
  if (op_ != nullptr) xnn_delete_operator(static_cast<xnn_operator_t>(op_));
}

Result<DenseLinear> DenseLinear::Create(size_t rows, size_t cols, size_t x_stride, size_t y_stride,
                                        const float* weights) {
  KITE_CHECK_OR_RETURN(Initialize(), Error::kUnsupported, "XNNPACK failed to initialize on this CPU");
  xnn_operator_t op = nullptr;
  const xnn_status s = xnn_create_fully_connected_nc_f32(
      cols, rows, x_stride, y_stride, weights, /*bias=*/nullptr, -INFINITY, INFINITY,
      /*flags=*/0, &op);
  KITE_CHECK_OR_RETURN(s == xnn_status_success, Error::kOutOfMemory,
                       "XNNPACK could not create a %zux%zu fully-connected operator (status %d)",
                       rows, cols, static_cast<int>(s));
  DenseLinear d;
  d.op_ = op;
  d.weights_ = weights;
  d.mutex_.reset(new (std::nothrow) std::mutex());
  KITE_CHECK_OR_RETURN(d.mutex_ != nullptr, Error::kOutOfMemory, "cannot allocate a mutex");
  return d;
}

void DenseLinear::Run(size_t n, const float* x, float* y, void* pthreadpool) {
  std::lock_guard<std::mutex> lock(*mutex_);
  xnn_operator_t op = static_cast<xnn_operator_t>(op_);
  const pthreadpool_t pool = static_cast<pthreadpool_t>(pthreadpool);
  xnn_status s = xnn_setup_fully_connected_nc_f32(op, n, x, y, pool);
  assert(s == xnn_status_success);
  s = xnn_run_operator(op, pool);
  assert(s == xnn_status_success);
  (void)s;
}

}  // namespace kite::xnnpack
