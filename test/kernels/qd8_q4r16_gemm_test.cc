// qd8-q4r16-gemm tester: the packer against the layout text of kite.fbs, the reference
// against a double-precision formula on the unpacked weights, and every variant this CPU
// supports against the reference, on shapes that hit the edges (partial row blocks, one
// group, token counts around the tile sizes, group counts around the chunk size).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "platform/cpu_features.h"
#include "sdk/format/format.h"
#include "sdk/kernels/dispatch.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/qd8-q4r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "test/kernels/qd8_gemm_tester.h"

namespace {

namespace k = kite::kernels;
using kite::FloatToHalf;
using kite::HalfToFloat;
using namespace kite::qd8_gemm_test;  // the shared tester (qd8_gemm_tester.h)

enum class WeightKind {
  kRandom,      // u uniform, scales of both signs, arbitrary offsets
  kSymmetric,   // o = -8 d (the converter's symmetric groups)
  kZeroBlocks,  // every third 16x32 block all zero (u = d = o = 0), some u = 0 with d != 0
  kExtreme,     // u = 15 everywhere: the largest integer dot products
};

struct Weights {
  size_t rows = 0, cols = 0, groups = 0, padded_cols = 0;
  std::vector<uint8_t> u;   // rows x padded_cols; padding columns hold 8, as packed
  std::vector<uint16_t> d;  // rows x groups
  std::vector<uint16_t> o;  // rows x groups
  std::vector<uint8_t> packed;
};

Weights MakeWeights(size_t rows, size_t cols, WeightKind kind, std::mt19937& rng) {
  Weights w;
  w.rows = rows;
  w.cols = cols;
  w.groups = (cols + kGroup - 1) / kGroup;
  w.padded_cols = w.groups * kGroup;
  w.u.assign(rows * w.padded_cols, 8);
  w.d.assign(rows * w.groups, 0);
  w.o.assign(rows * w.groups, 0);
  std::uniform_int_distribution<int> nibble(0, 15);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  std::uniform_real_distribution<float> offset(-0.5f, 0.5f);
  std::bernoulli_distribution coin(0.5);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      w.u[r * w.padded_cols + c] =
          static_cast<uint8_t>(kind == WeightKind::kExtreme ? 15 : nibble(rng));
    }
    for (size_t g = 0; g < w.groups; ++g) {
      const float d = coin(rng) || kind == WeightKind::kSymmetric ? scale(rng) : -scale(rng);
      const uint16_t dh = FloatToHalf(d);
      w.d[r * w.groups + g] = dh;
      // -8 d is exact in f16 (an exponent change).
      w.o[r * w.groups + g] = kind == WeightKind::kSymmetric ? FloatToHalf(-8.0f * HalfToFloat(dh))
                                                             : FloatToHalf(offset(rng));
    }
  }
  if (kind == WeightKind::kZeroBlocks) {
    for (size_t r = 0; r < rows; ++r) {
      for (size_t g = 0; g < w.groups; ++g) {
        const size_t block = (r / 16) * w.groups + g;
        if (block % 3 == 0) {
          w.d[r * w.groups + g] = 0;
          w.o[r * w.groups + g] = 0;
        }
        if (block % 3 != 2) {
          for (size_t c = g * kGroup; c < (g + 1) * kGroup && c < cols; ++c)
            w.u[r * w.padded_cols + c] = 0;
        }
      }
    }
  }
  w.packed.assign(kite::PackedBytes(kite::DType::Q4_G, kite::Layout::Q4_R16_G32, rows, cols,
                                    kite::kQ4R16GroupSize),
                  0xA5);
  k::PackQ4R16(rows, cols, w.u.data(), w.d.data(), w.o.data(), w.packed.data());
  return w;
}

// The formula in double on the unpacked weights, plus the magnitude of its terms
// (sum over groups of |xscale * d * dot| + |xscale * o * xsum|), which bounds the
// rounding error of any f32 evaluation order.
void DoubleReference(const Weights& w, const Acts& a, std::vector<double>* y,
                     std::vector<double>* mag) {
  y->assign(a.m * w.rows, 0.0);
  mag->assign(a.m * w.rows, 0.0);
  for (size_t t = 0; t < a.m; ++t) {
    for (size_t r = 0; r < w.rows; ++r) {
      double acc = 0.0, abs_acc = 0.0;
      for (size_t g = 0; g < w.groups; ++g) {
        const double d = HalfToFloat(w.d[r * w.groups + g]);
        const double o = HalfToFloat(w.o[r * w.groups + g]);
        const double xs = a.scale[t * a.groups + g];
        double dot = 0.0, sum = 0.0;
        for (size_t j = 0; j < kGroup; ++j) {
          const double x = a.q[(t * a.groups + g) * kGroup + j];
          dot += w.u[r * w.padded_cols + g * kGroup + j] * x;
          sum += x;
        }
        EXPECT_EQ(sum, a.sum[t * a.groups + g]);
        acc += xs * (d * dot + o * sum);
        abs_acc += std::fabs(xs * d * dot) + std::fabs(xs * o * sum);
      }
      (*y)[t * w.rows + r] = acc;
      (*mag)[t * w.rows + r] = abs_acc;
    }
  }
}

