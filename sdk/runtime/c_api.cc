// The C API (sdk/include/kite/kite.h) over the C++ runtime.
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include "kite/kite.h"
#include "platform/file_map.h"
#include "sdk/base/arena.h"
#include "sdk/runtime/c_api_mirror.h"
#include "sdk/runtime/chat.h"
#include "sdk/runtime/loader/model.h"
#include "sdk/runtime/model_backends.h"
#include "sdk/runtime/session.h"

#if defined(KITE_SINGLE_THREADED)
#define KITE_THREAD_LOCAL
#else
#define KITE_THREAD_LOCAL thread_local
#endif

// Handles own their object, unless it was built in caller storage (in_place): then closing
// only ends the objects' lifetimes and the storage returns to the caller.
struct kite_model {
  kite::Model* model = nullptr;
  // The model's compute-backend state (its weights on a Vulkan device), shared by its
  // sessions; null for an in-place model (its sessions run on the CPU).
  kite::ModelBackends* backends = nullptr;
  bool in_place = false;
};

struct kite_session {
  kite::Session* session = nullptr;
  bool in_place = false;
  // Written by every status-returning call on the session (kite_session_logits included,
  // hence mutable).
  mutable char last_error[kite::Status::kMaxMessage];
};

namespace {

KITE_THREAD_LOCAL char g_last_error[kite::Status::kMaxMessage];

// Caller storage for in-place objects starts with the C handle, then the C++ object.
template <typename Handle>
constexpr size_t HandleBytes() {
  return (sizeof(Handle) + 15) / 16 * 16;
}
static_assert(kite::Model::kStorageAlignment == 16 && kite::Session::kStorageAlignment == 16,
              "HandleBytes keeps the C++ object 16-byte aligned");

// Caller storage of an in-place object, split by one arena: the C handle's bytes first
// (*handle_bytes), the rest for the C++ object (*rest, *rest_size). `what` names the
// storage in errors (null, misaligned, too small for the handle).
template <typename Handle>
kite::Status SplitStorage(void* storage, size_t storage_size, const char* what,
                          void** handle_bytes, void** rest, size_t* rest_size) {
  KITE_ASSIGN_OR_RETURN(kite::Arena arena, kite::Arena::Borrow(storage, storage_size, 16, what));
  *handle_bytes = arena.Take(HandleBytes<Handle>(), 16);
  KITE_CHECK_OR_RETURN(*handle_bytes != nullptr, kite::Error::kOutOfMemory,
                       "%s is %zu bytes, too small for the handle alone", what, storage_size);
  *rest = arena.data() + arena.used();
  *rest_size = arena.size() - arena.used();
  return kite::Status::Ok();
}

void CopyMessage(char* dst, const char* src) {
  std::snprintf(dst, kite::Status::kMaxMessage, "%s", src);
}

// The error rule of kite.h: every function that returns a kite_status ends by reporting
// its outcome here. The message ("" on success) becomes the calling thread's last error
// and, for a call on a session, the session's too.
kite_status Record(const kite_session* session, const kite::Status& s) {
  CopyMessage(g_last_error, s.message());
  if (session != nullptr) CopyMessage(session->last_error, s.message());
  return kite::capi::ToCStatus(s.code());
}

kite_status Fail(const kite::Status& s) { return Record(nullptr, s); }

kite_status Fail(kite::Error code, const char* message) {
  return Fail(kite::Status::Make(code, "%s", message));
}

// Success of a call (on `session` when not null).
kite_status Succeed(const kite_session* session = nullptr) {
  g_last_error[0] = '\0';
  if (session != nullptr) session->last_error[0] = '\0';
  return KITE_OK;
}

// The struct_size rule of kite.h: the sizes this library knows for a versioned struct.
// Every struct but kite_session_options is at its first published version, whose size is
// sizeof; a struct at a later version also accepts the older sizes and defaults the fields
// beyond them (SessionOptionsFrom).
template <typename T>
kite::Status CheckStructSize(const T& t, const char* name, const char* how) {
  KITE_CHECK_OR_RETURN(t.struct_size == sizeof(T), kite::Error::kInvalidArgument,
                       "%s.struct_size is %u, a size this library does not know (it knows %zu; "
                       "%s)",
                       name, t.struct_size, sizeof(T), how);
  return kite::Status::Ok();
}

kite::Status ModelOptionsFrom(const kite_model_options* o, kite::ModelOptions* m) {
  const char* isa = nullptr;
  if (o != nullptr) {
    KITE_RETURN_IF_ERROR(
        CheckStructSize(*o, "kite_model_options", "call kite_model_options_init"));
    m->verify_checksums = o->verify_checksums != 0;
    isa = o->max_isa;
  }
  bool valid = true;
  m->max_isa = isa != nullptr ? kite::kernels::ParseIsa(isa, &valid) : kite::kernels::MaxIsaFromEnvironment(&valid);
  KITE_CHECK_OR_RETURN(valid, kite::Error::kInvalidArgument,
                       "instruction set '%s' is unknown (use scalar, avx2, avxvnni, avx512vnni, neon, "
                       "neondot, i8mm or best)",
                       isa != nullptr ? isa : "(KITE_ISA)");
  return kite::Status::Ok();
}

kite_status OpenWith(kite::Result<kite::FileMap> bytes, const kite::ModelOptions& model_options,
                     kite_model** out) {
  if (!bytes.ok()) return Fail(bytes.status());
  auto model = kite::Model::Open(static_cast<kite::FileMap&&>(bytes.value()), model_options);
  if (!model.ok()) return Fail(model.status());
  std::unique_ptr<kite::ModelBackends> backends(new (std::nothrow) kite::ModelBackends());
  kite_model* handle = backends != nullptr ? new (std::nothrow) kite_model() : nullptr;
  if (handle == nullptr) return Fail(kite::Error::kOutOfMemory, "cannot allocate the model handle");
  handle->model = model.value().release();
  handle->backends = backends.release();
  *out = handle;
  return Succeed();
}

// kite_session_options version 1 ended before kv_type, version 2 before backend, version 3
// before context_shift (the struct_size rule in kite.h).
constexpr size_t kSessionOptionsV1Size = offsetof(kite_session_options, kv_type);
constexpr size_t kSessionOptionsV2Size = offsetof(kite_session_options, backend);
constexpr size_t kSessionOptionsV3Size = offsetof(kite_session_options, context_shift);

kite::Status SessionOptionsFrom(const kite_session_options* o, kite::SessionOptions* out) {
  if (o == nullptr) return kite::Status::Ok();
  if (o->struct_size != kSessionOptionsV1Size && o->struct_size != kSessionOptionsV2Size &&
      o->struct_size != kSessionOptionsV3Size) {
    KITE_RETURN_IF_ERROR(
        CheckStructSize(*o, "kite_session_options", "call kite_session_options_init"));
  }
  out->max_context = o->max_context;
  out->threads = o->threads;
  out->prefill_chunk = o->prefill_chunk;
  // kv_type and backend are checked by PlanSessionMemory, which names them.
  if (o->struct_size > kSessionOptionsV1Size) out->kv_type = static_cast<kite::KvType>(o->kv_type);
  if (o->struct_size > kSessionOptionsV2Size) {
    out->backend = static_cast<kite::Backend>(o->backend);
    out->profile = o->profile != 0;
  }
  if (o->struct_size > kSessionOptionsV3Size) {
    out->context_shift = o->context_shift != 0;
    out->n_keep = o->n_keep;
  }
  return kite::Status::Ok();
}

}  // namespace

