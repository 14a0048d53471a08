// Imported host memory (sdk/backends/vulkan/host_import.h): the range and offset arithmetic
// on odd addresses and sizes, the placement rule, and on the device (lavapipe has
// VK_EXT_external_memory_host) an import whose bytes the device copies out unchanged, with
// the refusals.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/host_import.h"
#include "test/vulkan/vulkan_test_util.h"

namespace kite::vulkan {
namespace {

constexpr uint64_t kPage = 0x1000;

// Weights spanning more than one import may hold are imported in runs of whole buffers,
// each within the limit, no two sharing a page; what fits no run is left to be copied.
TEST(HostImportSplit, RunsOfBuffersWithinTheLimitSharingNoPage) {
  const HostRange file{0x100000, 0x100000 + 64 * kPage + 100};  // last page partial
  const uintptr_t b = file.begin;
  const HostRange spans[] = {
      {b + 0x10, b + 0x800},                   // page 0
      {b + 0x800, b + 0x1800},                 // pages 0..1
      {b + 0x1800, b + 0x2c00},                // pages 1..2: a run of 3 pages
      {b + 0x2c00, b + 0x3100},                // starts in the run's last page: left out
      {b + 0x3100, b + 0x3200},                // page 3: a new run
      {b + 0x5000, b + 0x5000 + 8 * kPage},    // 8 pages alone: above the limit, left out
      {b + 0xd000, b + 0xe000},                // page 13
      {b + 0xe000, b + 0xf000},                // page 14: joins page 13
      {b + 64 * kPage, b + 64 * kPage + 50},   // in the partial last page: left out
  };
  std::vector<HostRange> runs;
  SplitImports(file, spans, sizeof(spans) / sizeof(spans[0]), kPage, 3 * kPage, &runs);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].begin, b);
  EXPECT_EQ(runs[0].end, b + 3 * kPage);
  EXPECT_EQ(runs[1].begin, b + 3 * kPage);
  EXPECT_EQ(runs[1].end, b + 4 * kPage);
  EXPECT_EQ(runs[2].begin, b + 13 * kPage);
  EXPECT_EQ(runs[2].end, b + 15 * kPage);
  // Without a limit: one run from the first page to the last whole one a span reaches.
  SplitImports(file, spans, sizeof(spans) / sizeof(spans[0]), kPage, 0, &runs);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].begin, b);
  EXPECT_EQ(runs[0].end, b + 15 * kPage);
  // A limit of one page: every span of one page is a run of its own unless its page is
  // taken (the second span shares page 0 with the first).
  SplitImports(file, spans, 3, kPage, kPage, &runs);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].begin, b);
  EXPECT_EQ(runs[0].end, b + kPage);
  SplitImports(file, spans, 0, kPage, kPage, &runs);
  EXPECT_TRUE(runs.empty());
}

TEST(HostImportRange, WidensToWholeBlocksInsideTheReadableMemory) {
  // A mapping of 5 pages and a bit (the last page partial), weights from an odd offset.
  const HostRange mapping{0x10000, 0x10000 + 5 * kPage + 123};
  HostRange r = ImportRange(mapping, {0x10000 + 0x4000 - 17, 0x10000 + 0x2 + 3 * kPage}, kPage);
  // want.begin > want.end: empty.
  EXPECT_TRUE(r.empty());
  r = ImportRange(mapping, {0x10000 + 0x1234, 0x10000 + 0x3001}, kPage);
  EXPECT_EQ(r.begin, 0x11000u);
  EXPECT_EQ(r.end, 0x14000u);
  // Weights reaching into the partial last page: that page cannot be imported.
  r = ImportRange(mapping, {0x10000 + 0x4000, 0x10000 + 5 * kPage + 100}, kPage);
  EXPECT_EQ(r.begin, 0x14000u);
  EXPECT_EQ(r.end, 0x15000u);
  // Caller memory starting inside a page: the first whole page inside it.
  const HostRange borrowed{0x20010, 0x20010 + 3 * kPage};
  r = ImportRange(borrowed, {0x20010, 0x20010 + 3 * kPage}, kPage);
  EXPECT_EQ(r.begin, 0x21000u);
  EXPECT_EQ(r.end, 0x23000u);
  // Less than a whole page inside: nothing.
  EXPECT_TRUE(ImportRange({0x20010, 0x20ff0}, {0x20010, 0x20ff0}, kPage).empty());
  // A larger alignment than the page (64 KiB).
  r = ImportRange({0x0, 0x40000}, {0x12345, 0x23456}, 0x10000);
  EXPECT_EQ(r.begin, 0x10000u);
  EXPECT_EQ(r.end, 0x30000u);
  EXPECT_TRUE(ImportRange(mapping, {}, kPage).empty());
  EXPECT_TRUE(ImportRange({}, {0x1000, 0x2000}, kPage).empty());
  EXPECT_TRUE(ImportRange(mapping, {0x11000, 0x12000}, 0).empty());
}

