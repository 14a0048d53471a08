// A generation session: one KV cache and one arena over a shared, immutable Model.
// After Create() nothing on the generate path allocates.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "platform/thread_pool.h"
#include "sdk/kernels/dispatch.h"
#include "sdk/base/arena.h"
#include "sdk/runtime/memory_plan.h"
#include "sdk/runtime/loader/model.h"
#include "sdk/runtime/sampler.h"
#include "sdk/base/status.h"
#include "sdk/runtime/text_stream.h"
#include "sdk/runtime/transformer.h"

namespace kite {

class ModelBackends;
#if KITE_WITH_VULKAN
class VulkanForward;
#endif

/// Parameters of one Generate() call.
struct GenerateParams {
  uint32_t max_tokens = 256;  ///< most tokens to generate (0: only process the prompt)
  SamplerParams sampler;
  bool add_bos = true;  ///< start the prompt with BOS (only when the session is empty)
  /// Stop strings: `n_stop` NUL-terminated UTF-8 strings (borrowed for the call), at most
  /// kMaxStopStrings, each 1..kMaxStopStringBytes bytes. Generation stops (kStopString)
  /// once the text contains one; it is never passed to the callback (see TextStream).
  const char* const* stop = nullptr;
  size_t n_stop = 0;
  /// False: the callback gets whole UTF-8 characters (TextStream). True: each token's own
  /// piece, bytes as they are (held back only for stop strings).
  bool raw_pieces = false;
};

/// Why generation ended. kite_stop_reason in kite.h mirrors it (checked in
/// sdk/runtime/c_api_mirror.cc).
enum class StopReason : int32_t {
  kMaxTokens = 0,   ///< max_tokens were generated
  kStopToken = 1,   ///< the model produced an end token (not passed to the callback)
  kCallback = 2,    ///< the callback asked to stop
  kContextFull = 3, ///< the context window is full
  kCancelled = 4,   ///< Cancel() was called
  kStopString = 5,  ///< the text reached a stop string (GenerateParams::stop)
};

/// Figures of one Generate() call. Times in nanoseconds.
struct GenerateStats {
  uint32_t prompt_tokens = 0;
  uint32_t generated_tokens = 0;
  uint64_t prefill_ns = 0;  ///< processing the prompt
  uint64_t decode_ns = 0;   ///< from the first sampled token to the end
  uint64_t first_token_ns = 0;  ///< from the call to the first token handed to the callback
  StopReason stop_reason = StopReason::kMaxTokens;
};

/// Called for each generated token with its id and the text it completes (see
/// GenerateParams::raw_pieces and TextStream: maybe "" while text is held back), and once
/// more with token -1 when the call ends with text still held back (its return value is
/// then ignored). Return true to continue, false to stop. Runs on the generating thread.
using TokenCallback = bool (*)(const char* piece, int32_t token, void* user);

/// GPU time of one kernel, summed over its dispatches (Session::kernel_times).
struct KernelTime {
  const char* name = "";  ///< the shader's name (static storage)
  uint32_t calls = 0;     ///< dispatches
  double ms = 0.0;        ///< summed GPU time
};

/// Most distinct kernels Session::kernel_times keeps (more are summed under the last).
inline constexpr uint32_t kMaxKernelTimes = 32;

/// A session. Not thread-safe except Cancel(); use one per thread. The Model must outlive it.
class Session {
 public:
  /// Plans memory for `options` and binds the arena. With `arena` == nullptr the session
  /// allocates (and owns) one arena of plan.total_bytes; otherwise `arena` (64-byte
  /// aligned, at least PlanSessionMemory().total_bytes, owned by the caller and outliving
  /// the session) is used and nothing is allocated but the session object.
  ///
  /// options.backend: kCpu runs the CPU kernels. kVulkan runs the forward pass on the
  /// model's Vulkan device (`backends` holds the model's weights there, made by the first
  /// session that asks); without a usable device it fails with the device's reason. kAuto
  /// takes the Vulkan device only when it is a GPU (or a CPU device allowed by
  /// KITE_VULKAN_ALLOW_CPU=1) and passes a self-check (one token through both paths, the
  /// logits compared), else runs on the CPU and says why in backend_notice(). A null
  /// `backends` means no Vulkan for this session.
  static Result<std::unique_ptr<Session>> Create(const Model* model, const SessionOptions& options,
                                                 void* arena, size_t arena_size,
                                                 ModelBackends* backends = nullptr);

