// The attention shader against attention_ref (f32 cache) and attention_q8kv_ref (int8 cache
// written by q8kv_quantize): head_dim 8 (stories260K), 48 (odd) and 64 to 256, grouped
// queries 1:1 to 7:1, contexts of 1 to ~700 positions (several tiles of the shader's
// passes), several tokens per call at pos > 0, q and out rows addressed with gaps (out's
// stride is max(dim, q_dim) in the forward pass) that must stay untouched, a cache offset
// (one layer of a cache of all layers) and several workgroup sizes; on an AVX-512 machine
// with lavapipe, also the AVX-512 variant bit for bit. And the KV-cache
// quantization shader against q8kv_quantize, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "sdk/backends/vulkan/attention.h"
#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/q8kv_quantize.h"
#include "sdk/backends/vulkan/requirements.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/attention/attention.h"
#include "sdk/kernels/dispatch.h"
#include "test/vulkan/vulkan_test_util.h"

namespace {

namespace vk = kite::vulkan;
namespace k = kite::kernels;
namespace vt = kite::vulkan::test;

struct Case {
  uint32_t n_tokens, pos, n_heads, n_kv_heads, head_dim;
  float q_scale;          // spread of q (larger: sharper softmax)
  uint32_t out_gap;       // floats between a token's output row and the next one's
  uint32_t cache_offset;  // rows of another layer before this one's position 0
  uint32_t workgroup;     // 0: the device's largest
};

std::string Name(const Case& c) {
  return "tokens=" + std::to_string(c.n_tokens) + " pos=" + std::to_string(c.pos) +
         " heads=" + std::to_string(c.n_heads) + "/" + std::to_string(c.n_kv_heads) +
         " head_dim=" + std::to_string(c.head_dim) + " q_scale=" + std::to_string(c.q_scale) +
         " wg=" + std::to_string(c.workgroup);
}

// Largest error seen, in units of 2^-24 * sum_p w_p |v_p[j]| (the output's magnitude).
double RunCase(vk::Device& device, const Case& c, vk::KvCacheType type, std::mt19937& rng) {
  SCOPED_TRACE(Name(c) + (type == vk::KvCacheType::kInt8 ? " int8" : " f32"));
  const bool int8 = type == vk::KvCacheType::kInt8;
  const uint32_t q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  const uint32_t rows = c.pos + c.n_tokens;  // the cache holds the call's own rows too
  const uint32_t offset = c.cache_offset * kv_dim;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> q(c.n_tokens * q_dim), keys(offset + rows * kv_dim),
      values(offset + rows * kv_dim);
  for (float& v : q) v = c.q_scale * normal(rng);
  for (float& v : keys) v = normal(rng);
  for (float& v : values) v = normal(rng);
  // The int8 cache: every row quantized by the CPU's q8kv_quantize (the runtime's layout:
  // codes kv_dim apart, n_kv_heads uint16 pairs per row); `values` becomes what it decodes to.
  std::vector<int8_t> key_codes(keys.size()), value_codes(values.size());
  std::vector<uint16_t> key_params(keys.size() / c.head_dim * 2),
      value_params(values.size() / c.head_dim * 2);
  if (int8) {
    for (size_t r = 0; r < keys.size() / kv_dim; ++r) {
      k::q8kv_quantize(kv_dim, c.head_dim, keys.data() + r * kv_dim, key_codes.data() + r * kv_dim,
                       key_params.data() + r * c.n_kv_heads * 2);
      k::q8kv_quantize(kv_dim, c.head_dim, values.data() + r * kv_dim,
                       value_codes.data() + r * kv_dim, value_params.data() + r * c.n_kv_heads * 2);
      for (uint32_t i = 0; i < kv_dim; ++i) {
        const uint16_t* dm = value_params.data() + (r * c.n_kv_heads + i / c.head_dim) * 2;
        values[r * kv_dim + i] =
            kite::HalfToFloat(dm[0]) * value_codes[r * kv_dim + i] + kite::HalfToFloat(dm[1]);
      }
    }
  }
  const uint32_t out_stride = q_dim + c.out_gap;
  std::vector<float> want((c.n_tokens - 1) * out_stride + q_dim, vt::kUntouched);
  std::vector<float> magnitude(want.size(), 0.0f);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  std::vector<float> scores(rows);
  // On an AVX-512 machine with a CPU device (lavapipe): the AVX-512 variant's outputs bit
  // for bit, the shader computing in its order (FmaExact for its fused operations). f32
  // caches only: the int8 cache's offset terms are plain C++ in the CPU driver, which the
  // compiler contracts into FMAs as it sees fit (the shader follows GCC 12 at -O3; the ASan
  // build at -O2 fuses other operands), so those are held to the tolerance below.
  const k::KernelTable& best = k::SelectKernels(k::Isa::kBest);
  const bool exact =
      !int8 && best.isa == k::Isa::kAvx512Vnni && vk::IsCpuDevice(device.facts().type);
  std::vector<float> exact_want(want.size(), vt::kUntouched);
  for (uint32_t t = 0; t < c.n_tokens; ++t) {
    for (uint32_t h = 0; h < c.n_heads; ++h) {
      const uint32_t kv_head = h / (c.n_heads / c.n_kv_heads);
      const size_t kv = offset + kv_head * c.head_dim;
      const size_t o = t * out_stride + h * c.head_dim;
      const uint32_t n_pos = c.pos + t + 1;
      const float* qh = q.data() + t * q_dim + h * c.head_dim;
      if (int8) {
        const size_t params = (c.cache_offset * c.n_kv_heads + kv_head) * 2;
        k::attention_q8kv_ref(c.head_dim, n_pos, qh, key_codes.data() + kv,
                              key_params.data() + params, value_codes.data() + kv,
                              value_params.data() + params, kv_dim, 2 * c.n_kv_heads, scale,
                              scores.data(), want.data() + o);
        best.attention_q8kv(c.head_dim, n_pos, qh, key_codes.data() + kv,
                            key_params.data() + params, value_codes.data() + kv,
                            value_params.data() + params, kv_dim, 2 * c.n_kv_heads, scale,
                            scores.data(), exact_want.data() + o);
      } else {
        k::attention_ref(c.head_dim, n_pos, qh, keys.data() + kv, values.data() + kv, kv_dim,
                         scale, scores.data(), want.data() + o);
        best.attention(c.head_dim, n_pos, qh, keys.data() + kv, values.data() + kv, kv_dim,
                       scale, scores.data(), exact_want.data() + o);
      }
      for (uint32_t j = 0; j < c.head_dim; ++j) {
        double m = 0.0;
        for (uint32_t p = 0; p < n_pos; ++p) m += scores[p] * std::fabs(values[kv + p * kv_dim + j]);
        magnitude[o + j] = static_cast<float>(m);
      }
    }
  }
  vk::Buffer bq = vt::Upload(device, q, "q");
  vk::Buffer bk = int8 ? vt::Upload(device, key_codes, "keys") : vt::Upload(device, keys, "keys");
  vk::Buffer bv = int8 ? vt::Upload(device, value_codes, "values") : vt::Upload(device, values, "values");
  std::vector<uint16_t> params = key_params;  // the keys' then the values'
  params.insert(params.end(), value_params.begin(), value_params.end());
  vk::Buffer bp = vt::Upload(device, params, "params");
  vk::Buffer bo = vt::Upload(device, std::vector<float>(want.size(), vt::kUntouched), "out");
  kite::Result<vk::Attention> op = vk::Attention::Create(device, type, c.workgroup);
  EXPECT_TRUE(op.ok()) << op.status().message();
  if (!op.ok()) return 0.0;
  vk::AttentionArgs args;
  args.max_tokens = c.n_tokens;
  args.max_pos = c.pos;
  args.n_heads = c.n_heads;
  args.n_kv_heads = c.n_kv_heads;
  args.head_dim = c.head_dim;
  args.scale = scale;
  args.q_at.stride = q_dim;  // the chunk's own rows: no position stride
  args.out_at.stride = out_stride;
  args.cache_offset = offset;
  args.key_param_offset = c.cache_offset * c.n_kv_heads;
  args.value_param_offset = static_cast<uint32_t>(key_params.size() / 2) + args.key_param_offset;
  args.params = &bp;
  args.q = &bq;
  args.keys = &bk;
  args.values = &bv;
  args.out = &bo;
  const ::testing::AssertionResult ran = vt::RunOp(device, *op, args, c.n_tokens, c.pos);
  EXPECT_TRUE(ran);
  if (!ran) return 0.0;
  const float* got = static_cast<const float*>(bo.data());
  double worst = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == vt::kUntouched) {
      EXPECT_EQ(got[i], vt::kUntouched) << "gap element " << i << " written";
      continue;
    }
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]) /
                       (0x1p-24 * magnitude[i] + 1e-30);
    worst = err > worst ? err : worst;
    // Tolerance: 64 half-ulps of the output's magnitude sum_p w_p |v_p[j]|. The shader
    // computes as the AVX-512 variant does (16-lane sums, the polynomial exp within 1 ulp,
    // two chains per output element), the reference in order with libm's exp: a few ulps
    // of each sum apart.
    EXPECT_LE(err, 64.0) << "element " << i << " got " << got[i] << " want " << want[i];
    if (exact) {
      EXPECT_EQ(std::memcmp(&got[i], &exact_want[i], sizeof(float)), 0)
          << "element " << i << " got " << got[i] << " AVX-512 " << exact_want[i];
    }
  }
  return worst;
}

