// Embedding (shaders/embedding_*.comp) against the CPU's row dequantization of each table
// encoding (Transformer::EmbeddingRow: memcpy for F32, q8_row_dequant_ref,
// q4r16_row_dequant_ref, DequantizeQ4R16SymRow, DequantizeQ4R16CbRow, q4_row_dequant_ref,
// DequantizeQ4SP24Row, DequantizeQ3R16Row),
// compared exactly: tables split into two
// parts by rows (one dispatch each), token ids in either part, repeated, and past the
// table (never written), rows written through a RowAddress at a position with an offset and
// gaps that must stay untouched, widths with partial groups, several workgroup sizes.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/embedding.h"
#include "sdk/format/blocks.h"
#include "sdk/format/format.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/qd8-q3r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4sp24-gemm/pack.h"
#include "sdk/kernels/row-dequant/row-dequant.h"
#include "test/vulkan/vulkan_test_util.h"

namespace {

namespace vk = kite::vulkan;
namespace k = kite::kernels;

using kite::DType;
using kite::Layout;
using kite::vulkan::test::PrepareStatus;
using kite::vulkan::test::RunOp;
using kite::vulkan::test::Upload;

constexpr float kUntouched = -12345.0f;
constexpr uint32_t kRows = 40;   // table rows
constexpr uint32_t kSplit = 16;  // the second part's first row (a 16-row block boundary)

// A random table in one encoding: its bytes as the file stores them (and the Q8_C scales
// or the Q4_ROW_GROUPS f16 scales and mins, as raw bytes), the bytes and scales of each
// part [0, kSplit) and [kSplit, kRows), and the CPU's rows.
struct Table {
  std::vector<uint8_t> part_bytes[2];
  std::vector<uint8_t> part_scales[2];
  std::vector<float> rows;  // kRows x cols, the CPU's dequantization
  std::vector<int8_t> codebook;  // Q4_R16_G32_CB: its kQ4CodebookEntries entries
};

template <typename T>
std::vector<uint8_t> Bytes(const T* values, size_t n) {
  std::vector<uint8_t> out(n * sizeof(T));
  std::memcpy(out.data(), values, out.size());
  return out;
}

// Q4_ROW_GROUPS with groups of `group` and (when `mins`) f16 mins: the part's scales buffer
// holds its scales, then its mins.
Table MakeRowGroupsTable(uint32_t cols, uint32_t group, bool mins, std::mt19937& rng) {
  Table t;
  t.rows.resize(size_t{kRows} * cols);
  const size_t groups = (cols + group - 1) / group;
  const size_t row_bytes = groups * group / 2;
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  std::vector<uint8_t> bytes(kRows * row_bytes);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(byte(rng));
  std::vector<uint16_t> d(kRows * groups), m(kRows * groups);
  for (uint16_t& v : d) v = kite::FloatToHalf(scale(rng));
  for (uint16_t& v : m) v = kite::FloatToHalf(10.0f * scale(rng));
  for (uint32_t r = 0; r < kRows; ++r) {
    k::q4_row_dequant_ref(cols, groups, group, bytes.data() + r * row_bytes, d.data() + r * groups,
                          mins ? m.data() + r * groups : nullptr, t.rows.data() + size_t{r} * cols);
  }
  const uint32_t first[2] = {0, kSplit}, count[2] = {kSplit, kRows - kSplit};
  for (int part = 0; part < 2; ++part) {
    t.part_bytes[part].assign(bytes.begin() + first[part] * row_bytes,
                              bytes.begin() + (first[part] + count[part]) * row_bytes);
    const size_t cells = count[part] * groups;
    t.part_scales[part] = Bytes(d.data() + first[part] * groups, cells);
    if (mins) {
      const std::vector<uint8_t> mb = Bytes(m.data() + first[part] * groups, cells);
      t.part_scales[part].insert(t.part_scales[part].end(), mb.begin(), mb.end());
    }
  }
  return t;
}

Table MakeTable(DType dtype, Layout layout, uint32_t cols, std::mt19937& rng) {
  Table t;
  t.rows.resize(size_t{kRows} * cols);
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
  if (dtype == DType::F32) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float& v : t.rows) v = normal(rng);
    bytes.resize(t.rows.size() * 4);
    std::memcpy(bytes.data(), t.rows.data(), bytes.size());
  } else if (dtype == DType::Q8_C) {
    std::uniform_int_distribution<int> code(-128, 127);
    std::uniform_real_distribution<float> scale(0.001f, 0.1f);
    bytes.resize(t.rows.size());
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(code(rng));
    scales.resize(kRows);
    for (float& s : scales) s = scale(rng);
    for (uint32_t r = 0; r < kRows; ++r) {
      k::q8_row_dequant_ref(cols, reinterpret_cast<const int8_t*>(bytes.data()) + size_t{r} * cols,
                            scales[r], t.rows.data() + size_t{r} * cols);
    }
  } else if (dtype == DType::Q4_G_SP24) {
    // 2:4 sparse weights (two of every four columns zero, some quads with fewer), packed
    // with the converter's scale search.
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::uniform_int_distribution<int> pick(0, 3);
    std::vector<float> w(size_t{kRows} * cols, 0.0f);
    for (uint32_t r = 0; r < kRows; ++r) {
      for (uint32_t c0 = 0; c0 < cols; c0 += 4) {
        for (int n = 0; n < 2; ++n) {
          const uint32_t c = c0 + static_cast<uint32_t>(pick(rng));
          if (c < cols) w[size_t{r} * cols + c] = normal(rng);
        }
      }
    }
    bytes.resize(kite::PackedBytes(dtype, layout, kRows, cols, 64));
    EXPECT_TRUE(k::PackQ4SP24(kRows, cols, w.data(), bytes.data()));
    for (uint32_t r = 0; r < kRows; ++r) {
      k::DequantizeQ4SP24Row(cols, bytes.data(), r, t.rows.data() + size_t{r} * cols);
    }
  } else if (layout == Layout::Q3_R16_G32 || layout == Layout::Q3_R16_G64) {
    // Random 3-bit codes (padding columns too: the packer writes the zero code there) and
    // f16 scales of both signs, one per group of 32 or 64 columns.
    const size_t group = layout == Layout::Q3_R16_G64 ? 64 : 32;
    const size_t groups = (cols + group - 1) / group;
    std::uniform_int_distribution<int> code(0, 7);
    std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
    std::vector<uint8_t> u(size_t{kRows} * groups * group);
    for (uint8_t& v : u) v = static_cast<uint8_t>(code(rng));
    std::vector<uint16_t> d(kRows * groups);
    for (uint16_t& v : d) v = kite::FloatToHalf(scale(rng));
    bytes.resize(kite::PackedBytes(dtype, layout, kRows, cols, static_cast<uint32_t>(group)));
    k::PackQ3R16(kRows, cols, group, u.data(), d.data(), bytes.data());
    for (uint32_t r = 0; r < kRows; ++r) {
      k::DequantizeQ3R16Row(cols, group, bytes.data(), r, t.rows.data() + size_t{r} * cols);
    }
  } else {
    // Q4_R16_G32, or the symmetric blocks of _SYM and of the codebook layout _CB (a random
    // codebook with both ends of the format's range [-127, 127], and 0).
    const bool cb = layout == Layout::Q4_R16_G32_CB;
    const bool sym = layout == Layout::Q4_R16_G32_SYM || cb;
    if (cb) {
      std::uniform_int_distribution<int> entry(-127, 127);
      t.codebook.resize(kite::kQ4CodebookEntries);
      for (int8_t& e : t.codebook) e = static_cast<int8_t>(entry(rng));
      t.codebook[0] = -127;
      t.codebook[1] = 127;
      t.codebook[2] = 0;
    }
    const size_t groups = (cols + 31) / 32;
    std::uniform_int_distribution<int> nibble(0, 15);
    std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
    std::vector<uint8_t> u(size_t{kRows} * groups * 32);
    for (uint8_t& v : u) v = static_cast<uint8_t>(nibble(rng));
    std::vector<uint16_t> d(kRows * groups), o(kRows * groups);
    for (uint16_t& v : d) v = kite::FloatToHalf(scale(rng));
    for (uint16_t& v : o) v = kite::FloatToHalf(10.0f * scale(rng));
    bytes.resize(kite::PackedBytes(dtype, layout, kRows, cols, 32));
    if (sym) {
      k::PackQ4R16Sym(kRows, cols, u.data(), d.data(), bytes.data());
    } else {
      k::PackQ4R16(kRows, cols, u.data(), d.data(), o.data(), bytes.data());
    }
    for (uint32_t r = 0; r < kRows; ++r) {
      float* out = t.rows.data() + size_t{r} * cols;
      if (cb) {
        k::DequantizeQ4R16CbRow(cols, bytes.data(), t.codebook.data(), r, out);
      } else if (sym) {
        k::DequantizeQ4R16SymRow(cols, bytes.data(), r, out);
      } else {
        k::q4r16_row_dequant_ref(cols, groups, bytes.data(), r, out);
      }
    }
  }
  // Parts: the data extent of rows [0, kSplit) comes first (kSplit is a block boundary).
  const size_t split = kite::PackedBytes(
      dtype, layout, kSplit, cols,
      layout == Layout::Q3_R16_G64 || dtype == DType::Q4_G_SP24 ? 64
      : dtype == DType::Q4_G                                   ? 32
                                                               : 0);
  t.part_bytes[0].assign(bytes.begin(), bytes.begin() + split);
  t.part_bytes[1].assign(bytes.begin() + split, bytes.end());
  if (!scales.empty()) {
    t.part_scales[0] = Bytes(scales.data(), kSplit);
    t.part_scales[1] = Bytes(scales.data() + kSplit, kRows - kSplit);
  }
  return t;
}

