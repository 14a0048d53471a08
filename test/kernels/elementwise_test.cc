// Tester of the elementwise, small matvec and attention kernel families: every compiled
// AVX2 / AVX-512 / NEON variant against the family's ref (the specification), on odd sizes that hit
// every vector tail, unaligned pointers and extreme values. Variants the CPU cannot run are
// skipped. Bit-exact where the header promises it (q8-quantize, rope), otherwise within a
// bound derived from the summation-order difference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "sdk/kernels/attention/attention.h"
#include "sdk/kernels/f32-matvec/f32-matvec.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/q8c-matvec/q8c-matvec.h"
#include "sdk/kernels/rmsnorm/rmsnorm.h"
#include "sdk/kernels/rope/rope.h"
#include "sdk/kernels/softmax/softmax.h"
#include "sdk/kernels/swiglu/swiglu.h"

#if defined(KITE_TEST_ARM_KERNELS)
#include "platform/cpu_features.h"
#endif

#if defined(__x86_64__)
// Built per ISA from f32_exp_array.cc (test/kernels/elementwise.cmake): y[i] = e^x[i] for
// i < n (a multiple of 16). Call only when the CPU has the ISA.
void ExpArrayAvx2(size_t n, const float* x, float* y);
void ExpArrayAvx512(size_t n, const float* x, float* y);
#endif

namespace k = kite::kernels;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kMax = std::numeric_limits<float>::max();

// The sizes every family is run on: below, at and just past the vector widths, and long.
const size_t kSizes[] = {1, 3, 15, 16, 17, 63, 64, 65, 1000};

// n samples of N(mean, stddev^2); stddev 0 gives n copies of mean.
std::vector<float> Normal(size_t n, uint32_t seed, float stddev = 1.0f, float mean = 0.0f) {
  std::vector<float> v(n, mean);
  if (stddev == 0.0f) return v;
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(mean, stddev);
  for (float& x : v) x = d(rng);
  return v;
}

uint32_t Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// |got - want| <= tol, with NaN matching NaN and infinities matching exactly.
bool Close(float got, float want, double tol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(static_cast<double>(got) - want) <= tol;
}

// Checks got[i] against want[i] within tol[i]; reports the first few failures.
void ExpectAllClose(const float* got, const float* want, const std::vector<double>& tol, size_t n,
                    const std::string& what) {
  int failures = 0;
  for (size_t i = 0; i < n && failures < 5; ++i) {
    if (!Close(got[i], want[i], tol[i])) {
      ADD_FAILURE() << what << " [" << i << "]: got " << got[i] << ", ref " << want[i]
                    << ", tolerance " << tol[i];
      ++failures;
    }
  }
}

// Relative tolerance rel * |want| plus an absolute floor.
std::vector<double> RelTol(const float* want, size_t n, double rel, double floor) {
  std::vector<double> tol(n);
  for (size_t i = 0; i < n; ++i) tol[i] = rel * std::fabs(static_cast<double>(want[i])) + floor;
  return tol;
}

// Attention reference in double precision (checks the f32 reference itself).
std::vector<double> AttentionDouble(size_t head_dim, size_t n_pos, const float* q,
                                    const float* keys, const float* values, size_t stride,
                                    float scale) {
  std::vector<double> s(n_pos);
  double max = -INFINITY;
  for (size_t p = 0; p < n_pos; ++p) {
    double acc = 0;
    for (size_t j = 0; j < head_dim; ++j) acc += static_cast<double>(q[j]) * keys[p * stride + j];
    s[p] = acc * scale;
    max = std::fmax(max, s[p]);
  }
  double sum = 0;
  for (double& x : s) sum += (x = std::exp(x - max));
  std::vector<double> out(head_dim, 0.0);
  for (size_t p = 0; p < n_pos; ++p) {
    for (size_t j = 0; j < head_dim; ++j) out[j] += s[p] / sum * values[p * stride + j];
  }
  return out;
}

TEST(AttentionRef, MatchesDoublePrecision) {
  for (size_t head_dim : {1, 8, 64}) {
    for (size_t n_pos : {1, 2, 17, 300}) {
      const size_t stride = head_dim * 2 + 1;
      const auto q = Normal(head_dim, 1);
      const auto keys = Normal(n_pos * stride, 2);
      const auto values = Normal(n_pos * stride, 3);
      const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
      std::vector<float> scores(n_pos), out(head_dim);
      k::attention_ref(head_dim, n_pos, q.data(), keys.data(), values.data(), stride, scale,
                       scores.data(), out.data());
      const auto want =
          AttentionDouble(head_dim, n_pos, q.data(), keys.data(), values.data(), stride, scale);
      double weight_sum = 0;
      for (float w : scores) weight_sum += w;
      EXPECT_NEAR(weight_sum, 1.0, 1e-5);
      for (size_t j = 0; j < head_dim; ++j) EXPECT_NEAR(out[j], want[j], 1e-5) << j;
    }
  }
}

#if defined(__x86_64__)