TEST(HostImportRange, OffsetsOfBuffersInsideTheImport) {
  const HostRange range{0x11000, 0x14000};
  uint64_t offset = 1;
  EXPECT_TRUE(ImportOffset(range, 0x11000, 64, 16, &offset));
  EXPECT_EQ(offset, 0u);
  EXPECT_TRUE(ImportOffset(range, 0x11040, 1920, 64, &offset));
  EXPECT_EQ(offset, 0x40u);
  // An offset that misses the buffer alignment.
  EXPECT_FALSE(ImportOffset(range, 0x11008, 64, 16, &offset));
  EXPECT_TRUE(ImportOffset(range, 0x11008, 64, 8, &offset));
  EXPECT_EQ(offset, 8u);
  // The size rounded up to 4 must fit: 3 bytes at the last 4 do, 5 bytes at the last 4 do
  // not; 1 byte at the very end rounds to 4 and sticks out.
  EXPECT_TRUE(ImportOffset(range, 0x14000 - 4, 3, 4, &offset));
  EXPECT_EQ(offset, 0x3000u - 4);
  EXPECT_FALSE(ImportOffset(range, 0x14000 - 4, 5, 4, &offset));
  EXPECT_FALSE(ImportOffset(range, 0x14000 - 2, 1, 1, &offset));
  // Outside the range, or nothing.
  EXPECT_FALSE(ImportOffset(range, 0x10ff0, 16, 16, &offset));
  EXPECT_FALSE(ImportOffset(range, 0x14000, 16, 16, &offset));
  EXPECT_FALSE(ImportOffset(range, 0x11000, 0, 16, &offset));
  EXPECT_FALSE(ImportOffset(range, 0x11000, UINT64_MAX, 16, &offset));
  EXPECT_FALSE(ImportOffset(HostRange{}, 0x11000, 16, 16, &offset));
}

TEST(HostImportRange, ImportOnlyOnDevicesSharingTheHostsMemory) {
  DeviceFacts f;
  f.external_memory_host = true;
  f.type = VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU;
  EXPECT_TRUE(PreferHostImport(f));
  f.type = VK_PHYSICAL_DEVICE_TYPE_CPU;
  EXPECT_TRUE(PreferHostImport(f));
  f.type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  EXPECT_FALSE(PreferHostImport(f));
  f.type = VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU;
  EXPECT_FALSE(PreferHostImport(f));
  f.type = VK_PHYSICAL_DEVICE_TYPE_CPU;
  f.external_memory_host = false;
  EXPECT_FALSE(PreferHostImport(f));
}

// Read-only pages of known bytes, as a model file's mapping is.
struct Pages {
  explicit Pages(size_t n) : size(n * kPage) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(p, MAP_FAILED);
    base = static_cast<uint8_t*>(p);
    for (size_t i = 0; i < size; ++i) base[i] = static_cast<uint8_t>(i * 7 + i / 251);
    mprotect(base, size, PROT_READ);
  }
  ~Pages() { munmap(base, size); }
  HostRange range() const {
    return {reinterpret_cast<uintptr_t>(base), reinterpret_cast<uintptr_t>(base) + size};
  }
  uint8_t* base = nullptr;
  size_t size = 0;
};

