#include "sdk/base/status.h"

#include <cstdio>

namespace kite {

const char* ErrorName(Error e) {
  switch (e) {
    case Error::kOk: return "ok";
    case Error::kInvalidArgument: return "invalid argument";
    case Error::kIo: return "i/o error";
    case Error::kInvalidFormat: return "invalid model file";
    case Error::kUnsupported: return "unsupported";
    case Error::kOutOfMemory: return "out of memory";
    case Error::kContextFull: return "context full";
    case Error::kCancelled: return "cancelled";
    case Error::kInternal: return "internal error";
  }
  return "unknown error";
}

Status Status::Make(Error code, const char* format, ...) {
  Status s;
  s.code_ = code;
  va_list args;
  va_start(args, format);
  std::vsnprintf(s.message_, sizeof(s.message_), format, args);
  va_end(args);
  return s;
}

}  // namespace kite
