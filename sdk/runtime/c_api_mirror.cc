// The one place where the C API's enums are checked against the C++ definitions.
#include "sdk/runtime/c_api_mirror.h"

#include <cstddef>

namespace kite::capi {
namespace {

#define KITE_MIRRORS(c_value, cpp_value)                                    \
  static_assert(static_cast<int>(c_value) == static_cast<int>(cpp_value), \
                #c_value " must equal " #cpp_value)

KITE_MIRRORS(KITE_OK, Error::kOk);
KITE_MIRRORS(KITE_ERR_INVALID_ARGUMENT, Error::kInvalidArgument);
KITE_MIRRORS(KITE_ERR_IO, Error::kIo);
KITE_MIRRORS(KITE_ERR_INVALID_MODEL, Error::kInvalidFormat);
KITE_MIRRORS(KITE_ERR_UNSUPPORTED, Error::kUnsupported);
KITE_MIRRORS(KITE_ERR_OUT_OF_MEMORY, Error::kOutOfMemory);
KITE_MIRRORS(KITE_ERR_CONTEXT_FULL, Error::kContextFull);
KITE_MIRRORS(KITE_ERR_CANCELLED, Error::kCancelled);
KITE_MIRRORS(KITE_ERR_INTERNAL, Error::kInternal);

KITE_MIRRORS(KITE_STOP_MAX_TOKENS, StopReason::kMaxTokens);
KITE_MIRRORS(KITE_STOP_END_TOKEN, StopReason::kStopToken);
KITE_MIRRORS(KITE_STOP_CALLBACK, StopReason::kCallback);
KITE_MIRRORS(KITE_STOP_CONTEXT_FULL, StopReason::kContextFull);
KITE_MIRRORS(KITE_STOP_CANCELLED, StopReason::kCancelled);
KITE_MIRRORS(KITE_STOP_STRING, StopReason::kStopString);

KITE_MIRRORS(KITE_MAX_STOP_STRINGS, kMaxStopStrings);
KITE_MIRRORS(KITE_MAX_STOP_STRING_BYTES, kMaxStopStringBytes);
KITE_MIRRORS(KITE_MAX_PENALTY_LAST_N, kMaxPenaltyLastN);

static_assert(sizeof(kite_logit_bias) == sizeof(LogitBias) &&
                  offsetof(kite_logit_bias, token) == offsetof(LogitBias, token) &&
                  offsetof(kite_logit_bias, bias) == offsetof(LogitBias, bias),
              "kite_logit_bias must have LogitBias's layout");

KITE_MIRRORS(KITE_CHAT_FORMAT_NONE, ChatFormat::NONE);
KITE_MIRRORS(KITE_CHAT_FORMAT_LLAMA2, ChatFormat::LLAMA2);
KITE_MIRRORS(KITE_CHAT_FORMAT_LLAMA3, ChatFormat::LLAMA3);
KITE_MIRRORS(KITE_CHAT_FORMAT_CHATML, ChatFormat::CHATML);
KITE_MIRRORS(KITE_CHAT_FORMAT_PHI3, ChatFormat::PHI3);
KITE_MIRRORS(KITE_CHAT_FORMAT_GEMMA, ChatFormat::GEMMA);
// A new schema chat format needs its KITE_CHAT_FORMAT_* value (and a line above).
static_assert(ChatFormat::MAX == ChatFormat::GEMMA, "kite_chat_format_id lacks a chat format");

KITE_MIRRORS(KITE_KV_F32, KvType::kF32);
KITE_MIRRORS(KITE_KV_INT8, KvType::kInt8);

KITE_MIRRORS(KITE_BACKEND_CPU, Backend::kCpu);
KITE_MIRRORS(KITE_BACKEND_VULKAN, Backend::kVulkan);
KITE_MIRRORS(KITE_BACKEND_AUTO, Backend::kAuto);

#undef KITE_MIRRORS

}  // namespace

const LogitBias* FromCLogitBias(const kite_logit_bias* b) {
  return reinterpret_cast<const LogitBias*>(b);
}

kite_status ToCStatus(Error e) { return static_cast<kite_status>(e); }

Error FromCStatus(kite_status s) {
  return s >= KITE_OK && s <= KITE_ERR_INTERNAL ? static_cast<Error>(s) : Error::kInternal;
}

kite_stop_reason ToCStopReason(StopReason r) { return static_cast<kite_stop_reason>(r); }

kite_backend ToCBackend(Backend b) { return static_cast<kite_backend>(b); }

kite_chat_format_id ToCChatFormat(ChatFormat f) {
  return f <= ChatFormat::MAX ? static_cast<kite_chat_format_id>(f) : KITE_CHAT_FORMAT_NONE;
}

}  // namespace kite::capi
