// Where tests find their data: ../shared/models (read-only, beside the checkout) and the
// .kite files the ctest fixture converts from it into the build tree.
#pragma once

#include <string>

namespace kite::test {

/// Path of `name` inside the shared model folder (KITE_SHARED_MODELS).
inline std::string SharedModel(const std::string& name) {
  return std::string(KITE_SHARED_MODELS) + "/" + name;
}

/// Path of a converted test model: "stories260K-f32.kite" or "stories260K-q4.kite",
/// written by the fixture tests fixture_convert_* (see test/runtime/CMakeLists.txt).
inline std::string TestModel(const std::string& name) {
  return std::string(KITE_BINARY_DIR) + "/test-models/" + name;
}

}  // namespace kite::test
