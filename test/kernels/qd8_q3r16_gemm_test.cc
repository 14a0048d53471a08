// qd8-q3r16-gemm tester: the packers of both layouts (Q3_R16_G32, Q3_R16_G64) against the
// layout text of kite.fbs, the reference against a double-precision formula on the unpacked
// codes, and every variant this CPU supports against the reference for both layouts, on
// shapes that hit the edges (partial row blocks, one group or block, columns short of a
// 32- or 64-column block, token counts around the tile sizes, group counts around the
// chunk size).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "sdk/format/format.h"
#include "sdk/kernels/dispatch.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/qd8-q3r16-gemm/pack.h"
#include "sdk/kernels/qd8-q3r16-gemm/qd8-q3r16-gemm.h"
#include "test/kernels/qd8_gemm_tester.h"

namespace {

namespace k = kite::kernels;
using kite::FloatToHalf;
using kite::HalfToFloat;
using namespace kite::qd8_gemm_test;  // the shared tester (qd8_gemm_tester.h)

enum class WeightKind {
  kRandom,      // u uniform in 0..7, scales of both signs
  kZeroBlocks,  // every third 16x32 block d = 0, some blocks all u = 4 (zero) with d != 0
  kLowest,      // u = 0 everywhere (weight -4 d): the largest |integer dot products|
  kHighest,     // u = 7 everywhere (weight 3 d)
};

// S: activation groups per scale, 1 (Q3_R16_G32) or 2 (Q3_R16_G64).
kite::Layout LayoutOf(size_t s) {
  return s == 2 ? kite::Layout::Q3_R16_G64 : kite::Layout::Q3_R16_G32;
}

struct Weights {
  size_t rows = 0, cols = 0, s = 1, group = 0, groups = 0, padded_cols = 0;
  std::vector<uint8_t> u;   // rows x padded_cols; padding columns hold 4, as packed
  std::vector<uint16_t> d;  // rows x groups (scale groups of `group` = 32 s columns)
  std::vector<uint8_t> packed;
};

Weights MakeWeights(size_t rows, size_t cols, size_t s, WeightKind kind, std::mt19937& rng) {
  Weights w;
  w.rows = rows;
  w.cols = cols;
  w.s = s;
  w.group = s * kGroup;
  w.groups = (cols + w.group - 1) / w.group;
  w.padded_cols = w.groups * w.group;
  w.u.assign(rows * w.padded_cols, 4);
  w.d.assign(rows * w.groups, 0);
  std::uniform_int_distribution<int> code(0, 7);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  std::bernoulli_distribution coin(0.5);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      w.u[r * w.padded_cols + c] = static_cast<uint8_t>(
          kind == WeightKind::kLowest ? 0 : kind == WeightKind::kHighest ? 7 : code(rng));
    }
    for (size_t g = 0; g < w.groups; ++g) {
      w.d[r * w.groups + g] = FloatToHalf(coin(rng) ? scale(rng) : -scale(rng));
    }
  }
  if (kind == WeightKind::kZeroBlocks) {
    for (size_t r = 0; r < rows; ++r) {
      for (size_t g = 0; g < w.groups; ++g) {
        const size_t block = (r / 16) * w.groups + g;
        if (block % 3 == 0) w.d[r * w.groups + g] = 0;
        if (block % 3 == 1) {
          for (size_t c = g * w.group; c < (g + 1) * w.group && c < cols; ++c)
            w.u[r * w.padded_cols + c] = 4;
        }
      }
    }
  }
  w.packed.assign(kite::PackedBytes(kite::DType::Q4_G, LayoutOf(s), rows, cols, w.group), 0xA5);
  k::PackQ3R16(rows, cols, w.group, w.u.data(), w.d.data(), w.packed.data());
  return w;
}

