// A GoogleTest fixture whose tests share one opened model (stories260K q4).
#pragma once

#include <gtest/gtest.h>

#include "kite/kite.h"
#include "test/common/test_paths.h"

namespace kite::test {

/// Opens test-models/stories260K-q4.kite once for the test suite (m), closes it after.
/// `Base` is ::testing::Test or a ::testing::TestWithParam<T>.
template <typename Base = ::testing::Test>
class Stories260KSuite : public Base {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(kite_model_open_file(TestModel("stories260K-q4.kite").c_str(), nullptr, &m),
              KITE_OK)
        << kite_last_error();
  }
  static void TearDownTestSuite() {
    kite_model_close(m);
    m = nullptr;
  }
  static inline kite_model* m = nullptr;
};

}  // namespace kite::test