void RunCases(vk::Device& device, vk::KvCacheType type) {
  std::mt19937 rng(2024);
  const Case cases[] = {
      {1, 0, 1, 1, 8, 1.0f, 0, 0, 0},        // one position
      {4, 0, 8, 4, 8, 1.0f, 0, 0, 0},        // stories260K (8 heads of 8, 2:1), prefill
      {2, 37, 8, 4, 8, 3.0f, 0, 1, 1},       // a workgroup of one, after a cache offset
      {3, 300, 8, 2, 48, 1.0f, 16, 0, 64},   // odd head_dim, 4:1, 5 tiles, an output gap
      {5, 690, 4, 4, 64, 2.0f, 0, 3, 256},   // 1:1, contexts 691..695 (3 tiles)
      {2, 255, 8, 2, 64, 1.0f, 128, 0, 128}, // 4:1 at a tile boundary (256, 257 positions)
      {1, 700, 14, 2, 64, 1.0f, 0, 0, 0},    // Qwen2-0.5B's heads (7:1) at 701 positions
      {2, 99, 2, 1, 128, 1.0f, 0, 0, 32},    // head wider than the workgroup
      {1, 10, 2, 2, 256, 1.0f, 0, 0, 0},     // the largest head
  };
  double worst = 0.0;
  for (const Case& c : cases) {
    const double w = RunCase(device, c, type, rng);
    worst = w > worst ? w : worst;
  }
  std::printf("largest attention error (%s cache): %.2f half-ulps of the output's magnitude\n",
              type == vk::KvCacheType::kInt8 ? "int8" : "f32", worst);
}

