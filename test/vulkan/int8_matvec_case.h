// The odd-shape test of a matvec shader that takes int8 activations with per-group sums
// (q3r16_matvec, q4r16_matvec's codebook variant): the shapes, the activations, the run and
// the checks against the CPU reference. Each test makes its layout's weights and reference
// output; everything else is here.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sdk/kernels/fp16.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "test/vulkan/vulkan_test_util.h"

namespace kite::vulkan::test {

/// One call's shape: m tokens of `cols` columns into `rows` outputs, the workgroup size
/// (0: the device's largest), tokens per workgroup (> 1 is the tiled GEMM for prefill),
/// and y's RowAddress beyond the default (stride rows, or rows + 3 for several tokens).
struct MatvecCase {
  size_t m, rows, cols;
  uint32_t workgroup;
  uint32_t tile = 1;
  uint32_t pos = 0, y_offset = 0, y_pos_stride = 0;
  /// Q3_R16: activation groups per scale (Q4MatvecArgs::groups_per_scale; 2: Q3_R16_G64).
  uint32_t groups_per_scale = 1;
};

/// One row, one row block, partial row blocks, odd group counts, widths up to 4992 columns,
/// 1 to 64 tokens, writes at a cache position, workgroups 16 to 256 and tiles of 2 to 8.
inline const std::vector<MatvecCase>& OddShapeCases() {
  static const std::vector<MatvecCase> cases = {
      {1, 1, 32, 0},        // one row, one group
      {1, 16, 32, 16},      // one row block, smallest workgroup
      {1, 17, 96, 0},       // a partial row block
      {1, 33, 224, 32},     // seven groups: an odd count
      {1, 100, 640, 128},
      {1, 250, 1024, 256},  // more groups than lanes
      {1, 19, 4992, 64},    // the widest: 156 groups
      {7, 16, 32, 64},      // 7 tokens with a gap between rows
      {7, 45, 2048, 0},
      {64, 17, 160, 64},    // a prefill chunk, as decode calls
      // Rows at position pos of a cache of rows-wide rows (after an offset).
      {3, 40, 128, 0, 1, 5, 0, 40},
      {1, 17, 64, 32, 1, 9, 11, 17},
      // The tiled GEMM: one token, fewer tokens than a tile, full and partial tiles, rows
      // not a multiple of 16, a KV-cache write at a position.
      {1, 17, 96, 0, 8},
      {7, 33, 224, 32, 8},
      {7, 16, 4992, 64, 8},
      {64, 17, 160, 64, 8},  // the forward pass's prefill GEMM: 64 invocations, 8 tokens
      {64, 250, 1024, 16, 4},
      {13, 100, 640, 16, 3},
      {5, 40, 128, 256, 2, 6, 3, 40},
  };
  return cases;
}

/// The case's fields, for SCOPED_TRACE.
inline std::string CaseName(const MatvecCase& c) {
  return "m=" + std::to_string(c.m) + " rows=" + std::to_string(c.rows) +
         " cols=" + std::to_string(c.cols) + " wg=" + std::to_string(c.workgroup) +
         " tile=" + std::to_string(c.tile) + " pos=" + std::to_string(c.pos) +
         " y_offset=" + std::to_string(c.y_offset) +
         " y_pos_stride=" + std::to_string(c.y_pos_stride) +
         " groups_per_scale=" + std::to_string(c.groups_per_scale);
}

/// Random weights of a row-block layout before packing: per row, codes in [0, max_code] for
/// the first `cols` columns and `pad_code` up to whole groups (*u, rows × padded), and one
/// f16 scale per group (*d, rows × groups) of either sign, rows spanning orders of magnitude.
inline void RandomCodesAndScales(size_t rows, size_t cols, size_t group, int max_code,
                                 uint8_t pad_code, std::mt19937& rng, std::vector<uint8_t>* u,
                                 std::vector<uint16_t>* d) {
  const size_t groups = (cols + group - 1) / group;
  const size_t padded = groups * group;
  std::uniform_int_distribution<int> code(0, max_code);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  std::bernoulli_distribution coin(0.5);
  u->assign(rows * padded, pad_code);
  d->assign(rows * groups, 0);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t col = 0; col < cols; ++col) (*u)[r * padded + col] = static_cast<uint8_t>(code(rng));
    for (size_t g = 0; g < groups; ++g) {
      const float s = std::ldexp(scale(rng), static_cast<int>(r % 5) - 2);
      (*d)[r * groups + g] = kite::FloatToHalf(coin(rng) ? s : -s);
    }
  }
}

/// m tokens of int8 activations in groups of `group`, each token's row padded to whole
/// groups (zeros past cols): codes, scales and sums as the runtime's q8_quantize gives them.
struct QuantizedActivations {
  size_t padded = 0, groups = 0;
  std::vector<int8_t> xq;
  std::vector<float> xscale;
  std::vector<int32_t> xsum;
};

/// Standard-normal activations of m tokens × cols, quantized by q8_quantize_ref.
inline QuantizedActivations RandomActivations(size_t m, size_t cols, size_t group,
                                              std::mt19937& rng) {
  QuantizedActivations x;
  x.groups = (cols + group - 1) / group;
  x.padded = x.groups * group;
  x.xq.assign(m * x.padded, 0);
  x.xscale.assign(m * x.groups, 0.0f);
  x.xsum.assign(m * x.groups, 0);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> row(cols);
  for (size_t t = 0; t < m; ++t) {
    for (float& v : row) v = normal(rng);
    kite::kernels::q8_quantize_ref(cols, group, row.data(), x.xq.data() + t * x.padded,
                                   x.xscale.data() + t * x.groups,
                                   x.xsum.data() + t * x.groups);
  }
  return x;
}

