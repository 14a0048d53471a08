// Reference kernels against straightforward double-precision formulas, on odd shapes.
// (Optimized variants are checked against these references in their family testers.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "sdk/kernels/dispatch.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/row-dequant/row-dequant.h"
#include "sdk/kernels/softmax/softmax.h"
#include "sdk/format/crc32c.h"

namespace k = kite::kernels;

namespace {

std::vector<float> Random(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

TEST(Fp16, RoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = kite::HalfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(kite::FloatToHalf(f), h) << std::hex << h;
  }
  EXPECT_EQ(kite::FloatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(kite::FloatToHalf(65520.0f), 0x7C00);  // rounds to infinity
  EXPECT_EQ(kite::FloatToHalf(1.0f + 1.0f / 2048), 0x3C00);  // tie to even
  EXPECT_EQ(kite::HalfToFloat(0x0001), std::ldexp(1.0f, -24));
}

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(kite::Crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(kite::Crc32c("", 0), 0u);
  std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(kite::Crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  // Incremental equals one shot, at every split.
  const char* text = "The quick brown fox jumps over the lazy dog";
  const size_t n = std::strlen(text);
  for (size_t split = 0; split <= n; ++split) {
    EXPECT_EQ(kite::Crc32c(text + split, n - split, kite::Crc32c(text, split)), kite::Crc32c(text, n));
  }
}

TEST(F32Matvec, MatchesDoubleOnOddShapes) {
  for (size_t rows : {1, 3, 17}) {
    for (size_t cols : {1, 7, 64, 173}) {
      const auto w = Random(rows * cols, 1);
      const auto x = Random(cols, 2);
      std::vector<float> y(rows);
      k::f32_matvec_ref(rows, cols, w.data(), x.data(), y.data());
      for (size_t r = 0; r < rows; ++r) {
        double acc = 0;
        for (size_t c = 0; c < cols; ++c) acc += static_cast<double>(w[r * cols + c]) * x[c];
        EXPECT_NEAR(y[r], acc, 1e-4 * (1 + std::fabs(acc)));
      }
    }
  }
}

TEST(Q8Quantize, ScalesRoundingAndPadding) {
  const size_t n = 37, group = 32;
  auto x = Random(n, 3);
  x[5] = -4.0f;  // the group's max magnitude
  std::vector<int8_t> q(64, 99);
  std::vector<float> s(2);
  std::vector<int32_t> sums(2);
  k::q8_quantize_ref(n, group, x.data(), q.data(), s.data(), sums.data());
  EXPECT_FLOAT_EQ(s[0], 4.0f / 127.0f);
  EXPECT_EQ(q[5], -127);
  for (size_t g = 0; g < 2; ++g) {
    int32_t sum = 0;
    for (size_t i = g * group; i < (g + 1) * group; ++i) sum += q[i];
    EXPECT_EQ(sums[g], sum);
  }
  for (size_t i = 0; i < n; ++i) EXPECT_NEAR(q[i] * s[i / group], x[i], s[i / group] * 0.5001f);
  for (size_t i = n; i < 64; ++i) EXPECT_EQ(q[i], 0) << "padding at " << i;
  std::vector<float> zeros(32, 0.0f);
  k::q8_quantize_ref(32, 32, zeros.data(), q.data(), s.data(), sums.data());
  EXPECT_EQ(s[0], 0.0f);
  EXPECT_EQ(q[0], 0);
}

// Packs signed nibbles q[rows][groups*group] into the Q4_ROW_GROUPS layout.
std::vector<uint8_t> PackQ4(const std::vector<int>& q, size_t rows, size_t padded) {
  std::vector<uint8_t> out(rows * padded / 2);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < padded; j += 2) {
      out[(r * padded + j) / 2] = static_cast<uint8_t>((q[r * padded + j] + 8) | ((q[r * padded + j + 1] + 8) << 4));
    }
  }
  return out;
}

TEST(Q4Matvec, MatchesIntegerFormulaOnOddShapes) {
  std::mt19937 rng(4);
  for (bool with_mins : {false, true})
  for (size_t group : {6, 32, 40, 64, 128}) {
    for (size_t rows : {1, 5, 33}) {
      for (size_t cols : {1, 31, 172, 200}) {
        const size_t groups = (cols + group - 1) / group, padded = groups * group;
        std::vector<int> qw(rows * padded, 0);
        for (size_t r = 0; r < rows; ++r) {
          for (size_t c = 0; c < cols; ++c) qw[r * padded + c] = static_cast<int>(rng() % 16) - 8;
        }
        std::vector<uint16_t> ws(rows * groups);
        for (auto& s : ws) s = kite::FloatToHalf(0.01f + (rng() % 100) / 1000.0f);
        std::vector<uint16_t> wm(rows * groups);
        for (auto& m : wm) m = kite::FloatToHalf((static_cast<int>(rng() % 200) - 100) / 1000.0f);
        const uint16_t* mins = with_mins ? wm.data() : nullptr;
        const auto packed = PackQ4(qw, rows, padded);
        const auto x = Random(cols, 5);
        std::vector<int8_t> qx(padded);
        std::vector<float> xs(groups);
        std::vector<int32_t> sums(groups);
        k::q8_quantize_ref(cols, group, x.data(), qx.data(), xs.data(), sums.data());
        // The reference, then every supported table's variant (NEON on Arm).
        size_t n_tables = 0;
        const k::KernelTable* const* tables = k::AllSupportedKernelTables(&n_tables);
        for (size_t i = 0; i <= n_tables; ++i) {
          const k::Q4MatvecFn fn = i == 0 ? k::q4_matvec_ref : tables[i - 1]->q4_matvec;
          const char* isa = i == 0 ? "ref" : k::IsaName(tables[i - 1]->isa);
          std::vector<float> y(rows);
          fn(rows, groups, group, packed.data(), ws.data(), mins, qx.data(), xs.data(),
             sums.data(), y.data());
          for (size_t r = 0; r < rows; ++r) {
            double expect = 0;
            for (size_t g = 0; g < groups; ++g) {
              long dot = 0;
              long xsum = 0;
              for (size_t j = 0; j < group; ++j) {
                dot += qw[r * padded + g * group + j] * qx[g * group + j];
                xsum += qx[g * group + j];
              }
              expect += static_cast<double>(kite::HalfToFloat(ws[r * groups + g])) * xs[g] * dot;
              if (with_mins) {
                expect += static_cast<double>(kite::HalfToFloat(wm[r * groups + g])) * xs[g] * xsum;
              }
            }
            ASSERT_NEAR(y[r], expect, 1e-4 * (1 + std::fabs(expect)))
                << isa << " " << rows << "x" << cols << " g" << group;
          }
        }
        // The row dequantizer reads the same layout.
        std::vector<float> row(cols);
        k::q4_row_dequant_ref(cols, groups, group, packed.data(), ws.data(), mins, row.data());
        for (size_t c = 0; c < cols; ++c) {
          ASSERT_EQ(row[c], qw[c] * kite::HalfToFloat(ws[c / group]) +
                                (with_mins ? kite::HalfToFloat(wm[c / group]) : 0.0f));
        }
      }
    }
  }
}

TEST(Q8cMatvec, MatchesDoubleOnOddShapes) {
  std::mt19937 rng(9);
  for (size_t rows : {1, 4, 19}) {
    for (size_t cols : {1, 13, 64}) {
      std::vector<int8_t> w(rows * cols);
      for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
      const auto scales = Random(rows, 10, 0.01f);
      const auto x = Random(cols, 11);
      std::vector<float> y(rows);
      k::q8c_matvec_ref(rows, cols, w.data(), scales.data(), x.data(), y.data());
      for (size_t r = 0; r < rows; ++r) {
        double acc = 0;
        for (size_t c = 0; c < cols; ++c) acc += static_cast<double>(w[r * cols + c]) * x[c];
        acc *= scales[r];
        ASSERT_NEAR(y[r], acc, 1e-4 * (1 + std::fabs(acc)));
        std::vector<float> row(cols);
        k::q8_row_dequant_ref(cols, w.data() + r * cols, scales[r], row.data());
        for (size_t c = 0; c < cols; ++c) ASSERT_EQ(row[c], w[r * cols + c] * scales[r]);
      }
    }
  }
}

TEST(RmsNorm, Formula) {
  const auto x = Random(67, 6);
  const auto w = Random(67, 7);
  std::vector<float> y(67);
  k::rmsnorm_ref(67, x.data(), w.data(), 1e-5f, y.data());
  double ss = 0;
  for (float v : x) ss += static_cast<double>(v) * v;
  const double inv = 1.0 / std::sqrt(ss / 67 + 1e-5);
  for (size_t i = 0; i < 67; ++i) EXPECT_NEAR(y[i], w[i] * x[i] * inv, 1e-5);
}

TEST(Rope, RotatesPairsByPositionAndKeepsNorm) {
  auto x = Random(3 * 8, 8);
  const auto before = x;
  k::rope_ref(3, 8, 0, 10000.0f, x.data());
  EXPECT_EQ(x, before) << "position 0 is the identity";
  k::rope_ref(3, 8, 7, 10000.0f, x.data());
  for (size_t h = 0; h < 3; ++h) {
    for (size_t i = 0; i < 8; i += 2) {
      const double angle = 7.0 * std::pow(10000.0, -static_cast<double>(i) / 8);
      const double a = before[h * 8 + i], b = before[h * 8 + i + 1];
      EXPECT_NEAR(x[h * 8 + i], a * std::cos(angle) - b * std::sin(angle), 1e-5);
      EXPECT_NEAR(x[h * 8 + i + 1], a * std::sin(angle) + b * std::cos(angle), 1e-5);
    }
  }
}

TEST(Softmax, SumsToOneAndSurvivesLargeLogits) {
  std::vector<float> x = {1000.0f, 999.0f, -1000.0f, 0.0f, 1000.0f};
  k::softmax_ref(x.size(), x.data());
  double sum = 0;
  for (float v : x) sum += v;
  EXPECT_NEAR(sum, 1.0, 1e-6);
  EXPECT_FLOAT_EQ(x[0], x[4]);
  EXPECT_NEAR(x[1] / x[0], std::exp(-1.0), 1e-6);
  std::vector<float> one = {-3.0f};
  k::softmax_ref(1, one.data());
  EXPECT_EQ(one[0], 1.0f);
}

TEST(Swiglu, Formula) {
  std::vector<float> gate = {-2.0f, 0.0f, 0.5f, 3.0f}, up = {1.0f, 2.0f, -1.0f, 0.5f};
  const auto g0 = gate;
  k::swiglu_ref(4, gate.data(), up.data());
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(gate[i], g0[i] / (1 + std::exp(-g0[i])) * up[i], 1e-6);
}

TEST(Dispatch, TableIsComplete) {
  const k::KernelTable& t = k::SelectKernels(k::Isa::kBest);
  EXPECT_NE(t.f32_matvec, nullptr);
  EXPECT_NE(t.q4_matvec, nullptr);
  EXPECT_NE(t.q8c_matvec, nullptr);
  EXPECT_NE(t.q8_quantize, nullptr);
  EXPECT_NE(t.rmsnorm, nullptr);
  EXPECT_NE(t.rope, nullptr);
  EXPECT_NE(t.rope_freqs, nullptr);
  EXPECT_NE(t.swiglu, nullptr);
  EXPECT_EQ(&k::SelectKernels(k::Isa::kScalar), &k::SelectKernels(k::Isa::kScalar));
  EXPECT_STREQ(k::IsaName(k::Isa::kScalar), "scalar");
}

}  // namespace
