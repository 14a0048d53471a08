// kite::Arena and kite::ArenaLayout: one bump allocator for caller storage and heap blocks.
#include "sdk/base/arena.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace kite {
namespace {

TEST(ArenaLayoutTest, OffsetsAreAlignedAndTotalCountsPadding) {
  ArenaLayout layout;
  EXPECT_EQ(layout.Add(3, 1), 0u);
  EXPECT_EQ(layout.Add(8, 8), 8u);
  EXPECT_EQ(layout.Add(1, 64), 64u);
  EXPECT_EQ(layout.total_bytes(), 65u);
  EXPECT_EQ(AlignUp(65, 16), 80u);
  EXPECT_EQ(AlignUp(64, 64), 64u);
}

TEST(ArenaTest, BorrowedStorageIsHandedOutInOrderAndNeverOverrun) {
  alignas(64) uint8_t storage[128];
  Result<Arena> r = Arena::Borrow(storage, sizeof(storage), 64, "test storage");
  ASSERT_TRUE(r.ok()) << r.status().message();
  Arena arena = std::move(r.value());
  EXPECT_FALSE(arena.owned());
  void* a = arena.Take(10, 1);
  EXPECT_EQ(a, storage);
  void* b = arena.Take(16, 16);
  EXPECT_EQ(b, storage + 16);
  EXPECT_EQ(arena.used(), 32u);
  EXPECT_EQ(arena.Take(97, 1), nullptr);  // 32 + 97 > 128: nothing is taken
  EXPECT_EQ(arena.used(), 32u);
  EXPECT_NE(arena.Take(96, 1), nullptr);
  EXPECT_EQ(arena.Take(1, 1), nullptr);
  EXPECT_EQ(arena.Take(SIZE_MAX, 1), nullptr);
}

TEST(ArenaTest, LayoutSizesWhatTheArenaTakes) {
  ArenaLayout layout;
  layout.Add(5 * sizeof(double), alignof(double));
  layout.Add(3 * sizeof(float), alignof(float));
  layout.Add(7, 1);
  Result<Arena> r = Arena::Allocate(layout.total_bytes(), 16, "test block");
  ASSERT_TRUE(r.ok());
  Arena arena = std::move(r.value());
  EXPECT_TRUE(arena.owned());
  EXPECT_NE(arena.TakeArray<double>(5), nullptr);
  float* f = arena.TakeArray<float>(3);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f[0], 0.0f);  // value-initialized
  EXPECT_NE(arena.Take(7, 1), nullptr);
  EXPECT_EQ(arena.used(), layout.total_bytes());
  EXPECT_EQ(arena.Take(1, 1), nullptr);
}

TEST(ArenaTest, BadStorageIsNamed) {
  alignas(16) uint8_t storage[32];
  Result<Arena> null = Arena::Borrow(nullptr, 32, 16, "model storage");
  ASSERT_FALSE(null.ok());
  EXPECT_STREQ(null.status().message(), "model storage is null");
  Result<Arena> misaligned = Arena::Borrow(storage + 1, 16, 16, "model storage");
  ASSERT_FALSE(misaligned.ok());
  EXPECT_EQ(misaligned.status().code(), Error::kInvalidArgument);
  EXPECT_STREQ(misaligned.status().message(), "model storage must be 16-byte aligned");
}

TEST(ArenaTest, MoveTransfersOwnership) {
  Result<Arena> r = Arena::Allocate(64, 64, "block");
  ASSERT_TRUE(r.ok());
  Arena a = std::move(r.value());
  uint8_t* data = a.data();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(data) % 64, 0u);
  Arena b = std::move(a);
  EXPECT_EQ(b.data(), data);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_TRUE(b.owned());
  EXPECT_FALSE(a.owned());
  Result<Arena> empty = Arena::Allocate(0, 16, "nothing");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.value().data(), nullptr);
}

}  // namespace
}  // namespace kite