constexpr Case<WeightKind> kCases[] = {
    {WeightKind::kRandom, ActKind::kQuantized, "random/quantized"},
    {WeightKind::kSymmetric, ActKind::kFullRange, "symmetric/full-range"},
    {WeightKind::kZeroBlocks, ActKind::kQuantized, "zero-blocks/quantized"},
    {WeightKind::kExtreme, ActKind::kExtreme, "u=15/x=-128"},
};

// Checks the reference against the double formula, then every supported variant against
// the reference, for one shape.
void CheckShape(size_t rows, size_t groups, size_t m, size_t cols_short, std::mt19937& rng) {
  const size_t cols = groups * kGroup - cols_short;
  for (const Case<WeightKind>& c : kCases) {
    SCOPED_TRACE(testing::Message() << c.name << " rows=" << rows << " groups=" << groups
                                    << " cols=" << cols << " m=" << m);
    const Weights w = MakeWeights(rows, cols, c.weights, rng);
    const Acts a = MakeActs(m, cols, c.acts, rng);
    std::vector<double> want, mag;
    DoubleReference(w, a, &want, &mag);
    CheckVariantsAgainstRef(
        k::qd8_q4r16_gemm_ref, [](const k::KernelTable& t) { return t.qd8_q4r16_gemm; },
        [&](k::Qd8Q4r16GemmFn fn, std::vector<float>* out) {
          return RunCanaried(m, rows, [&](float* y, size_t y_stride) {
            fn(m, rows, groups, w.packed.data(), a.q.data(), a.scale.data(), a.sum.data(), y,
               y_stride);
          }, out);
        },
        want, mag, rows);
    if (testing::Test::HasFatalFailure()) return;
  }
}

TEST(Qd8Q4r16Gemm, VariantsMatchReferenceOnOddShapes) {
  size_t n_tables = 0;
  const k::KernelTable* const* tables = k::AllSupportedKernelTables(&n_tables);
  std::printf("qd8-q4r16-gemm variants run against ref (the others are skipped: not built, or "
              "not supported by this CPU):");
  for (size_t i = 0; i < n_tables; ++i) std::printf(" %s", k::IsaName(tables[i]->isa));
  std::printf("\n");
  std::mt19937 rng(1234);
  for (size_t rows : {1, 15, 16, 17, 33, 100}) {
    for (size_t groups : {1, 2, 3, 6}) {
      for (size_t m : {1, 2, 3, 5, 8, 13}) {
        CheckShape(rows, groups, m, (rows + m) % 2 == 0 ? 0 : 7, rng);
        if (HasFatalFailure()) return;
      }
    }
  }
}

// Group counts around the kernels' group chunk (64) and token counts around the tiles.
TEST(Qd8Q4r16Gemm, VariantsMatchReferenceOnLongRows) {
  std::mt19937 rng(99);
  for (size_t groups : {63, 64, 65, 130}) {
    for (size_t m : {1, 4, 9, 17}) {
      CheckShape(groups % 2 == 0 ? 17 : 40, groups, m, 0, rng);
      if (HasFatalFailure()) return;
    }
  }
}

// Rows split between threads by 16-row blocks (CheckRowBlockSplit).
TEST(Qd8Q4r16Gemm, RowBlockSplitMatchesWholeCall) {
  std::mt19937 rng(7);
  const size_t rows = 100, groups = 5, m = 11;
  const Weights w = MakeWeights(rows, groups * kGroup, WeightKind::kRandom, rng);
  const Acts a = MakeActs(m, groups * kGroup, ActKind::kQuantized, rng);
  CheckRowBlockSplit(m, rows, [&](const k::KernelTable& t, size_t first_block, size_t n,
                                   float* y, size_t y_stride) {
    t.qd8_q4r16_gemm(m, n, groups, w.packed.data() + first_block * groups * kite::kQ4R16BlockBytes,
                     a.q.data(), a.scale.data(), a.sum.data(), y, y_stride);
  });
}