TEST(HostImportDevice, TheDeviceReadsTheImportedBytes) {
  Device* device = test::TheDevice();
  ASSERT_NE(device, nullptr);
  if (!device->facts().external_memory_host) {
    // lavapipe has it: the test must not skip there.
    ASSERT_FALSE(IsCpuDevice(device->properties().deviceType))
        << "lavapipe should report VK_EXT_external_memory_host";
    GTEST_SKIP() << "the device cannot import host memory";
  }
  const uint64_t align = device->facts().min_imported_host_pointer_alignment;
  ASSERT_NE(align, 0u);
  ASSERT_EQ(align & (align - 1), 0u);
  Pages pages(4 * (align > kPage ? align / kPage : 1));
  const HostRange range = ImportRange(pages.range(), pages.range(), align);
  ASSERT_FALSE(range.empty());
  Result<HostMemory> host = HostMemory::Import(*device, range, "test pages");
  ASSERT_TRUE(host.ok()) << host.status().message();
  // A buffer of an odd size at an aligned offset past the start: the device copies it out.
  const uint64_t offset = 256, bytes = 1001;
  Result<Buffer> in = Buffer::CreateIn(*device, *host, offset, bytes, "imported");
  ASSERT_TRUE(in.ok()) << in.status().message();
  EXPECT_TRUE(in->imported());
  EXPECT_EQ(in->size(), 1004u);
  EXPECT_EQ(in->data(), reinterpret_cast<void*>(range.begin + offset));
  Result<Buffer> out = Buffer::Create(*device, bytes, "out");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_FALSE(out->imported());
  std::memset(out->data(), 0, out->size());
  Result<VkCommandBuffer> cmd = device->Begin();
  ASSERT_TRUE(cmd.ok());
  VkBufferCopy region = {};
  region.srcOffset = 0;
  region.size = in->size();
  device->vk().CmdCopyBuffer(*cmd, in->handle(), out->handle(), 1, &region);
  ASSERT_TRUE(device->SubmitAndWait(test::kTimeoutNs).ok());
  EXPECT_EQ(std::memcmp(out->data(), reinterpret_cast<const void*>(range.begin + offset), bytes),
            0);

  // Refusals: a misaligned range, a buffer sticking out of the import, a misaligned offset.
  Result<HostMemory> odd = HostMemory::Import(*device, {range.begin + 16, range.end}, "odd");
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.status().code(), Error::kUnsupported);
  EXPECT_NE(std::strstr(odd.status().message(), "minImportedHostPointerAlignment"), nullptr)
      << odd.status().message();
  Result<Buffer> past = Buffer::CreateIn(*device, *host, range.size() - 64, 128, "past");
  ASSERT_FALSE(past.ok());
  EXPECT_NE(std::strstr(past.status().message(), "'past'"), nullptr) << past.status().message();
  Result<Buffer> misaligned = Buffer::CreateIn(*device, *host, 1, 64, "misaligned");
  ASSERT_FALSE(misaligned.ok());
  EXPECT_NE(std::strstr(misaligned.status().message(), "'misaligned'"), nullptr)
      << misaligned.status().message();

  // One import is one allocation: a range above maxMemoryAllocationSize (read from the
  // device) or a caller's lower limit is refused naming both sizes; at the limit it imports.
  EXPECT_GE(device->facts().max_memory_allocation_size, range.size());
  const uint64_t half = range.size() / 2;
  Result<HostMemory> big = HostMemory::Import(*device, range, "big", half);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Error::kUnsupported);
  const std::string want = "big: " + std::to_string(range.size()) +
                           " bytes to import exceed the largest allocation of " +
                           std::to_string(half) + " bytes";
  EXPECT_EQ(std::string(big.status().message()).rfind(want, 0), 0u) << big.status().message();
  EXPECT_TRUE(HostMemory::Import(*device, range, "at the limit", range.size()).ok());
}

}  // namespace
}  // namespace kite::vulkan
