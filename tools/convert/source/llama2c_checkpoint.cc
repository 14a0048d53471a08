#include "tools/convert/source/llama2c_checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sdk/format/tensor_names.h"
#include "tools/common/input_file.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "The llama2.c reader assumes a little-endian host (the files are little-endian)."
#endif

namespace kite::convert {
namespace {

// One f32 block of the file. Per-layer blocks repeat their [rows, cols] n_layers times.
// cols == 0 marks a vector of `rows` elements.
struct Block {
  const char* name;  // global tensor name, or the per-layer suffix
  bool per_layer;
  uint64_t rows;
  uint64_t cols;
  bool skipped;  // legacy RoPE tables: counted in the size, not read
};

// Index of a per-layer suffix inside one layer's tensors, in SourceModel order.
constexpr const char* kLayerOrder[] = {
    names::kAttentionNorm, names::kWq, names::kWk, names::kWv, names::kWo,
    names::kFfnNorm,       names::kW1, names::kW2, names::kW3,
};
constexpr uint64_t kTensorsPerLayer = sizeof(kLayerOrder) / sizeof(kLayerOrder[0]);

// The blocks of a checkpoint in file order.
std::vector<Block> FileBlocks(const Llama2cHeader& h) {
  const uint64_t dim = static_cast<uint64_t>(h.dim);
  const uint64_t hidden = static_cast<uint64_t>(h.hidden_dim);
  const uint64_t hs = h.head_size();
  const uint64_t q_dim = static_cast<uint64_t>(h.n_heads) * hs;
  const uint64_t kv_dim = static_cast<uint64_t>(h.n_kv_heads) * hs;
  const uint64_t vocab = h.vocab();
  std::vector<Block> blocks = {
      {names::kTokEmbeddings, false, vocab, dim, false},
      {names::kAttentionNorm, true, dim, 0, false},
      {names::kWq, true, q_dim, dim, false},
      {names::kWk, true, kv_dim, dim, false},
      {names::kWv, true, kv_dim, dim, false},
      {names::kWo, true, dim, q_dim, false},
      {names::kFfnNorm, true, dim, 0, false},
      {names::kW1, true, hidden, dim, false},
      {names::kW2, true, dim, hidden, false},
      {names::kW3, true, hidden, dim, false},
      {names::kNorm, false, dim, 0, false},
      {"freq_cis_real", false, static_cast<uint64_t>(h.seq_len), hs / 2, true},
      {"freq_cis_imag", false, static_cast<uint64_t>(h.seq_len), hs / 2, true},
  };
  if (!h.shared_classifier()) blocks.push_back({names::kOutput, false, vocab, dim, false});
  return blocks;
}

uint64_t BlockElements(const Block& b) { return b.cols == 0 ? b.rows : b.rows * b.cols; }

bool CheckedMul(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}
bool CheckedAdd(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

std::string HeaderString(const Llama2cHeader& h) {
  return absl::StrFormat(
      "dim=%d, hidden_dim=%d, n_layers=%d, n_heads=%d, n_kv_heads=%d, vocab_size=%d, "
      "seq_len=%d",
      h.dim, h.hidden_dim, h.n_layers, h.n_heads, h.n_kv_heads, h.vocab_size, h.seq_len);
}

// An open file descriptor, closed on destruction.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::Status ErrnoError(int err, const std::string& path, const char* what) {
  return absl::ErrnoToStatus(err, absl::StrCat(path, ": ", what));
}

// Opens `path` as a regular file and returns its size in *size.
absl::StatusOr<int> OpenRegularFile(const std::string& path, uint64_t* size) {
  return tools::OpenInputFile(path, size);
}

// Reads exactly `bytes` bytes at `offset` into `dst`.
absl::Status ReadAt(int fd, uint64_t offset, void* dst, uint64_t bytes, const std::string& path) {
  auto* out = static_cast<uint8_t*>(dst);
  while (bytes > 0) {
    const size_t chunk = bytes > (1u << 30) ? (1u << 30) : static_cast<size_t>(bytes);
    const ssize_t n = pread(fd, out, chunk, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, path, "read failed");
    }
    if (n == 0) {
      return absl::DataLossError(absl::StrCat(path, ": unexpected end of file at byte ", offset));
    }
    out += n;
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

// Reads and validates the header of the open file `fd` of `size` bytes.
absl::StatusOr<Llama2cHeader> ReadHeaderFrom(int fd, uint64_t size, const std::string& path) {
  if (size < kLlama2cHeaderBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %d bytes is too short for a llama2.c checkpoint (the header alone is %d bytes)",
        path, size, kLlama2cHeaderBytes));
  }
  uint8_t raw[kLlama2cHeaderBytes];
  if (absl::Status s = ReadAt(fd, 0, raw, sizeof(raw), path); !s.ok()) return s;
  const Llama2cHeader header = DecodeLlama2cHeader(raw);
  if (absl::Status s = ValidateLlama2cHeader(header); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  return header;
}

}  // namespace

Llama2cHeader DecodeLlama2cHeader(const uint8_t bytes[kLlama2cHeaderBytes]) {
  int32_t v[7];
  std::memcpy(v, bytes, sizeof(v));
  Llama2cHeader h;
  h.dim = v[0];
  h.hidden_dim = v[1];
  h.n_layers = v[2];
  h.n_heads = v[3];
  h.n_kv_heads = v[4];
  h.vocab_size = v[5];
  h.seq_len = v[6];
  return h;
}

absl::Status ValidateLlama2cHeader(const Llama2cHeader& h) {
  struct Field {
    const char* name;
    int64_t value;
    int64_t max;
  };
  const int64_t abs_vocab = h.vocab_size < 0 ? -static_cast<int64_t>(h.vocab_size) : h.vocab_size;
  const Field fields[] = {
      {"dim", h.dim, kLlama2cMaxDim},
      {"hidden_dim", h.hidden_dim, kLlama2cMaxHiddenDim},
      {"n_layers", h.n_layers, kLlama2cMaxLayers},
      {"n_heads", h.n_heads, kLlama2cMaxHeads},
      {"n_kv_heads", h.n_kv_heads, kLlama2cMaxHeads},
      {"|vocab_size|", abs_vocab, kLlama2cMaxVocab},
      {"seq_len", h.seq_len, kLlama2cMaxSeqLen},
  };
  for (const Field& f : fields) {
    if (f.value <= 0 || f.value > f.max) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "not a valid llama2.c checkpoint header: %s = %d (expected 1..%d) in header {%s}",
          f.name, f.value, f.max, HeaderString(h)));
    }
  }
  if (h.dim % h.n_heads != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "invalid llama2.c header: n_heads = %d does not divide dim = %d", h.n_heads, h.dim));
  }
  if (h.n_heads % h.n_kv_heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("invalid llama2.c header: n_kv_heads = %d does not divide n_heads = %d",
                        h.n_kv_heads, h.n_heads));
  }
  if ((h.dim / h.n_heads) % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "invalid llama2.c header: head size dim / n_heads = %d is odd (RoPE needs pairs)",
        h.dim / h.n_heads));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Llama2cFileSize(const Llama2cHeader& header) {
  if (absl::Status s = ValidateLlama2cHeader(header); !s.ok()) return s;
  uint64_t floats = 0;
  for (const Block& b : FileBlocks(header)) {
    uint64_t n = 0;
    const uint64_t copies = b.per_layer ? static_cast<uint64_t>(header.n_layers) : 1;
    if (!CheckedMul(b.rows, b.cols == 0 ? 1 : b.cols, &n) || !CheckedMul(n, copies, &n) ||
        !CheckedAdd(floats, n, &floats)) {
      return absl::InvalidArgumentError(
          absl::StrCat("llama2.c header implies a file larger than 2^64 bytes: ",
                       HeaderString(header)));
    }
  }
  uint64_t bytes = 0;
  if (!CheckedMul(floats, sizeof(float), &bytes) ||
      !CheckedAdd(bytes, kLlama2cHeaderBytes, &bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "llama2.c header implies a file larger than 2^64 bytes: ", HeaderString(header)));
  }
  return bytes;
}

