// Test fixtures in JSON (goldens, the eval token file, the tools' --json output), read with
// the host side's one JSON reader (tools/common/json.h; link kite_json). Parse errors fail
// the current GoogleTest test and give a null Value, whose lookups then fail too.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "test/common/read_file.h"
#include "tools/common/json.h"

namespace kite::test {

/// The document in `text` (a tool's output); null, with a test failure, when it is not JSON.
inline json::Value ParseJson(const std::string& text) {
  absl::StatusOr<json::Value> v = json::Parse(text);
  if (!v.ok()) {
    ADD_FAILURE() << v.status() << "\nin: " << text;
    return json::Value();
  }
  return *std::move(v);
}

/// The document in the file at `path`; null, with a test failure, when it cannot be read
/// or is not JSON.
inline json::Value LoadJson(const std::string& path) {
  absl::StatusOr<json::Value> v = json::ParseFile(path);
  if (!v.ok()) {
    ADD_FAILURE() << v.status();
    return json::Value();
  }
  return *std::move(v);
}

/// The integers of the array member `key` of `object`. False when absent or not an array
/// of integers.
inline bool JsonIntArray(const json::Value& object, std::string_view key,
                         std::vector<int64_t>* out) {
  const json::Value* array = object.Find(key);
  if (array == nullptr || !array->is_array()) return false;
  out->clear();
  for (const json::Value& item : array->array()) {
    int64_t i;
    if (!item.is_integer() || !item.GetInt64(&i)) return false;
    out->push_back(i);
  }
  return true;
}

/// The numbers of the array member `key` of `object`. False when absent or not an array of
/// numbers.
inline bool JsonNumberArray(const json::Value& object, std::string_view key,
                            std::vector<double>* out) {
  const json::Value* array = object.Find(key);
  if (array == nullptr || !array->is_array()) return false;
  out->clear();
  for (const json::Value& item : array->array()) {
    if (!item.is_number()) return false;
    out->push_back(item.number());
  }
  return true;
}

/// The string member `key` of `object`. False when absent or not a string.
inline bool JsonString(const json::Value& object, std::string_view key, std::string* out) {
  const json::Value* s = object.Find(key);
  if (s == nullptr || !s->is_string()) return false;
  *out = s->str();
  return true;
}

/// The number member `key` of `object`; NaN when absent, null or not a number.
inline double JsonNumber(const json::Value& object, std::string_view key) {
  const json::Value* n = object.Find(key);
  return n != nullptr && n->is_number() ? n->number() : NAN;
}

/// The "token_ids" of every story of an eval token file
/// (../shared/models/eval/*.tokens.json: {"stories": [{"token_ids": [...]}, ...]}).
inline std::vector<std::vector<int64_t>> StoryTokenIds(const std::string& path) {
  const json::Value doc = LoadJson(path);
  std::vector<std::vector<int64_t>> stories;
  const json::Value* list = doc.Find("stories");
  if (list == nullptr || !list->is_array()) {
    ADD_FAILURE() << path << ": no \"stories\" array";
    return stories;
  }
  for (const json::Value& story : list->array()) {
    stories.emplace_back();
    EXPECT_TRUE(JsonIntArray(story, "token_ids", &stories.back()))
        << path << ": story " << stories.size() - 1;
  }
  return stories;
}

}  // namespace kite::test
