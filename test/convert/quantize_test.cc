// Q4_G quantizer: hand-computed nibbles and scales, padding, error bounds.
#include "tools/convert/compress/quantize.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "sdk/format/blocks.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/qd8-q3r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4r16-gemm/pack.h"
#include "tools/convert/compress/calibration.h"
#include "tools/convert/compress/codebook.h"
#include "tools/convert/compress/gptq.h"
#include "tools/convert/write/convert_tensors.h"

namespace kite::convert {
namespace {

std::vector<uint8_t> GroupBytes(const Q4Matrix& m, uint64_t row, uint64_t group) {
  const uint64_t n = m.group_size / 2;
  const auto begin = m.data.begin() + static_cast<std::ptrdiff_t>((row * m.groups() + group) * n);
  return std::vector<uint8_t>(begin, begin + static_cast<std::ptrdiff_t>(n));
}

TEST(QuantizeQ4G, FiveColumnsKnownAnswer) {
  // max |x| is 4 -> d = 4 / -8 = -0.5 (exact in f16, bits 0xB800).
  // q = round(x / d) = [-2, 4, -8, -1, round(0.5) = 1] -> stored q + 8 = [6, 12, 0, 7, 9].
  const float x[5] = {1.0f, -2.0f, 4.0f, 0.5f, -0.25f};
  auto q = QuantizeQ4G(x, 1, 5, 32, ScaleRule::kMaxAbs);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->groups(), 1u);
  ASSERT_EQ(q->data.size(), 16u);
  ASSERT_EQ(q->scales.size(), 1u);
  EXPECT_EQ(q->scales[0], 0xB800);
  std::vector<uint8_t> expected(16, 0x88);  // padding columns: q = 0 in both nibbles
  expected[0] = 0xC6;                       // element 0 = 6 (low), element 1 = 12 (high)
  expected[1] = 0x70;                       // element 2 = 0, element 3 = 7
  expected[2] = 0x89;                       // element 4 = 9, element 5 = padding 8
  EXPECT_EQ(q->data, expected);

  const std::vector<float> back = DequantizeQ4G(*q);
  const std::vector<float> want = {1.0f, -2.0f, 4.0f, 0.5f, -0.5f};
  EXPECT_EQ(back, want);
}

TEST(QuantizeQ4G, NegativeMaxGivesPositiveScale) {
  // max |x| is -3 -> d = -3 / -8 = 0.375 (f16 0x3600); q = [-8, 4, 0, 2] -> [0, 12, 8, 10].
  const float x[4] = {-3.0f, 1.5f, 0.0f, 0.75f};
  auto q = QuantizeQ4G(x, 1, 4, 32, ScaleRule::kMaxAbs);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->scales[0], 0x3600);
  EXPECT_EQ(q->data[0], 0xC0);
  EXPECT_EQ(q->data[1], 0xA8);
  EXPECT_EQ(q->data[2], 0x88);
  EXPECT_EQ(DequantizeQ4G(*q), std::vector<float>(x, x + 4));
}

TEST(QuantizeQ4G, PositiveMaxMapsToMinusEightAndOppositeClampsToSeven) {
  // Tie on magnitude: the first (8) wins, d = -1; 8 -> q = -8, -8 -> q = 8 clamped to 7.
  const float x[2] = {8.0f, -8.0f};
  auto q = QuantizeQ4G(x, 1, 2, 32, ScaleRule::kMaxAbs);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->scales[0], FloatToHalf(-1.0f));
  EXPECT_EQ(q->data[0], 0xF0);  // 0 low (q = -8), 15 high (q = 7)
  EXPECT_EQ(DequantizeQ4G(*q), (std::vector<float>{8.0f, -7.0f}));
}

