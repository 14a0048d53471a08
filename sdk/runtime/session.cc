#include "sdk/runtime/session.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>

#include "platform/clock.h"
#include "sdk/runtime/model_backends.h"
#include "sdk/runtime/logits_check.h"

namespace kite {

Status Session::CheckArena(const MemoryPlan& plan, const void* arena, size_t arena_size) {
  KITE_CHECK_OR_RETURN(arena_size >= plan.total_bytes, Error::kOutOfMemory,
                       "arena is %zu bytes but this session needs %zu", arena_size,
                       plan.total_bytes);
  KITE_CHECK_OR_RETURN(reinterpret_cast<uintptr_t>(arena) % kSessionArenaAlignment == 0,
                       Error::kInvalidArgument, "arena must be %zu-byte aligned",
                       kSessionArenaAlignment);
  return Status::Ok();
}

Result<std::unique_ptr<Session>> Session::Create(const Model* model, const SessionOptions& options,
                                                 void* arena, size_t arena_size,
                                                 ModelBackends* backends) {
  KITE_CHECK_OR_RETURN(model != nullptr, Error::kInvalidArgument, "model is null");
  KITE_ASSIGN_OR_RETURN(MemoryPlan plan, PlanSessionMemory(*model, options));
  std::unique_ptr<Session> s(new (std::nothrow) Session());
  KITE_CHECK_OR_RETURN(s != nullptr, Error::kOutOfMemory, "cannot allocate the session object");
  if (arena != nullptr) {
    KITE_RETURN_IF_ERROR(CheckArena(plan, arena, arena_size));
    KITE_ASSIGN_OR_RETURN(s->arena_,
                          Arena::Borrow(arena, arena_size, kSessionArenaAlignment, "arena"));
  } else {
    KITE_ASSIGN_OR_RETURN(s->arena_, Arena::Allocate(plan.total_bytes, kSessionArenaAlignment,
                                                     "the session arena"));
  }
  KITE_RETURN_IF_ERROR(s->Bind(model, options, plan, s->TakePlannedBuffers(plan)));
  KITE_RETURN_IF_ERROR(s->ChooseBackend(backends));
  return Result<std::unique_ptr<Session>>(static_cast<std::unique_ptr<Session>&&>(s));
}

size_t Session::StorageBytes() { return sizeof(Session); }

Result<Session*> Session::CreateInPlace(const Model* model, const SessionOptions& options,
                                        void* arena, size_t arena_size, void* storage,
                                        size_t storage_size) {
  static_assert(alignof(Session) <= kStorageAlignment, "kStorageAlignment is too small");
  KITE_CHECK_OR_RETURN(model != nullptr, Error::kInvalidArgument, "model is null");
  KITE_CHECK_OR_RETURN(arena != nullptr, Error::kInvalidArgument,
                       "an in-place session needs a caller arena (arena is null)");
  KITE_CHECK_OR_RETURN(storage != nullptr, Error::kInvalidArgument, "session storage is null");
  KITE_CHECK_OR_RETURN(storage_size >= sizeof(Session), Error::kOutOfMemory,
                       "session storage is %zu bytes but the session object needs %zu",
                       storage_size, sizeof(Session));
  KITE_CHECK_OR_RETURN(reinterpret_cast<uintptr_t>(storage) % kStorageAlignment == 0,
                       Error::kInvalidArgument, "session storage must be %zu-byte aligned",
                       kStorageAlignment);
  KITE_ASSIGN_OR_RETURN(MemoryPlan plan, PlanSessionMemory(*model, options));
  KITE_RETURN_IF_ERROR(CheckArena(plan, arena, arena_size));
  Session* s = new (storage) Session();
  KITE_ASSIGN_OR_RETURN(s->arena_,
                        Arena::Borrow(arena, arena_size, kSessionArenaAlignment, "arena"));
  Status bound = s->Bind(model, options, plan, s->TakePlannedBuffers(plan));
  if (bound.ok()) bound = s->ChooseBackend(nullptr);
  if (!bound.ok()) {
    DestroyInPlace(s);
    return bound;
  }
  return s;
}

void Session::DestroyInPlace(Session* session) {
  if (session != nullptr) session->~Session();
}

Status Session::Bind(const Model* model, const SessionOptions& options, const MemoryPlan& plan,
                     uint8_t* arena) {
  KITE_ASSIGN_OR_RETURN(pool_, ThreadPool::Create(options.threads));
  model_ = model;
  options_ = options;
  plan_ = plan;
  uint8_t* a = arena;
  ForwardBuffers& b = buffers_;
  b.x = reinterpret_cast<float*>(a + plan.x);
  b.xb = reinterpret_cast<float*>(a + plan.xb);
  b.xb2 = reinterpret_cast<float*>(a + plan.xb2);
  b.hb = reinterpret_cast<float*>(a + plan.hb);
  b.hb2 = reinterpret_cast<float*>(a + plan.hb2);
  b.q = reinterpret_cast<float*>(a + plan.q);
  b.att = reinterpret_cast<float*>(a + plan.att);
  b.logits = reinterpret_cast<float*>(a + plan.logits);
  if (options.kv_type == KvType::kInt8) {
    b.key_cache_q8 = reinterpret_cast<int8_t*>(a + plan.key_cache);
    b.value_cache_q8 = reinterpret_cast<int8_t*>(a + plan.value_cache);
    b.key_params = reinterpret_cast<uint16_t*>(a + plan.key_params);
    b.value_params = reinterpret_cast<uint16_t*>(a + plan.value_params);
    b.k_rows = reinterpret_cast<float*>(a + plan.k_rows);
    b.v_rows = reinterpret_cast<float*>(a + plan.v_rows);
  } else {
    b.key_cache = reinterpret_cast<float*>(a + plan.key_cache);
    b.value_cache = reinterpret_cast<float*>(a + plan.value_cache);
  }
  b.xq = reinterpret_cast<int8_t*>(a + plan.xq);
  b.xq_scales = reinterpret_cast<float*>(a + plan.xq_scales);
  b.xq_sums = reinterpret_cast<int32_t*>(a + plan.xq_sums);
  b.xq_stride = plan.xq_stride;
  b.xq_groups = plan.xq_groups;
  b.max_context = options.max_context;
  b.max_batch = options.prefill_chunk;
  sampler_scratch_ = reinterpret_cast<ProbIndex*>(a + plan.sampler);
  recent_ = RecentTokens(reinterpret_cast<int32_t*>(a + plan.recent_tokens), plan.recent_capacity);
  penalty_window_ = reinterpret_cast<int32_t*>(a + plan.penalty_window);
  text_ = reinterpret_cast<char*>(a + plan.text);
  context_tokens_ = reinterpret_cast<int32_t*>(a + plan.context_tokens);
  tokens_ = reinterpret_cast<int32_t*>(a + plan.tokens);
  transformer_ = Transformer(model, &model->kernels(), &pool_, b);
  return Status::Ok();
}

Session::~Session() = default;

Status Session::ChooseBackend(ModelBackends* backends) {
  backend_ = Backend::kCpu;
  notice_[0] = '\0';
  const Backend want = options_.backend;
  if (want == Backend::kCpu) return Status::Ok();
#if KITE_WITH_VULKAN
  // Why the Vulkan path cannot run, or Ok.
  Status why = Status::Ok();
  const VulkanModel* vm = nullptr;
  if (backends == nullptr) {
    why = Status::Make(Error::kUnsupported,
                       "Vulkan needs a model opened with its own storage (in-place models and "
                       "sessions run on the CPU)");
  } else {
    Result<const VulkanModel*> got = backends->Vulkan(*model_);
    if (got.ok()) {
      vm = got.value();
    } else {
      why = got.status();
    }
  }
  if (vm != nullptr) {
    Result<std::unique_ptr<VulkanForward>> made = VulkanForward::Create(
        *vm, options_.prefill_chunk < options_.max_context ? options_.prefill_chunk : options_.max_context,
        options_.max_context, options_.profile, options_.kv_type);
    if (made.ok()) {
      gpu_ = static_cast<std::unique_ptr<VulkanForward>&&>(made.value());
    } else {
      why = made.status();
    }
  }
  if (why.ok() && options_.profile && !gpu_->profiling()) {
    profile_status_ = Status::Make(Error::kUnsupported,
                                   "Vulkan device '%s' cannot time kernels (no timestamps on its "
                                   "compute queue)",
                                   vm->device_name());
  }
  if (want == Backend::kVulkan) {
    KITE_RETURN_IF_ERROR(why);
    backend_ = Backend::kVulkan;
    return Status::Ok();
  }
  // kAuto: the device must also pass the self-check, run once per model.
  if (why.ok() && backends->self_check() == 0) {
    // The model's first token (BOS when it has one) through both paths from position 0;
    // Reset() discards it (the KV cache is overwritten lazily).
    const int32_t bos = model_->tokenizer().view().bos_id;
    const int32_t token = bos >= 0 && static_cast<uint32_t>(bos) < model_->config().vocab_size ? bos : 0;
    const Status ran = gpu_->Forward(&token, 1, 0, true);
    char notice[Status::kMaxMessage];
    if (!ran.ok()) {
      std::snprintf(notice, sizeof(notice), "Vulkan self-check failed: %.170s", ran.message());
      backends->RecordSelfCheck(false, notice);
    } else {
      transformer_.Forward(&token, 1, 0, true);
      const uint32_t vocab = model_->config().vocab_size;
      const LogitsComparison c = CompareLogits(gpu_->logits(), buffers_.logits, vocab);
      if (c.agree) {
        backends->RecordSelfCheck(true, "");
      } else {
        std::snprintf(notice, sizeof(notice),
                      "Vulkan device '%s' failed the self-check (logit %u differs by %g, "
                      "allowed %g)",
                      vm->device_name(), c.worst_index, static_cast<double>(c.worst_diff),
                      static_cast<double>(c.tolerance));
        backends->RecordSelfCheck(false, notice);
      }
    }
  }
  if (why.ok() && backends->self_check() < 0) {
    why = Status::Make(Error::kUnsupported, "%s", backends->self_check_notice());
  }
  if (why.ok()) {
    backend_ = Backend::kVulkan;
    return Status::Ok();
  }
  gpu_.reset();
  std::snprintf(notice_, sizeof(notice_), "backend auto: running on the CPU (%.160s)", why.message());
  return Status::Ok();
#else
  (void)backends;
  KITE_CHECK_OR_RETURN(want != Backend::kVulkan, Error::kUnsupported,
                       "this build has no Vulkan backend (built with KITE_WITH_VULKAN=OFF)");
  std::snprintf(notice_, sizeof(notice_),
                "backend auto: running on the CPU (this build has no Vulkan backend)");
  return Status::Ok();
#endif
}

#if KITE_WITH_VULKAN
void Session::AddKernelTimes() {
  uint32_t n = 0;
  const VulkanKernelTime* last = gpu_->kernel_times(&n);
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t j = 0;
    while (j < n_kernel_times_ && std::strcmp(kernel_times_[j].name, last[i].name) != 0) ++j;
    if (j == n_kernel_times_) {
      if (n_kernel_times_ < kMaxKernelTimes) {
        kernel_times_[n_kernel_times_++].name = last[i].name;
      } else {
        j = kMaxKernelTimes - 1;
      }
    }
    kernel_times_[j].calls += last[i].calls;
    kernel_times_[j].ms += last[i].ms;
  }
}
#endif