/// Runs `op` (a Q4MatvecArgs op) for case `c` on `packed` weights and `x`, with the
/// tensor's `codebook` (null when the layout has none); y's floats in *got.
template <class Op>
::testing::AssertionResult RunCase(Device& device, const Op& op, const MatvecCase& c,
                                   const std::vector<uint8_t>& packed,
                                   const QuantizedActivations& x, const int8_t* codebook,
                                   const OutputRows& o, std::vector<float>* got) {
  Buffer bw = Upload(device, packed, "w");
  Buffer bxq = Upload(device, x.xq, "xq");
  Buffer bxs = Upload(device, x.xscale, "xscale");
  Buffer bsum = Upload(device, x.xsum, "xsum");
  Buffer by = Upload(device, std::vector<float>(o.size, kUntouched), "y");
  Q4MatvecArgs args = MakeQ4MatvecArgs(
      static_cast<uint32_t>(c.m), static_cast<uint32_t>(c.rows),
      static_cast<uint32_t>(x.groups),
      {o.y_offset, o.y_pos_stride, static_cast<uint32_t>(o.stride)}, &bw, &bxq, &bxs, &bsum,
      &by);
  args.max_pos = c.pos;
  args.codebook = codebook;
  args.groups_per_scale = c.groups_per_scale;
  ::testing::AssertionResult ran = RunOp(device, op, args, static_cast<uint32_t>(c.m), c.pos);
  const float* y = static_cast<const float*>(by.data());
  got->assign(y, y + o.size);
  return ran;
}

/// Runs case `c` with `plain` and `dot` (the plain shader and the integer-dot variant of one
/// op, same workgroup and tile) and expects their outputs equal bit for bit: the integer dot
/// products are exact either way and the f32 sums are added in the same order.
template <class Op>
void ExpectIntegerDotEqualsPlain(Device& device, const MatvecCase& c,
                                 const std::vector<uint8_t>& packed, const QuantizedActivations& x,
                                 const int8_t* codebook, const OutputRows& o, const Op& plain,
                                 const Op& dot) {
  ASSERT_FALSE(plain.integer_dot());
  ASSERT_TRUE(dot.integer_dot());
  std::vector<float> want, got;
  ASSERT_TRUE(RunCase(device, plain, c, packed, x, codebook, o, &want));
  ASSERT_TRUE(RunCase(device, dot, c, packed, x, codebook, o, &got));
  for (size_t i = 0; i < o.size; ++i) ASSERT_EQ(got[i], want[i]) << "element " << i;
}

/// Runs case `c` with the op `make_op(c.workgroup, c.tile)` gives and checks it: only the
/// call's rows written; a tiled GEMM equal to the matvec (tile 1) bit for bit; every output
/// within float rounding of `want` (the CPU reference's output in a buffer laid out as `o`),
/// bounded by the sum of the terms' magnitudes from the rows `dequantize_row(r, row)`
/// gives. The integer dot products are exact; only the order of the f32 additions differs.
template <class MakeOp, class DequantizeRow>
void CheckCase(Device& device, const MatvecCase& c, size_t group,
               const std::vector<uint8_t>& packed, const QuantizedActivations& x,
               const int8_t* codebook, const OutputRows& o, const std::vector<float>& want,
               MakeOp make_op, DequantizeRow dequantize_row) {
  auto op = make_op(c.workgroup, c.tile);
  ASSERT_TRUE(op.ok()) << op.status().message();
  std::vector<float> got;
  ASSERT_TRUE(RunCase(device, *op, c, packed, x, codebook, o, &got));
  ExpectOnlyRowsWritten(got.data(), o.size, o.start, o.stride, c.m, c.rows);
  if (c.tile > 1) {
    // Every tile adds in the same order: the tiled GEMM (prefill) equals the matvec (decode,
    // T = 1) bit for bit, so tokens do not change with the chunking of a prompt.
    auto matvec = make_op(c.workgroup, 1);
    ASSERT_TRUE(matvec.ok()) << matvec.status().message();
    std::vector<float> decode;
    ASSERT_TRUE(RunCase(device, *matvec, c, packed, x, codebook, o, &decode));
    for (size_t i = 0; i < o.size; ++i) ASSERT_EQ(got[i], decode[i]) << "element " << i;
  }
  std::vector<float> row(c.cols);
  for (size_t r = 0; r < c.rows; ++r) {
    dequantize_row(r, row.data());
    for (size_t t = 0; t < c.m; ++t) {
      double magnitude = 0.0;
      for (size_t col = 0; col < c.cols; ++col) {
        magnitude += std::fabs(static_cast<double>(row[col]) * x.xq[t * x.padded + col] *
                               x.xscale[t * x.groups + col / group]);
      }
      const size_t i = o.start + t * o.stride + r;
      ASSERT_NEAR(got[i], want[i], 4e-6 * magnitude + 1e-30) << "token " << t << " row " << r;
    }
  }
}

}  // namespace kite::vulkan::test