TEST(QuantizeQ4G, AllZeroGroupHasZeroScaleAndZeroQuants) {
  std::vector<float> x(64, 0.0f);
  x[3] = 2.0f;  // group 0 non-zero, group 1 all zero
  auto q = QuantizeQ4G(x.data(), 1, 64, 32, ScaleRule::kMaxAbs);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->scales.size(), 2u);
  EXPECT_EQ(q->scales[0], FloatToHalf(-0.25f));
  EXPECT_EQ(q->scales[1], 0);
  EXPECT_EQ(GroupBytes(*q, 0, 1), std::vector<uint8_t>(16, 0x88));
  EXPECT_EQ(q->data[1], 0x08);  // element 3 = q -8 -> 0 in the high nibble, element 2 -> 8
}

TEST(QuantizeQ4G, ScaleIsRoundedToHalfBeforeQuantizing) {
  // d = 0.1 / -8 = -0.0125 is not representable in f16; the stored d must be the rounded
  // one and q computed with it, so dequantization uses exactly the stored scale.
  const float x[3] = {0.1f, -0.05f, 0.0123f};
  auto q = QuantizeQ4G(x, 1, 3, 32, ScaleRule::kMaxAbs);
  ASSERT_TRUE(q.ok());
  const float d = HalfToFloat(q->scales[0]);
  EXPECT_EQ(q->scales[0], FloatToHalf(0.1f / -8.0f));
  const std::vector<float> back = DequantizeQ4G(*q);
  for (int i = 0; i < 3; ++i) {
    const float qi = std::round(x[i] / d);
    EXPECT_EQ(back[i], std::fmax(-8.0f, std::fmin(7.0f, qi)) * d) << i;
  }
}

TEST(QuantizeQ4G, OddColumns172PadLastGroupWithZeros) {
  const uint64_t rows = 3, cols = 172;
  std::vector<float> x(rows * cols);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i)) * 0.2f;
  for (uint32_t group_size : {32u, 64u, 128u}) {
    auto q = QuantizeQ4G(x.data(), rows, cols, group_size, ScaleRule::kMaxAbs);
    ASSERT_TRUE(q.ok()) << q.status();
    const uint64_t groups = (cols + group_size - 1) / group_size;  // 6, 3, 2
    EXPECT_EQ(q->groups(), groups);
    EXPECT_EQ(q->data.size(), rows * groups * group_size / 2);
    EXPECT_EQ(q->scales.size(), rows * groups);
    // Padding columns cols..groups*group_size of the last group hold q = 0 (nibble 8).
    for (uint64_t r = 0; r < rows; ++r) {
      const std::vector<uint8_t> last = GroupBytes(*q, r, groups - 1);
      for (uint64_t c = cols; c < groups * group_size; ++c) {
        const uint64_t i = c % group_size;
        const int nibble = i % 2 == 0 ? (last[i / 2] & 0xF) : (last[i / 2] >> 4);
        EXPECT_EQ(nibble, 8) << "row " << r << " col " << c << " group size " << group_size;
      }
    }
    // Every element is within one step of its group scale.
    const std::vector<float> back = DequantizeQ4G(*q);
    ASSERT_EQ(back.size(), x.size());
    for (uint64_t r = 0; r < rows; ++r) {
      for (uint64_t c = 0; c < cols; ++c) {
        const float d = std::fabs(HalfToFloat(q->scales[r * groups + c / group_size]));
        EXPECT_LE(std::fabs(x[r * cols + c] - back[r * cols + c]), d * 1.001f);
      }
    }
  }
}