TEST(VulkanAttention, MatchesCpuReference) {
  REQUIRE_DEVICE(device);
  RunCases(*device, vk::KvCacheType::kF32);
}

TEST(VulkanAttention, MatchesCpuReferenceOnAnInt8Cache) {
  REQUIRE_DEVICE(device);
  RunCases(*device, vk::KvCacheType::kInt8);
}

TEST(VulkanAttention, RefusesBadShapesAndSmallBuffers) {
  REQUIRE_DEVICE(device);
  kite::Result<vk::Attention> op = vk::Attention::Create(*device, vk::KvCacheType::kF32, 0);
  ASSERT_TRUE(op.ok()) << op.status().message();
  // 4 heads of 8 over 2 KV heads: q rows of 32 floats, cache rows of 16.
  vk::Buffer q = vt::Upload(*device, std::vector<float>(64), "q");
  vk::Buffer keys = vt::Upload(*device, std::vector<float>(16 * 10), "keys");
  vk::Buffer values = vt::Upload(*device, std::vector<float>(16 * 10), "values");
  vk::Buffer out = vt::Upload(*device, std::vector<float>(64), "out");
  vk::AttentionArgs args;
  args.max_tokens = 2;
  args.max_pos = 8;  // positions up to 9: the ten rows
  args.n_heads = 4;
  args.n_kv_heads = 2;
  args.head_dim = 8;
  args.scale = 0.35f;
  args.q_at.stride = 32;
  args.out_at.stride = 32;
  args.q = &q;
  args.keys = &keys;
  args.values = &values;
  args.out = &out;
  EXPECT_TRUE(vt::PrepareStatus(*device, *op, args).ok());
  args.max_pos = 9;
  kite::Status s = vt::PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "attention: buffer 'keys' holds 640 bytes, the shape needs 704");
  args.max_pos = 8;
  args.scale = 0.0f;  // left unset
  s = vt::PrepareStatus(*device, *op, args);
  EXPECT_STREQ(s.message(), "attention: scale 0 is not a positive finite number");
  args.scale = 0.35f;
  args.cache_offset = 16;  // a layer after another
  s = vt::PrepareStatus(*device, *op, args);
  EXPECT_STREQ(s.message(), "attention: buffer 'keys' holds 640 bytes, the shape needs 704");
  args.cache_offset = 0;
  args.out_at.stride = 31;
  s = vt::PrepareStatus(*device, *op, args);
  EXPECT_STREQ(s.message(), "attention: rows of 'out' overlap: stride 31 < row length 32");
  args.out_at.stride = 32;
  args.out = &q;
  s = vt::PrepareStatus(*device, *op, args);
  EXPECT_STREQ(s.message(),
               "attention: 'out' must be another buffer than 'q', 'keys' and 'values'");
  args.out = &out;
  args.n_kv_heads = 3;
  s = vt::PrepareStatus(*device, *op, args);
  EXPECT_NE(std::string(s.message()).find("attention: bad shape"), std::string::npos)
      << s.message();
  args.n_kv_heads = 1;
  args.n_heads = 1;
  args.head_dim = 257;
  s = vt::PrepareStatus(*device, *op, args);
  EXPECT_NE(std::string(s.message()).find("head_dim=257"), std::string::npos) << s.message();

  // An int8 cache: bytes, with a parameter word per KV head and position.
  kite::Result<vk::Attention> int8 = vk::Attention::Create(*device, vk::KvCacheType::kInt8, 0);
  ASSERT_TRUE(int8.ok()) << int8.status().message();
  vk::Buffer params = vt::Upload(*device, std::vector<uint32_t>(2 * 2 * 10), "params");
  args.n_heads = 4;
  args.n_kv_heads = 2;
  args.head_dim = 8;
  args.value_param_offset = 20;  // the keys' 10 rows of 2 words, then the values'
  args.params = &params;
  EXPECT_TRUE(vt::PrepareStatus(*device, *int8, args).ok());  // 160 of the 640 bytes
  args.value_param_offset = 22;
  s = vt::PrepareStatus(*device, *int8, args);
  EXPECT_STREQ(s.message(), "attention: buffer 'params' holds 160 bytes, the shape needs 168");
  args.value_param_offset = 20;
  args.cache_offset = 2;
  s = vt::PrepareStatus(*device, *int8, args);
  EXPECT_STREQ(s.message(), "attention: int8 cache_offset 2 is not a multiple of 4");
  args.cache_offset = 0;
  args.params = nullptr;
  EXPECT_STREQ(vt::PrepareStatus(*device, *int8, args).message(), "attention: no 'params' buffer");
}