struct Case {
  DType dtype;
  Layout layout;
  uint32_t cols, workgroup, pos;
  vk::RowAddress out_at;  // stride 0: cols
  uint32_t group = 0;     // Q4_ROW_GROUPS only
  bool mins = false;      // Q4_ROW_GROUPS only
};

void RunCase(vk::Device& device, const Case& c, std::mt19937& rng) {
  SCOPED_TRACE(std::string(kite::DTypeName(c.dtype)) + "/" + kite::LayoutName(c.layout) +
               " cols=" + std::to_string(c.cols) + " wg=" + std::to_string(c.workgroup) +
               " pos=" + std::to_string(c.pos) + " group=" + std::to_string(c.group) +
               (c.mins ? " mins" : ""));
  const Table table = c.layout == Layout::Q4_ROW_GROUPS
                          ? MakeRowGroupsTable(c.cols, c.group, c.mins, rng)
                          : MakeTable(c.dtype, c.layout, c.cols, rng);
  const std::vector<uint32_t> ids = {3, kRows - 1, kSplit, kRows, 0, 3, kSplit - 1, 1000000};
  const uint32_t m = static_cast<uint32_t>(ids.size());
  vk::RowAddress at = c.out_at;
  if (at.stride == 0) at.stride = c.cols;
  std::vector<float> want(at.EndElements(c.pos, m, c.cols) + 3, kUntouched);
  for (uint32_t t = 0; t < m; ++t) {
    if (ids[t] >= kRows) continue;  // in no part: never written
    std::memcpy(want.data() + at.EndElements(c.pos, t + 1, 0),
                table.rows.data() + size_t{ids[t]} * c.cols, c.cols * sizeof(float));
  }

  kite::Result<vk::Embedding> op = vk::Embedding::Create(device, c.dtype, c.layout, c.workgroup);
  ASSERT_TRUE(op.ok()) << op.status().message();
  vk::Buffer tokens = Upload(device, ids, "tokens");
  vk::Buffer out = Upload(device, std::vector<float>(want.size(), kUntouched), "out");
  for (int part = 0; part < 2; ++part) {
    vk::Buffer bytes = Upload(device, table.part_bytes[part], "table");
    // Only Q8_C and Q4_ROW_GROUPS bind scales (the other encodings get null).
    vk::Buffer scales = Upload(device,
                               table.part_scales[part].empty() ? std::vector<uint8_t>(4)
                                                               : table.part_scales[part],
                               "scales");
    vk::EmbeddingArgs args;
    args.max_tokens = m;
    args.max_pos = c.pos;
    args.cols = c.cols;
    args.row_begin = part == 0 ? 0 : kSplit;
    args.row_count = part == 0 ? kSplit : kRows - kSplit;
    args.group = c.group;
    args.mins = c.mins;
    args.out_at = at;
    args.tokens = &tokens;
    args.table = &bytes;
    args.scales = table.part_scales[part].empty() ? nullptr : &scales;
    args.out = &out;
    args.codebook = table.codebook.empty() ? nullptr : table.codebook.data();
    ASSERT_TRUE(RunOp(device, *op, args, m, c.pos)) << "part " << part;
  }
  const float* got = static_cast<const float*>(out.data());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i], want[i]) << "element " << i << (want[i] == kUntouched ? " (untouched)" : "");
  }
}