TEST(QuantizeQ4G, RandomErrorBounds) {
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  const uint64_t rows = 64, cols = 96;
  std::vector<float> x(rows * cols);
  for (float& v : x) v = normal(rng);
  double previous = 0.0;
  for (uint32_t group_size : {32u, 64u, 128u}) {
    auto q = QuantizeQ4G(x.data(), rows, cols, group_size, ScaleRule::kMaxAbs);
    ASSERT_TRUE(q.ok());
    const std::vector<float> back = DequantizeQ4G(*q);
    // The group maximum comes back to f16 precision.
    for (uint64_t r = 0; r < rows; ++r) {
      for (uint64_t g = 0; g < q->groups(); ++g) {
        float m = 0.0f, m_back = 0.0f;
        for (uint64_t c = g * group_size; c < std::min<uint64_t>(cols, (g + 1) * group_size); ++c) {
          if (std::fabs(x[r * cols + c]) > std::fabs(m)) {
            m = x[r * cols + c];
            m_back = back[r * cols + c];
          }
        }
        EXPECT_NEAR(m_back, m, std::fabs(m) * 1e-3f);
      }
    }
    const double err = RelativeRmsError(x.data(), back.data(), x.size());
    // 4-bit symmetric groups on Gaussian weights: about 0.1; larger groups are worse.
    EXPECT_GT(err, 0.02) << group_size;
    EXPECT_LT(err, 0.2) << group_size;
    EXPECT_GE(err, previous) << group_size;
    previous = err;
  }
}

TEST(QuantizeQ4G, RejectsBadInput) {
  const float x[4] = {1, 2, 3, 4};
  for (uint32_t g : {0u, 1u, 16u, 31u, 48u, 256u}) {
    EXPECT_FALSE(QuantizeQ4G(x, 1, 4, g).ok()) << g;
    EXPECT_FALSE(ValidateGroupSize(g).ok()) << g;
  }
  EXPECT_FALSE(QuantizeQ4G(x, 0, 4, 32).ok());
  EXPECT_FALSE(QuantizeQ4G(x, 1, 0, 32).ok());

  const float nan[2] = {1.0f, std::numeric_limits<float>::quiet_NaN()};
  auto q = QuantizeQ4G(nan, 1, 2, 32, ScaleRule::kMaxAbs);
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("column 1"), std::string::npos) << q.status();

  const float huge[1] = {1e6f};  // scale 1e6 / 8 overflows f16
  EXPECT_FALSE(QuantizeQ4G(huge, 1, 1, 32).ok());
}

TEST(QuantizeQ4G, TinyValuesUnderflowToZeroScale) {
  const float x[2] = {1e-9f, -1e-9f};  // d = 1.25e-10 is below the smallest f16 subnormal
  auto q = QuantizeQ4G(x, 1, 2, 32, ScaleRule::kMaxAbs);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->scales[0], 0);
  EXPECT_EQ(q->data[0], 0x88);
}

TEST(RelativeRmsError, KnownValues) {
  const float a[4] = {1, 1, 1, 1};
  const float b[4] = {1, 1, 1, 0};
  EXPECT_DOUBLE_EQ(RelativeRmsError(a, a, 4), 0.0);
  EXPECT_DOUBLE_EQ(RelativeRmsError(a, b, 4), 0.5);
  const float z[2] = {0, 0};
  const float nz[2] = {0, 1};
  EXPECT_DOUBLE_EQ(RelativeRmsError(z, z, 2), 0.0);
  EXPECT_TRUE(std::isinf(RelativeRmsError(z, nz, 2)));
}

TEST(QuantizeQ4G, ScaleSearchNeverLosesToMaxAbs) {
  std::mt19937 rng(21);
  std::student_t_distribution<float> heavy(3.0f);  // outliers, as real weights have
  for (uint64_t cols : {5u, 32u, 172u}) {
    std::vector<float> x(16 * cols);
    for (float& v : x) v = 0.02f * heavy(rng);
    auto plain = QuantizeQ4G(x.data(), 16, cols, 32, ScaleRule::kMaxAbs);
    auto searched = QuantizeQ4G(x.data(), 16, cols, 32, ScaleRule::kSearch);
    ASSERT_TRUE(plain.ok() && searched.ok());
    const auto a = DequantizeQ4G(*plain);
    const auto b = DequantizeQ4G(*searched);
    // Per group, the searched error is at most the max-abs error (the candidate set holds it).
    for (uint64_t r = 0; r < 16; ++r) {
      for (uint64_t g = 0; g < plain->groups(); ++g) {
        double ea = 0, eb = 0;
        for (uint64_t c = g * 32; c < std::min<uint64_t>(cols, g * 32 + 32); ++c) {
          const double va = x[r * cols + c] - a[r * cols + c], vb = x[r * cols + c] - b[r * cols + c];
          ea += va * va;
          eb += vb * vb;
        }
        ASSERT_LE(eb, ea * (1 + 1e-12) + 1e-30) << "row " << r << " group " << g;
      }
    }
    const double err_plain = RelativeRmsError(x.data(), a.data(), x.size());
    const double err_search = RelativeRmsError(x.data(), b.data(), x.size());
    EXPECT_LT(err_search, err_plain) << cols;
  }
}