Status Session::kernel_times(const KernelTime** times, uint32_t* count) const {
  *times = kernel_times_;
  *count = n_kernel_times_;
  return profile_status_;
}

Status Session::RunForward(const int32_t* tokens, uint32_t n, uint32_t pos, bool want_logits) {
#if KITE_WITH_VULKAN
  if (gpu_ != nullptr) {
    KITE_RETURN_IF_ERROR(gpu_->Forward(tokens, n, pos, want_logits));
    if (options_.profile) AddKernelTimes();
    if (want_logits) {
      std::memcpy(buffers_.logits, gpu_->logits(), model_->config().vocab_size * sizeof(float));
    }
    return Status::Ok();
  }
#endif
  transformer_.Forward(tokens, n, pos, want_logits);
  return Status::Ok();
}

uint8_t* Session::TakePlannedBuffers(const MemoryPlan& plan) {
  // CheckArena (caller memory) or Arena::Allocate (heap) made room for the whole plan.
  return static_cast<uint8_t*>(arena_.Take(plan.total_bytes, kSessionArenaAlignment));
}

void Session::Reset() {
  pos_ = 0;
  n_kernel_times_ = 0;
  for (KernelTime& t : kernel_times_) t = KernelTime();
  last_token_ = -1;
  logits_valid_ = false;
  recent_.Clear();
  cancel_.store(false, std::memory_order_release);
}