  /// Bytes of caller storage CreateInPlace needs for the session object (the arena is
  /// separate). Fixed for a build.
  static size_t StorageBytes();
  /// Alignment CreateInPlace requires of its storage.
  static constexpr size_t kStorageAlignment = 16;

  /// Like Create with a caller arena (required here), but the session object is built in
  /// `storage` (at least StorageBytes() bytes, kStorageAlignment-aligned, owned by the
  /// caller and kept until DestroyInPlace): nothing is allocated. In-place sessions run on
  /// the CPU: kVulkan fails with kUnsupported, kAuto runs on the CPU with a notice.
  static Result<Session*> CreateInPlace(const Model* model, const SessionOptions& options,
                                        void* arena, size_t arena_size, void* storage,
                                        size_t storage_size);
  /// Ends a session made by CreateInPlace (null is ignored). Frees nothing.
  static void DestroyInPlace(Session* session);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Appends `n` tokens to the context (prefill); when `want_logits`, logits() then holds
  /// the prediction after the last one. Fails without changing state when a token is out
  /// of range or the tokens do not fit the remaining context. Honours Cancel() (see
  /// there): a cancelled Feed returns kCancelled and leaves the context as it was.
  Status Feed(const int32_t* tokens, size_t n, bool want_logits);

  /// Encodes `prompt`, feeds it and generates up to params.max_tokens tokens, calling
  /// `callback` (may be null) for each (see TokenCallback). Invalid params fail with
  /// kInvalidArgument naming the field, before anything changes. Continues the existing context; Reset() starts
  /// over. A prompt that does not fit the free context fails with kContextFull and changes
  /// nothing. `stats` may be null; it is filled on success and on kCancelled.
  Status Generate(const char* prompt, size_t prompt_len, const GenerateParams& params,
                  TokenCallback callback, void* user, GenerateStats* stats);

  /// Empties the context (the KV cache is overwritten lazily), drops the logits and
  /// withdraws a pending Cancel().
  void Reset();
  /// Cancels the running Feed()/Generate(), or, when none runs, the next one. Thread-safe.
  /// The call checks after validating its arguments (a call failing on them leaves the
  /// cancel pending), before each prefill chunk and after each generated token; the first
  /// call that sees the cancel consumes it and returns kCancelled. An interrupted prefill
  /// is rolled back; tokens already generated (and handed to the callback) stay in the
  /// context.
  void Cancel() { cancel_.store(true, std::memory_order_release); }

  /// Next-token logits (vocab_size floats): the prediction after the context's last
  /// token. Null when there is none: on a fresh or reset session until a Feed or
  /// Generate completes.
  const float* logits() const { return logits_valid_ ? buffers_.logits : nullptr; }
  /// Tokens currently in the context.
  uint32_t position() const { return pos_; }
  const MemoryPlan& plan() const { return plan_; }
  /// Where the forward pass runs: kCpu or kVulkan (kAuto resolved at creation).
  Backend backend() const { return backend_; }
  /// Per-kernel GPU times summed over every forward step since creation or Reset(), in the
  /// order kernels first ran (*times: *count entries, valid until the next call). None on
  /// the CPU or without options.profile. kUnsupported when the device cannot time kernels.
  Status kernel_times(const KernelTime** times, uint32_t* count) const;
  /// Why options.backend = kAuto chose the CPU (one line, e.g. "no suitable Vulkan device:
  /// ..."); "" otherwise.
  const char* backend_notice() const { return notice_; }
  const SessionOptions& options() const { return options_; }
  const Model& model() const { return *model_; }
  /// The context's token ids: position() of them, valid until the next call that changes
  /// the context.
  const int32_t* context_tokens() const { return context_tokens_; }