TEST(VulkanEmbedding, MatchesCpuRowsExactly) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(5);
  const DType f32 = DType::F32, q8 = DType::Q8_C, q4 = DType::Q4_G;
  const DType sp24 = DType::Q4_G_SP24;
  const Layout rm = Layout::ROW_MAJOR, r16 = Layout::Q4_R16_G32, sym = Layout::Q4_R16_G32_SYM,
               rg = Layout::Q4_ROW_GROUPS, sp = Layout::Q4_SP24_R16_G64,
               q3 = Layout::Q3_R16_G32, q3g64 = Layout::Q3_R16_G64,
               cb = Layout::Q4_R16_G32_CB;
  const Case cases[] = {
      {f32, rm, 1, 0, 0, {}},           {f32, rm, 100, 32, 3, {5, 100, 100}},
      {q8, rm, 1, 1, 0, {}},            {q8, rm, 5, 0, 0, {0, 0, 8}},  // rows inside words
      {q8, rm, 291, 64, 2, {1, 300, 300}},
      {q4, r16, 1, 0, 0, {}},           {q4, r16, 50, 16, 0, {0, 0, 53}},
      {q4, r16, 288, 0, 4, {7, 288, 288}},
      {q4, sym, 33, 1, 0, {}},          {q4, sym, 172, 256, 1, {0, 180, 180}},
      // Rows of an odd number of bytes (groups of 6), words straddling rows.
      {q4, rg, 1, 0, 0, {}, 6, false},  {q4, rg, 17, 8, 2, {3, 20, 20}, 6, true},
      {q4, rg, 100, 32, 0, {}, 32, true}, {q4, rg, 200, 0, 1, {0, 200, 200}, 128, false},
      {sp24, sp, 1, 0, 0, {}},          {sp24, sp, 70, 16, 3, {2, 80, 80}},
      {sp24, sp, 192, 0, 0, {}},
      // 3-bit: one column, a partial group, several groups at a position with gaps.
      {q4, q3, 1, 0, 0, {}},            {q4, q3, 50, 16, 0, {0, 0, 53}},
      {q4, q3, 288, 64, 4, {7, 300, 300}},
      // 3-bit groups of 64: one column, half a block (one code part), a partial second
      // part, several blocks at a position with gaps.
      {q4, q3g64, 1, 0, 0, {}},         {q4, q3g64, 32, 16, 0, {0, 0, 35}},
      {q4, q3g64, 50, 16, 1, {}},       {q4, q3g64, 288, 64, 4, {7, 300, 300}},
      // Codebook: one column, a partial group, several groups at a position with gaps.
      {q4, cb, 1, 0, 0, {}},            {q4, cb, 50, 16, 0, {0, 0, 53}},
      {q4, cb, 288, 64, 4, {7, 300, 300}},  {q4, cb, 172, 256, 1, {0, 180, 180}},
  };
  for (const Case& c : cases) RunCase(*device, c, rng);
}