// The formula in double on the unpacked codes, plus the magnitude of its terms (sum over
// groups of |xscale * d| * (sum |u x| + 4 |xsum|)), which bounds the rounding of any f32
// order (variants may compute sum u x - 4 xsum).
void DoubleReference(const Weights& w, const Acts& a, std::vector<double>* y,
                     std::vector<double>* mag) {
  y->assign(a.m * w.rows, 0.0);
  mag->assign(a.m * w.rows, 0.0);
  for (size_t t = 0; t < a.m; ++t) {
    for (size_t r = 0; r < w.rows; ++r) {
      for (size_t g = 0; g < a.groups; ++g) {  // activation groups: scale group g / s
        const double d = HalfToFloat(w.d[r * w.groups + g / w.s]);
        const double xs = a.scale[t * a.groups + g];
        double dot = 0.0, abs_dot = 0.0, sum = 0.0;
        for (size_t j = 0; j < kGroup; ++j) {
          const double x = a.q[(t * a.groups + g) * kGroup + j];
          const double u = w.u[r * w.padded_cols + g * kGroup + j];
          dot += (u - 4.0) * x;
          abs_dot += std::fabs(u * x);
          sum += x;
        }
        EXPECT_EQ(sum, a.sum[t * a.groups + g]);
        (*y)[t * w.rows + r] += xs * d * dot;
        (*mag)[t * w.rows + r] += std::fabs(xs * d) * (abs_dot + 4.0 * std::fabs(sum));
      }
    }
  }
}

constexpr Case<WeightKind> kCases[] = {
    {WeightKind::kRandom, ActKind::kQuantized, "random/quantized"},
    {WeightKind::kRandom, ActKind::kFullRange, "random/full-range"},
    {WeightKind::kZeroBlocks, ActKind::kQuantized, "zero-blocks/quantized"},
    {WeightKind::kLowest, ActKind::kExtreme, "u=0/x=-128"},
    {WeightKind::kHighest, ActKind::kExtreme, "u=7/x=-128"},
};

// `groups` activation groups (a multiple of s), the last cols_short columns padding.
// Activations are random in the padding columns too (their weights are 0).
void CheckShape(size_t s, size_t rows, size_t groups, size_t m, size_t cols_short,
                std::mt19937& rng) {
  const size_t cols = groups * kGroup - cols_short;
  for (const Case<WeightKind>& c : kCases) {
    SCOPED_TRACE(testing::Message() << c.name << " s=" << s << " rows=" << rows
                                    << " groups=" << groups << " cols=" << cols << " m=" << m);
    const Weights w = MakeWeights(rows, cols, s, c.weights, rng);
    const Acts a = MakeActs(m, w.padded_cols, c.acts, rng);
    ASSERT_EQ(a.groups, groups);
    std::vector<double> want, mag;
    DoubleReference(w, a, &want, &mag);
    CheckVariantsAgainstRef(
        k::qd8_q3r16_gemm_ref, [](const k::KernelTable& t) { return t.qd8_q3r16_gemm; },
        [&](k::Qd8Q3r16GemmFn fn, std::vector<float>* out) {
          return RunCanaried(m, rows, [&](float* y, size_t y_stride) {
            fn(m, rows, groups, s, w.packed.data(), a.q.data(), a.scale.data(), a.sum.data(), y,
               y_stride);
          }, out);
        },
        want, mag, rows);
    if (testing::Test::HasFatalFailure()) return;
  }
}

TEST(Qd8Q3r16Gemm, VariantsMatchReferenceOnOddShapes) {
  size_t n_tables = 0;
  const k::KernelTable* const* tables = k::AllSupportedKernelTables(&n_tables);
  std::printf("qd8-q3r16-gemm tables run against ref (a table without a variant runs ref):");
  for (size_t i = 0; i < n_tables; ++i) std::printf(" %s", k::IsaName(tables[i]->isa));
  std::printf("\n");
  std::mt19937 rng(1234);
  for (size_t rows : {1, 15, 16, 17, 33, 100}) {
    for (size_t groups : {1, 2, 3, 6}) {
      for (size_t m : {1, 2, 3, 5, 8, 13}) {
        CheckShape(1, rows, groups, m, (rows + m) % 2 == 0 ? 0 : 7, rng);
        if (HasFatalFailure()) return;
      }
    }
  }
}

