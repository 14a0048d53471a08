// Error handling for the runtime core: a small error enum, a Status that carries a short
// message naming what was wrong, a Result<T>, and early-return macros. No exceptions, no
// heap: a Status is a fixed-size value.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

namespace kite {

/// What kind of failure happened. kite_status in kite.h mirrors it (checked in
/// sdk/runtime/c_api_mirror.cc).
enum class Error : int32_t {
  kOk = 0,
  /// A caller-supplied argument or option is out of range or inconsistent.
  kInvalidArgument = 1,
  /// A file could not be opened, mapped or read.
  kIo = 2,
  /// The model file is malformed, truncated, corrupted or hostile.
  kInvalidFormat = 3,
  /// The file or request uses a feature this build does not support.
  kUnsupported = 4,
  /// A buffer (arena, output array) is too small, or memory could not be obtained.
  kOutOfMemory = 5,
  /// The context window is full or the prompt does not fit.
  kContextFull = 6,
  /// The operation was cancelled by the caller.
  kCancelled = 7,
  /// A bug in Kite.
  kInternal = 8,
};

/// Short, stable name of an error ("invalid argument", ...). Never null.
const char* ErrorName(Error e);

/// The outcome of an operation: an Error and, on failure, a message. Fixed size, no heap,
/// cheap enough to return by value. Not thread-safe to share mutable instances.
class Status {
 public:
  static constexpr size_t kMaxMessage = 200;

  /// Success.
  Status() : code_(Error::kOk) { message_[0] = '\0'; }

  /// A failure with a printf-style message (truncated to kMaxMessage - 1 bytes).
  static Status Make(Error code, const char* format, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 2, 3)))
#endif
      ;

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Error::kOk; }
  Error code() const { return code_; }
  /// The message; "" on success. Valid while this Status lives.
  const char* message() const { return message_; }

 private:
  Error code_;
  char message_[kMaxMessage];
};

/// Either a value of type T or a failed Status. T must be movable.
template <typename T>
class Result {
 public:
  Result(T&& value) : status_(), has_value_(true) { new (&storage_) T(std::move(value)); }
  Result(const T& value) : status_(), has_value_(true) { new (&storage_) T(value); }
  /// A failure; `status` must not be ok.
  Result(const Status& status) : status_(status), has_value_(false) {
    if (status_.ok()) status_ = Status::Make(Error::kInternal, "Result built from an ok Status");
  }
  Result(Result&& other) : status_(other.status_), has_value_(other.has_value_) {
    if (has_value_) new (&storage_) T(std::move(other.value()));
  }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  Result& operator=(Result&&) = delete;
  ~Result() {
    if (has_value_) value().~T();
  }

  bool ok() const { return has_value_; }
  const Status& status() const { return status_; }
  T& value() { return *reinterpret_cast<T*>(&storage_); }
  const T& value() const { return *reinterpret_cast<const T*>(&storage_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }

 private:
  Status status_;
  bool has_value_;
  alignas(T) unsigned char storage_[sizeof(T)];
};

}  // namespace kite

#define KITE_INTERNAL_CONCAT2(a, b) a##b
#define KITE_INTERNAL_CONCAT(a, b) KITE_INTERNAL_CONCAT2(a, b)

/// Returns the Status of `expr` from the enclosing function when it is not ok.
#define KITE_RETURN_IF_ERROR(expr)                         \
  do {                                                     \
    ::kite::Status kite_status_tmp_ = (expr);              \
    if (!kite_status_tmp_.ok()) return kite_status_tmp_;   \
  } while (0)

/// Evaluates `rexpr` (a Result<T>); on failure returns its Status, else moves the value
/// into `lhs` (a declaration such as `auto x` or an existing variable).
#define KITE_ASSIGN_OR_RETURN(lhs, rexpr) \
  KITE_INTERNAL_ASSIGN_OR_RETURN(KITE_INTERNAL_CONCAT(kite_result_, __LINE__), lhs, rexpr)
#define KITE_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                   \
  if (!tmp.ok()) return tmp.status();                   \
  lhs = std::move(tmp.value())

/// Returns a Status of kind `code` with a printf-style message when `cond` is false.
#define KITE_CHECK_OR_RETURN(cond, code, ...)                    \
  do {                                                           \
    if (!(cond)) return ::kite::Status::Make((code), __VA_ARGS__); \
  } while (0)