TEST(QuantizeQ4GAsymmetric, BeatsSymmetricAndHandlesConstantGroups) {
  std::mt19937 rng(5);
  std::normal_distribution<float> d(0.3f, 0.1f);  // off-centre groups favour an offset
  std::vector<float> x(8 * 172);
  for (float& v : x) v = d(rng);
  auto sym = QuantizeQ4G(x.data(), 8, 172, 32);
  auto asym = QuantizeQ4GAsymmetric(x.data(), 8, 172, 32);
  ASSERT_TRUE(sym.ok() && asym.ok());
  EXPECT_EQ(asym->mins.size(), asym->scales.size());
  EXPECT_TRUE(sym->mins.empty());
  const auto a = DequantizeQ4G(*sym), b = DequantizeQ4G(*asym);
  EXPECT_LT(RelativeRmsError(x.data(), b.data(), x.size()),
            RelativeRmsError(x.data(), a.data(), x.size()));
  // Every element is within one step (plus f16 rounding) of its value.
  for (uint64_t r = 0; r < 8; ++r) {
    for (uint64_t c = 0; c < 172; ++c) {
      const float step = HalfToFloat(asym->scales[r * asym->groups() + c / 32]);
      EXPECT_NEAR(b[r * 172 + c], x[r * 172 + c], step * 1.01f + 1e-3f);
    }
  }
  const float constant[4] = {0.25f, 0.25f, 0.25f, 0.25f};
  auto c = QuantizeQ4GAsymmetric(constant, 1, 4, 32);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->scales[0], 0);
  EXPECT_EQ(DequantizeQ4G(*c), std::vector<float>(4, 0.25f));
  const float nan[2] = {0.0f, std::nanf("")};
  EXPECT_FALSE(QuantizeQ4GAsymmetric(nan, 1, 2, 32).ok());
}

TEST(QuantizeQ8C, PerRowScaleKnownAnswer) {
  const float x[6] = {1.27f, -0.5f, 0.0f, 0.0f, 0.0f, 0.0f};
  auto q = QuantizeQ8C(x, 2, 3);
  ASSERT_TRUE(q.ok());
  EXPECT_FLOAT_EQ(q->scales[0], 0.01f);
  EXPECT_EQ(q->data[0], 127);
  EXPECT_EQ(q->data[1], -50);
  EXPECT_EQ(q->scales[1], 0.0f);
  EXPECT_EQ(q->data[4], 0);
  const auto back = DequantizeQ8C(*q);
  EXPECT_NEAR(back[1], -0.5f, 1e-6);
  const float bad[1] = {std::numeric_limits<float>::infinity()};
  EXPECT_FALSE(QuantizeQ8C(bad, 1, 1).ok());
  EXPECT_FALSE(QuantizeQ8C(x, 0, 3).ok());
}

