// The bare-metal platform layer (platform/baremetal), compiled for the host: memory-only
// model sources with clear errors for paths and descriptors, an inline single-thread pool
// that refuses more threads, and the monotonic default clock.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "platform/clock.h"
#include "platform/file_map.h"
#include "platform/thread_pool.h"

namespace kite {
namespace {

TEST(BaremetalPlatform, FilesAreUnsupportedAndMemoryIsBorrowed) {
  Result<FileMap> by_path = FileMap::OpenPath("/etc/hostname");
  ASSERT_FALSE(by_path.ok());
  EXPECT_EQ(by_path.status().code(), Error::kUnsupported);
  EXPECT_NE(std::strstr(by_path.status().message(), "no file system"), nullptr)
      << by_path.status().message();
  EXPECT_NE(std::strstr(by_path.status().message(), "/etc/hostname"), nullptr);
  EXPECT_EQ(FileMap::OpenFd(0).status().code(), Error::kUnsupported);
  EXPECT_EQ(FileMap::ReadPathToHugePages("x").status().code(), Error::kUnsupported);

  const uint8_t bytes[5] = {1, 2, 3, 4, 5};
  FileMap m = FileMap::Borrow(bytes, sizeof(bytes));
  EXPECT_EQ(m.data(), bytes);
  EXPECT_EQ(m.size(), 5u);
  EXPECT_FALSE(m.is_mapped());
  FileMap moved(static_cast<FileMap&&>(m));
  EXPECT_EQ(moved.data(), bytes);
  EXPECT_EQ(m.data(), nullptr);
  EXPECT_EQ(m.size(), 0u);
}

TEST(BaremetalPlatform, ThreadPoolRunsInlineOnOneThreadOnly) {
  Result<ThreadPool> two = ThreadPool::Create(2);
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.status().code(), Error::kUnsupported);
  Result<ThreadPool> one = ThreadPool::Create(1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->threads(), 1u);
  EXPECT_EQ(one->native(), nullptr);
  std::vector<int> hits(37, 0);
  one->ParallelFor(hits.size(), 8, [](void* c, size_t b, size_t e) {
    auto* h = static_cast<std::vector<int>*>(c);
    for (size_t i = b; i < e; ++i) ++(*h)[i];
  }, &hits);
  for (int h : hits) EXPECT_EQ(h, 1);
  bool called = false;
  one->ParallelFor(0, 8, [](void* c, size_t, size_t) { *static_cast<bool*>(c) = true; }, &called);
  EXPECT_FALSE(called);
}

TEST(BaremetalPlatform, DefaultClockIsStrictlyMonotonic) {
  const uint64_t a = NowNanoseconds();
  const uint64_t b = NowNanoseconds();
  EXPECT_GT(b, a);
}

}  // namespace
}  // namespace kite
