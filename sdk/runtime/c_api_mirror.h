// Conversions between the C API's enums (sdk/include/kite/kite.h) and the C++ enums they
// mirror: kite_status <-> kite::Error (sdk/base/status.h), kite_stop_reason <-
// kite::StopReason (sdk/runtime/session.h), kite_chat_format_id <- kite::ChatFormat
// (sdk/schema/kite.fbs), kite_logit_bias -> kite::LogitBias (sdk/runtime/sampler.h), and
// the KITE_MAX_* limits. The C++ enums are the definitions; c_api_mirror.cc checks, with
// static_asserts, that every C value equals its C++ counterpart, so these conversions are
// exact. Part of the C API layer. Pure, thread-safe.
#pragma once

#include "kite/kite.h"
#include "sdk/base/status.h"
#include "sdk/format/format.h"
#include "sdk/runtime/session.h"

namespace kite::capi {

/// The C status of a C++ error code.
kite_status ToCStatus(Error e);
/// The C++ error code of a C status (values outside kite_status map to kInternal).
Error FromCStatus(kite_status s);
/// The C stop reason of a C++ one.
kite_stop_reason ToCStopReason(StopReason r);
/// The C chat format id of a C++ (schema) chat format.
kite_chat_format_id ToCChatFormat(ChatFormat f);
/// The C value of a resolved backend (kCpu or kVulkan).
kite_backend ToCBackend(Backend b);
/// The C++ view of a C logit bias array (same layout, checked; null stays null).
const LogitBias* FromCLogitBias(const kite_logit_bias* b);

}  // namespace kite::capi