// Runs Q8kvQuantize on `rows` rows of random values (spread `spread`) written at pos into a
// cache past a layer offset, and compares every byte and parameter with q8kv_quantize.
void RunQuantizeCase(vk::Device& device, uint32_t n_tokens, uint32_t pos, uint32_t n_kv_heads,
                     uint32_t head_dim, float spread, uint32_t workgroup, std::mt19937& rng) {
  SCOPED_TRACE("tokens=" + std::to_string(n_tokens) + " pos=" + std::to_string(pos) +
               " heads=" + std::to_string(n_kv_heads) + " head_dim=" + std::to_string(head_dim) +
               " spread=" + std::to_string(spread) + " wg=" + std::to_string(workgroup));
  const uint32_t kv_dim = n_kv_heads * head_dim;
  const uint32_t layer = 3;  // cache rows of another layer before this one
  const uint32_t rows = layer + pos + n_tokens + 1;  // and one row after the call's
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> x(n_tokens * kv_dim);
  for (float& v : x) v = normal(rng);
  // Some heads constant (hi = lo), one with a huge value (offset clamped to the f16 range).
  for (uint32_t i = 0; i < head_dim; ++i) x[i] = 0.25f;
  if (n_tokens > 1) x[kv_dim + 1] = 1e6f;
  constexpr int8_t kByte = 0x5A;
  constexpr uint16_t kHalf = 0x5A5A;
  std::vector<int8_t> want_codes(rows * kv_dim, kByte);
  std::vector<uint16_t> want_params(rows * n_kv_heads * 2, kHalf);
  for (uint32_t t = 0; t < n_tokens; ++t) {
    const uint32_t r = layer + pos + t;
    k::q8kv_quantize(kv_dim, head_dim, x.data() + t * kv_dim, want_codes.data() + r * kv_dim,
                     want_params.data() + r * n_kv_heads * 2);
  }
  vk::Buffer bx = vt::Upload(device, x, "x");
  vk::Buffer bc = vt::Upload(device, std::vector<int8_t>(want_codes.size(), kByte), "codes");
  vk::Buffer bp = vt::Upload(device, std::vector<uint16_t>(want_params.size(), kHalf), "params");
  kite::Result<vk::Q8kvQuantize> op = vk::Q8kvQuantize::Create(device, workgroup);
  ASSERT_TRUE(op.ok()) << op.status().message();
  vk::Q8kvQuantizeArgs args;
  args.max_tokens = n_tokens;
  args.max_pos = pos;
  args.n_kv_heads = n_kv_heads;
  args.head_dim = head_dim;
  args.x_at.stride = kv_dim;
  args.codes_at = {layer * kv_dim, kv_dim, kv_dim};
  args.params_at = {layer * n_kv_heads, n_kv_heads, n_kv_heads};
  args.x = &bx;
  args.codes = &bc;
  args.params = &bp;
  ASSERT_TRUE(vt::RunOp(device, *op, args, n_tokens, pos));
  const int8_t* codes = static_cast<const int8_t*>(bc.data());
  const uint16_t* params = static_cast<const uint16_t*>(bp.data());
  for (size_t i = 0; i < want_codes.size(); ++i) {
    ASSERT_EQ(codes[i], want_codes[i]) << "byte " << i << " (row " << i / kv_dim << ")";
  }
  for (size_t i = 0; i < want_params.size(); ++i) {
    ASSERT_EQ(params[i], want_params[i]) << "half " << i << " (row " << i / (2 * n_kv_heads)
                                         << (i % 2 ? ", offset)" : ", scale)");
  }
}

