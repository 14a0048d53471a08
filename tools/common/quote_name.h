// Untrusted names (keys, tensor names, pieces read from input files) in the host tools'
// messages: quoted and escaped by kite::Quoted (sdk/base/quote.h), as a std::string.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "sdk/base/quote.h"

namespace kite::tools {

/// `name` single-quoted, with control bytes, NUL and ill-formed UTF-8 escaped and the length
/// bounded (see kite::Quoted). Use in place of "'" + name + "'". Thread-safe.
inline std::string QuoteName(absl::string_view name) {
  return Quoted(name.data(), name.size()).c_str();
}

}  // namespace kite::tools
