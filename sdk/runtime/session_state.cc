// Session::SaveState / RestoreState: the session state format (docs/c-api.md "Session
// state"). Host byte order; a state from a machine of the other order fails the magic check.
//
// Layout: StateHeader, then the payload:
//   int32  tokens[pos]                                the context's ids
//   for each layer: K rows 0..pos, V rows 0..pos      f32 or int8, kv_dim per row
//   (int8 KV) for each layer: K params, V params      rows 0..pos, n_kv_heads * 2 f16 per row
//   f32    logits[vocab_size]                         only when logits_valid
// The CRC-32C covers the header up to its crc field, then the payload.
//
// The format does not depend on the backend: a Vulkan session reads its KV rows back from the
// device (VulkanForward::ReadKv/WriteKv, laid out as the CPU's), so a state saved on one
// backend restores on the other.
#include <cstddef>
#include <cstring>

#include "sdk/format/crc32c.h"
#include "sdk/runtime/session.h"
#if KITE_WITH_VULKAN
#include "sdk/runtime/vulkan/forward.h"
#endif

namespace kite {
namespace {

constexpr uint32_t kStateMagic = 0x5453544bu;  // "KSTS" in memory on a little-endian host
constexpr uint32_t kStateVersion = 1;

struct StateHeader {
  uint32_t magic;
  uint32_t version;
  uint32_t header_bytes;  // sizeof(StateHeader)
  // The model's fingerprint.
  uint32_t model_crc;  // Model::metadata_crc32c
  uint64_t model_file_bytes;
  uint32_t n_layers, dim, kv_dim, vocab_size;
  // The options that shape the KV cache.
  uint32_t max_context, kv_type;
  // The context.
  uint32_t pos;
  int32_t last_token;
  uint32_t logits_valid;
  uint32_t reserved;
  uint64_t payload_bytes;
  uint32_t crc;  // last: CRC-32C of the bytes before it, then of the payload
  uint32_t pad;
};
static_assert(sizeof(StateHeader) == 80, "StateHeader has no implicit padding");

// What a part of the payload holds (the KV parts are per layer).
enum class Part : uint8_t { kTokens, kKeys, kValues, kKeyParams, kValueParams, kLogits };

// Visits the state's parts in payload order: fn(part, layer, base, offset, bytes) for `bytes`
// of the CPU session's memory at byte `offset` from `base` (base may be null when only sizes
// are wanted; layer is 0 for the parts that are not per layer).
template <typename Fn>
void ForEachPart(const ModelConfig& c, const SessionOptions& o, const ForwardBuffers& b,
                 int32_t* tokens, float* logits, uint32_t pos, bool with_logits, Fn fn) {
  fn(Part::kTokens, 0, tokens, 0, static_cast<size_t>(pos) * sizeof(int32_t));
  const bool q8 = o.kv_type == KvType::kInt8;
  const size_t elem = q8 ? 1 : sizeof(float);
  const size_t layer_rows = static_cast<size_t>(o.max_context);
  for (uint32_t l = 0; l < c.n_layers; ++l) {
    const size_t first = l * layer_rows * c.kv_dim() * elem;
    const size_t bytes = static_cast<size_t>(pos) * c.kv_dim() * elem;
    fn(Part::kKeys, l, q8 ? static_cast<void*>(b.key_cache_q8) : b.key_cache, first, bytes);
    fn(Part::kValues, l, q8 ? static_cast<void*>(b.value_cache_q8) : b.value_cache, first,
       bytes);
  }
  if (q8) {
    const size_t row = static_cast<size_t>(c.n_kv_heads) * 2;
    for (uint32_t l = 0; l < c.n_layers; ++l) {
      const size_t first = l * layer_rows * row * sizeof(uint16_t);
      const size_t bytes = static_cast<size_t>(pos) * row * sizeof(uint16_t);
      fn(Part::kKeyParams, l, b.key_params, first, bytes);
      fn(Part::kValueParams, l, b.value_params, first, bytes);
    }
  }
  if (with_logits) {
    fn(Part::kLogits, 0, logits, 0, static_cast<size_t>(c.vocab_size) * sizeof(float));
  }
}

size_t PayloadBytes(const ModelConfig& c, const SessionOptions& o, uint32_t pos, bool logits) {
  size_t total = 0;
  ForEachPart(c, o, ForwardBuffers{}, nullptr, nullptr, pos, logits,
              [&](Part, uint32_t, const void*, size_t, size_t bytes) { total += bytes; });
  return total;
}

// Fills the fingerprint and options fields of a header for `model` and `options`.
StateHeader HeaderFor(const Model& model, const SessionOptions& options) {
  StateHeader h;
  std::memset(&h, 0, sizeof(h));
  const ModelConfig& c = model.config();
  h.magic = kStateMagic;
  h.version = kStateVersion;
  h.header_bytes = sizeof(StateHeader);
  h.model_crc = model.metadata_crc32c();
  h.model_file_bytes = model.bytes().size();
  h.n_layers = c.n_layers;
  h.dim = c.dim;
  h.kv_dim = c.kv_dim();
  h.vocab_size = c.vocab_size;
  h.max_context = options.max_context;
  h.kv_type = static_cast<uint32_t>(options.kv_type);
  return h;
}

#if KITE_WITH_VULKAN
bool IsKv(Part part) { return part != Part::kTokens && part != Part::kLogits; }

// The device's part for a KV part.
VulkanKvPart VulkanPart(Part part) {
  switch (part) {
    case Part::kKeys: return VulkanKvPart::kKeys;
    case Part::kValues: return VulkanKvPart::kValues;
    case Part::kKeyParams: return VulkanKvPart::kKeyParams;
    default: return VulkanKvPart::kValueParams;
  }
}
#endif

}  // namespace

Status Session::CopyStatePayload(uint8_t* payload, uint32_t pos, bool with_logits,
                                 bool save) const {
  Status device;  // a Vulkan session's first failed transfer
  ForEachPart(model_->config(), options_, buffers_, context_tokens_, buffers_.logits, pos,
              with_logits,
              [&](Part part, uint32_t layer, void* base, size_t offset, size_t bytes) {
#if KITE_WITH_VULKAN
                if (backend_ == Backend::kVulkan && IsKv(part)) {
                  if (device.ok()) {
                    device = save ? gpu_->ReadKv(VulkanPart(part), layer, bytes, payload)
                                  : gpu_->WriteKv(VulkanPart(part), layer, bytes, payload);
                  }
                  payload += bytes;
                  return;
                }
#endif
                (void)part, (void)layer;
                uint8_t* session = static_cast<uint8_t*>(base) + offset;
                std::memcpy(save ? payload : session, save ? session : payload, bytes);
                payload += bytes;
              });
  return device;
}

size_t Session::StateBytes() const {
  return sizeof(StateHeader) + PayloadBytes(model_->config(), options_, pos_, logits_valid_);
}

Status Session::SaveState(void* buffer, size_t capacity, size_t* written) const {
  const size_t need = StateBytes();
  *written = need;
  KITE_CHECK_OR_RETURN(capacity >= need, Error::kOutOfMemory,
                       "the state buffer is %zu bytes but the state needs %zu", capacity, need);
  KITE_CHECK_OR_RETURN(buffer != nullptr, Error::kInvalidArgument, "the state buffer is null");
  StateHeader h = HeaderFor(*model_, options_);
  h.pos = pos_;
  h.last_token = last_token_;
  h.logits_valid = logits_valid_ ? 1 : 0;
  h.payload_bytes = need - sizeof(StateHeader);
  uint8_t* out = static_cast<uint8_t*>(buffer);
  uint8_t* p = out + sizeof(StateHeader);
  KITE_RETURN_IF_ERROR(CopyStatePayload(p, pos_, logits_valid_, true));
  h.crc = Crc32c(&h, offsetof(StateHeader, crc));
  h.crc = Crc32c(out + sizeof(StateHeader), h.payload_bytes, h.crc);
  std::memcpy(out, &h, sizeof(h));
  return Status::Ok();
}

Status Session::RestoreState(const void* buffer, size_t size) {
  KITE_CHECK_OR_RETURN(buffer != nullptr, Error::kInvalidArgument, "the state buffer is null");
  KITE_CHECK_OR_RETURN(size >= sizeof(StateHeader), Error::kInvalidArgument,
                       "the state is truncated: %zu bytes, shorter than its %zu-byte header",
                       size, sizeof(StateHeader));
  StateHeader h;
  std::memcpy(&h, buffer, sizeof(h));
  KITE_CHECK_OR_RETURN(h.magic == kStateMagic, Error::kInvalidArgument,
                       "not a Kite session state (magic %08x, expected %08x)", h.magic,
                       kStateMagic);
  KITE_CHECK_OR_RETURN(h.version == kStateVersion && h.header_bytes == sizeof(StateHeader),
                       Error::kInvalidArgument,
                       "session state format version %u is not supported (this build reads %u)",
                       h.version, kStateVersion);
  const StateHeader want = HeaderFor(*model_, options_);
  KITE_CHECK_OR_RETURN(h.model_crc == want.model_crc &&
                           h.model_file_bytes == want.model_file_bytes &&
                           h.n_layers == want.n_layers && h.dim == want.dim &&
                           h.kv_dim == want.kv_dim && h.vocab_size == want.vocab_size,
                       Error::kInvalidArgument,
                       "the state is of another model (fingerprint %08x, %llu bytes, %u layers, "
                       "vocabulary %u; this session's model: %08x, %llu bytes, %u layers, "
                       "vocabulary %u)",
                       h.model_crc, static_cast<unsigned long long>(h.model_file_bytes),
                       h.n_layers, h.vocab_size, want.model_crc,
                       static_cast<unsigned long long>(want.model_file_bytes), want.n_layers,
                       want.vocab_size);
  KITE_CHECK_OR_RETURN(h.max_context == want.max_context, Error::kInvalidArgument,
                       "the state is of a session with max_context %u, this one has %u",
                       h.max_context, want.max_context);
  KITE_CHECK_OR_RETURN(h.kv_type == want.kv_type, Error::kInvalidArgument,
                       "the state is of a session with kv_type %u, this one has %u", h.kv_type,
                       want.kv_type);
  KITE_CHECK_OR_RETURN(h.pos <= options_.max_context && h.logits_valid <= 1,
                       Error::kInvalidArgument,
                       "the state is corrupted: position %u (max_context %u), logits flag %u",
                       h.pos, options_.max_context, h.logits_valid);
  const size_t payload = PayloadBytes(model_->config(), options_, h.pos, h.logits_valid != 0);
  KITE_CHECK_OR_RETURN(h.payload_bytes == payload && size - sizeof(StateHeader) == payload,
                       Error::kInvalidArgument,
                       "the state is truncated or corrupted: %zu payload bytes (header says "
                       "%llu), a state at position %u has %zu",
                       size - sizeof(StateHeader),
                       static_cast<unsigned long long>(h.payload_bytes), h.pos, payload);
  const uint8_t* in = static_cast<const uint8_t*>(buffer) + sizeof(StateHeader);
  uint32_t crc = Crc32c(&h, offsetof(StateHeader, crc));
  crc = Crc32c(in, payload, crc);
  KITE_CHECK_OR_RETURN(crc == h.crc, Error::kInvalidArgument,
                       "the state is corrupted: CRC-32C is %08x, the state records %08x", crc,
                       h.crc);
  const uint32_t vocab = model_->config().vocab_size;
  const int32_t* ids = reinterpret_cast<const int32_t*>(in);
  for (uint32_t i = 0; i < h.pos; ++i) {
    int32_t id;
    std::memcpy(&id, ids + i, sizeof(id));
    KITE_CHECK_OR_RETURN(id >= 0 && static_cast<uint32_t>(id) < vocab, Error::kInvalidArgument,
                         "the state is corrupted: token %d at position %u is out of range "
                         "[0, %u)",
                         id, i, vocab);
  }
  KITE_CHECK_OR_RETURN(h.last_token >= -1 && h.last_token < static_cast<int32_t>(vocab),
                       Error::kInvalidArgument,
                       "the state is corrupted: last token %d is out of range", h.last_token);
  // Checked: now replace the context.
  Reset();
  // A device failure leaves the session reset (and unusable, as after a failed Forward).
  KITE_RETURN_IF_ERROR(CopyStatePayload(const_cast<uint8_t*>(in), h.pos, h.logits_valid != 0,
                                        false));
  pos_ = h.pos;
  last_token_ = h.last_token;
  logits_valid_ = h.logits_valid != 0;
  recent_.Push(context_tokens_, pos_);
  return Status::Ok();
}

}  // namespace kite
