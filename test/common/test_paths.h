// Where tests find their data: ../shared/models (read-only, beside the checkout) and the
// .kite files the ctest fixture converts from it into the build tree.
#pragma once

#include <string>

namespace kite::test {

/// Path of `name` inside the shared model folder (KITE_SHARED_MODELS).
inline std::string SharedModel(const std::string& name) {
  return std::string(KITE_SHARED_MODELS) + "/" + name;
}

/// Path of a converted test model: "stories260K-f32.kite" or "stories260K-q4.kite", in
/// KITE_TEST_MODELS_DIR: written by the fixture tests fixture_convert_* of this build (see
/// test/runtime/CMakeLists.txt), or, in cross builds, by the native build's fixtures.
inline std::string TestModel(const std::string& name) {
  return std::string(KITE_TEST_MODELS_DIR) + "/" + name;
}

}  // namespace kite::test