// The codebook layout Q4_R16_G32_CB: codes packed as Q4_R16_G32_SYM packs them, each naming
// an entry of the 16-entry int8 codebook, w = d * codebook[u].
enum class CodebookKind {
  kRandom,    // any values in [-127, 127]
  kExtreme,   // +-127 only: the largest |entry * activation| (with all -128 activations)
  kUniform,   // i - 8: the Q4_R16_G32_SYM grid
};

std::vector<int8_t> MakeCodebook(CodebookKind kind, std::mt19937& rng) {
  std::vector<int8_t> cb(kite::kQ4CodebookEntries);
  std::uniform_int_distribution<int> any(-kite::kQ4CodebookMax, kite::kQ4CodebookMax);
  for (size_t i = 0; i < cb.size(); ++i) {
    cb[i] = static_cast<int8_t>(kind == CodebookKind::kRandom    ? any(rng)
                                : kind == CodebookKind::kExtreme ? (i % 3 == 0 ? -127 : 127)
                                                                 : static_cast<int>(i) - 8);
  }
  return cb;
}

// y = x W^T in double for the codebook layout (the padding columns' activations are 0 or, for
// kFullRange, arbitrary: the codes there are 8, so the formula reads them like the kernels).
void DoubleCbReference(const Weights& w, const std::vector<int8_t>& cb, const Acts& a,
                       std::vector<double>* y, std::vector<double>* mag) {
  y->assign(a.m * w.rows, 0.0);
  mag->assign(a.m * w.rows, 0.0);
  for (size_t t = 0; t < a.m; ++t) {
    for (size_t r = 0; r < w.rows; ++r) {
      for (size_t g = 0; g < w.groups; ++g) {
        const double d = HalfToFloat(w.d[r * w.groups + g]);
        const double xs = a.scale[t * a.groups + g];
        double dot = 0.0, abs_dot = 0.0;
        for (size_t j = 0; j < kGroup; ++j) {
          const double x = a.q[(t * a.groups + g) * kGroup + j];
          const double v = cb[w.u[r * w.padded_cols + g * kGroup + j]] * x;
          dot += v;
          abs_dot += std::fabs(v);
        }
        (*y)[t * w.rows + r] += xs * d * dot;
        (*mag)[t * w.rows + r] += std::fabs(xs * d) * abs_dot;
      }
    }
  }
}

TEST(Qd8Q4r16cbGemm, EveryVariantMatchesTheReference) {
  std::mt19937 rng(2718);
  const struct {
    WeightKind weights;
    ActKind acts;
    CodebookKind codebook;
  } cases[] = {
      {WeightKind::kRandom, ActKind::kQuantized, CodebookKind::kRandom},
      {WeightKind::kRandom, ActKind::kFullRange, CodebookKind::kRandom},
      {WeightKind::kZeroBlocks, ActKind::kQuantized, CodebookKind::kUniform},
      {WeightKind::kExtreme, ActKind::kExtreme, CodebookKind::kExtreme},
      {WeightKind::kRandom, ActKind::kExtreme, CodebookKind::kExtreme},
  };
  for (const auto& c : cases) {
    for (size_t rows : {1, 15, 17, 33, 100}) {
      for (size_t groups : {1, 3, 65}) {
        for (size_t m : {1, 2, 3, 7, 8, 9, 13}) {
          const size_t cols = groups * kGroup - (rows % 2 == 0 ? 0 : 7);
          SCOPED_TRACE(testing::Message() << "case " << static_cast<int>(&c - cases) << " rows="
                                          << rows << " groups=" << groups << " m=" << m);
          Weights w = MakeWeights(rows, cols, c.weights, rng);
          const std::vector<int8_t> cb = MakeCodebook(c.codebook, rng);
          const Acts a = MakeActs(m, cols, c.acts, rng);
          std::vector<uint8_t> packed(kite::PackedBytes(kite::DType::Q4_G,
                                                        kite::Layout::Q4_R16_G32_CB, rows, cols,
                                                        kite::kQ4R16GroupSize));
          k::PackQ4R16Sym(rows, cols, w.u.data(), w.d.data(), packed.data());
          std::vector<double> want, mag;
          DoubleCbReference(w, cb, a, &want, &mag);
          std::vector<float> row(cols);
          k::DequantizeQ4R16CbRow(cols, packed.data(), cb.data(), rows - 1, row.data());
          for (size_t j = 0; j < cols; ++j) {
            ASSERT_EQ(row[j], HalfToFloat(w.d[(rows - 1) * w.groups + j / kGroup]) *
                                  static_cast<float>(cb[w.u[(rows - 1) * w.padded_cols + j]]));
          }
          auto run = [&](k::Qd8Q4r16CbGemmFn fn, std::vector<float>* out) {
            return RunCanaried(m, rows, [&](float* y, size_t ys) {
              fn(m, rows, groups, packed.data(), cb.data(), a.q.data(), a.scale.data(),
                 a.sum.data(), y, ys);
            }, out);
          };
          CheckVariantsAgainstRef(
              k::qd8_q4r16cb_gemm_ref,
              [](const k::KernelTable& t) { return t.qd8_q4r16cb_gemm; }, run, want, mag, rows);
          if (rows > 48) {
            CheckRowBlockSplit(m, rows, [&](const k::KernelTable& t, size_t block, size_t n,
                                            float* y, size_t ys) {
              t.qd8_q4r16cb_gemm(m, n, groups, packed.data() + block * groups * 288, cb.data(),
                                 a.q.data(), a.scale.data(), a.sum.data(), y, ys);
            });
          }
          if (HasFatalFailure()) return;
        }
      }
    }
  }
}