TEST(VulkanQ8kvQuantize, BitIdenticalToTheCpu) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(5);
  RunQuantizeCase(*device, 1, 0, 1, 4, 1.0f, 0, rng);
  RunQuantizeCase(*device, 3, 7, 4, 8, 1.0f, 1, rng);      // stories260K's K rows
  RunQuantizeCase(*device, 2, 100, 2, 48, 0.001f, 64, rng);
  RunQuantizeCase(*device, 4, 690, 2, 64, 30.0f, 0, rng);
  RunQuantizeCase(*device, 2, 1, 8, 128, 3000.0f, 2, rng);
  for (int i = 0; i < 20; ++i) RunQuantizeCase(*device, 2, i, 3, 64, 1.0f, 0, rng);
}

TEST(VulkanQ8kvQuantize, RefusesBadShapesAndSmallBuffers) {
  REQUIRE_DEVICE(device);
  kite::Result<vk::Q8kvQuantize> op = vk::Q8kvQuantize::Create(*device, 0);
  ASSERT_TRUE(op.ok()) << op.status().message();
  vk::Buffer x = vt::Upload(*device, std::vector<float>(16), "x");
  vk::Buffer codes = vt::Upload(*device, std::vector<int8_t>(16), "codes");
  vk::Buffer params = vt::Upload(*device, std::vector<uint32_t>(2), "params");
  vk::Q8kvQuantizeArgs args;
  args.n_kv_heads = 2;
  args.head_dim = 8;
  args.x = &x;
  args.codes = &codes;
  args.params = &params;
  EXPECT_TRUE(vt::PrepareStatus(*device, *op, args).ok());
  args.codes_at.offset = 2;
  kite::Status s = vt::PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("q8kv_quantize: bad shape"), std::string::npos)
      << s.message();
  args.codes_at.offset = 4;
  s = vt::PrepareStatus(*device, *op, args);
  EXPECT_STREQ(s.message(), "q8kv_quantize: buffer 'codes' holds 16 bytes, the shape needs 20");
  args.codes_at.offset = 0;
  args.params_at.offset = 1;
  s = vt::PrepareStatus(*device, *op, args);
  EXPECT_STREQ(s.message(), "q8kv_quantize: buffer 'params' holds 8 bytes, the shape needs 12");
}

}  // namespace
