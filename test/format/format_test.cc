// The format's encoding table (sdk/format/format.h) against sizes computed by hand from
// the layout descriptions in sdk/schema/kite.fbs, including rows and columns that do not
// fill a block; and the schema enums' names and values.
#include "sdk/format/format.h"

#include <cstring>

#include "gtest/gtest.h"

namespace kite {
namespace {

TEST(PackedBytes, RowMajorEncodings) {
  EXPECT_EQ(PackedBytes(DType::F32, Layout::ROW_MAJOR, 3, 5, 0), 3u * 5 * 4);
  EXPECT_EQ(PackedBytes(DType::F16, Layout::ROW_MAJOR, 3, 5, 0), 3u * 5 * 2);
  EXPECT_EQ(PackedBytes(DType::Q8_C, Layout::ROW_MAJOR, 3, 5, 0), 3u * 5);
  EXPECT_EQ(PackedBytes(DType::F32, Layout::ROW_MAJOR, 1, 7, 0), 28u);  // a vector
  const Encoding* q8 = FindEncoding(DType::Q8_C, Layout::ROW_MAJOR);
  ASSERT_NE(q8, nullptr);
  EXPECT_EQ(ScalesBytes(*q8, 3, 5, 0), 3u * 4);  // one f32 per row
  EXPECT_EQ(ScalesBytes(*FindEncoding(DType::F32, Layout::ROW_MAJOR), 3, 5, 0), 0u);
}

TEST(PackedBytes, Q4RowGroups) {
  // 3 rows of 70 columns in groups of 32: 3 groups per row of 16 bytes, f16 scales.
  EXPECT_EQ(PackedBytes(DType::Q4_G, Layout::Q4_ROW_GROUPS, 3, 70, 32), 3u * 3 * 16);
  EXPECT_EQ(PackedBytes(DType::Q4_G, Layout::Q4_ROW_GROUPS, 2, 64, 64), 2u * 32);
  EXPECT_EQ(PackedBytes(DType::Q4_G, Layout::Q4_ROW_GROUPS, 1, 5, 2), 3u);
  const Encoding* e = FindEncoding(DType::Q4_G, Layout::Q4_ROW_GROUPS);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(ScalesBytes(*e, 3, 70, 32), 3u * 3 * 2);
  EXPECT_TRUE(e->mins);
  // The group is the tensor's: even, in [2, 4096].
  EXPECT_TRUE(GroupSizeValid(*e, 2));
  EXPECT_TRUE(GroupSizeValid(*e, 4096));
  EXPECT_FALSE(GroupSizeValid(*e, 0));
  EXPECT_FALSE(GroupSizeValid(*e, 7));
  EXPECT_FALSE(GroupSizeValid(*e, 4098));
  EXPECT_EQ(PackedBytes(DType::Q4_G, Layout::Q4_ROW_GROUPS, 3, 70, 7), 0u);
}

TEST(PackedBytes, Q4R16G32Blocks) {
  // 16 x 32 blocks of 320 bytes (nibbles, scales, offsets); rows pad to 16, columns to 32.
  EXPECT_EQ(PackedBytes(DType::Q4_G, Layout::Q4_R16_G32, 16, 32, 32), 320u);
  EXPECT_EQ(PackedBytes(DType::Q4_G, Layout::Q4_R16_G32, 17, 33, 32), 2u * 2 * 320);
  EXPECT_EQ(PackedBytes(DType::Q4_G, Layout::Q4_R16_G32, 40, 100, 32), 3u * 4 * 320);
  EXPECT_EQ(PackedBytes(DType::Q4_G, Layout::Q4_R16_G32, 1, 1, 32), 320u);
  // The offset-free form: 288-byte blocks.
  EXPECT_EQ(PackedBytes(DType::Q4_G, Layout::Q4_R16_G32_SYM, 17, 33, 32), 2u * 2 * 288);
  EXPECT_EQ(PackedBytes(DType::Q4_G, Layout::Q4_R16_G32_SYM, 40, 100, 32), 3u * 4 * 288);
  // Only group 32, and no scales extent.
  EXPECT_EQ(PackedBytes(DType::Q4_G, Layout::Q4_R16_G32, 16, 32, 64), 0u);
  const Encoding* e = FindEncoding(DType::Q4_G, Layout::Q4_R16_G32_SYM);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(ScalesBytes(*e, 40, 100, 32), 0u);
  EXPECT_FALSE(e->mins);
  // A row of blocks: the stride between 16-row slices of the data extent.
  EXPECT_EQ(RowBlockBytes(*e, 100, 32), 4u * 288);
  EXPECT_EQ(e->block_rows, 16u);
}

TEST(PackedBytes, Q4Sp24Blocks) {
  // 2:4 sparse: 16 x 64 blocks of 416 bytes; rows pad to 16, columns to 64.
  EXPECT_EQ(PackedBytes(DType::Q4_G_SP24, Layout::Q4_SP24_R16_G64, 16, 64, 64), 416u);
  EXPECT_EQ(PackedBytes(DType::Q4_G_SP24, Layout::Q4_SP24_R16_G64, 40, 100, 64), 3u * 2 * 416);
  EXPECT_EQ(PackedBytes(DType::Q4_G_SP24, Layout::Q4_SP24_R16_G64, 17, 65, 64), 2u * 2 * 416);
  EXPECT_EQ(PackedBytes(DType::Q4_G_SP24, Layout::Q4_SP24_R16_G64, 3, 9, 64), 416u);
  EXPECT_EQ(PackedBytes(DType::Q4_G_SP24, Layout::Q4_SP24_R16_G64, 16, 64, 32), 0u);
}

TEST(PackedBytes, PairsOutsideTheFormatHaveNoSize) {
  EXPECT_EQ(FindEncoding(DType::F32, Layout::Q4_R16_G32), nullptr);
  EXPECT_EQ(FindEncoding(DType::Q4_G, Layout::ROW_MAJOR), nullptr);
  EXPECT_EQ(FindEncoding(DType::Q4_G_SP24, Layout::Q4_R16_G32), nullptr);
  EXPECT_EQ(FindEncoding(DType::Q4_G, static_cast<Layout>(9)), nullptr);
  EXPECT_EQ(PackedBytes(DType::Q8_C, Layout::Q4_ROW_GROUPS, 4, 4, 2), 0u);
}

TEST(PackedBytes, BlockBitsPerWeight) {
  // Whole blocks: 5 bits (asymmetric), 4.5 (symmetric) and 3.25 (2:4 sparse) per weight.
  const auto bits = [](DType d, Layout l, uint32_t g) {
    return 8.0 * static_cast<double>(PackedBytes(d, l, 64, 256, g)) / (64.0 * 256.0);
  };
  EXPECT_DOUBLE_EQ(bits(DType::Q4_G, Layout::Q4_R16_G32, 32), 5.0);
  EXPECT_DOUBLE_EQ(bits(DType::Q4_G, Layout::Q4_R16_G32_SYM, 32), 4.5);
  EXPECT_DOUBLE_EQ(bits(DType::Q4_G, Layout::Q4_R16_G32_CB, 32), 4.5);  // + its codebook
  EXPECT_DOUBLE_EQ(bits(DType::Q4_G, Layout::Q3_R16_G32, 32), 3.5);
  EXPECT_EQ(PackedBytes(DType::Q4_G, Layout::Q3_R16_G32, 17, 33, 32), 2u * 2 * 224);
  EXPECT_EQ(PackedBytes(DType::Q4_G, Layout::Q3_R16_G32, 16, 32, 64), 0u);  // group 32 only
  EXPECT_DOUBLE_EQ(bits(DType::Q4_G, Layout::Q3_R16_G64, 64), 3.25);
  // 17 rows: 2 row blocks; 65 columns: 2 blocks of 64.
  EXPECT_EQ(PackedBytes(DType::Q4_G, Layout::Q3_R16_G64, 17, 65, 64), 2u * 2 * 416);
  EXPECT_EQ(PackedBytes(DType::Q4_G, Layout::Q3_R16_G64, 16, 64, 32), 0u);  // group 64 only
  // Only the codebook layout requires a codebook, of kQ4CodebookEntries.
  size_t count = 0;
  const Encoding* all = Encodings(&count);
  for (size_t i = 0; i < count; ++i) {
    EXPECT_EQ(all[i].codebook_entries,
              all[i].layout == Layout::Q4_R16_G32_CB ? kQ4CodebookEntries : 0u);
  }
  EXPECT_DOUBLE_EQ(bits(DType::Q4_G_SP24, Layout::Q4_SP24_R16_G64, 64), 3.25);
}

TEST(Encodings, EveryEntryIsFoundAndNamed) {
  size_t n = 0;
  const Encoding* table = Encodings(&n);
  ASSERT_EQ(n, 10u);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(FindEncoding(table[i].dtype, table[i].layout), &table[i]);
    EXPECT_GE(table[i].block_rows, 1u);
    EXPECT_STRNE(DTypeName(table[i].dtype), "unknown");
    EXPECT_STRNE(LayoutName(table[i].layout), "unknown");
  }
  // Every layout of the schema has an entry.
  for (Layout l : schema::EnumValuesLayout()) {
    bool found = false;
    for (size_t i = 0; i < n; ++i) found = found || table[i].layout == l;
    EXPECT_TRUE(found) << schema::EnumNameLayout(l);
  }
}

// The names follow one scheme: LayoutName is the schema's enumerator in lower case, and the
// values stay those of files written before the renaming.
TEST(Names, LowerCaseOfTheSchemaAndStableValues) {
  const auto lower = [](const char* s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return out;
  };
  for (Layout l : schema::EnumValuesLayout()) {
    EXPECT_EQ(LayoutName(l), lower(schema::EnumNameLayout(l)));
  }
  for (DType d : schema::EnumValuesDType()) {
    EXPECT_EQ(DTypeName(d), lower(schema::EnumNameDType(d)));
  }
  for (ChatFormat f : schema::EnumValuesChatFormat()) {
    EXPECT_EQ(ChatFormatName(f), lower(schema::EnumNameChatFormat(f)));
  }
  EXPECT_EQ(static_cast<int>(DType::Q4_G_SP24), 4);
  EXPECT_EQ(static_cast<int>(Layout::Q4_SP24_R16_G64), 3);
  EXPECT_EQ(static_cast<int>(Layout::Q4_R16_G32_SYM), 4);
  EXPECT_EQ(static_cast<int>(Layout::Q4_R16_G32_CB), 5);
  EXPECT_EQ(static_cast<int>(Layout::Q3_R16_G32), 6);
  EXPECT_EQ(static_cast<int>(Layout::Q3_R16_G64), 7);
  EXPECT_STREQ(schema::EnumNameDType(DType::Q4_G_SP24), "Q4_G_SP24");
  EXPECT_STREQ(DTypeName(static_cast<DType>(200)), "unknown");
  EXPECT_STREQ(ChatFormatName(static_cast<ChatFormat>(200)), "none");
}

TEST(Names, EnumRoundTripsThroughTheirValues) {
  for (DType d : schema::EnumValuesDType()) {
    EXPECT_EQ(static_cast<DType>(static_cast<uint8_t>(d)), d);
  }
  for (TokenizerType t : schema::EnumValuesTokenizerType()) {
    EXPECT_EQ(static_cast<TokenizerType>(static_cast<uint8_t>(t)), t);
  }
  EXPECT_EQ(static_cast<int>(TokenizerType::BYTE_BPE), 2);
  EXPECT_EQ(static_cast<int>(PreTokenizerType::SMOLLM), 4);
  EXPECT_EQ(static_cast<int>(TokenType::BYTE), 6);
  EXPECT_EQ(static_cast<int>(ChatFormat::GEMMA), 5);
}

}  // namespace
}  // namespace kite