// A group never spans more than the row needs: --group-size 128 on 64- and 20-column rows
// stores groups of 64 and 32 (the same values as asking for those sizes), and keeps 128 on
// a 172-column row.
TEST(ConvertTensor, GroupSizeIsCappedAtTheRowWidth) {
  auto make = [](uint64_t rows, uint64_t cols) {
    SourceTensor t;
    t.name = "layers.0.attention.wq";
    t.shape = {rows, cols};
    t.data.resize(rows * cols);
    std::mt19937 rng(static_cast<unsigned>(cols));
    std::normal_distribution<float> normal(0.0f, 0.05f);
    for (float& v : t.data) v = normal(rng);
    return t;
  };
  ConvertOptions options;
  options.quant = QuantMode::kQ4;
  options.q4_packed = false;
  struct Case {
    uint64_t cols;
    uint32_t want;
  };
  for (const Case c : {Case{64, 64}, Case{20, 32}, Case{172, 128}}) {
    const SourceTensor t = make(8, c.cols);
    options.group_size = 128;
    absl::StatusOr<KiteTensor> big = ConvertTensor(t, options);
    ASSERT_TRUE(big.ok()) << big.status();
    EXPECT_EQ(big->group_size, c.want) << c.cols << " columns";
    EXPECT_EQ(big->layout, Layout::Q4_ROW_GROUPS);
    const uint64_t groups = (c.cols + c.want - 1) / c.want;
    EXPECT_EQ(big->data.size(), 8 * groups * c.want / 2) << c.cols << " columns";
    options.group_size = c.want;
    absl::StatusOr<KiteTensor> same = ConvertTensor(t, options);
    ASSERT_TRUE(same.ok());
    EXPECT_EQ(big->data, same->data);
    EXPECT_EQ(big->scales, same->scales);
    EXPECT_EQ(big->mins, same->mins);
  }
}

}  // namespace
}  // namespace kite::convert

namespace kite::convert {
namespace {

// --q4-groups sym-compact: the offset-free packed layout holds the same weights as the
// symmetric Q4_R16_G32 (o = -8 d is exact in f16), in 288 instead of 320 bytes per block.
// A 40 x 70 w1 of normal weights (sd 0.05, seed 5), and q4 options with symmetric groups.
SourceTensor NormalW1() {
  SourceTensor t;
  t.name = "layers.0.feed_forward.w1";
  t.shape = {40, 70};
  t.data.resize(40 * 70);
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  for (float& v : t.data) v = normal(rng);
  return t;
}
ConvertOptions SymmetricQ4Options() {
  ConvertOptions options;
  options.quant = QuantMode::kQ4;
  options.q4_asymmetric = false;
  return options;
}

TEST(ConvertTensor, OffsetFreeLayoutHoldsTheSymmetricWeights) {
  const SourceTensor t = NormalW1();
  ConvertOptions options = SymmetricQ4Options();
  std::vector<float> with_offsets, compact;
  auto a = ConvertTensor(t, options, &with_offsets);
  options.q4_offset_free = true;
  auto b = ConvertTensor(t, options, &compact);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->layout, Layout::Q4_R16_G32);
  EXPECT_EQ(b->layout, Layout::Q4_R16_G32_SYM);
  EXPECT_EQ(a->data.size(), 3u * 3u * 320u);  // ceil(40/16) row blocks x ceil(70/32) groups
  EXPECT_EQ(b->data.size(), 3u * 3u * 288u);
  EXPECT_EQ(compact, with_offsets);
  EXPECT_EQ(a->quant_rel_rms_error, b->quant_rel_rms_error);
  // Asymmetric groups keep their offsets whatever the flag.
  options.q4_asymmetric = true;
  auto c = ConvertTensor(t, options);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->layout, Layout::Q4_R16_G32);
}