Status Session::ShiftContext() {
  const uint32_t keep = options_.n_keep;  // n_keep + 2 <= max_context (PlanSessionMemory)
  const uint32_t drop = (pos_ - keep) / 2;
  const uint32_t end = pos_ - drop;
  std::memmove(context_tokens_ + keep, context_tokens_ + keep + drop,
               (end - keep) * sizeof(int32_t));
  // The kept prefix's rows are unchanged (same tokens, same positions); the moved tokens
  // are fed again from position keep, in prefill chunks.
  for (uint32_t p = keep; p < end;) {
    const uint32_t chunk = end - p < options_.prefill_chunk ? end - p : options_.prefill_chunk;
    const Status ran = RunForward(context_tokens_ + p, chunk, p, false);
    if (!ran.ok()) {
      pos_ = keep;
      return ran;
    }
    p += chunk;
  }
  pos_ = end;
  recent_.Clear();
  recent_.Push(context_tokens_, pos_);
  return Status::Ok();
}

namespace {
Status Cancelled() {
  return Status::Make(Error::kCancelled, "cancelled by kite_session_cancel");
}
}  // namespace

Status Session::Feed(const int32_t* tokens, size_t n, bool want_logits) {
  const uint32_t vocab = model_->config().vocab_size;
  KITE_CHECK_OR_RETURN(n <= options_.max_context - pos_, Error::kContextFull,
                       "%zu tokens do not fit: %u of the context's %u positions are free", n,
                       options_.max_context - pos_, options_.max_context);
  for (size_t i = 0; i < n; ++i) {
    KITE_CHECK_OR_RETURN(tokens[i] >= 0 && static_cast<uint32_t>(tokens[i]) < vocab,
                         Error::kInvalidArgument, "token %d at index %zu is out of range [0, %u)",
                         tokens[i], i, vocab);
  }
  if (TakeCancel()) return Cancelled();
  // The prompt runs in chunks of prefill_chunk tokens, each as matrix products. A cancel
  // between chunks rolls the context back: later positions are overwritten lazily and
  // only the last chunk writes the logits, so the state before the call is intact.
  const uint32_t start = pos_;
  for (size_t i = 0; i < n;) {
    if (i > 0 && TakeCancel()) {
      pos_ = start;
      return Cancelled();
    }
    const uint32_t chunk = static_cast<uint32_t>(
        n - i < options_.prefill_chunk ? n - i : options_.prefill_chunk);
    const Status ran = RunForward(tokens + i, chunk, pos_, want_logits && i + chunk == n);
    if (!ran.ok()) {
      pos_ = start;
      logits_valid_ = false;
      return ran;
    }
    pos_ += chunk;
    i += chunk;
  }
  if (n > 0) {
    std::memcpy(context_tokens_ + start, tokens, n * sizeof(int32_t));
    last_token_ = tokens[n - 1];
    logits_valid_ = want_logits;
    recent_.Push(tokens, n);
  }
  return Status::Ok();
}