extern "C" {

#define KITE_STRINGIFY2(x) #x
#define KITE_STRINGIFY(x) KITE_STRINGIFY2(x)

const char* kite_version(void) {
  return KITE_STRINGIFY(KITE_VERSION_MAJOR) "." KITE_STRINGIFY(KITE_VERSION_MINOR) "." KITE_STRINGIFY(
      KITE_VERSION_PATCH);
}

const char* kite_status_string(kite_status status) {
  // C callers may pass any int. In C++ a kite_status holding a value outside its
  // enumerators' range must not be loaded as the enum (undefined; clang's UBSan flags -2,
  // found by c_api_fuzz): read the bits as the underlying integer type they are (int on
  // Linux; smaller where enums are short, as on arm-none-eabi).
  std::underlying_type_t<kite_status> code;
  std::memcpy(&code, &status, sizeof(code));
  const long value = static_cast<long>(code);
  if (value < KITE_OK || value > KITE_ERR_INTERNAL) return "unknown error";
  return kite::ErrorName(kite::capi::FromCStatus(static_cast<kite_status>(code)));
}

const char* kite_last_error(void) { return g_last_error; }

void kite_model_options_init(kite_model_options* options) {
  if (options == nullptr) return;
  std::memset(options, 0, sizeof(*options));
  options->struct_size = sizeof(*options);
}

kite_status kite_model_open_file(const char* path, const kite_model_options* options,
                                 kite_model** model) {
  if (model == nullptr) return Fail(kite::Error::kInvalidArgument, "model output pointer is null");
  *model = nullptr;
  if (path == nullptr) return Fail(kite::Error::kInvalidArgument, "model path is null");
  kite::ModelOptions model_options;
  kite::Status s = ModelOptionsFrom(options, &model_options);
  if (!s.ok()) return Fail(s);
  const bool huge = options != nullptr && options->huge_pages != 0;
  return OpenWith(huge ? kite::FileMap::ReadPathToHugePages(path) : kite::FileMap::OpenPath(path),
                  model_options, model);
}

kite_status kite_model_open_fd(int fd, const kite_model_options* options, kite_model** model) {
  if (model == nullptr) return Fail(kite::Error::kInvalidArgument, "model output pointer is null");
  *model = nullptr;
  kite::ModelOptions model_options;
  kite::Status s = ModelOptionsFrom(options, &model_options);
  if (!s.ok()) return Fail(s);
  return OpenWith(kite::FileMap::OpenFd(fd), model_options, model);
}

kite_status kite_model_open_memory(const void* data, size_t size, const kite_model_options* options,
                                   kite_model** model) {
  if (model == nullptr) return Fail(kite::Error::kInvalidArgument, "model output pointer is null");
  *model = nullptr;
  if (data == nullptr) return Fail(kite::Error::kInvalidArgument, "model data pointer is null");
  kite::ModelOptions model_options;
  kite::Status s = ModelOptionsFrom(options, &model_options);
  if (!s.ok()) return Fail(s);
  return OpenWith(kite::FileMap::Borrow(data, size), model_options, model);
}

kite_status kite_model_storage_required(const void* data, size_t size, size_t* bytes) {
  if (bytes == nullptr) return Fail(kite::Error::kInvalidArgument, "bytes is null");
  auto needed = kite::Model::StorageBytesFor(data, size);
  if (!needed.ok()) return Fail(needed.status());
  *bytes = HandleBytes<kite_model>() + needed.value();
  return Succeed();
}

kite_status kite_model_open_memory_in(const void* data, size_t size, const kite_model_options* options,
                                      void* storage, size_t storage_size, kite_model** model) {
  if (model == nullptr) return Fail(kite::Error::kInvalidArgument, "model output pointer is null");
  *model = nullptr;
  if (data == nullptr) return Fail(kite::Error::kInvalidArgument, "model data pointer is null");
  void* handle_bytes = nullptr;
  void* rest = nullptr;
  size_t rest_size = 0;
  kite::Status s = SplitStorage<kite_model>(storage, storage_size, "model storage", &handle_bytes,
                                            &rest, &rest_size);
  if (!s.ok()) return Fail(s);
  kite::ModelOptions model_options;
  s = ModelOptionsFrom(options, &model_options);
  if (!s.ok()) return Fail(s);
  auto opened = kite::Model::OpenInPlace(kite::FileMap::Borrow(data, size), model_options, rest,
                                         rest_size);
  if (!opened.ok()) {
    if (opened.status().code() != kite::Error::kOutOfMemory) return Fail(opened.status());
    size_t needed = 0;
    if (kite_model_storage_required(data, size, &needed) != KITE_OK) return Fail(opened.status());
    return Fail(kite::Status::Make(kite::Error::kOutOfMemory,
                                   "model storage is %zu bytes but this model needs %zu",
                                   storage_size, needed));
  }
  kite_model* handle = new (handle_bytes) kite_model();
  handle->model = opened.value();
  handle->in_place = true;
  *model = handle;
  return Succeed();
}

void kite_model_close(kite_model* model) {
  if (model == nullptr) return;
  if (model->in_place) {
    kite::Model::DestroyInPlace(model->model);
    model->~kite_model();
  } else {
    delete model->backends;  // before the model its weights were uploaded from
    delete model->model;
    delete model;
  }
}

kite_status kite_model_get_info(const kite_model* model, kite_model_info* info) {
  if (model == nullptr || info == nullptr) return Fail(kite::Error::kInvalidArgument, "model or info is null");
  kite::Status checked =
      CheckStructSize(*info, "kite_model_info", "set it to sizeof(kite_model_info)");
  if (!checked.ok()) return Fail(checked);
  const kite::ModelConfig& c = model->model->config();
  const kite::TokenizerView& t = model->model->tokenizer().view();
  info->dim = c.dim;
  info->hidden_dim = c.hidden_dim;
  info->n_layers = c.n_layers;
  info->n_heads = c.n_heads;
  info->n_kv_heads = c.n_kv_heads;
  info->head_dim = c.head_dim;
  info->vocab_size = c.vocab_size;
  info->max_seq_len = c.max_seq_len;
  info->bos_id = t.bos_id;
  info->eos_id = t.eos_id;
  info->file_bytes = model->model->bytes().size();
  return Succeed();
}

kite_status kite_tokenize(const kite_model* model, const char* text, size_t len, int32_t add_bos,
                          int32_t* tokens, size_t capacity, size_t* n_tokens) {
  if (model == nullptr || n_tokens == nullptr || (text == nullptr && len > 0) ||
      (tokens == nullptr && capacity > 0)) {
    return Fail(kite::Error::kInvalidArgument, "kite_tokenize: null argument");
  }
  const kite::Tokenizer& tok = model->model->tokenizer();
  if (tok.view().kind == kite::TokenizerType::NONE) {
    return Fail(kite::Error::kUnsupported, "the model file has no tokenizer");
  }
  kite::Status s = tok.Encode(text, len, add_bos != 0, tokens, capacity, n_tokens);
  return Record(nullptr, s);
}

kite_status kite_detokenize(const kite_model* model, const int32_t* tokens, size_t n, char* text,
                            size_t capacity, size_t* len) {
  if (model == nullptr || len == nullptr || (tokens == nullptr && n > 0) || text == nullptr) {
    return Fail(kite::Error::kInvalidArgument, "kite_detokenize: null argument");
  }
  kite::Status s = model->model->tokenizer().Decode(tokens, n, text, capacity, len);
  return Record(nullptr, s);
}

kite_chat_format_id kite_model_chat_format(const kite_model* model) {
  if (model == nullptr) return KITE_CHAT_FORMAT_NONE;
  return kite::capi::ToCChatFormat(model->model->chat_style().format);
}

kite_status kite_chat_format(const kite_model* model, const kite_chat_message* messages, size_t n,
                             int32_t add_generation_prompt, char* buf, size_t capacity,
                             size_t* len) {
  if (model == nullptr || len == nullptr || (messages == nullptr && n > 0) ||
      (buf == nullptr && capacity > 0)) {
    return Fail(kite::Error::kInvalidArgument, "kite_chat_format: null argument");
  }
  static_assert(sizeof(kite_chat_message) == sizeof(kite::ChatMessage),
                "kite_chat_message and kite::ChatMessage must match");
  kite::Status s = kite::FormatChat(model->model->chat_style(),
                                    reinterpret_cast<const kite::ChatMessage*>(messages), n,
                                    add_generation_prompt != 0, buf, capacity, len);
  return Record(nullptr, s);
}

kite_status kite_tokenize_special(const kite_model* model, const char* text, size_t len,
                                  int32_t add_bos, int32_t* tokens, size_t capacity,
                                  size_t* n_tokens) {
  if (model == nullptr || n_tokens == nullptr || (text == nullptr && len > 0) ||
      (tokens == nullptr && capacity > 0)) {
    return Fail(kite::Error::kInvalidArgument, "kite_tokenize_special: null argument");
  }
  const kite::Tokenizer& tok = model->model->tokenizer();
  if (tok.view().kind == kite::TokenizerType::NONE) {
    return Fail(kite::Error::kUnsupported, "the model file has no tokenizer");
  }
  // BOS only for models whose prompts start with it (as sessions do).
  kite::Status s = kite::EncodeWithSpecialTokens(tok, text, len, add_bos != 0 && tok.view().add_bos,
                                                 tokens, capacity, n_tokens);
  return Record(nullptr, s);
}

kite_status kite_chat_tokenize(const kite_model* model, const kite_chat_message* messages,
                               size_t n, int32_t add_generation_prompt, int32_t add_bos,
                               int32_t* tokens, size_t capacity, size_t* n_tokens) {
  if (model == nullptr || n_tokens == nullptr || (messages == nullptr && n > 0) ||
      (tokens == nullptr && capacity > 0)) {
    return Fail(kite::Error::kInvalidArgument, "kite_chat_tokenize: null argument");
  }
  const kite::Tokenizer& tok = model->model->tokenizer();
  if (tok.view().kind == kite::TokenizerType::NONE) {
    return Fail(kite::Error::kUnsupported, "the model file has no tokenizer");
  }
  // BOS only for models whose prompts start with it (as sessions do).
  kite::Status s = kite::EncodeChat(model->model->chat_style(), tok,
                                    reinterpret_cast<const kite::ChatMessage*>(messages), n,
                                    add_generation_prompt != 0, add_bos != 0 && tok.view().add_bos,
                                    tokens, capacity, n_tokens);
  return Record(nullptr, s);
}

void kite_session_options_init(kite_session_options* options) {
  if (options == nullptr) return;
  std::memset(options, 0, sizeof(*options));
  options->struct_size = sizeof(*options);
  kite::SessionOptions defaults;
  options->max_context = defaults.max_context;
  options->threads = defaults.threads;
  options->prefill_chunk = defaults.prefill_chunk;
  options->kv_type = static_cast<uint32_t>(defaults.kv_type);
  options->backend = static_cast<uint32_t>(defaults.backend);
}

kite_status kite_session_memory_required(const kite_model* model, const kite_session_options* options,
                                         size_t* bytes) {
  if (model == nullptr || bytes == nullptr) return Fail(kite::Error::kInvalidArgument, "model or bytes is null");
  kite::SessionOptions o;
  kite::Status s = SessionOptionsFrom(options, &o);
  if (!s.ok()) return Fail(s);
  auto plan = kite::PlanSessionMemory(*model->model, o);
  if (!plan.ok()) return Fail(plan.status());
  *bytes = plan->total_bytes;
  return Succeed();
}

kite_status kite_session_create(const kite_model* model, const kite_session_options* options,
                                void* arena, size_t arena_size, kite_session** session) {
  if (session == nullptr) return Fail(kite::Error::kInvalidArgument, "session output pointer is null");
  *session = nullptr;
  if (model == nullptr) return Fail(kite::Error::kInvalidArgument, "model is null");
  kite::SessionOptions o;
  kite::Status s = SessionOptionsFrom(options, &o);
  if (!s.ok()) return Fail(s);
  auto created = kite::Session::Create(model->model, o, arena, arena_size, model->backends);
  if (!created.ok()) return Fail(created.status());
  kite_session* handle = new (std::nothrow) kite_session();
  if (handle == nullptr) return Fail(kite::Error::kOutOfMemory, "cannot allocate the session handle");
  handle->session = created.value().release();
  handle->last_error[0] = '\0';
  *session = handle;
  return Succeed();
}

size_t kite_session_storage_required(void) {
  return HandleBytes<kite_session>() + kite::Session::StorageBytes();
}

kite_status kite_session_create_in(const kite_model* model, const kite_session_options* options,
                                   void* arena, size_t arena_size, void* storage,
                                   size_t storage_size, kite_session** session) {
  if (session == nullptr) return Fail(kite::Error::kInvalidArgument, "session output pointer is null");
  *session = nullptr;
  if (model == nullptr) return Fail(kite::Error::kInvalidArgument, "model is null");
  if (storage != nullptr && storage_size < kite_session_storage_required()) {
    return Fail(kite::Status::Make(kite::Error::kOutOfMemory,
                                   "session storage is %zu bytes but a session needs %zu",
                                   storage_size, kite_session_storage_required()));
  }
  void* handle_bytes = nullptr;
  void* rest = nullptr;
  size_t rest_size = 0;
  kite::Status s = SplitStorage<kite_session>(storage, storage_size, "session storage",
                                              &handle_bytes, &rest, &rest_size);
  if (!s.ok()) return Fail(s);
  kite::SessionOptions o;
  s = SessionOptionsFrom(options, &o);
  if (!s.ok()) return Fail(s);
  auto created =
      kite::Session::CreateInPlace(model->model, o, arena, arena_size, rest, rest_size);
  if (!created.ok()) return Fail(created.status());
  kite_session* handle = new (handle_bytes) kite_session();
  handle->session = created.value();
  handle->in_place = true;
  handle->last_error[0] = '\0';
  *session = handle;
  return Succeed();
}

void kite_session_destroy(kite_session* session) {
  if (session == nullptr) return;
  if (session->in_place) {
    kite::Session::DestroyInPlace(session->session);
    session->~kite_session();
  } else {
    delete session->session;
    delete session;
  }
}

const char* kite_session_last_error(const kite_session* session) {
  return session != nullptr ? session->last_error : "session is null";
}

kite_status kite_session_reset(kite_session* session) {
  if (session == nullptr) return Fail(kite::Error::kInvalidArgument, "session is null");
  session->session->Reset();
  return Succeed(session);
}

uint32_t kite_session_position(const kite_session* session) {
  return session != nullptr ? session->session->position() : 0;
}

kite_backend kite_session_backend(const kite_session* session) {
  return session != nullptr ? kite::capi::ToCBackend(session->session->backend())
                            : KITE_BACKEND_CPU;
}

const char* kite_session_backend_notice(const kite_session* session) {
  return session != nullptr ? session->session->backend_notice() : "";
}

kite_status kite_session_kernel_times(const kite_session* session, kite_kernel_time* times,
                                      size_t capacity, size_t* count) {
  if (session == nullptr || count == nullptr) {
    return Fail(kite::Error::kInvalidArgument, "session or count is null");
  }
  if (times == nullptr && capacity > 0) {
    return Record(session, kite::Status::Make(kite::Error::kInvalidArgument,
                                              "times is null but capacity is %zu", capacity));
  }
  uint32_t n = 0;
  const kite::KernelTime* all = nullptr;
  const kite::Status s = session->session->kernel_times(&all, &n);
  if (!s.ok()) return Record(session, s);
  *count = n;
  for (size_t i = 0; i < n && i < capacity; ++i) {
    times[i].name = all[i].name;
    times[i].calls = all[i].calls;
    times[i].ms = all[i].ms;
  }
  return Succeed(session);
}

kite_status kite_session_feed(kite_session* session, const int32_t* tokens, size_t n) {
  if (session == nullptr) return Fail(kite::Error::kInvalidArgument, "session is null");
  if (tokens == nullptr && n > 0) {
    return Record(session, kite::Status::Make(kite::Error::kInvalidArgument, "tokens is null"));
  }
  return Record(session, session->session->Feed(tokens, n, true));
}

kite_status kite_session_logits(const kite_session* session, const float** logits, size_t* n_logits) {
  if (session == nullptr) return Fail(kite::Error::kInvalidArgument, "session is null");
  if (logits == nullptr || n_logits == nullptr) {
    return Record(session, kite::Status::Make(kite::Error::kInvalidArgument,
                                              "kite_session_logits: null argument"));
  }
  *logits = session->session->logits();
  *n_logits = 0;
  if (*logits == nullptr) {
    return Record(session,
                  kite::Status::Make(kite::Error::kInvalidArgument,
                                     "the session has no logits yet: a fresh or reset "
                                     "session has none until tokens are fed or generated"));
  }
  *n_logits = session->session->model().config().vocab_size;
  return Succeed(session);
}

void kite_session_cancel(kite_session* session) {
  if (session != nullptr) session->session->Cancel();
}

kite_status kite_session_tokens(const kite_session* session, int32_t* tokens, size_t capacity,
                                size_t* n_tokens) {
  if (session == nullptr) return Fail(kite::Error::kInvalidArgument, "session is null");
  if (n_tokens == nullptr || (tokens == nullptr && capacity > 0)) {
    return Record(session, kite::Status::Make(kite::Error::kInvalidArgument,
                                              "kite_session_tokens: null argument"));
  }
  const uint32_t n = session->session->position();
  *n_tokens = n;
  if (capacity < n) {
    return Record(session, kite::Status::Make(kite::Error::kOutOfMemory,
                                              "the context holds %u ids but there is room for %zu",
                                              n, capacity));
  }
  if (n > 0) std::memcpy(tokens, session->session->context_tokens(), n * sizeof(int32_t));
  return Succeed(session);
}

kite_status kite_session_state_size(const kite_session* session, size_t* bytes) {
  if (session == nullptr) return Fail(kite::Error::kInvalidArgument, "session is null");
  if (bytes == nullptr) {
    return Record(session, kite::Status::Make(kite::Error::kInvalidArgument, "bytes is null"));
  }
  size_t written = 0;
  // A zero-capacity save reports the size (kOutOfMemory) or why there is no state.
  const kite::Status s = session->session->SaveState(nullptr, 0, &written);
  if (s.code() != kite::Error::kOutOfMemory) return Record(session, s);
  *bytes = written;
  return Succeed(session);
}

kite_status kite_session_save_state(const kite_session* session, void* buffer, size_t capacity,
                                    size_t* written) {
  if (session == nullptr) return Fail(kite::Error::kInvalidArgument, "session is null");
  if (written == nullptr) {
    return Record(session, kite::Status::Make(kite::Error::kInvalidArgument, "written is null"));
  }
  return Record(session, session->session->SaveState(buffer, capacity, written));
}

kite_status kite_session_restore_state(kite_session* session, const void* buffer, size_t size) {
  if (session == nullptr) return Fail(kite::Error::kInvalidArgument, "session is null");
  return Record(session, session->session->RestoreState(buffer, size));
}

void kite_generate_options_init(kite_generate_options* options) {
  if (options == nullptr) return;
  std::memset(options, 0, sizeof(*options));
  options->struct_size = sizeof(*options);
  options->max_tokens = 256;
  options->temperature = 0.0f;
  options->top_k = 0;
  options->top_p = 1.0f;
  options->seed = 0;
  options->add_bos = 1;
  kite::SamplerParams defaults;
  options->min_p = defaults.min_p;
  options->repetition_penalty = defaults.repetition_penalty;
  options->frequency_penalty = defaults.frequency_penalty;
  options->presence_penalty = defaults.presence_penalty;
  options->penalty_last_n = static_cast<int32_t>(defaults.penalty_last_n);
  options->raw_pieces = 0;
  options->logit_bias = nullptr;
  options->n_logit_bias = 0;
  options->stop = nullptr;
  options->n_stop = 0;
}

namespace {

// kite_generate_options version 1 ended with add_bos; its sizeof rounded that up to the
// struct's alignment (the struct_size rule in kite.h).
constexpr size_t kGenerateOptionsV1Size =
    kite::AlignUp(offsetof(kite_generate_options, reserved), alignof(kite_generate_options));
static_assert(kGenerateOptionsV1Size <= offsetof(kite_generate_options, min_p),
              "version 2 fields must lie beyond version 1's size");

// Reads the caller's options (NULL: the defaults) into *o, giving the fields beyond an
// older struct_size their defaults.
kite::Status GenerateOptionsFrom(const kite_generate_options* options, kite_generate_options* o) {
  kite_generate_options_init(o);
  if (options == nullptr) return kite::Status::Ok();
  if (options->struct_size != kGenerateOptionsV1Size) {
    KITE_RETURN_IF_ERROR(
        CheckStructSize(*options, "kite_generate_options", "call kite_generate_options_init"));
  }
  std::memcpy(o, options, options->struct_size);
  o->struct_size = sizeof(*o);
  return kite::Status::Ok();
}

struct CallbackBridge {
  kite_token_callback callback;
  void* user;
};

bool CallUser(const char* piece, int32_t token, void* user) {
  const CallbackBridge* b = static_cast<const CallbackBridge*>(user);
  return b->callback(piece, token, b->user) == KITE_CONTINUE;
}

}  // namespace

kite_status kite_generate(kite_session* session, const char* prompt,
                          const kite_generate_options* options, kite_token_callback callback,
                          void* user, kite_generate_stats* stats) {
  if (session == nullptr) return Fail(kite::Error::kInvalidArgument, "session is null");
  if (prompt == nullptr) {
    return Record(session, kite::Status::Make(kite::Error::kInvalidArgument, "prompt is null"));
  }
  kite_generate_options o;
  kite::Status read = GenerateOptionsFrom(options, &o);
  if (!read.ok()) return Record(session, read);
  if (o.max_tokens < 0) {
    return Record(session, kite::Status::Make(kite::Error::kInvalidArgument,
                                              "max_tokens %d is negative", o.max_tokens));
  }
  if (o.top_k < 0) {
    return Record(session,
                  kite::Status::Make(kite::Error::kInvalidArgument, "top_k %d is negative", o.top_k));
  }
  if (o.penalty_last_n < 0) {
    return Record(session, kite::Status::Make(kite::Error::kInvalidArgument,
                                              "penalty_last_n %d is negative", o.penalty_last_n));
  }
  if (stats != nullptr) {
    kite::Status checked =
        CheckStructSize(*stats, "kite_generate_stats", "set it to sizeof(kite_generate_stats)");
    if (!checked.ok()) return Record(session, checked);
  }
  kite::GenerateParams p;
  p.max_tokens = static_cast<uint32_t>(o.max_tokens);
  p.sampler.temperature = o.temperature;
  p.sampler.top_k = static_cast<uint32_t>(o.top_k);
  p.sampler.top_p = o.top_p;
  p.sampler.seed = o.seed;
  p.sampler.min_p = o.min_p;
  p.sampler.repetition_penalty = o.repetition_penalty;
  p.sampler.frequency_penalty = o.frequency_penalty;
  p.sampler.presence_penalty = o.presence_penalty;
  p.sampler.penalty_last_n = static_cast<uint32_t>(o.penalty_last_n);
  p.sampler.logit_bias = kite::capi::FromCLogitBias(o.logit_bias);
  p.sampler.n_logit_bias = o.n_logit_bias;
  p.add_bos = o.add_bos != 0;
  p.stop = o.stop;
  p.n_stop = o.n_stop;
  p.raw_pieces = o.raw_pieces != 0;
  CallbackBridge bridge{callback, user};
  kite::GenerateStats st;
  kite::Status s = session->session->Generate(prompt, std::strlen(prompt), p,
                                              callback != nullptr ? CallUser : nullptr, &bridge, &st);
  if ((s.ok() || s.code() == kite::Error::kCancelled) && stats != nullptr) {
    stats->prompt_tokens = st.prompt_tokens;
    stats->generated_tokens = st.generated_tokens;
    stats->stop_reason = kite::capi::ToCStopReason(st.stop_reason);
    stats->prefill_ms = static_cast<double>(st.prefill_ns) / 1e6;
    stats->decode_ms = static_cast<double>(st.decode_ns) / 1e6;
    stats->first_token_ms = static_cast<double>(st.first_token_ns) / 1e6;
  }
  return Record(session, s);
}

}  // extern "C"