// --q4-groups codebook: the stored weights are d * codebook[u] with a valid ascending int8
// codebook, the result is deterministic, and on normal weights (which the uniform grid fits
// well) its error stays within 5% of the uniform symmetric grid's.
TEST(ConvertTensor, CodebookLayoutHoldsItsWeights) {
  const SourceTensor t = NormalW1();
  ConvertOptions options = SymmetricQ4Options();
  options.q4_offset_free = true;
  std::vector<float> sym_restored, cb_restored;
  auto sym = ConvertTensor(t, options, &sym_restored);
  options.q4_offset_free = false;
  options.q4_codebook = true;
  auto cb = ConvertTensor(t, options, &cb_restored);
  ASSERT_TRUE(sym.ok() && cb.ok()) << cb.status();
  EXPECT_EQ(cb->layout, Layout::Q4_R16_G32_CB);
  EXPECT_EQ(cb->data.size(), 3u * 3u * 288u);
  ASSERT_EQ(cb->codebook.size(), kQ4CodebookEntries);
  EXPECT_TRUE(std::is_sorted(cb->codebook.begin(), cb->codebook.end()));
  for (int8_t c : cb->codebook) EXPECT_GE(c, -kQ4CodebookMax);
  EXPECT_LE(cb->quant_rel_rms_error, sym->quant_rel_rms_error * 1.05f);
  std::vector<float> row(70);
  kernels::DequantizeQ4R16CbRow(70, cb->data.data(), cb->codebook.data(), 39, row.data());
  EXPECT_EQ(std::vector<float>(cb_restored.begin() + 39 * 70, cb_restored.end()), row);
  auto again = ConvertTensor(t, options);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->data, cb->data);
  EXPECT_EQ(again->codebook, cb->codebook);
}

// The codebook's nearest-entry lookup table agrees with NearestCode everywhere, including
// the midpoints between entries (the lower entry wins), repeated entries, values beyond the
// extremes and infinities; and NearestCode picks a nearest entry.
TEST(Q4CodeTable, AgreesWithNearestCode) {
  const std::array<int8_t, kQ4CodebookEntries> books[] = {
      {-127, -103, -83, -64, -46, -31, -18, -6, 6, 18, 31, 47, 64, 83, 104, 127},
      {-90, -40, -40, -40, -7, -6, -5, 0, 0, 1, 2, 3, 50, 51, 126, 127},
      {-127, -127, -127, -127, -127, -127, -127, -127, 127, 127, 127, 127, 127, 127, 127, 127}};
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> wide(-300.0f, 300.0f);
  for (const auto& book : books) {
    const Q4CodeTable table(book);
    std::vector<float> probes = {0.0f, -0.0f, 1e30f, -1e30f,
                                 std::numeric_limits<float>::infinity(),
                                 -std::numeric_limits<float>::infinity()};
    for (int half = -600; half <= 600; ++half) {
      const float m = 0.5f * static_cast<float>(half);
      probes.insert(probes.end(), {m, std::nextafter(m, -1e9f), std::nextafter(m, 1e9f)});
    }
    for (int i = 0; i < 20000; ++i) probes.push_back(wide(rng));
    for (const float v : probes) {
      const uint8_t code = NearestCode(book, v);
      ASSERT_EQ(table.Code(v), code) << "v = " << v;
      if (std::isfinite(v)) {
        for (const int8_t e : book) {
          ASSERT_LE(std::fabs(v - book[code]), std::fabs(v - e)) << "v = " << v;
        }
      }
    }
  }
  const std::array<int8_t, kQ4CodebookEntries> grid = books[0];
  EXPECT_EQ(NearestCode(grid, 0.0f), 7);  // -6 and 6 tie: the lower
  EXPECT_EQ(NearestCode(grid, 1e-6f), 8);
}

