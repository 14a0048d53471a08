// qd8-q4sp24-gemm tester: the reference against a double-precision formula on weights
// decoded from the layout text of kite.fbs, every variant this CPU supports against the
// reference on shapes that hit the edges (partial row blocks, one group, cols < 32, token
// counts around the tile sizes), and the packer: layout bytes, round trip against a naive
// dequantized matmul, rejection of matrices that are not 2:4 sparse.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "sdk/format/format.h"
#include "sdk/kernels/dispatch.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/qd8-q4sp24-gemm/pack.h"
#include "sdk/kernels/qd8-q4sp24-gemm/qd8-q4sp24-gemm.h"
#include "test/kernels/qd8_gemm_tester.h"

namespace {

namespace k = kite::kernels;
using kite::FloatToHalf;
using kite::HalfToFloat;
using namespace kite::qd8_gemm_test;  // the shared tester (qd8_gemm_tester.h)

constexpr size_t kBlock = 416;  // 16 rows x 64 columns
constexpr size_t kSub = 192;    // 16 rows x 32 columns, without the scales

enum class WeightKind {
  kRandom,      // any nibbles and positions (equal positions in a quad included), scales +-
  kZeroBlocks,  // every third block has d = 0, another third u = 8 (q = 0) in some rows
  kExtreme,     // u = 0 (q = -8) everywhere: the largest integer dot products
};

struct Weights {
  size_t rows = 0, cols = 0, groups = 0, col_blocks = 0;
  std::vector<uint8_t> packed;  // ceil(rows/16) * col_blocks * 416 bytes
};

Weights MakeWeights(size_t rows, size_t cols, WeightKind kind, std::mt19937& rng) {
  Weights w;
  w.rows = rows;
  w.cols = cols;
  w.groups = (cols + kGroup - 1) / kGroup;
  w.col_blocks = (w.groups + 1) / 2;
  const size_t blocks = (rows + 15) / 16;
  w.packed.resize(blocks * w.col_blocks * kBlock);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  std::bernoulli_distribution coin(0.5);
  for (size_t b = 0; b < blocks; ++b) {
    for (size_t cb = 0; cb < w.col_blocks; ++cb) {
      const size_t id = b * w.col_blocks + cb;
      uint8_t* blk = w.packed.data() + id * kBlock;
      for (size_t i = 0; i < 2 * kSub; ++i) blk[i] = static_cast<uint8_t>(byte(rng));
      if (kind == WeightKind::kExtreme) {
        std::memset(blk, 0, 128);
        std::memset(blk + kSub, 0, 128);
      }
      for (size_t rr = 0; rr < 16; ++rr) {
        uint16_t d = FloatToHalf(coin(rng) ? scale(rng) : -scale(rng));
        if (kind == WeightKind::kZeroBlocks) {
          if (id % 3 == 0) d = 0;
          if (id % 3 == 1 && rr % 2 == 0) {
            for (size_t h = 0; h < 4; ++h)
              std::memset(blk + h / 2 * kSub + h % 2 * 64 + rr * 4, 0x88, 4);
          }
        }
        std::memcpy(blk + 384 + 2 * rr, &d, 2);  // little-endian host
      }
    }
  }
  return w;
}

// Decodes row r, group g of a packed matrix from the text of kite.fbs into q[16] (u - 8),
// p[16] (column within the group) and d.
void DecodeRowGroup(const Weights& w, size_t r, size_t g, int* q, size_t* col, double* d) {
  // "block (b, c) at byte (b * ceil(cols / 64) + c) * 416"; group g is sub-block g % 2 of
  // column block g / 2, at byte (g % 2) * 192 of the block.
  const uint8_t* blk = w.packed.data() + ((r / 16) * w.col_blocks + g / 2) * kBlock;
  const uint8_t* sub = blk + (g % 2) * kSub;
  const size_t rr = r % 16;
  for (size_t h = 0; h < 2; ++h) {
    for (size_t j = 0; j < 4; ++j) {
      // "byte h*64 + r*4 + j holds kept value 4h + j in its low nibble and 8 + 4h + j in its
      // high nibble"; "byte 128 + r*4 + j holds the position of kept value 4s + j in bits
      // [2s, 2s + 2)"; kept value i is in quad i / 2.
      const uint8_t nib = sub[h * 64 + rr * 4 + j];
      const uint8_t pos = sub[128 + rr * 4 + j];
      const size_t lo = 4 * h + j, hi = 8 + 4 * h + j;
      q[lo] = (nib & 0x0F) - 8;
      q[hi] = (nib >> 4) - 8;
      col[lo] = 4 * (lo / 2) + ((pos >> (2 * (lo / 4))) & 3);
      col[hi] = 4 * (hi / 2) + ((pos >> (2 * (hi / 4))) & 3);
    }
  }
  uint16_t dh;
  std::memcpy(&dh, blk + 384 + 2 * rr, 2);
  *d = HalfToFloat(dh);
}

// The formula in double, plus the magnitude of its terms (sum over groups of
// |xscale * d * dot|), which bounds the rounding error of any f32 evaluation order.
void DoubleReference(const Weights& w, const Acts& a, std::vector<double>* y,
                     std::vector<double>* mag) {
  y->assign(a.m * w.rows, 0.0);
  mag->assign(a.m * w.rows, 0.0);
  for (size_t t = 0; t < a.m; ++t) {
    for (size_t r = 0; r < w.rows; ++r) {
      double acc = 0.0, abs_acc = 0.0;
      for (size_t g = 0; g < w.groups; ++g) {
        int q[16];
        size_t col[16];
        double d;
        DecodeRowGroup(w, r, g, q, col, &d);
        double dot = 0.0;
        for (size_t i = 0; i < 16; ++i)
          dot += q[i] * static_cast<double>(a.q[(t * a.groups + g) * kGroup + col[i]]);
        const double xs = a.scale[t * a.groups + g];
        acc += xs * d * dot;
        abs_acc += std::fabs(xs * d * dot);
      }
      (*y)[t * w.rows + r] = acc;
      (*mag)[t * w.rows + r] = abs_acc;
    }
  }
}

constexpr Case<WeightKind> kCases[] = {
    {WeightKind::kRandom, ActKind::kQuantized, "random/quantized"},
    {WeightKind::kRandom, ActKind::kFullRange, "random/full-range"},
    {WeightKind::kZeroBlocks, ActKind::kQuantized, "zero-blocks/quantized"},
    {WeightKind::kExtreme, ActKind::kExtreme, "q=-8/x=-128"},
};

// Checks the reference against the double formula, then every supported variant against
// the reference, for one shape.
void CheckShape(size_t rows, size_t cols, size_t m, std::mt19937& rng) {
  for (const Case<WeightKind>& c : kCases) {
    SCOPED_TRACE(testing::Message()
                 << c.name << " rows=" << rows << " cols=" << cols << " m=" << m);
    const Weights w = MakeWeights(rows, cols, c.weights, rng);
    const Acts a = MakeActs(m, cols, c.acts, rng);
    std::vector<double> want, mag;
    DoubleReference(w, a, &want, &mag);
    CheckVariantsAgainstRef(
        k::qd8_q4sp24_gemm_ref, [](const k::KernelTable& t) { return t.qd8_q4sp24_gemm; },
        [&](k::Qd8Q4sp24GemmFn fn, std::vector<float>* out) {
          return RunCanaried(m, rows, [&](float* y, size_t y_stride) {
            fn(m, rows, w.groups, w.packed.data(), a.q.data(), a.scale.data(), y, y_stride);
          }, out);
        },
        want, mag, rows);
    if (testing::Test::HasFatalFailure()) return;
  }
}

TEST(Qd8Q4sp24Gemm, EveryIsaHasAVariant) {
  size_t n_tables = 0;
  const k::KernelTable* const* tables = k::AllSupportedKernelTables(&n_tables);
  ASSERT_GE(n_tables, 1u);
  EXPECT_EQ(tables[0]->qd8_q4sp24_gemm, &k::qd8_q4sp24_gemm_ref);
  for (size_t i = 0; i < n_tables; ++i) {
    EXPECT_NE(tables[i]->qd8_q4sp24_gemm, nullptr) << k::IsaName(tables[i]->isa);
    // Every ISA, x86 and Arm, has its own 2:4 kernel.
    if (tables[i]->isa != k::Isa::kScalar) {
      EXPECT_NE(tables[i]->qd8_q4sp24_gemm, &k::qd8_q4sp24_gemm_ref) << k::IsaName(tables[i]->isa);
    }
  }
}

TEST(Qd8Q4sp24Gemm, VariantsMatchReferenceOnOddShapes) {
  std::mt19937 rng(1234);
  for (size_t rows : {1, 15, 16, 17, 33, 100}) {
    for (size_t cols : {5, 31, 32, 45, 64, 96, 185}) {
      for (size_t m : {1, 2, 3, 4, 5, 8, 9, 17}) {
        CheckShape(rows, cols, m, rng);
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST(Qd8Q4sp24Gemm, VariantsMatchReferenceOnLongRows) {
  std::mt19937 rng(99);
  for (size_t groups : {63, 64, 65, 176}) {
    for (size_t m : {1, 7, 16}) {
      CheckShape(groups % 2 == 0 ? 17 : 40, groups * kGroup, m, rng);
      if (HasFatalFailure()) return;
    }
  }
}

// Rows split between threads by 16-row blocks (CheckRowBlockSplit).
TEST(Qd8Q4sp24Gemm, RowBlockSplitMatchesWholeCall) {
  std::mt19937 rng(7);
  const size_t rows = 100, groups = 5, m = 11;
  const Weights w = MakeWeights(rows, groups * kGroup, WeightKind::kRandom, rng);
  const Acts a = MakeActs(m, groups * kGroup, ActKind::kQuantized, rng);
  CheckRowBlockSplit(m, rows, [&](const k::KernelTable& t, size_t first_block, size_t n,
                                   float* y, size_t y_stride) {
    t.qd8_q4sp24_gemm(m, n, groups,
                      w.packed.data() + first_block * w.col_blocks * kite::kQ4SP24BlockBytes,
                      a.q.data(), a.scale.data(), y, y_stride);
  });
}

// A random matrix made 2:4 sparse in the test (keep the 2 largest |w| of every quad), with
// some quads holding fewer non-zeros and, when cols % 4 != 0, a short last quad.
std::vector<float> MakeSparse(size_t rows, size_t cols, std::mt19937& rng) {
  std::normal_distribution<float> x(0.0f, 0.02f);
  std::uniform_int_distribution<int> kind(0, 9);
  std::vector<float> w(rows * cols);
  for (float& v : w) v = x(rng);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c0 = 0; c0 < cols; c0 += 4) {
      float* q = &w[r * cols + c0];
      const size_t n = cols - c0 < 4 ? cols - c0 : 4;
      const int k_keep = kind(rng) == 0 ? 0 : (kind(rng) == 1 ? 1 : 2);
      for (int drop = static_cast<int>(n) - k_keep; drop > 0; --drop) {
        size_t smallest = n;
        for (size_t i = 0; i < n; ++i) {
          if (q[i] != 0.0f && (smallest == n || std::fabs(q[i]) < std::fabs(q[smallest])))
            smallest = i;
        }
        if (smallest < n) q[smallest] = 0.0f;
      }
    }
  }
  return w;
}

TEST(Q4SP24Pack, PackThenReferenceMatchesDequantizedMatmul) {
  std::mt19937 rng(31);
  for (size_t rows : {1, 16, 21, 40}) {
    for (size_t cols : {3, 31, 32, 45, 128}) {
      SCOPED_TRACE(testing::Message() << rows << "x" << cols);
      const std::vector<float> src = MakeSparse(rows, cols, rng);
      ASSERT_TRUE(k::IsTwoFourSparse(rows, cols, src.data()));
      Weights w;
      w.rows = rows;
      w.cols = cols;
      w.groups = (cols + kGroup - 1) / kGroup;
      w.col_blocks = (cols + 63) / 64;
      ASSERT_EQ(kite::PackedBytes(kite::DType::Q4_G_SP24, kite::Layout::Q4_SP24_R16_G64, rows, cols,
                                  kite::kQ4SP24BlockCols),
                (rows + 15) / 16 * w.col_blocks * kBlock);
      w.packed.assign(kite::PackedBytes(kite::DType::Q4_G_SP24, kite::Layout::Q4_SP24_R16_G64, rows,
                                        cols, kite::kQ4SP24BlockCols),
                      0xA5);
      ASSERT_TRUE(k::PackQ4SP24(rows, cols, src.data(), w.packed.data()));
      // Dequantized rows: zeros stay zero, and the error is small.
      std::vector<float> deq(rows * cols);
      double err2 = 0.0, src2 = 0.0;
      for (size_t r = 0; r < rows; ++r) {
        std::vector<float> row(cols + 1, kCanary);
        k::DequantizeQ4SP24Row(cols, w.packed.data(), r, row.data());
        ASSERT_EQ(row[cols], kCanary);
        for (size_t c = 0; c < cols; ++c) {
          const float s = src[r * cols + c];
          deq[r * cols + c] = row[c];
          if (s == 0.0f) ASSERT_EQ(row[c], 0.0f) << "row " << r << " col " << c;
          err2 += double{s - row[c]} * (s - row[c]);
          src2 += double{s} * s;
        }
      }
      EXPECT_LT(std::sqrt(err2 / src2), 0.12);
      // The reference kernel on the packed bytes equals a naive matmul of the dequantized
      // weights with the dequantized activations.
      const size_t m = 3;
      const Acts a = MakeActs(m, cols, ActKind::kQuantized, rng);
      std::vector<float> got;
      ASSERT_TRUE(RunCanaried(m, rows, [&](float* y, size_t y_stride) {
        k::qd8_q4sp24_gemm_ref(m, rows, w.groups, w.packed.data(), a.q.data(), a.scale.data(), y,
                               y_stride);
      }, &got));
      for (size_t t = 0; t < m; ++t) {
        for (size_t r = 0; r < rows; ++r) {
          double want = 0.0, mag = 0.0;
          for (size_t c = 0; c < cols; ++c) {
            const double x =
                double{a.scale[t * a.groups + c / kGroup]} * a.q[t * a.groups * kGroup + c];
            want += deq[r * cols + c] * x;
            mag += std::fabs(deq[r * cols + c] * x);
          }
          EXPECT_NEAR(got[t * rows + r], want, 1e-5 * mag + 1e-30) << "token " << t << " row " << r;
        }
      }
    }
  }
}

TEST(Q4SP24Pack, LayoutMatchesSchemaText) {
  // Row 0 of a 1 x 8 matrix: quad 0 keeps columns 1 and 3, quad 1 only column 6 (completed
  // with position 0 holding zero). amax = 0.7 is -7 * 0.1 or 7 * 0.1 for the search.
  const float src[8] = {0.0f, 0.7f, 0.0f, -0.3f, 0.0f, 0.0f, -0.7f, 0.0f};
  std::vector<uint8_t> packed(
      kite::PackedBytes(kite::DType::Q4_G_SP24, kite::Layout::Q4_SP24_R16_G64, 1, 8,
                        kite::kQ4SP24BlockCols),
      0xA5);
  ASSERT_EQ(packed.size(), kBlock);
  ASSERT_TRUE(k::PackQ4SP24(1, 8, src, packed.data()));
  uint16_t dh;
  std::memcpy(&dh, packed.data() + 384, 2);
  const float d = HalfToFloat(dh);
  ASSERT_GT(d, 0.0f);
  auto quantize = [d](float v) {
    const int q = static_cast<int>(std::nearbyint(v / d));
    return q < -8 ? -8 : (q > 7 ? 7 : q);
  };
  const int q1 = quantize(0.7f), q3 = quantize(-0.3f), q6 = quantize(-0.7f);
  // Kept values 0..3 (slice 0) are the low nibbles of bytes 0..3: columns 1, 3, 4 (pad), 6.
  EXPECT_EQ(packed[0] & 0x0F, q1 + 8);
  EXPECT_EQ(packed[1] & 0x0F, q3 + 8);
  EXPECT_EQ(packed[2] & 0x0F, 8);
  EXPECT_EQ(packed[3] & 0x0F, q6 + 8);
  // Positions of slice 0 in bits [0, 2) of bytes 128..131: 1, 3, 0, 2.
  EXPECT_EQ(packed[128] & 3, 1);
  EXPECT_EQ(packed[129] & 3, 3);
  EXPECT_EQ(packed[130] & 3, 0);
  EXPECT_EQ(packed[131] & 3, 2);
  // Quads 2..7 of sub-block 0 and all of sub-block 1 are padding columns: u = 8,
  // positions 0 and 1.
  for (size_t sb = 0; sb < 2; ++sb) {
    for (size_t i = sb == 0 ? 4 : 0; i < 16; ++i) {
      const uint8_t nib = packed[sb * kSub + (i / 4 % 2) * 64 + i % 4];
      EXPECT_EQ(i >= 8 ? nib >> 4 : nib & 0x0F, 8) << "sub-block " << sb << " kept value " << i;
      EXPECT_EQ((packed[sb * kSub + 128 + i % 4] >> (2 * (i / 4))) & 3, i % 2)
          << "sub-block " << sb << " kept value " << i;
    }
  }
  // Padding rows 1..15: u = 8, positions 0, d = 0.
  for (size_t rr = 1; rr < 16; ++rr) {
    for (size_t sb = 0; sb < 2; ++sb) {
      for (size_t j = 0; j < 4; ++j) {
        EXPECT_EQ(packed[sb * kSub + rr * 4 + j], 0x88);
        EXPECT_EQ(packed[sb * kSub + 64 + rr * 4 + j], 0x88);
        EXPECT_EQ(packed[sb * kSub + 128 + rr * 4 + j], 0);
      }
    }
    EXPECT_EQ(packed[384 + 2 * rr], 0);
    EXPECT_EQ(packed[385 + 2 * rr], 0);
  }
}

TEST(Q4SP24Pack, RejectsMatricesThatAreNot24Sparse) {
  std::vector<uint8_t> out(kite::PackedBytes(kite::DType::Q4_G_SP24, kite::Layout::Q4_SP24_R16_G64,
                                             2, 9, kite::kQ4SP24BlockCols));
  // Three non-zeros in the second quad of row 1.
  std::vector<float> w(2 * 9, 0.0f);
  w[0] = 1.0f;
  w[9 + 4] = 1.0f;
  w[9 + 5] = -2.0f;
  EXPECT_TRUE(k::IsTwoFourSparse(2, 9, w.data()));
  EXPECT_TRUE(k::PackQ4SP24(2, 9, w.data(), out.data()));
  w[9 + 7] = 0.5f;
  EXPECT_FALSE(k::IsTwoFourSparse(2, 9, w.data()));
  EXPECT_FALSE(k::PackQ4SP24(2, 9, w.data(), out.data()));
  // A short last quad (columns 8..10 of 11) with three non-zeros.
  std::vector<float> v(11, 0.0f);
  v[8] = v[9] = v[10] = 1.0f;
  EXPECT_FALSE(k::IsTwoFourSparse(1, 11, v.data()));
  EXPECT_FALSE(k::PackQ4SP24(1, 11, v.data(), out.data()));
  // A non-finite value.
  std::vector<float> n(4, 0.0f);
  n[2] = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(k::IsTwoFourSparse(1, 4, n.data()));
  EXPECT_FALSE(k::PackQ4SP24(1, 4, n.data(), out.data()));
  n[2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(k::PackQ4SP24(1, 4, n.data(), out.data()));
}

// Packing with given scales stores d * code exactly (the converter's code training repacks
// this way), and the stored columns are two per quad, every non-zero among them.
TEST(Q4SP24Pack, GivenScalesStoreCodesExactlyAndStoredColumnsCoverNonZeros) {
  std::mt19937 rng(37);
  for (size_t cols : {7, 64, 93}) {
    SCOPED_TRACE(testing::Message() << cols << " columns");
    const size_t rows = 18, col_blocks = (cols + 63) / 64;
    const std::vector<float> src = MakeSparse(rows, cols, rng);
    std::vector<uint8_t> packed(kite::PackedBytes(
        kite::DType::Q4_G_SP24, kite::Layout::Q4_SP24_R16_G64, rows, cols, kite::kQ4SP24BlockCols));
    ASSERT_TRUE(k::PackQ4SP24(rows, cols, src.data(), packed.data()));
    std::vector<uint16_t> scales(rows * col_blocks);
    std::vector<float> w(rows * cols);
    std::uniform_int_distribution<int> code(-8, 7);
    std::uniform_int_distribution<int> scale_bits(0x1000, 0x2C00);  // positive f16 values
    for (size_t r = 0; r < rows; ++r) {
      std::vector<uint8_t> stored(cols);
      k::Q4SP24StoredColumns(cols, packed.data(), r, stored.data());
      for (size_t c0 = 0; c0 < cols; c0 += 4) {
        size_t n = 0;
        for (size_t c = c0; c < c0 + 4 && c < cols; ++c) {
          n += stored[c];
          if (src[r * cols + c] != 0.0f) EXPECT_EQ(stored[c], 1) << r << "," << c;
        }
        // A short last quad may have stored values in the padding columns.
        if (c0 + 4 <= cols) EXPECT_EQ(n, 2u) << r << "," << c0;
      }
      for (size_t b = 0; b < col_blocks; ++b) {
        scales[r * col_blocks + b] = static_cast<uint16_t>(scale_bits(rng));
      }
      // New codes on the stored columns, d * code in f32.
      for (size_t c = 0; c < cols; ++c) {
        const float d = HalfToFloat(scales[r * col_blocks + c / 64]);
        w[r * cols + c] = stored[c] ? d * static_cast<float>(code(rng)) : 0.0f;
      }
    }
    std::vector<uint8_t> repacked(packed.size());
    ASSERT_TRUE(k::PackQ4SP24(rows, cols, w.data(), repacked.data(), scales.data()));
    std::vector<float> row(cols);
    for (size_t r = 0; r < rows; ++r) {
      k::DequantizeQ4SP24Row(cols, repacked.data(), r, row.data());
      for (size_t c = 0; c < cols; ++c) ASSERT_EQ(row[c], w[r * cols + c]) << r << "," << c;
    }
  }
}

}  // namespace
