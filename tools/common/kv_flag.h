// The --kv flag (KV cache element type) shared by kite-eval, kite-bench and kite-generate.
// Header-only; host tools and samples only.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "kite/kite.h"
#include "tools/common/flags.h"

namespace kite::flags {

/// "--NAME f32|int8" (NAME is "kv" unless given) storing a kite_kv_type (KITE_KV_F32 /
/// KITE_KV_INT8) in *target, for kite_session_options.kv_type. `help` is the tool's help
/// text for the flag.
inline Flag KvTypeFlag(uint32_t* target, std::string help, std::string long_name = "kv") {
  return Enum<uint32_t>(0, std::move(long_name), "f32|int8", target,
                        {{"f32", KITE_KV_F32}, {"int8", KITE_KV_INT8}}, std::move(help));
}

/// The name --kv accepts for a kite_kv_type ("f32", "int8"; "?" for other values).
inline const char* KvTypeName(uint32_t kv_type) {
  return kv_type == KITE_KV_F32 ? "f32" : kv_type == KITE_KV_INT8 ? "int8" : "?";
}

}  // namespace kite::flags