Status Session::Generate(const char* prompt, size_t prompt_len, const GenerateParams& params,
                         TokenCallback callback, void* user, GenerateStats* stats) {
  KITE_RETURN_IF_ERROR(ValidateSamplerParams(params.sampler, model_->config().vocab_size));
  KITE_RETURN_IF_ERROR(TextStream::ValidateStopStrings(params.stop, params.n_stop));
  KITE_CHECK_OR_RETURN(prompt != nullptr || prompt_len == 0, Error::kInvalidArgument,
                       "prompt is null");
  const uint64_t start = NowNanoseconds();
  GenerateStats st;

  const Tokenizer& tok = model_->tokenizer();
  KITE_CHECK_OR_RETURN(tok.view().kind != TokenizerType::NONE, Error::kUnsupported,
                       "the model file has no tokenizer");
  size_t n_prompt = 0;
  // BOS starts the context only for models whose tokenizer uses it (GPT-2 style ones do not).
  Status enc = tok.Encode(prompt, prompt_len, params.add_bos && tok.view().add_bos && pos_ == 0,
                          tokens_, plan_.token_capacity, &n_prompt);
  if (enc.code() == Error::kOutOfMemory) {
    return Status::Make(Error::kContextFull,
                        "prompt is too long: %zu bytes cannot fit this session's context of %u "
                        "tokens (raise max_context)",
                        prompt_len, options_.max_context);
  }
  KITE_RETURN_IF_ERROR(enc);
  KITE_CHECK_OR_RETURN(n_prompt > 0 || pos_ > 0, Error::kInvalidArgument,
                       "the prompt is empty and BOS is off: there is nothing to start from");
  KITE_CHECK_OR_RETURN(n_prompt <= options_.max_context - pos_, Error::kContextFull,
                       "prompt is %zu tokens but only %u of the context's %u positions are free",
                       n_prompt, options_.max_context - pos_, options_.max_context);
  const Status fed = Feed(tokens_, n_prompt, true);
  if (fed.code() == Error::kCancelled) {
    st.stop_reason = StopReason::kCancelled;
    st.prefill_ns = NowNanoseconds() - start;
    if (stats != nullptr) *stats = st;
  }
  KITE_RETURN_IF_ERROR(fed);
  st.prompt_tokens = static_cast<uint32_t>(n_prompt);
  const uint64_t prefill_end = NowNanoseconds();
  st.prefill_ns = prefill_end - start;

  Sampler sampler(params.sampler, model_->config().vocab_size, sampler_scratch_,
                  penalty_window_);
  TextStream text(text_, plan_.text_capacity, params.stop, params.n_stop, params.raw_pieces);
  char byte_buf[2];
  st.stop_reason = StopReason::kMaxTokens;
  while (st.generated_tokens < params.max_tokens) {
    if (TakeCancel()) {
      st.stop_reason = StopReason::kCancelled;
      break;
    }
    const int32_t next = sampler.Sample(buffers_.logits, &recent_);
    if (tok.IsStop(next)) {
      st.stop_reason = StopReason::kStopToken;
      break;
    }
    bool stop_string = false;
    const char* shown = text.Push(tok.Piece(last_token_, next, byte_buf), &stop_string);
    ++st.generated_tokens;
    if (st.generated_tokens == 1) st.first_token_ns = NowNanoseconds() - start;
    const bool go_on = callback == nullptr || callback(shown, next, user);
    // A cancel from the callback (or from another thread meanwhile) stops this call.
    const bool cancelled = TakeCancel();
    if (pos_ >= options_.max_context && options_.context_shift) {
      const Status shifted = ShiftContext();
      if (!shifted.ok()) {
        // As below: the token was handed out but is not in the context.
        logits_valid_ = false;
        return shifted;
      }
    }
    if (pos_ >= options_.max_context) {
      last_token_ = next;
      st.stop_reason = cancelled     ? StopReason::kCancelled
                       : stop_string ? StopReason::kStopString
                                     : StopReason::kContextFull;
      break;
    }
    // Feed the token even when stopping, so the context matches what the caller saw, and
    // predict after it even then (one classifier product per call), so that logits() and
    // a continuing Generate() start from the context's real last token.
    const Status ran = RunForward(&next, 1, pos_, true);
    if (!ran.ok()) {
      // The token was handed out but is not in the context; the device is unusable.
      logits_valid_ = false;
      return ran;
    }
    context_tokens_[pos_++] = next;
    last_token_ = next;
    recent_.Push(&next, 1);
    if (cancelled) {
      st.stop_reason = StopReason::kCancelled;
      break;
    }
    if (stop_string) {
      st.stop_reason = StopReason::kStopString;
      break;
    }
    if (!go_on) {
      st.stop_reason = StopReason::kCallback;
      break;
    }
  }
  // Text held back for a stop string that never came, or a character left incomplete.
  if (st.stop_reason != StopReason::kStopString && callback != nullptr) {
    const char* rest = text.Flush();
    if (rest[0] != '\0') callback(rest, -1, user);
  }
  st.decode_ns = NowNanoseconds() - prefill_end;
  if (stats != nullptr) *stats = st;
  return st.stop_reason == StopReason::kCancelled ? Cancelled() : Status::Ok();
}

}  // namespace kite