// 3-bit codes: q in [-4, 3] (nibbles q + 8), the max-abs rule maps the largest magnitude
// to -4, the scale search never loses to it, and other widths are refused.
TEST(QuantizeQ4G, ThreeBitCodes) {
  const SourceTensor t = NormalW1();
  auto q3 = QuantizeQ4G(t.data.data(), 40, 70, 32, ScaleRule::kSearch, 3);
  auto q3max = QuantizeQ4G(t.data.data(), 40, 70, 32, ScaleRule::kMaxAbs, 3);
  auto q4 = QuantizeQ4G(t.data.data(), 40, 70, 32, ScaleRule::kSearch, 4);
  ASSERT_TRUE(q3.ok() && q3max.ok() && q4.ok());
  for (uint8_t byte : q3->data) {
    for (int nibble : {byte & 0x0F, byte >> 4}) {
      EXPECT_GE(nibble, 4);
      EXPECT_LE(nibble, 11);
    }
  }
  const std::vector<float> r3 = DequantizeQ4G(*q3), r3max = DequantizeQ4G(*q3max),
                           r4 = DequantizeQ4G(*q4);
  const double e3 = RelativeRmsError(t.data.data(), r3.data(), r3.size());
  const double e3max = RelativeRmsError(t.data.data(), r3max.data(), r3max.size());
  const double e4 = RelativeRmsError(t.data.data(), r4.data(), r4.size());
  EXPECT_LE(e3, e3max);
  EXPECT_GT(e3, e4);   // 3 bits lose to 4
  EXPECT_LT(e3, 0.25);  // but stay a quantization of the weights
  const float one[4] = {-1.0f, 0.5f, 0.25f, 0.0f};
  auto exact = QuantizeQ4G(one, 1, 4, 32, ScaleRule::kMaxAbs, 3);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(HalfToFloat(exact->scales[0]), 0.25f);  // -1 maps to -4
  EXPECT_FALSE(QuantizeQ4G(one, 1, 4, 32, ScaleRule::kSearch, 2).ok());
  EXPECT_FALSE(QuantizeQ4G(one, 1, 4, 32, ScaleRule::kSearch, 5).ok());
}

// GPTQ with 3-bit codes: with an identity Hessian it is round-to-nearest, with a
// correlated one it lowers the Hessian-weighted error; asymmetric 3-bit is refused.
TEST(QuantizeQ4GGptq, ThreeBitCodes) {
  const SourceTensor t = NormalW1();
  const size_t n = 70;
  std::vector<double> identity(n * n, 0.0), correlated(n * n, 0.0);
  std::mt19937 rng(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> x(200 * n);
  for (double& v : x) v = normal(rng);
  for (size_t s = 0; s < 200; ++s) {
    for (size_t j = 1; j < n; ++j) x[s * n + j] += 0.8 * x[s * n + j - 1];
  }
  for (size_t j = 0; j < n; ++j) {
    identity[j * n + j] = 1.0;
    for (size_t k = 0; k < n; ++k) {
      for (size_t s = 0; s < 200; ++s) correlated[j * n + k] += x[s * n + j] * x[s * n + k];
    }
  }
  GptqOptions o;
  o.asymmetric = false;
  o.bits = 3;
  o.damp = 0.0;
  auto plain = QuantizeQ4G(t.data.data(), 40, n, 32, ScaleRule::kSearch, 3);
  auto id = QuantizeQ4GGptq(t.data.data(), 40, n, identity.data(), o);
  ASSERT_TRUE(plain.ok() && id.ok()) << id.status();
  EXPECT_EQ(id->data, plain->data);
  EXPECT_EQ(id->scales, plain->scales);
  o.damp = 0.01;
  std::vector<float> gptq_w;
  auto g = QuantizeQ4GGptq(t.data.data(), 40, n, correlated.data(), o, &gptq_w);
  ASSERT_TRUE(g.ok()) << g.status();
  const std::vector<float> rtn_w = DequantizeQ4G(*plain);
  EXPECT_LT(HessianWeightedError(t.data.data(), gptq_w.data(), 40, n, correlated.data()),
            HessianWeightedError(t.data.data(), rtn_w.data(), 40, n, correlated.data()));
  o.asymmetric = true;
  EXPECT_FALSE(QuantizeQ4GGptq(t.data.data(), 40, n, correlated.data(), o).ok());
}

// --q3 NAME: the matrix is stored as Q3_R16_G32 (224-byte blocks) holding exactly the
// round-to-nearest 3-bit weights; keep_8bit wins over it.
TEST(ConvertTensor, ThreeBitLayoutHoldsItsWeights) {
  const SourceTensor t = NormalW1();
  ConvertOptions options = SymmetricQ4Options();
  options.q3 = {t.name};
  std::vector<float> restored;
  auto q = ConvertTensor(t, options, &restored);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->dtype, DType::Q4_G);
  EXPECT_EQ(q->layout, Layout::Q3_R16_G32);
  EXPECT_EQ(q->group_size, 32u);
  EXPECT_EQ(q->data.size(), 3u * 3u * 224u);
  EXPECT_TRUE(q->scales.empty() && q->mins.empty());
  auto plain = QuantizeQ4G(t.data.data(), 40, 70, 32, options.q4_scale_rule, 3);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(restored, DequantizeQ4G(*plain));
  std::vector<float> row(70);
  kernels::DequantizeQ3R16Row(70, 32, q->data.data(), 39, row.data());
  EXPECT_EQ(std::vector<float>(restored.begin() + 39 * 70, restored.end()), row);
  EXPECT_GT(q->quant_rel_rms_error, 0.0f);
  options.keep_8bit = {t.name};
  auto eight = ConvertTensor(t, options);
  ASSERT_TRUE(eight.ok());
  EXPECT_EQ(eight->dtype, DType::Q8_C);
}

