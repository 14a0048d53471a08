// Fuzz target: the input is a JSON document, read by the tools' one reader (tools/common/json,
// on nlohmann-json). Beyond "no crash": a rejected document has a message with
// "JSON byte B (line L, column C)"; an accepted one is written back out by the one writer,
// parsed again, and must give an equal tree.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "test/fuzz/fuzz_check.h"
#include "tools/common/json.h"

namespace {

using kite::json::Type;
using kite::json::Value;

bool Equal(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Type::kNull: return true;
    case Type::kBool: return a.boolean() == b.boolean();
    case Type::kNumber: return a.number() == b.number();
    case Type::kString: return a.str() == b.str();
    case Type::kArray:
      if (a.array().size() != b.array().size()) return false;
      for (size_t i = 0; i < a.array().size(); ++i) {
        if (!Equal(a.array()[i], b.array()[i])) return false;
      }
      return true;
    case Type::kObject:
      if (a.object().size() != b.object().size()) return false;
      for (size_t i = 0; i < a.object().size(); ++i) {
        if (a.object()[i].first != b.object()[i].first ||
            !Equal(a.object()[i].second, b.object()[i].second)) {
          return false;
        }
      }
      return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Value> v = kite::json::Parse(text);
  if (!v.ok()) {
    const std::string message(v.status().message());
    FUZZ_CHECK(message.rfind("JSON byte ", 0) == 0);
    FUZZ_CHECK(message.find(" (line ") != std::string::npos);
    FUZZ_CHECK(message.find(", column ") != std::string::npos);
    return 0;
  }
  const std::string again = kite::json::Write(*v);
  absl::StatusOr<Value> w = kite::json::Parse(again);
  FUZZ_CHECK(w.ok());
  FUZZ_CHECK(Equal(*v, *w));
  return 0;
}