// The 256-bit codebook variants (avx2, avxvnni) compute one token (decode) in their own
// tile, both row halves in one pass; its results must be bit for bit those of the prefill
// tile's token, which the other tokens of a tile do not change. Other ISAs' one-token paths
// may order their float operations differently, so only these two are held to it.
TEST(Qd8Q4r16cbGemm, OneTokenTileEqualsThePrefillTileBitForBit) {
  std::mt19937 rng(31);
  size_t n_tables = 0;
  const k::KernelTable* const* tables = k::AllSupportedKernelTables(&n_tables);
  for (size_t i = 0; i < n_tables; ++i) {
    if (tables[i]->isa != k::Isa::kAvx2 && tables[i]->isa != k::Isa::kAvxVnni) continue;
    SCOPED_TRACE(k::IsaName(tables[i]->isa));
    for (size_t rows : {9, 16, 100}) {
      const size_t groups = 65, cols = groups * kGroup - 5;
      const Weights w = MakeWeights(rows, cols, WeightKind::kRandom, rng);
      const std::vector<int8_t> cb = MakeCodebook(CodebookKind::kRandom, rng);
      const Acts a = MakeActs(3, cols, ActKind::kFullRange, rng);
      std::vector<uint8_t> packed(kite::PackedBytes(kite::DType::Q4_G, kite::Layout::Q4_R16_G32_CB,
                                                    rows, cols, kite::kQ4R16GroupSize));
      k::PackQ4R16Sym(rows, cols, w.u.data(), w.d.data(), packed.data());
      std::vector<float> y1(rows), y3(3 * rows);
      tables[i]->qd8_q4r16cb_gemm(1, rows, groups, packed.data(), cb.data(), a.q.data(),
                                  a.scale.data(), a.sum.data(), y1.data(), rows);
      tables[i]->qd8_q4r16cb_gemm(3, rows, groups, packed.data(), cb.data(), a.q.data(),
                                  a.scale.data(), a.sum.data(), y3.data(), rows);
      EXPECT_EQ(0, std::memcmp(y1.data(), y3.data(), rows * sizeof(float))) << rows << " rows";
    }
  }
}

// A uniform codebook (entry i - 8) is the offset-free grid: the same products as
// Q4_R16_G32_SYM on the same bytes, to float rounding.
TEST(Qd8Q4r16cbGemm, UniformCodebookIsTheSymmetricLayout) {
  std::mt19937 rng(99);
  const std::vector<int8_t> cb = MakeCodebook(CodebookKind::kUniform, rng);
  for (size_t rows : {17, 64}) {
    for (size_t m : {1, 5}) {
      const size_t groups = 4, cols = groups * kGroup;
      const Weights w = MakeWeights(rows, cols, WeightKind::kSymmetric, rng);
      const Acts a = MakeActs(m, cols, ActKind::kQuantized, rng);
      std::vector<uint8_t> packed(kite::PackedBytes(kite::DType::Q4_G, kite::Layout::Q4_R16_G32_CB,
                                                    rows, cols, kite::kQ4R16GroupSize));
      k::PackQ4R16Sym(rows, cols, w.u.data(), w.d.data(), packed.data());
      std::vector<double> want, mag;
      DoubleCbReference(w, cb, a, &want, &mag);
      std::vector<float> y_sym(m * rows), y_cb(m * rows);
      k::qd8_q4r16sym_gemm_ref(m, rows, groups, packed.data(), a.q.data(), a.scale.data(),
                               a.sum.data(), y_sym.data(), rows);
      k::qd8_q4r16cb_gemm_ref(m, rows, groups, packed.data(), cb.data(), a.q.data(),
                              a.scale.data(), a.sum.data(), y_cb.data(), rows);
      EXPECT_TRUE(Close(y_sym, want, mag, rows));
      EXPECT_TRUE(Close(y_cb, ToDouble(y_sym), mag, rows));
    }
  }
}

