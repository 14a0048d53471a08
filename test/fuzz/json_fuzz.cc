// Fuzz target: the input is a JSON document. Beyond "no crash": a rejected document has a
// message with "line L, column C"; an accepted one is written back out (strings escaped,
// numbers with 17 digits), parsed again, and must give an equal tree.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tools/common/json.h"

namespace {

using kite::json::Type;
using kite::json::Value;

#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

void WriteString(const std::string& s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out->append(buf);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

void Write(const Value& v, std::string* out) {
  switch (v.type()) {
    case Type::kNull: out->append("null"); break;
    case Type::kBool: out->append(v.boolean() ? "true" : "false"); break;
    case Type::kNumber: {
      char buf[40];
      std::snprintf(buf, sizeof(buf), "%.17g", v.number());
      out->append(buf);
      break;
    }
    case Type::kString: WriteString(v.str(), out); break;
    case Type::kArray:
      out->push_back('[');
      for (size_t i = 0; i < v.array().size(); ++i) {
        if (i) out->push_back(',');
        Write(v.array()[i], out);
      }
      out->push_back(']');
      break;
    case Type::kObject:
      out->push_back('{');
      for (size_t i = 0; i < v.object().size(); ++i) {
        if (i) out->push_back(',');
        WriteString(v.object()[i].first, out);
        out->push_back(':');
        Write(v.object()[i].second, out);
      }
      out->push_back('}');
      break;
  }
}

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
    FUZZ_CHECK(message.rfind("JSON line ", 0) == 0);
    FUZZ_CHECK(message.find(", column ") != std::string::npos);
    return 0;
  }
  std::string again;
  Write(*v, &again);
  absl::StatusOr<Value> w = kite::json::Parse(again);
  FUZZ_CHECK(w.ok());
  FUZZ_CHECK(Equal(*v, *w));
  return 0;
}