absl::StatusOr<Llama2cHeader> ReadLlama2cHeader(const std::string& path) {
  uint64_t size = 0;
  absl::StatusOr<int> fd_or = OpenRegularFile(path, &size);
  if (!fd_or.ok()) return fd_or.status();
  Fd fd(*fd_or);
  return ReadHeaderFrom(fd.get(), size, path);
}

absl::StatusOr<SourceModel> ReadLlama2cCheckpoint(const std::string& path) {
  uint64_t actual = 0;
  absl::StatusOr<int> fd_or = OpenRegularFile(path, &actual);
  if (!fd_or.ok()) return fd_or.status();
  Fd fd(*fd_or);
  absl::StatusOr<Llama2cHeader> header_or = ReadHeaderFrom(fd.get(), actual, path);
  if (!header_or.ok()) return header_or.status();
  const Llama2cHeader& h = *header_or;
  absl::StatusOr<uint64_t> expected = Llama2cFileSize(h);
  if (!expected.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", expected.status().message()));
  }
  if (actual != *expected) {
    const bool short_file = actual < *expected;
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: file is %d bytes but its llama2.c header {%s} implies exactly %d bytes: %s",
        path, actual, HeaderString(h), *expected,
        short_file ? absl::StrFormat("the file is truncated (%d bytes missing)",
                                     *expected - actual)
                   : absl::StrFormat("%d unexpected extra bytes (another llama2.c export "
                                     "version, or not a llama2.c checkpoint?)",
                                     actual - *expected)));
  }

  SourceModel model;
  SourceConfig& c = model.config;
  c.architecture = "llama";
  c.dim = static_cast<uint32_t>(h.dim);
  c.hidden_dim = static_cast<uint32_t>(h.hidden_dim);
  c.n_layers = static_cast<uint32_t>(h.n_layers);
  c.n_heads = static_cast<uint32_t>(h.n_heads);
  c.n_kv_heads = static_cast<uint32_t>(h.n_kv_heads);
  c.head_dim = h.head_size();
  c.vocab_size = h.vocab();
  c.max_seq_len = static_cast<uint32_t>(h.seq_len);
  c.rope_theta = 10000.0f;
  c.norm_eps = 1e-5f;
  c.tied_embeddings = h.shared_classifier();

  // Tensor slots in SourceModel order: tok_embeddings, layers, norm, [output].
  const uint64_t n_layers = c.n_layers;
  const uint64_t first_layer_slot = 1;
  const uint64_t norm_slot = first_layer_slot + n_layers * kTensorsPerLayer;
  model.tensors.resize(norm_slot + (c.tied_embeddings ? 1 : 2));
  auto slot_of = [&](const Block& b, uint64_t layer) -> uint64_t {
    if (!b.per_layer) {
      if (std::strcmp(b.name, names::kTokEmbeddings) == 0) return 0;
      if (std::strcmp(b.name, names::kNorm) == 0) return norm_slot;
      return norm_slot + 1;  // output
    }
    uint64_t k = 0;
    while (std::strcmp(kLayerOrder[k], b.name) != 0) ++k;
    return first_layer_slot + layer * kTensorsPerLayer + k;
  };

  uint64_t offset = kLlama2cHeaderBytes;
  for (const Block& b : FileBlocks(h)) {
    const uint64_t elements = BlockElements(b);
    const uint64_t copies = b.per_layer ? n_layers : 1;
    if (b.skipped) {
      offset += elements * copies * sizeof(float);
      continue;
    }
    for (uint64_t layer = 0; layer < copies; ++layer) {
      SourceTensor& t = model.tensors[slot_of(b, layer)];
      t.name = b.per_layer ? absl::StrCat("layers.", layer, ".", b.name) : b.name;
      t.shape = b.cols == 0 ? std::vector<uint64_t>{b.rows} : std::vector<uint64_t>{b.rows, b.cols};
      t.data.resize(elements);
      if (absl::Status s = ReadAt(fd.get(), offset, t.data.data(), elements * sizeof(float), path);
          !s.ok()) {
        return s;
      }
      offset += elements * sizeof(float);
    }
  }
  if (offset != *expected) {
    return absl::InternalError(
        absl::StrFormat("%s: read %d bytes, expected %d", path, offset, *expected));
  }
  return model;
}

}  // namespace kite::convert