// The offset-free layout Q4_R16_G32_SYM: with symmetric groups (o = -8 d, exact in f16) every
// variant must give bit for bit what the same variant gives on Q4_R16_G32, including when
// the rows are split by 16-row blocks.
TEST(Qd8Q4r16symGemm, EqualsTheOffsetLayoutOnSymmetricGroups) {
  std::mt19937 rng(4321);
  size_t n_tables = 0;
  const k::KernelTable* const* tables = k::AllSupportedKernelTables(&n_tables);
  for (size_t rows : {1, 17, 33, 100}) {
    for (size_t groups : {1, 3, 65}) {
      for (size_t m : {1, 3, 8, 13}) {
        const size_t cols = groups * kGroup - (rows % 2 == 0 ? 0 : 5);
        SCOPED_TRACE(testing::Message() << "rows=" << rows << " groups=" << groups << " m=" << m);
        const Weights w = MakeWeights(rows, cols, WeightKind::kSymmetric, rng);
        const Acts a = MakeActs(m, cols, ActKind::kQuantized, rng);
        std::vector<uint8_t> packed_s(
            kite::PackedBytes(kite::DType::Q4_G, kite::Layout::Q4_R16_G32_SYM, rows, cols,
                              kite::kQ4R16GroupSize),
            0xA5);
        ASSERT_EQ(packed_s.size(), w.packed.size() / 320 * 288);
        k::PackQ4R16Sym(rows, cols, w.u.data(), w.d.data(), packed_s.data());
        // Each 288-byte block is the 320-byte block without its offsets.
        for (size_t b = 0; b < packed_s.size() / 288; ++b) {
          ASSERT_EQ(0, std::memcmp(packed_s.data() + b * 288, w.packed.data() + b * 320, 288));
        }
        std::vector<float> row_s(cols), row_o(cols);
        k::DequantizeQ4R16SymRow(cols, packed_s.data(), rows - 1, row_s.data());
        k::DequantizeQ4R16Row(cols, w.packed.data(), rows - 1, row_o.data());
        EXPECT_EQ(row_s, row_o);
        std::vector<double> want, mag;
        DoubleReference(w, a, &want, &mag);
        // The two references compute the same terms in the same order: bit-identical.
        std::vector<float> ref_o(m * rows), ref_s(m * rows);
        k::qd8_q4r16_gemm_ref(m, rows, groups, w.packed.data(), a.q.data(), a.scale.data(),
                              a.sum.data(), ref_o.data(), rows);
        k::qd8_q4r16sym_gemm_ref(m, rows, groups, packed_s.data(), a.q.data(), a.scale.data(),
                                 a.sum.data(), ref_s.data(), rows);
        EXPECT_EQ(0, std::memcmp(ref_o.data(), ref_s.data(), ref_o.size() * sizeof(float)));
        for (size_t i = 0; i <= n_tables; ++i) {
          const k::Qd8Q4r16GemmFn without =
              i == 0 ? k::qd8_q4r16sym_gemm_ref : tables[i - 1]->qd8_q4r16sym_gemm;
          SCOPED_TRACE(i == 0 ? "ref" : k::IsaName(tables[i - 1]->isa));
          // Optimized variants may fold the -8 into the integer dot product (fewer float
          // operations), so they agree with the reference to float rounding, like every
          // variant of the offset layout.
          std::vector<float> y_s(m * rows), y_split(m * rows);
          without(m, rows, groups, packed_s.data(), a.q.data(), a.scale.data(), a.sum.data(),
                  y_s.data(), rows);
          EXPECT_TRUE(Close(y_s, ToDouble(ref_s), mag, rows));
          if (rows > 16) {
            without(m, 16, groups, packed_s.data(), a.q.data(), a.scale.data(), a.sum.data(),
                    y_split.data(), rows);
            without(m, rows - 16, groups, packed_s.data() + groups * kite::kQ4R16SymBlockBytes,
                    a.q.data(), a.scale.data(), a.sum.data(), y_split.data() + 16, rows);
            EXPECT_EQ(0, std::memcmp(y_s.data(), y_split.data(), y_s.size() * sizeof(float)));
          }
        }
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST(Q4R16Pack, LayoutMatchesSchemaText) {
  std::mt19937 rng(5);
  const size_t rows = 33,
               cols = 70;  // 3 row blocks (15 padding rows), 3 groups (26 padding columns)
  const Weights w = MakeWeights(rows, cols, WeightKind::kRandom, rng);
  ASSERT_EQ(kite::PackedBytes(kite::DType::Q4_G, kite::Layout::Q4_R16_G32, rows, cols,
                              kite::kQ4R16GroupSize),
            size_t{3 * 3 * 320});
  ASSERT_EQ(w.packed.size(), size_t{3 * 3 * 320});
  for (size_t r = 0; r < 48; ++r) {
    for (size_t g = 0; g < 3; ++g) {
      // Block (b, g) at (b * groups + g) * 320; inside it, kite.fbs: byte p*64 + r*4 + j holds
      // u[r][p*4 + j] (low nibble) and u[r][16 + p*4 + j] (high nibble).
      const uint8_t* blk = w.packed.data() + ((r / 16) * 3 + g) * 320;
      const size_t rr = r % 16;
      for (size_t c = 0; c < 32; ++c) {
        const size_t byte = (c % 16) / 4 * 64 + rr * 4 + c % 4;
        const unsigned got = c < 16 ? blk[byte] & 0x0Fu : blk[byte] >> 4;
        const size_t col = g * 32 + c;
        const unsigned want = r < rows && col < cols ? w.u[r * w.padded_cols + col] : 8u;
        ASSERT_EQ(got, want) << "row " << r << " col " << col;
      }
      uint16_t d, o;
      std::memcpy(&d, blk + 256 + 2 * rr, 2);  // little-endian host
      std::memcpy(&o, blk + 288 + 2 * rr, 2);
      EXPECT_EQ(d, r < rows ? w.d[r * 3 + g] : 0) << "row " << r;
      EXPECT_EQ(o, r < rows ? w.o[r * 3 + g] : 0) << "row " << r;
    }
  }
}

TEST(Q4R16Pack, UnpackAndDequantizeRoundTrip) {
  std::mt19937 rng(11);
  for (size_t rows : {1, 16, 17, 45}) {
    for (size_t cols : {1, 31, 32, 33, 100}) {
      const Weights w = MakeWeights(rows, cols, WeightKind::kRandom, rng);
      std::vector<uint8_t> u(rows * w.padded_cols, 0xFF);
      std::vector<uint16_t> d(rows * w.groups), o(rows * w.groups);
      k::UnpackQ4R16(rows, cols, w.packed.data(), u.data(), d.data(), o.data());
      EXPECT_EQ(u, w.u) << rows << "x" << cols;  // padding columns come back as 8
      EXPECT_EQ(d, w.d);
      EXPECT_EQ(o, w.o);
      // Repacking the unpacked matrix reproduces the bytes.
      std::vector<uint8_t> again(w.packed.size(), 0);
      k::PackQ4R16(rows, cols, u.data(), d.data(), o.data(), again.data());
      EXPECT_EQ(again, w.packed);
      std::vector<float> row(cols + 1, kCanary);
      for (size_t r = 0; r < rows; ++r) {
        k::DequantizeQ4R16Row(cols, w.packed.data(), r, row.data());
        for (size_t c = 0; c < cols; ++c) {
          const size_t g = c / kGroup;
          const float want = HalfToFloat(w.d[r * w.groups + g]) * w.u[r * w.padded_cols + c] +
                             HalfToFloat(w.o[r * w.groups + g]);
          ASSERT_EQ(row[c], want) << "row " << r << " col " << c;
        }
        ASSERT_EQ(row[cols], kCanary);
      }
    }
  }
}

TEST(Dispatch, ParseIsaNames) {
  const k::Isa all[] = {k::Isa::kScalar, k::Isa::kAvx2,    k::Isa::kAvxVnni,  k::Isa::kAvx512Vnni,
                        k::Isa::kNeon,   k::Isa::kNeonDot, k::Isa::kNeonI8mm, k::Isa::kBest};
  for (k::Isa isa : all) {
    bool ok = false;
    EXPECT_EQ(k::ParseIsa(k::IsaName(isa), &ok), isa);
    EXPECT_TRUE(ok) << k::IsaName(isa);
  }
  EXPECT_STREQ(k::IsaName(k::Isa::kAvx512Vnni), "avx512vnni");
  EXPECT_EQ(k::ParseIsa("AVX2"), k::Isa::kAvx2);
  EXPECT_EQ(k::ParseIsa("AvxVnni"), k::Isa::kAvxVnni);
  EXPECT_EQ(k::ParseIsa("NEON"), k::Isa::kNeon);
  EXPECT_EQ(k::ParseIsa("neondot"), k::Isa::kNeonDot);
  EXPECT_EQ(k::ParseIsa("i8mm"), k::Isa::kNeonI8mm);
  for (const char* bad : {"", "avx", "avx2 ", "neon2", "sve", "avx512", "bestest"}) {
    bool ok = true;
    EXPECT_EQ(k::ParseIsa(bad, &ok), k::Isa::kBest) << bad;
    EXPECT_FALSE(ok) << '"' << bad << '"';
  }
  bool ok = true;
  EXPECT_EQ(k::ParseIsa(nullptr, &ok), k::Isa::kBest);
  EXPECT_FALSE(ok);
  EXPECT_LT(static_cast<int>(k::Isa::kScalar), static_cast<int>(k::Isa::kAvx2));
  EXPECT_LT(static_cast<int>(k::Isa::kAvx2), static_cast<int>(k::Isa::kAvxVnni));
  EXPECT_LT(static_cast<int>(k::Isa::kAvxVnni), static_cast<int>(k::Isa::kAvx512Vnni));
  EXPECT_LT(static_cast<int>(k::Isa::kAvx512Vnni), static_cast<int>(k::Isa::kNeon));
  EXPECT_LT(static_cast<int>(k::Isa::kNeon), static_cast<int>(k::Isa::kNeonDot));
  EXPECT_LT(static_cast<int>(k::Isa::kNeonDot), static_cast<int>(k::Isa::kNeonI8mm));
  EXPECT_LT(static_cast<int>(k::Isa::kNeonI8mm), static_cast<int>(k::Isa::kBest));
}

TEST(Dispatch, KiteIsaEnvironment) {
  const char* saved = std::getenv("KITE_ISA");
  const std::string saved_value = saved != nullptr ? saved : "";
  bool valid = false;
  unsetenv("KITE_ISA");
  EXPECT_EQ(k::MaxIsaFromEnvironment(&valid), k::Isa::kBest);
  EXPECT_TRUE(valid);
  setenv("KITE_ISA", "", 1);
  EXPECT_EQ(k::MaxIsaFromEnvironment(&valid), k::Isa::kBest);
  EXPECT_TRUE(valid);
  setenv("KITE_ISA", "avx2", 1);
  EXPECT_EQ(k::MaxIsaFromEnvironment(&valid), k::Isa::kAvx2);
  EXPECT_TRUE(valid);
  setenv("KITE_ISA", "scalar", 1);
  EXPECT_EQ(k::MaxIsaFromEnvironment(&valid), k::Isa::kScalar);
  EXPECT_TRUE(valid);
  setenv("KITE_ISA", "avx-512", 1);
  EXPECT_EQ(k::MaxIsaFromEnvironment(&valid), k::Isa::kBest);
  EXPECT_FALSE(valid);
  EXPECT_EQ(k::MaxIsaFromEnvironment(), k::Isa::kBest);  // null out-param is fine
  if (saved != nullptr) {
    setenv("KITE_ISA", saved_value.c_str(), 1);
  } else {
    unsetenv("KITE_ISA");
  }
}

TEST(Dispatch, SelectKernelsRespectsTheCeiling) {
  size_t n = 0;
  const k::KernelTable* const* tables = k::AllSupportedKernelTables(&n);
  ASSERT_GE(n, 1u);
  EXPECT_EQ(tables[0]->isa, k::Isa::kScalar);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_TRUE(k::IsaSupported(tables[i]->isa));
    if (i > 0) EXPECT_LT(static_cast<int>(tables[i - 1]->isa), static_cast<int>(tables[i]->isa));
  }
  std::printf("supported kernel tables:");
  for (size_t i = 0; i < n; ++i) std::printf(" %s", k::IsaName(tables[i]->isa));
  std::printf("\n");

  const k::Isa levels[] = {k::Isa::kScalar, k::Isa::kAvx2,    k::Isa::kAvxVnni,
                           k::Isa::kAvx512Vnni, k::Isa::kNeon,    k::Isa::kNeonDot,
                           k::Isa::kNeonI8mm,   k::Isa::kBest};
  const auto is_arm = [](k::Isa isa) {
    return isa == k::Isa::kNeon || isa == k::Isa::kNeonDot || isa == k::Isa::kNeonI8mm;
  };
  for (k::Isa ceiling : levels) {
    const k::KernelTable& t = k::SelectKernels(ceiling);
    SCOPED_TRACE(k::IsaName(ceiling));
    EXPECT_LE(static_cast<int>(t.isa), static_cast<int>(ceiling));
    // A ceiling of the other architecture leaves the scalar kernels only.
    if (ceiling != k::Isa::kBest && t.isa != k::Isa::kScalar) {
      EXPECT_EQ(is_arm(t.isa), is_arm(ceiling));
    }
    if (ceiling != k::Isa::kBest && ceiling != k::Isa::kScalar) {
      bool other_arch_supported = false;
      for (size_t i = 0; i < n; ++i) {
        other_arch_supported |= tables[i]->isa != k::Isa::kScalar &&
                                is_arm(tables[i]->isa) != is_arm(ceiling);
      }
      if (other_arch_supported) EXPECT_EQ(t.isa, k::Isa::kScalar);
    }
    EXPECT_TRUE(k::IsaSupported(t.isa));
    if (k::IsaSupported(ceiling)) EXPECT_EQ(t.isa, ceiling);
    EXPECT_NE(t.f32_matvec, nullptr);
    EXPECT_NE(t.q8_quantize, nullptr);
    EXPECT_NE(t.q4_matvec, nullptr);
    EXPECT_NE(t.q8c_matvec, nullptr);
    EXPECT_NE(t.rmsnorm, nullptr);
    EXPECT_NE(t.rope, nullptr);
    EXPECT_NE(t.rope_freqs, nullptr);
    EXPECT_NE(t.attention, nullptr);
    EXPECT_NE(t.qd8_q4sp24_gemm, nullptr);
    EXPECT_NE(t.swiglu, nullptr);
    EXPECT_NE(t.qd8_q4r16_gemm, nullptr);
    EXPECT_NE(t.qd8_q4r16sym_gemm, nullptr);
    EXPECT_NE(t.qd8_q4r16cb_gemm, nullptr);
  }
  EXPECT_EQ(&k::SelectKernels(k::Isa::kBest), tables[n - 1]);
  EXPECT_EQ(k::SelectKernels(k::Isa::kScalar).qd8_q4r16_gemm, &k::qd8_q4r16_gemm_ref);
  EXPECT_EQ(k::SelectKernels(k::Isa::kScalar).qd8_q4r16sym_gemm, &k::qd8_q4r16sym_gemm_ref);
  EXPECT_EQ(k::SelectKernels(k::Isa::kScalar).qd8_q4r16cb_gemm, &k::qd8_q4r16cb_gemm_ref);
  EXPECT_FALSE(k::IsaSupported(k::Isa::kBest));
}

TEST(CpuFeatures, ConsistentWithTheCompilersDetector) {
  const kite::CpuFeatures& f = kite::GetCpuFeatures();
  EXPECT_EQ(&f, &kite::GetCpuFeatures());
#if defined(__aarch64__) || defined(__arm__)
  EXPECT_FALSE(f.avx2 || f.fma || f.avx512f || f.avx_vnni);
  if (f.dotprod || f.i8mm) EXPECT_TRUE(f.neon);
#if defined(__aarch64__)
  EXPECT_TRUE(f.neon);  // Advanced SIMD is part of ARMv8-A
#else
  EXPECT_FALSE(f.dotprod || f.i8mm);  // the 32-bit build has no dotprod/i8mm kernels
#endif
  std::printf("cpu: neon=%d dotprod=%d i8mm=%d\n", f.neon, f.dotprod, f.i8mm);
#else
  EXPECT_FALSE(f.neon || f.dotprod || f.i8mm);
#endif
  if (f.avx512bw || f.avx512dq || f.avx512vl || f.avx512_vnni) EXPECT_TRUE(f.avx512f);
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  __builtin_cpu_init();
  EXPECT_EQ(f.avx2, __builtin_cpu_supports("avx2") != 0);
  EXPECT_EQ(f.fma, __builtin_cpu_supports("fma") != 0);
  EXPECT_EQ(f.avx512f, __builtin_cpu_supports("avx512f") != 0);
  EXPECT_EQ(f.avx512bw, __builtin_cpu_supports("avx512bw") != 0);
  EXPECT_EQ(f.avx512dq, __builtin_cpu_supports("avx512dq") != 0);
  EXPECT_EQ(f.avx512vl, __builtin_cpu_supports("avx512vl") != 0);
  EXPECT_EQ(f.avx512_vnni, __builtin_cpu_supports("avx512vnni") != 0);
#endif
#if defined(__x86_64__) || defined(__i386__)
  std::printf("cpu: avx2=%d fma=%d f16c=%d avx_vnni=%d avx512f=%d bw=%d dq=%d vl=%d vnni=%d\n",
              f.avx2, f.fma, f.f16c, f.avx_vnni, f.avx512f, f.avx512bw, f.avx512dq, f.avx512vl,
              f.avx512_vnni);
#endif
}

}  // namespace