// Arguments for `tokens` tokens (at position 0) and rows of `cols` written back to back.
vk::EmbeddingArgs Args(uint32_t tokens, uint32_t cols, uint32_t rows, const vk::Buffer& ids,
                       const vk::Buffer& table, const vk::Buffer& out) {
  vk::EmbeddingArgs args;
  args.max_tokens = tokens;
  args.cols = cols;
  args.row_count = rows;
  args.out_at.stride = cols;
  args.tokens = &ids;
  args.table = &table;
  args.out = &out;
  return args;
}

TEST(VulkanEmbedding, RefusesOtherEncodingsAndBadShapes) {
  REQUIRE_DEVICE(device);
  kite::Result<vk::Embedding> bad = vk::Embedding::Create(*device, DType::Q4_G, Layout::ROW_MAJOR, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), kite::Error::kUnsupported);
  EXPECT_NE(std::string(bad.status().message()).find("q4_g tables in layout row_major"),
            std::string::npos)
      << bad.status().message();

  kite::Result<vk::Embedding> groups =
      vk::Embedding::Create(*device, DType::Q4_G, Layout::Q4_ROW_GROUPS, 0);
  ASSERT_TRUE(groups.ok()) << groups.status().message();
  {
    vk::Buffer tokens = Upload(*device, std::vector<uint32_t>(1), "tokens");
    vk::Buffer table = Upload(*device, std::vector<uint8_t>(32), "table");   // 2 rows x 64
    vk::Buffer params = Upload(*device, std::vector<uint8_t>(4), "scales");  // 2 f16 scales
    vk::Buffer out = Upload(*device, std::vector<float>(64), "out");
    vk::EmbeddingArgs args = Args(1, 64, 2, tokens, table, out);
    args.group = 32;
    args.scales = &params;
    EXPECT_FALSE(PrepareStatus(*device, *groups, args).ok());  // 2 x 2 groups: 8 bytes of scales
    args.cols = 32;
    EXPECT_TRUE(PrepareStatus(*device, *groups, args).ok());
    args.mins = true;
    EXPECT_STREQ(PrepareStatus(*device, *groups, args).message(),
                 "embedding: buffer 'scales' holds 4 bytes, the shape needs 8");
    args.mins = false;
    args.group = 7;
    EXPECT_STREQ(PrepareStatus(*device, *groups, args).message(),
                 "embedding: group of 7 is not even and >= 2 (q4_row_groups)");
  }

  kite::Result<vk::Embedding> op = vk::Embedding::Create(*device, DType::Q4_G, Layout::Q4_R16_G32, 0);
  ASSERT_TRUE(op.ok()) << op.status().message();
  vk::Buffer tokens = Upload(*device, std::vector<uint32_t>(2), "tokens");
  vk::Buffer table = Upload(*device, std::vector<uint8_t>(320), "table");  // one block
  vk::Buffer out = Upload(*device, std::vector<float>(32), "out");
  vk::EmbeddingArgs args = Args(2, 16, 16, tokens, table, out);
  EXPECT_TRUE(PrepareStatus(*device, *op, args).ok());
  args.row_count = 17;
  EXPECT_STREQ(PrepareStatus(*device, *op, args).message(),
               "embedding: buffer 'table' holds 320 bytes, the shape needs 640");
  args.row_count = 16;
  args.max_tokens = 3;
  EXPECT_STREQ(PrepareStatus(*device, *op, args).message(),
               "embedding: buffer 'tokens' holds 8 bytes, the shape needs 12");
  args.max_tokens = 2;
  args.row_begin = 8;
  kite::Status s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("parts start on a 16-row block"), std::string::npos)
      << s.message();
  args.row_begin = 0;
  args.max_pos = 1;
  args.out_at.pos_stride = 16;
  EXPECT_STREQ(PrepareStatus(*device, *op, args).message(),
               "embedding: buffer 'out' holds 128 bytes, the shape needs 192");

  // 3-bit tables: 224-byte blocks of 16 rows, parts on a block.
  kite::Result<vk::Embedding> q3 =
      vk::Embedding::Create(*device, DType::Q4_G, Layout::Q3_R16_G32, 0);
  ASSERT_TRUE(q3.ok()) << q3.status().message();
  vk::Buffer q3_table = Upload(*device, std::vector<uint8_t>(224), "table");  // one block
  vk::EmbeddingArgs q3_args = Args(2, 16, 16, tokens, q3_table, out);
  EXPECT_TRUE(PrepareStatus(*device, *q3, q3_args).ok());
  q3_args.cols = 33;  // two groups
  EXPECT_STREQ(PrepareStatus(*device, *q3, q3_args).message(),
               "embedding: buffer 'table' holds 224 bytes, the shape needs 448");
  q3_args.cols = 16;
  q3_args.row_begin = 8;
  s = PrepareStatus(*device, *q3, q3_args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("q3_r16_g32: parts start on a 16-row block"),
            std::string::npos)
      << s.message();

  // Groups of 64: 416-byte blocks of 16 rows x 64 columns.
  kite::Result<vk::Embedding> q3g64 =
      vk::Embedding::Create(*device, DType::Q4_G, Layout::Q3_R16_G64, 0);
  ASSERT_TRUE(q3g64.ok()) << q3g64.status().message();
  vk::Buffer g64_table = Upload(*device, std::vector<uint8_t>(416), "table");  // one block
  vk::EmbeddingArgs g64_args = Args(2, 64, 16, tokens, g64_table, out);
  vk::Buffer wide_out = Upload(*device, std::vector<float>(2 * 65), "out");
  g64_args.out = &wide_out;
  EXPECT_TRUE(PrepareStatus(*device, *q3g64, g64_args).ok());
  g64_args.cols = 65;  // two blocks
  g64_args.out_at.stride = 65;
  EXPECT_STREQ(PrepareStatus(*device, *q3g64, g64_args).message(),
               "embedding: buffer 'table' holds 416 bytes, the shape needs 832");

  // Codebook tables (the 288-byte symmetric blocks) need the tensor's codebook.
  kite::Result<vk::Embedding> cbop =
      vk::Embedding::Create(*device, DType::Q4_G, Layout::Q4_R16_G32_CB, 0);
  ASSERT_TRUE(cbop.ok()) << cbop.status().message();
  vk::Buffer cb_table = Upload(*device, std::vector<uint8_t>(288), "table");  // one block
  vk::EmbeddingArgs cb_args = Args(2, 16, 16, tokens, cb_table, out);
  EXPECT_STREQ(PrepareStatus(*device, *cbop, cb_args).message(),
               "embedding: a q4_r16_g32_cb table needs the tensor's codebook");
  const int8_t entries[kite::kQ4CodebookEntries] = {};
  cb_args.codebook = entries;
  EXPECT_TRUE(PrepareStatus(*device, *cbop, cb_args).ok());
  cb_args.cols = 33;  // two groups
  EXPECT_STREQ(PrepareStatus(*device, *cbop, cb_args).message(),
               "embedding: buffer 'table' holds 288 bytes, the shape needs 576");
}

}  // namespace