  /// Bytes SaveState() writes for the session as it is now (they grow with position()).
  size_t StateBytes() const;
  /// Writes the session's state (see docs/c-api.md "Session state": the model's
  /// fingerprint, the options that shape the KV cache, the context's ids, its KV rows, the
  /// last token and the logits, under a CRC-32C) to `buffer` and sets *written to its size.
  /// A `capacity` below StateBytes() fails with kOutOfMemory (*written = the size needed).
  /// A Vulkan session reads its KV rows back from the device (the same format: a state
  /// restores on either backend); a device failure is returned.
  Status SaveState(void* buffer, size_t capacity, size_t* written) const;
  /// Replaces the session's context with a state SaveState() wrote. Everything is checked
  /// before the session changes: a state of another model or other max_context / kv_type,
  /// truncated or corrupted, fails with kInvalidArgument naming what differs, and leaves
  /// the session as it was. Withdraws a pending Cancel(). A Vulkan session writes the KV
  /// rows to the device; a device failure there leaves the session reset and unusable.
  Status RestoreState(const void* buffer, size_t size);

  /// Scratch for encoding prompts: plan().token_capacity ids.
  int32_t* token_scratch() { return tokens_; }

 private:
  Session() = default;
  // Binds a fresh session to `model` and the planned `arena` (already checked).
  Status Bind(const Model* model, const SessionOptions& options, const MemoryPlan& plan,
              uint8_t* arena);
  // Resolves options_.backend: makes gpu_ for kVulkan (or kAuto when the device qualifies
  // and passes the self-check), else leaves the CPU path with notice_ set.
  Status ChooseBackend(ModelBackends* backends);
  // One forward step on the session's backend (logits, when wanted, land in
  // buffers_.logits). Only the Vulkan path can fail (a lost device).
  Status RunForward(const int32_t* tokens, uint32_t n, uint32_t pos, bool want_logits);
#if KITE_WITH_VULKAN
  // Adds the last Vulkan forward step's kernel times to kernel_times_.
  void AddKernelTimes();
#endif
  // Copies a state's payload (session_state.cc) for a context of `pos` tokens between the
  // session and `payload`: into it when `save`, else from it (the memory the session's
  // buffers point at, and a Vulkan session's KV cache on the device). Returns a device
  // failure.
  Status CopyStatePayload(uint8_t* payload, uint32_t pos, bool with_logits, bool save) const;
  // Context shift (options_.context_shift, on a full context): keeps the first n_keep
  // tokens, drops the older half of the rest and recomputes the K/V rows of the tokens that
  // moved, at their new positions (exactly what a fresh session fed the kept ids holds).
  // Only the Vulkan path can fail (the context is then the kept tokens alone).
  Status ShiftContext();
  // Checks a caller arena against `plan`.
  static Status CheckArena(const MemoryPlan& plan, const void* arena, size_t arena_size);

  const Model* model_ = nullptr;
  SessionOptions options_;
  MemoryPlan plan_;
  // Every planned buffer: caller memory (borrowed) or one heap block the session owns.
  Arena arena_;
  // The arena's bytes for `plan` (the arena was sized or checked for it).
  uint8_t* TakePlannedBuffers(const MemoryPlan& plan);
  ForwardBuffers buffers_{};
  ThreadPool pool_;
  Transformer transformer_;
  ProbIndex* sampler_scratch_ = nullptr;
  int32_t* tokens_ = nullptr;
  // The context's last tokens (for the penalties) and the sampler's window scratch.
  RecentTokens recent_;
  int32_t* penalty_window_ = nullptr;
  // The context's ids: context_tokens_[0..pos_) (plan_.context_tokens).
  int32_t* context_tokens_ = nullptr;
  // TextStream's buffer (plan_.text_capacity bytes).
  char* text_ = nullptr;
  // Consumes a pending Cancel(): true when there was one.
  bool TakeCancel() {
    return cancel_.load(std::memory_order_relaxed) &&
           cancel_.exchange(false, std::memory_order_acq_rel);
  }

  Backend backend_ = Backend::kCpu;
  char notice_[Status::kMaxMessage] = {};
#if KITE_WITH_VULKAN
  std::unique_ptr<VulkanForward> gpu_;
#endif
  KernelTime kernel_times_[kMaxKernelTimes];
  uint32_t n_kernel_times_ = 0;
  Status profile_status_;  // why kernel times are missing (a device without timestamps)

  uint32_t pos_ = 0;
  int32_t last_token_ = -1;
  bool logits_valid_ = false;  // buffers_.logits holds the prediction after the context
  std::atomic<bool> cancel_{false};
};

}  // namespace kite