// Q3_R16_G64: one to three 64-column blocks, the columns short of the last block by 0, 7
// (inside its second half) or 39 (its whole second half is padding).
TEST(Qd8Q3r16Gemm, G64VariantsMatchReferenceOnOddShapes) {
  std::mt19937 rng(4321);
  for (size_t rows : {1, 15, 16, 17, 33, 100}) {
    for (size_t groups : {2, 4, 6}) {
      for (size_t m : {1, 2, 3, 5, 8, 13}) {
        CheckShape(2, rows, groups, m, (rows + m + groups) % 3 == 0 ? 0 : (rows + m) % 2 ? 7 : 39,
                   rng);
        if (HasFatalFailure()) return;
      }
    }
  }
}

// Group counts around the kernels' group chunk (64) and token counts around the tiles.
TEST(Qd8Q3r16Gemm, VariantsMatchReferenceOnLongRows) {
  std::mt19937 rng(99);
  for (size_t groups : {63, 64, 65, 130}) {
    for (size_t m : {1, 4, 9, 17}) {
      CheckShape(1, groups % 2 == 0 ? 17 : 40, groups, m, 0, rng);
      if (HasFatalFailure()) return;
      if (groups % 2 == 0) CheckShape(2, 40, groups, m, 7, rng);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(Qd8Q3r16Gemm, RowBlockSplitMatchesWholeCall) {
  std::mt19937 rng(7);
  for (size_t s : {1, 2}) {
    SCOPED_TRACE(testing::Message() << "s=" << s);
    const size_t rows = 100, groups = 6, m = 11;
    const Weights w = MakeWeights(rows, groups * kGroup, s, WeightKind::kRandom, rng);
    const Acts a = MakeActs(m, groups * kGroup, ActKind::kQuantized, rng);
    const size_t row_block_bytes = groups / s * kite::Q3R16BlockBytes(s);
    CheckRowBlockSplit(m, rows, [&](const k::KernelTable& t, size_t first_block, size_t n,
                                     float* y, size_t y_stride) {
      t.qd8_q3r16_gemm(m, n, groups, s, w.packed.data() + first_block * row_block_bytes,
                       a.q.data(), a.scale.data(), a.sum.data(), y, y_stride);
    });
  }
}

TEST(Qd8Q3r16Gemm, ScalarTableRunsTheReference) {
  EXPECT_EQ(k::SelectKernels(k::Isa::kScalar).qd8_q3r16_gemm, &k::qd8_q3r16_gemm_ref);
  size_t n = 0;
  const k::KernelTable* const* tables = k::AllSupportedKernelTables(&n);
  for (size_t i = 0; i < n; ++i) EXPECT_NE(tables[i]->qd8_q3r16_gemm, nullptr);
}

TEST(Q3R16Pack, LayoutMatchesSchemaText) {
  std::mt19937 rng(5);
  const size_t rows = 33, cols = 70;  // 3 row blocks (15 padding rows), 3 groups (26 padding cols)
  const Weights w = MakeWeights(rows, cols, 1, WeightKind::kRandom, rng);
  ASSERT_EQ(kite::PackedBytes(kite::DType::Q4_G, kite::Layout::Q3_R16_G32, rows, cols,
                              kite::kQ4R16GroupSize),
            size_t{3 * 3 * 224});
  ASSERT_EQ(w.packed.size(), size_t{3 * 3 * 224});
  for (size_t r = 0; r < 48; ++r) {
    for (size_t g = 0; g < 3; ++g) {
      // Block (b, g) at (b * groups + g) * 224; inside it, kite.fbs: for quad k = 4h + s,
      // byte h*64 + r*4 + j holds u & 3 at bits [2s, 2s+2); byte 128 + r*4 + j holds u >> 2
      // at bit k.
      const uint8_t* blk = w.packed.data() + ((r / 16) * 3 + g) * 224;
      const size_t rr = r % 16;
      for (size_t c = 0; c < 32; ++c) {
        const size_t quad = c / 4, h = quad / 4, s = quad % 4, j = c % 4;
        const unsigned low = (blk[h * 64 + rr * 4 + j] >> (2 * s)) & 3u;
        const unsigned high = (blk[128 + rr * 4 + j] >> quad) & 1u;
        const size_t col = g * 32 + c;
        const unsigned want = r < rows && col < cols ? w.u[r * w.padded_cols + col] : 4u;
        ASSERT_EQ(low | (high << 2), want) << "row " << r << " col " << col;
      }
      uint16_t d;
      std::memcpy(&d, blk + 192 + 2 * rr, 2);  // little-endian host
      EXPECT_EQ(d, r < rows ? w.d[r * 3 + g] : 0) << "row " << r;
    }
  }
}

TEST(Q3R16Pack, G64LayoutMatchesSchemaText) {
  std::mt19937 rng(6);
  const size_t rows = 17, cols = 150;  // 2 row blocks, 3 blocks of 64 (42 padding cols)
  const Weights w = MakeWeights(rows, cols, 2, WeightKind::kRandom, rng);
  ASSERT_EQ(kite::PackedBytes(kite::DType::Q4_G, kite::Layout::Q3_R16_G64, rows, cols, 64),
            size_t{2 * 3 * 416});
  ASSERT_EQ(w.packed.size(), size_t{2 * 3 * 416});
  for (size_t r = 0; r < 32; ++r) {
    for (size_t b = 0; b < 3; ++b) {
      // Block (rb, b) at (rb * 3 + b) * 416; columns 32 h2 .. 32 h2 + 31 of the block at
      // byte 192 h2, laid out as a Q3_R16_G32 block's first 192 bytes; scales at 384.
      const uint8_t* blk = w.packed.data() + ((r / 16) * 3 + b) * 416;
      const size_t rr = r % 16;
      for (size_t c = 0; c < 64; ++c) {
        const uint8_t* part = blk + (c / 32) * 192;
        const size_t quad = c % 32 / 4, h = quad / 4, s = quad % 4, j = c % 4;
        const unsigned low = (part[h * 64 + rr * 4 + j] >> (2 * s)) & 3u;
        const unsigned high = (part[128 + rr * 4 + j] >> quad) & 1u;
        const size_t col = b * 64 + c;
        const unsigned want = r < rows && col < cols ? w.u[r * w.padded_cols + col] : 4u;
        ASSERT_EQ(low | (high << 2), want) << "row " << r << " col " << col;
      }
      uint16_t d;
      std::memcpy(&d, blk + 384 + 2 * rr, 2);  // little-endian host
      EXPECT_EQ(d, r < rows ? w.d[r * 3 + b] : 0) << "row " << r;
    }
  }
}

TEST(Q3R16Pack, UnpackAndDequantizeRoundTrip) {
  std::mt19937 rng(11);
  for (size_t s : {1, 2}) {
    for (size_t rows : {1, 16, 17, 45}) {
      for (size_t cols : {1, 31, 32, 33, 64, 65, 100}) {
        SCOPED_TRACE(testing::Message() << "s=" << s);
        const Weights w = MakeWeights(rows, cols, s, WeightKind::kRandom, rng);
        std::vector<uint8_t> u(rows * w.padded_cols, 0xFF);
        std::vector<uint16_t> d(rows * w.groups);
        k::UnpackQ3R16(rows, cols, w.group, w.packed.data(), u.data(), d.data());
        EXPECT_EQ(u, w.u) << rows << "x" << cols;  // padding columns come back as 4
        EXPECT_EQ(d, w.d);
        std::vector<uint8_t> again(w.packed.size(), 0x5A);
        k::PackQ3R16(rows, cols, w.group, u.data(), d.data(), again.data());
        EXPECT_EQ(again, w.packed);
        std::vector<float> row(cols + 1, kCanary);
        for (size_t r = 0; r < rows; ++r) {
          k::DequantizeQ3R16Row(cols, w.group, w.packed.data(), r, row.data());
          for (size_t c = 0; c < cols; ++c) {
            const float want = HalfToFloat(w.d[r * w.groups + c / w.group]) *
                               static_cast<float>(static_cast<int>(w.u[r * w.padded_cols + c]) - 4);
            ASSERT_EQ(row[c], want) << "row " << r << " col " << c;
          }
          ASSERT_EQ(row[cols], kCanary);
        }
      }
    }
  }
}

}  // namespace
