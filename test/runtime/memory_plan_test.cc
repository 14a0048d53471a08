// The session arena is planned before anything runs, and it must not grow unnoticed.
#include <gtest/gtest.h>

#include <cstdio>

#include "kite/kite.h"
#include "sdk/runtime/memory_plan.h"
#include "test/common/test_paths.h"

namespace {

TEST(MemoryPlan, Stories260KContext512IsPinned) {
  auto bytes = kite::FileMap::OpenPath(kite::test::TestModel("stories260K-q4.kite").c_str());
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  auto model = kite::Model::Open(static_cast<kite::FileMap&&>(bytes.value()), kite::ModelOptions());
  ASSERT_TRUE(model.ok()) << model.status().message();
  kite::SessionOptions o;
  o.max_context = 512;
  auto plan = kite::PlanSessionMemory(**model, o);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  // KV cache: 2 (k, v) * 5 layers * 512 positions * 32 kv_dim * 4 bytes.
  EXPECT_EQ(plan->kv_cache_bytes, 2u * 5 * 512 * 32 * 4);
  std::printf("arena for stories260K q4, context 512: %zu bytes (KV cache %zu, activations %zu)\n",
              plan->total_bytes, plan->kv_cache_bytes, plan->activation_bytes);
  // Threshold: fails if the arena (default prefill_chunk 64) grows past today's 877,760
  // bytes plus 0.3% (871,488 before the sampler's ring of recent tokens, its penalty window
  // and the callback's text buffer: 2,048 + 2,048 + 128 bytes; then the context's ids kept
  // for the session state, 2,048).
  EXPECT_LE(plan->total_bytes, 880000u);
  // The ring holds the whole context when it is shorter than the longest penalty window.
  EXPECT_EQ(plan->recent_capacity, 512u);
  EXPECT_GE(plan->total_bytes, plan->kv_cache_bytes);
  // Deterministic and linear in the context.
  o.max_context = 256;
  auto half = kite::PlanSessionMemory(**model, o);
  ASSERT_TRUE(half.ok());
  EXPECT_EQ(half->kv_cache_bytes * 2, plan->kv_cache_bytes);
  EXPECT_LT(half->total_bytes, plan->total_bytes);
}

// int8 KV: one byte per element plus an f16 scale and offset per KV head per position, for K
// and V: 2 * 5 layers * 512 positions * (32 + 4 heads * 2 * 2) bytes = 3/8 of the f32 cache.
TEST(MemoryPlan, Int8KvCacheIsThreeEighthsOfF32) {
  auto bytes = kite::FileMap::OpenPath(kite::test::TestModel("stories260K-q4.kite").c_str());
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  auto model = kite::Model::Open(static_cast<kite::FileMap&&>(bytes.value()), kite::ModelOptions());
  ASSERT_TRUE(model.ok()) << model.status().message();
  kite::SessionOptions o;
  o.max_context = 512;
  auto f32 = kite::PlanSessionMemory(**model, o);
  o.kv_type = kite::KvType::kInt8;
  auto int8 = kite::PlanSessionMemory(**model, o);
  ASSERT_TRUE(f32.ok() && int8.ok());
  // Per layer and position, K and V: 32 int8 and an f16 scale and offset per KV head (4).
  EXPECT_EQ(int8->kv_cache_bytes, 2u * 5 * 512 * (32 + 4 * 2 * 2));
  EXPECT_EQ(int8->kv_cache_bytes * 8, f32->kv_cache_bytes * 3);
  // The whole arena shrinks by the KV difference: the f32 K/V staging rows share hb / hb2
  // (hidden_dim 172 >= kv_dim 32), nothing is added.
  EXPECT_EQ(int8->total_bytes + (f32->kv_cache_bytes - int8->kv_cache_bytes), f32->total_bytes);
  EXPECT_EQ(int8->k_rows, int8->hb);
  EXPECT_EQ(int8->v_rows, int8->hb2);
  std::printf("arena for stories260K q4, context 512, int8 KV: %zu bytes (KV cache %zu)\n",
              int8->total_bytes, int8->kv_cache_bytes);
}

TEST(MemoryPlan, CApiReportsTheSameFigure) {
  kite_model* model = nullptr;
  ASSERT_EQ(kite_model_open_file(kite::test::TestModel("stories260K-f32.kite").c_str(), nullptr, &model),
            KITE_OK);
  kite_session_options o;
  kite_session_options_init(&o);
  o.max_context = 512;
  size_t bytes = 0;
  ASSERT_EQ(kite_session_memory_required(model, &o, &bytes), KITE_OK);
  EXPECT_GT(bytes, 2u * 5 * 512 * 32 * 4);
  // kite_session_memory_required reflects the int8 KV cache: 5/8 of the f32 KV bytes fewer.
  o.kv_type = KITE_KV_INT8;
  size_t int8_bytes = 0;
  ASSERT_EQ(kite_session_memory_required(model, &o, &int8_bytes), KITE_OK);
  EXPECT_EQ(bytes - int8_bytes, 2u * 5 * 512 * 32 * 4 * 5 / 8);
  EXPECT_LE(int8_bytes + 2u * 5 * 512 * 32 * 4 / 2, bytes);
  kite_model_close(model);
}

}  // namespace
