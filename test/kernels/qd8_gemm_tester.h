// What the 4-bit x int8 GEMM testers (qd8_q4r16_gemm_test.cc, qd8_q4sp24_gemm_test.cc)
// share: the activations (as q8_quantize makes them, and extreme ones), the canary-guarded
// run of one kernel, the tolerance check against the reference, the check of every supported
// variant against the reference, and the 16-row-block split check.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "sdk/kernels/dispatch.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"

namespace kite::qd8_gemm_test {

inline constexpr size_t kGroup = 32;
inline constexpr float kCanary = -7777.25f;
/// Variants agree with the reference to this fraction of the terms' magnitude.
inline constexpr double kTolerance = 1e-5;

enum class ActKind {
  kQuantized,  // q8_quantize_ref of random floats (as the runtime produces them)
  kFullRange,  // any int8 in [-128, 127], also in the padding columns
  kExtreme,    // all -128: with the largest weights the worst case for int16 partial sums
};

/// One combination of weights (the tester's WeightKind) and activations that a tester runs
/// on every shape.
template <class WeightKind>
struct Case {
  WeightKind weights;
  ActKind acts;
  const char* name;
};

/// Activations of m tokens: int8 codes, per-group scales and code sums.
struct Acts {
  size_t m = 0, groups = 0;
  std::vector<int8_t> q;     // m x groups x 32
  std::vector<float> scale;  // m x groups
  std::vector<int32_t> sum;  // m x groups
};

inline Acts MakeActs(size_t m, size_t cols, ActKind kind, std::mt19937& rng) {
  Acts a;
  a.m = m;
  a.groups = (cols + kGroup - 1) / kGroup;
  const size_t padded = a.groups * kGroup;
  a.q.assign(m * padded, 0);
  a.scale.assign(m * a.groups, 0.0f);
  a.sum.assign(m * a.groups, 0);
  if (kind == ActKind::kQuantized) {
    std::normal_distribution<float> x(0.0f, 1.0f);
    std::vector<float> row(cols);
    for (size_t t = 0; t < m; ++t) {
      for (float& v : row) v = x(rng);
      kernels::q8_quantize_ref(cols, kGroup, row.data(), a.q.data() + t * padded,
                               a.scale.data() + t * a.groups, a.sum.data() + t * a.groups);
    }
    return a;
  }
  std::uniform_int_distribution<int> any(-128, 127);
  std::uniform_real_distribution<float> scale(0.0005f, 0.02f);
  for (size_t t = 0; t < m; ++t) {
    for (size_t g = 0; g < a.groups; ++g) {
      int32_t s = 0;
      for (size_t j = 0; j < kGroup; ++j) {
        const int8_t v = static_cast<int8_t>(kind == ActKind::kExtreme ? -128 : any(rng));
        a.q[t * padded + g * kGroup + j] = v;
        s += v;
      }
      a.sum[t * a.groups + g] = s;
      a.scale[t * a.groups + g] = scale(rng);
    }
  }
  return a;
}

/// Runs call(y, y_stride) (one kernel writing m x rows outputs) with y_stride > rows into a
/// canary-filled buffer; checks the canaries and returns the m x rows results in *out.
template <class Call>
testing::AssertionResult RunCanaried(size_t m, size_t rows, Call call, std::vector<float>* out) {
  const size_t y_stride = rows + 3;
  std::vector<float> y(m * y_stride + 5, kCanary);
  call(y.data(), y_stride);
  out->assign(m * rows, 0.0f);
  for (size_t i = 0; i < y.size(); ++i) {
    const size_t t = i / y_stride, r = i % y_stride;
    if (t < m && r < rows) {
      (*out)[t * rows + r] = y[i];
    } else if (std::memcmp(&y[i], &kCanary, sizeof(float)) != 0) {
      return testing::AssertionFailure() << "wrote y[" << i << "] outside the m x rows output";
    }
  }
  return testing::AssertionSuccess();
}

/// |got - want| <= kTolerance * mag element-wise (token-major, `rows` per token).
inline testing::AssertionResult Close(const std::vector<float>& got,
                                      const std::vector<double>& want,
                                      const std::vector<double>& mag, size_t rows) {
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (!(err <= kTolerance * mag[i] + 1e-30)) {
      return testing::AssertionFailure()
             << "token " << i / rows << " row " << i % rows << ": got " << got[i] << ", want "
             << want[i] << " (term magnitude " << mag[i] << ")";
    }
  }
  return testing::AssertionSuccess();
}

inline std::vector<double> ToDouble(const std::vector<float>& v) { return {v.begin(), v.end()}; }

/// Checks the reference `ref` against the double formula (want, with term magnitudes mag),
/// then every supported table's variant (variant(table)) against the reference;
/// run(fn, &out) runs one kernel (through RunCanaried).
template <class Fn, class Variant, class Run>
void CheckVariantsAgainstRef(Fn ref, Variant variant, Run run, const std::vector<double>& want,
                             const std::vector<double>& mag, size_t rows) {
  size_t n_tables = 0;
  const kernels::KernelTable* const* tables = kernels::AllSupportedKernelTables(&n_tables);
  std::vector<float> y_ref;
  ASSERT_TRUE(run(ref, &y_ref));
  ASSERT_TRUE(Close(y_ref, want, mag, rows)) << "reference vs double formula";
  for (size_t i = 0; i < n_tables; ++i) {
    std::vector<float> got;
    const char* isa = kernels::IsaName(tables[i]->isa);
    ASSERT_TRUE(run(variant(*tables[i]), &got)) << isa;
    ASSERT_TRUE(Close(got, ToDouble(y_ref), mag, rows)) << isa << " vs ref";
  }
}

/// Threads split rows by 16-row blocks: for every supported table, computing rows [0, 48)
/// and [48, rows) separately must give exactly the single call's result.
/// call(table, first_block, n_rows, y, y_stride) runs the table's variant on n_rows rows from
/// 16-row block first_block.
template <class Call>
void CheckRowBlockSplit(size_t m, size_t rows, Call call) {
  size_t n_tables = 0;
  const kernels::KernelTable* const* tables = kernels::AllSupportedKernelTables(&n_tables);
  for (size_t i = 0; i < n_tables; ++i) {
    SCOPED_TRACE(kernels::IsaName(tables[i]->isa));
    std::vector<float> whole(m * rows), split(m * rows);
    call(*tables[i], 0, rows, whole.data(), rows);
    const size_t first = 48;  // 3 blocks
    call(*tables[i], 0, first, split.data(), rows);
    call(*tables[i], first / 16, rows - first, split.data() + first, rows);
    EXPECT_EQ(0, std::memcmp(whole.data(), split.data(), whole.size() * sizeof(float)));
  }
}

}  // namespace kite::qd8_gemm_test