// keep_f32 stores the named matrix exactly as f32 in q4 mode, whatever else names it.
TEST(ConvertTensor, KeepF32WinsOverEveryOtherPrecision) {
  const SourceTensor t = NormalW1();
  ConvertOptions options = SymmetricQ4Options();
  options.keep_8bit = {t.name};
  options.q3 = {t.name};
  options.group_size_for = {{t.name, 64}};
  EXPECT_EQ(StoredDType(t, options), DType::Q8_C);
  options.keep_f32 = {t.name};
  EXPECT_EQ(StoredDType(t, options), DType::F32);
  std::vector<float> restored;
  auto f = ConvertTensor(t, options, &restored);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->dtype, DType::F32);
  EXPECT_EQ(restored, t.data);
  options.keep_f32 = {"another"};
  EXPECT_EQ(StoredDType(t, options), DType::Q8_C);
}

// The tied embedding is quantized without GPTQ even when calibration statistics exist (they
// are its classifier's), unless gptq_tied_embedding asks for it, which lowers the
// classifier's output error.
TEST(ConvertTensor, GptqForTheTiedEmbeddingOnlyWhenAsked) {
  SourceTensor t = NormalW1();
  t.name = "tok_embeddings";
  const size_t n = 70, tokens = 200;
  std::mt19937 rng(4);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(tokens * n);
  for (float& v : x) v = normal(rng);
  for (size_t s = 0; s < tokens; ++s) {
    for (size_t j = 1; j < n; ++j) x[s * n + j] += 0.8f * x[s * n + j - 1];
  }
  CalibrationStats stats;
  stats.OnLinearInput("tok_embeddings", x.data(), tokens, n);
  ConvertOptions options = SymmetricQ4Options();
  options.keep_8bit.clear();
  std::vector<float> plain, with_stats, gptq;
  ASSERT_TRUE(ConvertTensor(t, options, &plain).ok());
  options.calibration = &stats;
  ASSERT_TRUE(ConvertTensor(t, options, &with_stats).ok());
  EXPECT_EQ(with_stats, plain);
  options.gptq_tied_embedding = true;
  ASSERT_TRUE(ConvertTensor(t, options, &gptq).ok());
  const std::vector<double>& h = stats.Find("tok_embeddings")->xtx;
  EXPECT_LT(HessianWeightedError(t.data.data(), gptq.data(), 40, n, h.data()),
            0.9 * HessianWeightedError(t.data.data(), plain.data(), 40, n, h.data()));
}

}  // namespace
}  // namespace kite::convert