bool HasAvx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

bool HasAvx512() {
  return HasAvx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

// ---------------------------------------------------------------------------------------
// The vector exp shared by softmax, swiglu and attention: at most 1 ulp from the correctly
// rounded e^x (exhaustively measured once over all 2^32 inputs: max 1 ulp, 0.25% of inputs
// off by one); here every 61st bit pattern plus the special values.

void CheckExp(void (*exp_array)(size_t, const float*, float*)) {
  constexpr size_t kBlock = 4096;  // a multiple of 16
  std::vector<float> x(kBlock), y(kBlock);
  uint32_t worst = 0;
  float worst_x = 0;
  uint64_t bits = 0;
  while (bits < (uint64_t{1} << 32)) {
    for (size_t i = 0; i < kBlock; ++i, bits += 61) {
      const uint32_t b = static_cast<uint32_t>(bits);
      std::memcpy(&x[i], &b, sizeof b);
    }
    exp_array(kBlock, x.data(), y.data());
    for (size_t i = 0; i < kBlock; ++i) {
      const float want = static_cast<float>(std::exp(static_cast<double>(x[i])));
      if (std::isnan(x[i])) {
        ASSERT_TRUE(std::isnan(y[i])) << x[i];
        continue;
      }
      // Both are >= 0 (or +inf), so the distance of the bit patterns counts ulps.
      const uint32_t ulps =
          Bits(y[i]) > Bits(want) ? Bits(y[i]) - Bits(want) : Bits(want) - Bits(y[i]);
      if (ulps > worst) {
        worst = ulps;
        worst_x = x[i];
      }
    }
  }
  EXPECT_LE(worst, 1u) << "at x = " << worst_x;

  const float special[16] = {0.0f,  -0.0f,  kInf,   -kInf,   kNan, -104.0f, -103.9f, -87.4f,
                             88.7f, 88.73f, 1e-30f, -1e-30f, 1.0f, -1.0f,   -150.0f, 1000.0f};
  float got[16];
  exp_array(16, special, got);
  EXPECT_EQ(got[0], 1.0f);
  EXPECT_EQ(got[1], 1.0f);
  EXPECT_EQ(got[2], kInf);
  EXPECT_EQ(Bits(got[3]), 0u);  // +0
  EXPECT_TRUE(std::isnan(got[4]));
  EXPECT_EQ(got[5], 0.0f);
  EXPECT_GT(got[6], 0.0f);  // a denormal, not flushed
  EXPECT_EQ(got[7], std::exp(-87.4f));
  EXPECT_EQ(got[8], std::exp(88.7f));
  EXPECT_EQ(got[9], kInf);
  EXPECT_EQ(got[10], 1.0f);
  EXPECT_EQ(got[11], 1.0f);
  EXPECT_NEAR(got[12], 2.7182817f, 3e-7f);
  EXPECT_NEAR(got[13], 0.36787945f, 3e-8f);
  EXPECT_EQ(got[14], 0.0f);
  EXPECT_EQ(got[15], kInf);
}

TEST(F32Exp, Avx2WithinOneUlp) {
  if (!HasAvx2()) GTEST_SKIP() << "no AVX2/FMA";
  CheckExp(ExpArrayAvx2);
}

TEST(F32Exp, Avx512WithinOneUlp) {
  if (!HasAvx512()) GTEST_SKIP() << "no AVX-512 F/BW/VL/DQ";
  CheckExp(ExpArrayAvx512);
}

#endif  // __x86_64__

// ---------------------------------------------------------------------------------------
// One parameterized suite per family; the parameter is the variant.

template <typename Fn>
struct Variant {
  const char* name;
  Fn fn;
  bool (*supported)();
};

template <typename Fn>
class VariantTest : public testing::TestWithParam<Variant<Fn>> {
 protected:
  void SetUp() override {
    if (!this->GetParam().supported()) {
      GTEST_SKIP() << this->GetParam().name << " is not supported by this CPU";
    }
  }
  Fn fn() const { return this->GetParam().fn; }
};

template <typename Fn>
void PrintTo(const Variant<Fn>& v, std::ostream* os) {
  *os << v.name;
}

template <typename Fn>
std::string VariantName(const testing::TestParamInfo<Variant<Fn>>& info) {
  return info.param.name;
}

// KITE_INSTANTIATE_VARIANTS: every family's variants on x86-64 (AVX2, AVX-512) or Arm (NEON).
#if defined(__x86_64__)
#define KITE_INSTANTIATE_VARIANTS(Suite, Fn, family)                                              \
  INSTANTIATE_TEST_SUITE_P(Isa, Suite,                                                            \
                           testing::Values(Variant<Fn>{"avx2", k::family##_avx2, HasAvx2},        \
                                           Variant<Fn>{"avx512", k::family##_avx512, HasAvx512}), \
                           VariantName<Fn>)
#elif defined(KITE_TEST_ARM_KERNELS)
bool HasNeon() { return kite::GetCpuFeatures().neon; }
#define KITE_INSTANTIATE_VARIANTS(Suite, Fn, family) \
  INSTANTIATE_TEST_SUITE_P(                          \
      Isa, Suite, testing::Values(Variant<Fn>{"neon", k::family##_neon, HasNeon}), VariantName<Fn>)
#else
#define KITE_INSTANTIATE_VARIANTS(Suite, Fn, family) \
  GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Suite)
#endif

// ---------------------------------------------------------------------------------------
// q8-quantize: bit-identical q (with padding), scales and sums.

using Q8QuantizeTest = VariantTest<k::Q8QuantizeFn>;
KITE_INSTANTIATE_VARIANTS(Q8QuantizeTest, k::Q8QuantizeFn, q8_quantize);

void CheckQ8Quantize(k::Q8QuantizeFn fn, size_t n, size_t group, const std::vector<float>& x,
                     const std::string& what) {
  const size_t groups = (n + group - 1) / group;
  const size_t padded = groups * group;
  constexpr size_t kCanary = 16;
  std::vector<int8_t> q_ref(padded + kCanary, 0x5A), q(padded + kCanary, 0x5A);
  std::vector<float> s_ref(groups + 1, -1.0f), s(groups + 1, -1.0f);
  std::vector<int32_t> sum_ref(groups + 1, 77), sum(groups + 1, 77);
  k::q8_quantize_ref(n, group, x.data(), q_ref.data(), s_ref.data(), sum_ref.data());
  fn(n, group, x.data(), q.data(), s.data(), sum.data());
  for (size_t i = 0; i < padded + kCanary; ++i) {
    ASSERT_EQ(q[i], q_ref[i]) << what << " q[" << i << "] x=" << (i < n ? x[i] : 0.0f);
  }
  for (size_t g = 0; g <= groups; ++g) {
    ASSERT_EQ(Bits(s[g]), Bits(s_ref[g])) << what << " scale[" << g << "]";
    ASSERT_EQ(sum[g], sum_ref[g]) << what << " sum[" << g << "]";
  }
}

TEST_P(Q8QuantizeTest, BitIdenticalToRef) {
  const float special[] = {0.0f, -0.0f, 1e-45f, -1e-40f, 1e-38f, 3e38f, -kMax,
                           kInf, -kInf, kNan,   1.0f,    -1.0f,  0.5f,  -2.5e-39f};
  const size_t n_special = sizeof(special) / sizeof(special[0]);
  for (size_t group : {2, 6, 16, 32, 34, 64, 128}) {
    for (size_t n : kSizes) {
      const std::string at = "group " + std::to_string(group) + " n " + std::to_string(n);
      CheckQ8Quantize(fn(), n, group, Normal(n, static_cast<uint32_t>(n + group)), at + " normal");
      // Tiny values with exact zeros; all negative; all zero.
      auto x = Normal(n, 7, 1e-20f);
      for (size_t i = 0; i < n; i += 3) x[i] = 0.0f;
      CheckQ8Quantize(fn(), n, group, x, at + " tiny");
      x = Normal(n, 8, 4.0f);
      for (float& v : x) v = -std::fabs(v);
      CheckQ8Quantize(fn(), n, group, x, at + " negative");
      CheckQ8Quantize(fn(), n, group, std::vector<float>(n, 0.0f), at + " zeros");
      // Scale exactly 1 (first of each group is +-127): every other value is a tie k + 0.5,
      // which must round half to even.
      for (size_t i = 0; i < n; ++i) {
        x[i] = i % group == 0 ? (i % 2 ? -127.0f : 127.0f)
                              : static_cast<float>(static_cast<int>(i % 254) - 127) + 0.5f;
      }
      CheckQ8Quantize(fn(), n, group, x, at + " ties");
      // Denormals (scale underflows, 1/scale overflows), inf, NaN, FLT_MAX.
      for (size_t i = 0; i < n; ++i) x[i] = special[(i * 5 + group) % n_special];
      CheckQ8Quantize(fn(), n, group, x, at + " special");
    }
  }
}

// ---------------------------------------------------------------------------------------
// q8c-matvec and f32-matvec: per row |y - ref| <= 1e-5 * |scale| * sum_c |w x| (the two sum
// in different orders), on unaligned pointers.

using Q8cMatvecTest = VariantTest<k::Q8cMatvecFn>;
KITE_INSTANTIATE_VARIANTS(Q8cMatvecTest, k::Q8cMatvecFn, q8c_matvec);

TEST_P(Q8cMatvecTest, MatchesRef) {
  for (size_t rows : {1, 3, 4, 5, 17, 64}) {
    for (size_t cols : {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1000, 2048}) {
      std::mt19937 rng(static_cast<uint32_t>(rows * 7919 + cols));
      std::uniform_int_distribution<int> wd(-128, 127);
      std::vector<int8_t> w_buf(rows * cols + 1);
      for (int8_t& v : w_buf) v = static_cast<int8_t>(wd(rng));
      if (cols == 9) std::fill(w_buf.begin(), w_buf.end(), int8_t{-128});  // extreme weights
      const int8_t* w = w_buf.data() + 1;
      const auto scales = Normal(rows, 3, 0.01f);
      auto x_buf = Normal(cols + 1, 4, cols == 17 ? 1e4f : 1.0f);
      const float* x = x_buf.data() + 1;
      std::vector<float> y_ref(rows), y(rows, kNan);
      k::q8c_matvec_ref(rows, cols, w, scales.data(), x, y_ref.data());
      fn()(rows, cols, w, scales.data(), x, y.data());
      std::vector<double> tol(rows);
      for (size_t r = 0; r < rows; ++r) {
        double mag = 0;
        for (size_t c = 0; c < cols; ++c)
          mag += std::fabs(static_cast<double>(w[r * cols + c]) * x[c]);
        tol[r] = 1e-5 * std::fabs(scales[r]) * mag + 1e-30;
      }
      ExpectAllClose(y.data(), y_ref.data(), tol, rows,
                     "rows " + std::to_string(rows) + " cols " + std::to_string(cols));
    }
  }
}

using F32MatvecTest = VariantTest<k::F32MatvecFn>;
KITE_INSTANTIATE_VARIANTS(F32MatvecTest, k::F32MatvecFn, f32_matvec);

TEST_P(F32MatvecTest, MatchesRef) {
  for (size_t rows : {1, 3, 4, 5, 17, 64}) {
    for (size_t cols : {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1000, 2048}) {
      auto w_buf = Normal(rows * cols + 1, static_cast<uint32_t>(rows * 31 + cols));
      if (cols == 9) {
        for (float& v : w_buf) v = -std::fabs(v) * 1e6f;  // all negative, large
      }
      const float* w = w_buf.data() + 1;
      const auto x_buf = Normal(cols + 1, 5);
      const float* x = x_buf.data() + 1;
      std::vector<float> y_ref(rows), y(rows, kNan);
      k::f32_matvec_ref(rows, cols, w, x, y_ref.data());
      fn()(rows, cols, w, x, y.data());
      std::vector<double> tol(rows);
      for (size_t r = 0; r < rows; ++r) {
        double mag = 0;
        for (size_t c = 0; c < cols; ++c)
          mag += std::fabs(static_cast<double>(w[r * cols + c]) * x[c]);
        tol[r] = 1e-5 * mag + 1e-30;
      }
      ExpectAllClose(y.data(), y_ref.data(), tol, rows,
                     "rows " + std::to_string(rows) + " cols " + std::to_string(cols));
    }
  }
}

// ---------------------------------------------------------------------------------------
// rmsnorm: relative 1e-5 (only the sum of squares is reordered); in place equals out of place.

using RmsNormTest = VariantTest<k::RmsNormFn>;
KITE_INSTANTIATE_VARIANTS(RmsNormTest, k::RmsNormFn, rmsnorm);

TEST_P(RmsNormTest, MatchesRef) {
  std::vector<size_t> sizes(std::begin(kSizes), std::end(kSizes));
  sizes.push_back(2048);
  sizes.push_back(32000);
  for (size_t n : sizes) {
    for (float stddev : {1.0f, 1e3f, 1e-3f, 0.0f}) {
      auto x_buf = Normal(n + 1, static_cast<uint32_t>(n), stddev, stddev < 1.0f ? -stddev : 0);
      const float* x = x_buf.data() + 1;
      const auto weight = Normal(n, 9);
      std::vector<float> want(n), got(n, kNan);
      k::rmsnorm_ref(n, x, weight.data(), 1e-5f, want.data());
      fn()(n, x, weight.data(), 1e-5f, got.data());
      const std::string at = "n " + std::to_string(n) + " stddev " + std::to_string(stddev);
      ExpectAllClose(got.data(), want.data(), RelTol(want.data(), n, 1e-5, 1e-37), n, at);
      std::vector<float> in_place(x, x + n);
      fn()(n, in_place.data(), weight.data(), 1e-5f, in_place.data());
      ASSERT_EQ(0, std::memcmp(in_place.data(), got.data(), n * sizeof(float))) << at;
    }
  }
}

// ---------------------------------------------------------------------------------------
// softmax: the reference sums n floats in sequence, so its own relative error grows with n
// (2e-5 measured at n = 32000); the variants sum in blocks. Each output must be as close to
// the double-precision softmax (of the same float x - max) as the reference, plus 2e-6.

using SoftmaxTest = VariantTest<k::SoftmaxFn>;
KITE_INSTANTIATE_VARIANTS(SoftmaxTest, k::SoftmaxFn, softmax);

void CheckSoftmax(k::SoftmaxFn fn, std::vector<float> x, const std::string& what) {
  const size_t n = x.size();
  float max = x[0];
  for (float v : x) max = v > max ? v : max;
  std::vector<double> exact(n);
  double exact_sum = 0;
  for (size_t i = 0; i < n; ++i) exact_sum += (exact[i] = std::exp(double{x[i] - max}));
  std::vector<float> want = x;
  k::softmax_ref(n, want.data());
  fn(n, x.data());
  std::vector<double> tol(n);
  for (size_t i = 0; i < n; ++i) {
    const double truth = exact[i] / exact_sum;
    tol[i] = std::fabs(want[i] - truth) + 2e-6 * truth + 1e-37;
  }
  ExpectAllClose(x.data(), want.data(), tol, n, what);
  double sum = 0;
  for (float v : x) sum += v;
  EXPECT_NEAR(sum, 1.0, 1e-5) << what;
}

TEST_P(SoftmaxTest, MatchesRef) {
  std::vector<size_t> sizes(std::begin(kSizes), std::end(kSizes));
  sizes.push_back(2048);
  sizes.push_back(32000);
  for (size_t n : sizes) {
    const std::string at = "n " + std::to_string(n);
    for (float stddev : {1.0f, 10.0f, 100.0f}) {
      CheckSoftmax(fn(), Normal(n, static_cast<uint32_t>(n), stddev),
                   at + " stddev " + std::to_string(stddev));
    }
    CheckSoftmax(fn(), Normal(n, 11, 3.0f, 1e4f), at + " offset +1e4");
    CheckSoftmax(fn(), Normal(n, 12, 3.0f, -1e4f), at + " offset -1e4");
    CheckSoftmax(fn(), std::vector<float>(n, 0.0f), at + " zeros");
    CheckSoftmax(fn(), std::vector<float>(n, -3.0f), at + " equal negative");
    // One dominant logit among huge negative ones, -inf and -FLT_MAX (x - max = -inf).
    std::vector<float> x(n);
    for (size_t i = 0; i < n; ++i) x[i] = i % 3 == 0 ? -1e30f : (i % 3 == 1 ? -kInf : -kMax);
    x[n / 2] = 1e30f;
    CheckSoftmax(fn(), x, at + " dominant");
    // Logits spread so that many exp results are denormal.
    x = Normal(n, 13, 40.0f);
    CheckSoftmax(fn(), x, at + " wide");
  }
}

// ---------------------------------------------------------------------------------------
// swiglu: relative 2e-6 (a few ulp), extreme gates.

using SwigluTest = VariantTest<k::SwigluFn>;
KITE_INSTANTIATE_VARIANTS(SwigluTest, k::SwigluFn, swiglu);

TEST_P(SwigluTest, MatchesRef) {
  const float special[] = {0.0f,   -0.0f,   88.0f,  -88.0f,  89.0f, -89.0f, 100.0f,  -100.0f,
                           1e30f,  -1e30f,  kMax,   -kMax,   kInf,  kNan,   1e-40f,  -1e-40f,
                           87.33f, -87.33f, 104.0f, -104.0f, 20.0f, -20.0f, 0.0625f, -0.0625f};
  std::vector<size_t> sizes(std::begin(kSizes), std::end(kSizes));
  sizes.push_back(32000);
  for (size_t n : sizes) {
    for (float stddev : {1.0f, 5.0f, 30.0f, -1.0f}) {
      auto gate = Normal(n + 1, static_cast<uint32_t>(n + 1), stddev > 0 ? stddev : 1.0f);
      if (stddev < 0) {
        for (size_t i = 0; i < gate.size(); ++i) gate[i] = special[i % (sizeof special / 4)];
      }
      const auto up = Normal(n + 1, 17, 2.0f);
      std::vector<float> want(gate.begin() + 1, gate.end());
      k::swiglu_ref(n, want.data(), up.data() + 1);
      fn()(n, gate.data() + 1, up.data() + 1);
      ExpectAllClose(gate.data() + 1, want.data(), RelTol(want.data(), n, 2e-6, 1e-36), n,
                     "n " + std::to_string(n) + " stddev " + std::to_string(stddev));
    }
  }
}

// ---------------------------------------------------------------------------------------
// rope: bit-identical (same libm angles, same multiply/add sequence).

using RopeTest = VariantTest<k::RopeFn>;
KITE_INSTANTIATE_VARIANTS(RopeTest, k::RopeFn, rope);

TEST_P(RopeTest, BitIdenticalToRef) {
  for (size_t n_heads : {1, 3, 8}) {
    for (size_t head_dim : {2, 8, 18, 64, 80, 128, 514}) {
      for (size_t pos : {0, 1, 17, 4095, 100000}) {
        for (float theta : {10000.0f, 500000.0f}) {
          auto want = Normal(n_heads * head_dim + 1, static_cast<uint32_t>(head_dim + pos));
          auto got = want;
          k::rope_ref(n_heads, head_dim, pos, theta, want.data() + 1);
          fn()(n_heads, head_dim, pos, theta, got.data() + 1);
          for (size_t i = 0; i < want.size(); ++i) {
            ASSERT_EQ(Bits(got[i]), Bits(want[i]))
                << "heads " << n_heads << " head_dim " << head_dim << " pos " << pos << " theta "
                << theta << " [" << i << "]";
          }
        }
      }
    }
  }
}

// RopeCosSinTable (the Vulkan RoPE's table) holds the cosines and sines rope_ref and
// rope_freqs_ref rotate by: rotating (1, 0) gives (c, s) exactly (products by 1 and 0).
TEST(RopeCosSinTable, HoldsTheReferencesCosinesAndSines) {
  for (size_t head_dim : {2, 8, 64}) {
    const size_t pairs = head_dim / 2;
    std::vector<float> inv_freq(pairs);
    k::RopeInverseFrequencies(head_dim, 10000.0f, inv_freq.data());
    std::vector<float> scaled = inv_freq;
    k::ScaleRopeLlama3(scaled.data(), static_cast<uint32_t>(pairs), 8.0f, 1.0f, 4.0f, 64);
    const size_t n_pos = 300;
    std::vector<float> table(n_pos * head_dim), table_scaled(n_pos * head_dim);
    k::RopeCosSinTable(pairs, inv_freq.data(), n_pos, table.data());
    k::RopeCosSinTable(pairs, scaled.data(), n_pos, table_scaled.data());
    for (size_t pos = 0; pos < n_pos; ++pos) {
      std::vector<float> x(head_dim), xs(head_dim);
      for (size_t i = 0; i < head_dim; i += 2) x[i] = xs[i] = 1.0f;
      k::rope_ref(1, head_dim, pos, 10000.0f, x.data());
      k::rope_freqs_ref(1, head_dim, pos, scaled.data(), xs.data());
      for (size_t i = 0; i < head_dim; ++i) {
        ASSERT_EQ(Bits(table[pos * head_dim + i]), Bits(x[i]))
            << "head_dim " << head_dim << " pos " << pos << " [" << i << "]";
        ASSERT_EQ(Bits(table_scaled[pos * head_dim + i]), Bits(xs[i]))
            << "scaled, head_dim " << head_dim << " pos " << pos << " [" << i << "]";
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// attention: scores differ from ref by summation order, |d score| <= e_p = 1e-6 * scale *
// sum_j |q_j k_pj|; weights then differ relatively by at most 2 max_p e_p, plus 1e-5 for the
// softmax itself; out by that relative amount of sum_p w_p |v_pj|.

using AttentionTest = VariantTest<k::AttentionFn>;
KITE_INSTANTIATE_VARIANTS(AttentionTest, k::AttentionFn, attention);

void CheckAttention(k::AttentionFn fn, size_t head_dim, size_t n_pos, float q_scale,
                    const std::string& what) {
  const size_t stride = head_dim * 3 + 5;  // several kv heads, unaligned rows
  auto q_buf = Normal(head_dim + 1, static_cast<uint32_t>(head_dim), std::fabs(q_scale));
  if (q_scale < 0) {
    for (float& v : q_buf) v = -std::fabs(v);
  }
  const float* q = q_buf.data() + 1;
  const auto keys = Normal(n_pos * stride, static_cast<uint32_t>(n_pos + 1));
  const auto values = Normal(n_pos * stride, static_cast<uint32_t>(n_pos + 2), 3.0f);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  std::vector<float> w_ref(n_pos), out_ref(head_dim), w(n_pos + 1, kNan), out(head_dim + 1, kNan);
  k::attention_ref(head_dim, n_pos, q, keys.data(), values.data(), stride, scale, w_ref.data(),
                   out_ref.data());
  fn(head_dim, n_pos, q, keys.data(), values.data(), stride, scale, w.data(), out.data());
  ASSERT_TRUE(std::isnan(w[n_pos]) && std::isnan(out[head_dim])) << what << ": wrote past end";

  double score_err = 0;
  for (size_t p = 0; p < n_pos; ++p) {
    double mag = 0;
    for (size_t j = 0; j < head_dim; ++j)
      mag += std::fabs(static_cast<double>(q[j]) * keys[p * stride + j]);
    score_err = std::fmax(score_err, 1e-6 * scale * mag);
  }
  const double rel = 2 * score_err + 1e-5;
  ExpectAllClose(w.data(), w_ref.data(), RelTol(w_ref.data(), n_pos, rel, 1e-37), n_pos,
                 what + " weights");
  std::vector<double> tol(head_dim);
  for (size_t j = 0; j < head_dim; ++j) {
    double mag = 0;
    for (size_t p = 0; p < n_pos; ++p) mag += w_ref[p] * std::fabs(values[p * stride + j]);
    tol[j] = rel * mag + 1e-30;
  }
  ExpectAllClose(out.data(), out_ref.data(), tol, head_dim, what + " out");
}

TEST_P(AttentionTest, MatchesRef) {
  for (size_t head_dim : {1, 3, 8, 17, 24, 64, 80, 128, 200}) {
    for (size_t n_pos : {1, 2, 3, 17, 300}) {
      const std::string at =
          "head_dim " + std::to_string(head_dim) + " n_pos " + std::to_string(n_pos);
      CheckAttention(fn(), head_dim, n_pos, 1.0f, at);
      CheckAttention(fn(), head_dim, n_pos, 30.0f, at + " peaked");
      CheckAttention(fn(), head_dim, n_pos, 0.0f, at + " zero q");
      CheckAttention(fn(), head_dim, n_pos, -2.0f, at + " negative q");
    }
  }
  CheckAttention(fn(), 64, 4096, 1.0f, "head_dim 64 n_pos 4096");
}

// ---------------------------------------------------------------------------------------
// attention_q8kv: the reference against attention_ref over the dequantized cache, and every
// variant against the reference with the bound of attention (the dequantized magnitudes).

// An int8 cache of n_pos rows `stride` apart and their per-position f16 scale and offset
// (params, `param_stride` apart), with the same rows dequantized to f32 (d c + m) and their
// magnitudes |d c| + |m| (what bounds the kernels' rounding) for the checks.
struct Q8Cache {
  std::vector<int8_t> q;
  std::vector<uint16_t> params;
  std::vector<float> dequant;
  std::vector<float> magnitude;
};

Q8Cache MakeQ8Cache(size_t n_pos, size_t stride, size_t param_stride, uint32_t seed) {
  Q8Cache c;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> value(-128, 127);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  std::uniform_real_distribution<float> offset(-0.5f, 0.5f);
  c.q.resize(n_pos * stride);
  c.params.resize(n_pos * param_stride);
  c.dequant.resize(n_pos * stride);
  c.magnitude.resize(n_pos * stride);
  for (auto& v : c.q) v = static_cast<int8_t>(value(rng));
  for (size_t p = 0; p < n_pos; ++p) {
    c.params[p * param_stride] = kite::FloatToHalf(scale(rng));
    c.params[p * param_stride + 1] = kite::FloatToHalf(offset(rng));
    const float d = kite::HalfToFloat(c.params[p * param_stride]);
    const float m = kite::HalfToFloat(c.params[p * param_stride + 1]);
    for (size_t j = 0; j < stride; ++j) {
      c.dequant[p * stride + j] = d * c.q[p * stride + j] + m;
      c.magnitude[p * stride + j] = std::fabs(d * c.q[p * stride + j]) + std::fabs(m);
    }
  }
  return c;
}

TEST(AttentionQ8kvRef, MatchesF32AttentionOnDequantizedCache) {
  for (size_t head_dim : {1, 8, 17, 64}) {
    for (size_t n_pos : {1, 2, 17, 300}) {
      const size_t stride = head_dim * 2 + 3, param_stride = 4;
      const auto q = Normal(head_dim, 5, 4.0f);
      const Q8Cache keys = MakeQ8Cache(n_pos, stride, param_stride, 6);
      const Q8Cache values = MakeQ8Cache(n_pos, stride, param_stride, 7);
      const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
      std::vector<float> w(n_pos), out(head_dim), w_f32(n_pos), out_f32(head_dim);
      k::attention_q8kv_ref(head_dim, n_pos, q.data(), keys.q.data(), keys.params.data(),
                            values.q.data(), values.params.data(), stride, param_stride, scale,
                            w.data(), out.data());
      k::attention_ref(head_dim, n_pos, q.data(), keys.dequant.data(), values.dequant.data(),
                       stride, scale, w_f32.data(), out_f32.data());
      for (size_t p = 0; p < n_pos; ++p) EXPECT_NEAR(w[p], w_f32[p], 1e-5) << p;
      for (size_t j = 0; j < head_dim; ++j) EXPECT_NEAR(out[j], out_f32[j], 1e-5) << j;
    }
  }
}

// q8kv_quantize: every value within d / 2 of d c + m (codes and params as documented), on
// rows centred at 0, rows sharing a large offset (keys after RoPE), constant rows and rows
// with one outlier; the offset rows keep the error of their own range, far below what one
// max|x| / 127 scale over the row would give.
TEST(Q8kvQuantize, WithinHalfAStepOfEveryValue) {
  std::mt19937 rng(11);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  for (size_t group : {2, 8, 64, 128}) {
    for (float offset : {0.0f, 3.0f, -40.0f, 1000.0f}) {
      for (float spread : {0.0f, 1e-3f, 0.5f, 20.0f}) {
        const std::string at = "group " + std::to_string(group) + " offset " +
                               std::to_string(offset) + " spread " + std::to_string(spread);
        const size_t n = 3 * group;
        std::vector<float> x(n);
        for (auto& v : x) v = offset + spread * noise(rng);
        x[group + 1] = offset + 50.0f * spread;  // an outlier in the second group
        std::vector<int8_t> q(n);
        std::vector<uint16_t> params(2 * 3, 0xFFFF);
        k::q8kv_quantize(n, group, x.data(), q.data(), params.data());
        for (size_t g = 0; g < 3; ++g) {
          const float d = kite::HalfToFloat(params[2 * g]);
          const float m = kite::HalfToFloat(params[2 * g + 1]);
          float lo = x[g * group], hi = x[g * group];
          for (size_t i = g * group; i < (g + 1) * group; ++i) {
            lo = std::fmin(lo, x[i]);
            hi = std::fmax(hi, x[i]);
          }
          ASSERT_TRUE(std::isfinite(d) && d >= 0.0f) << at;
          // The step stays close to the range's own: (hi - lo) / 255, plus what rounding the
          // offset to f16 costs (2^-11 of it, spread over 127 codes).
          EXPECT_LE(d, (hi - lo) / 255.0f * 1.002f + std::fabs(m) * 0x1p-11f / 127.0f * 1.01f +
                           1e-7f)
              << at;
          const float slop = 1e-6f * std::fmax(std::fabs(lo), std::fabs(hi));
          for (size_t i = g * group; i < (g + 1) * group; ++i) {
            EXPECT_LE(std::fabs(d * q[i] + m - x[i]), 0.5f * d + slop) << at << " i " << i;
          }
        }
      }
    }
  }
}

using AttentionQ8kvTest = VariantTest<k::AttentionQ8kvFn>;
KITE_INSTANTIATE_VARIANTS(AttentionQ8kvTest, k::AttentionQ8kvFn, attention_q8kv);

void CheckAttentionQ8kv(k::AttentionQ8kvFn fn, size_t head_dim, size_t n_pos, float q_scale,
                        const std::string& what) {
  const size_t stride = head_dim * 3 + 5, param_stride = 3;  // unaligned rows and params
  auto q_buf = Normal(head_dim + 1, static_cast<uint32_t>(head_dim), std::fabs(q_scale));
  if (q_scale < 0) {
    for (float& v : q_buf) v = -std::fabs(v);
  }
  const float* q = q_buf.data() + 1;
  // Rows end at the last element of their buffer: a variant reading past a row tail fails
  // under the sanitizers.
  const Q8Cache keys = MakeQ8Cache(n_pos, stride, param_stride, static_cast<uint32_t>(n_pos + 1));
  const Q8Cache values = MakeQ8Cache(n_pos, stride, param_stride, static_cast<uint32_t>(n_pos + 2));
  const std::vector<int8_t> k_tight(keys.q.begin(), keys.q.end() - (stride - head_dim));
  const std::vector<int8_t> v_tight(values.q.begin(), values.q.end() - (stride - head_dim));
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  std::vector<float> w_ref(n_pos), out_ref(head_dim), w(n_pos + 1, kNan), out(head_dim + 1, kNan);
  k::attention_q8kv_ref(head_dim, n_pos, q, k_tight.data(), keys.params.data(), v_tight.data(),
                        values.params.data(), stride, param_stride, scale, w_ref.data(),
                        out_ref.data());
  fn(head_dim, n_pos, q, k_tight.data(), keys.params.data(), v_tight.data(), values.params.data(),
     stride, param_stride, scale, w.data(), out.data());
  ASSERT_TRUE(std::isnan(w[n_pos]) && std::isnan(out[head_dim])) << what << ": wrote past end";

  double score_err = 0;
  for (size_t p = 0; p < n_pos; ++p) {
    double mag = 0;
    for (size_t j = 0; j < head_dim; ++j)
      mag += std::fabs(static_cast<double>(q[j])) * keys.magnitude[p * stride + j];
    score_err = std::fmax(score_err, 1e-6 * scale * mag);
  }
  const double rel = 2 * score_err + 1e-5;
  ExpectAllClose(w.data(), w_ref.data(), RelTol(w_ref.data(), n_pos, rel, 1e-37), n_pos,
                 what + " weights");
  std::vector<double> tol(head_dim);
  for (size_t j = 0; j < head_dim; ++j) {
    double mag = 0;
    for (size_t p = 0; p < n_pos; ++p) mag += w_ref[p] * values.magnitude[p * stride + j];
    tol[j] = rel * mag + 1e-30;
  }
  ExpectAllClose(out.data(), out_ref.data(), tol, head_dim, what + " out");
}

TEST_P(AttentionQ8kvTest, MatchesRef) {
  for (size_t head_dim : {1, 3, 7, 8, 9, 17, 24, 64, 80, 128, 129, 200}) {
    for (size_t n_pos : {1, 2, 3, 5, 17, 300}) {
      const std::string at =
          "head_dim " + std::to_string(head_dim) + " n_pos " + std::to_string(n_pos);
      CheckAttentionQ8kv(fn(), head_dim, n_pos, 1.0f, at);
      CheckAttentionQ8kv(fn(), head_dim, n_pos, 30.0f, at + " peaked");
      CheckAttentionQ8kv(fn(), head_dim, n_pos, 0.0f, at + " zero q");
      CheckAttentionQ8kv(fn(), head_dim, n_pos, -2.0f, at + " negative q");
    }
  }
  CheckAttentionQ8kv(fn(), 64, 4096, 1.0f, "head_dim 64 n_pos 4096");
}

}  // namespace
