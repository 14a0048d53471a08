// Scalar reference for qd8-q4r16-gemm: the specification the optimized variants match.
// It reads the Q4_R16_G32 layout byte by byte, exactly as kite.fbs describes it.
#include <cassert>

#include "sdk/kernels/fp16.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"

namespace kite::kernels {

namespace {

// kSym: the offset-free layout Q4_R16_G32_SYM (288-byte blocks, o = -8 d); with a
// `codebook` as well, Q4_R16_G32_CB (the same blocks, weight d * codebook[u], o = 0).
template <bool kSym>
void Gemm(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* codebook,
          const int8_t* xq, const float* xscale, const int32_t* xsum, float* y,
          size_t y_stride) {
  assert(codebook == nullptr || kSym);
  // The value of code u: the codebook's entry, or u itself (the offset adds the rest).
  const auto value = [codebook](unsigned u) -> int32_t {
    return codebook != nullptr ? codebook[u] : static_cast<int32_t>(u);
  };
  constexpr size_t kBlockBytes = kSym ? kQ4R16SymBlockBytes : kQ4R16BlockBytes;
  assert(m >= 1 && rows >= 1 && groups >= 1);
  assert(w != nullptr && xq != nullptr && xscale != nullptr && xsum != nullptr);
  assert(y != nullptr && y_stride >= rows);
  for (size_t t = 0; t < m; ++t) {
    for (size_t r = 0; r < rows; ++r) {
      const size_t block = r / kQ4R16BlockRows;
      const size_t rr = r % kQ4R16BlockRows;
      float acc = 0.0f;
      for (size_t g = 0; g < groups; ++g) {
        const uint8_t* blk = w + (block * groups + g) * kBlockBytes;
        const int8_t* x = xq + (t * groups + g) * kQ4R16GroupSize;
        int32_t dot = 0;
        for (size_t p = 0; p < 4; ++p) {
          for (size_t j = 0; j < 4; ++j) {
            // Low nibble: column p*4+j of the group; high nibble: column 16+p*4+j.
            const uint8_t byte = blk[p * 64 + rr * 4 + j];
            dot += value(byte & 0x0F) * x[p * 4 + j];
            dot += value(byte >> 4) * x[16 + p * 4 + j];
          }
        }
        const uint8_t* dp = blk + kQ4R16ScalesOffset + 2 * rr;
        const float d = HalfToFloat(static_cast<uint16_t>(dp[0] | (dp[1] << 8)));
        float o = codebook != nullptr ? 0.0f : -8.0f * d;
        if (!kSym) {
          const uint8_t* op = blk + kQ4R16OffsetsOffset + 2 * rr;
          o = HalfToFloat(static_cast<uint16_t>(op[0] | (op[1] << 8)));
        }
        const size_t tg = t * groups + g;
        acc += xscale[tg] * (d * static_cast<float>(dot) + o * static_cast<float>(xsum[tg]));
      }
      y[t * y_stride + r] = acc;
    }
  }
}

}  // namespace

void qd8_q4r16_gemm_ref(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* xq,
                        const float* xscale, const int32_t* xsum, float* y, size_t y_stride) {
  Gemm<false>(m, rows, groups, w, nullptr, xq, xscale, xsum, y, y_stride);
}

void qd8_q4r16sym_gemm_ref(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* xq,
                         const float* xscale, const int32_t* xsum, float* y, size_t y_stride) {
  Gemm<true>(m, rows, groups, w, nullptr, xq, xscale, xsum, y, y_stride);
}

void qd8_q4r16cb_gemm_ref(size_t m, size_t rows, size_t groups, const uint8_t* w,
                          const int8_t* codebook, const int8_t* xq, const float* xscale,
                          const int32_t* xsum, float* y, size_t y_stride) {
  assert(codebook != nullptr);
  Gemm<true>(m, rows, groups, w, codebook, xq, xscale, xsum, y, y_stride);
}

}  // namespace kite::kernels
