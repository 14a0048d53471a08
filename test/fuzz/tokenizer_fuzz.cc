// Fuzz target: the input is a llama2.c tokenizer file. When it parses, the tokenizer encodes
// a fixed sentence and text taken from the input, decodes the ids again, and decodes ids
// taken from the input. Checks, beyond "no crash": both merge algorithms agree, ids are in
// range, decode(encode(text)) == text whenever no <unk> was needed, Decode's capacity
// bound holds, and out-of-range ids are rejected.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sdk/runtime/tokenizer/tokenizer.h"
#include "test/fuzz/fuzz_check.h"
#include "tools/convert/tokenizer/llama2c_tokenizer.h"

namespace {

using kite::Error;
using kite::Status;
using kite::Tokenizer;

// Text from the input is capped: rescanning merges are O(n^2).
constexpr size_t kMaxTextBytes = 384;

// How many whole (score, len, piece) records follow the 4-byte header, and where they end,
// so that an input whose vocabulary size or tail was mutated still parses.
int32_t CountEntries(const std::string& bytes, size_t* end) {
  size_t offset = 4;
  int32_t count = 0;
  while (offset + 8 <= bytes.size() && count < (1 << 20)) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + offset + 4);
    const uint32_t len = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
    if (len > bytes.size() - offset - 8) break;
    offset += 8 + len;
    ++count;
  }
  *end = offset < bytes.size() ? offset : bytes.size();
  return count;
}

// The pre-merge id count that Encode() reports for capacity 0 (0 for empty output).
size_t PreMergeCount(const Tokenizer& tok, const std::string& text, bool add_bos,
                     Status* status) {
  size_t n = 0;
  *status = tok.Encode(text.data(), text.size(), add_bos, nullptr, 0, &n);
  if (status->ok() || status->code() != Error::kOutOfMemory) return 0;
  const char* need = std::strstr(status->message(), "need ");
  FUZZ_CHECK(need != nullptr);
  return std::strtoull(need + 5, nullptr, 10);
}

void CheckEncodeDecode(const Tokenizer& tok, const std::string& text) {
  const kite::TokenizerView& v = tok.view();
  Status probe;
  const size_t pre_merge = PreMergeCount(tok, text, /*add_bos=*/true, &probe);
  if (!probe.ok() && probe.code() != Error::kOutOfMemory) {
    // Only a vocabulary with neither byte tokens nor <unk> can fail to encode.
    FUZZ_CHECK(probe.code() == Error::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(pre_merge <= Tokenizer::MaxTokensFor(text.size()));

  // Rescanning (capacity exactly pre_merge) and cached (3x) merging must agree.
  std::vector<int32_t> slow(pre_merge), fast(3 * pre_merge);
  size_t n_slow = 0, n_fast = 0;
  FUZZ_CHECK(tok.Encode(text.data(), text.size(), true, slow.data(), slow.size(), &n_slow).ok());
  FUZZ_CHECK(tok.Encode(text.data(), text.size(), true, fast.data(), fast.size(), &n_fast).ok());
  FUZZ_CHECK(n_slow == n_fast && n_slow <= pre_merge);
  FUZZ_CHECK(std::memcmp(slow.data(), fast.data(), n_slow * sizeof(int32_t)) == 0);

  bool needed_unk = false;
  for (size_t i = 0; i < n_slow; ++i) {
    FUZZ_CHECK(slow[i] >= 0 && static_cast<uint32_t>(slow[i]) < v.vocab_size);
    needed_unk |= slow[i] == v.unk_id;
  }
  FUZZ_CHECK(n_slow >= 1 && slow[0] == v.bos_id);

  std::vector<char> decoded(n_slow * (v.max_piece_length + 1) + 1);
  size_t len = 0;
  FUZZ_CHECK(tok.Decode(slow.data(), n_slow, decoded.data(), decoded.size(), &len).ok());
  FUZZ_CHECK(len < decoded.size() && decoded[len] == '\0');
  if (!needed_unk) FUZZ_CHECK(std::string(decoded.data(), len) == text);
}

void CheckDecodeOfArbitraryIds(const Tokenizer& tok, const uint8_t* data, size_t size) {
  const kite::TokenizerView& v = tok.view();
  std::vector<int32_t> ids;
  bool all_in_range = true;
  for (size_t i = 0; i + 2 <= size && ids.size() < 256; i += 2) {
    // Mostly in range, sometimes just outside or negative.
    const int32_t raw = static_cast<int32_t>(data[i] | data[i + 1] << 8);
    const int32_t id = raw % static_cast<int32_t>(v.vocab_size + 2) - (raw & 0x8000 ? 1 : 0);
    all_in_range &= id >= 0 && static_cast<uint32_t>(id) < v.vocab_size;
    ids.push_back(id);
  }
  char byte_buf[2];
  int32_t prev = -1;
  for (int32_t id : ids) {
    const char* piece = tok.Piece(prev, id, byte_buf);
    FUZZ_CHECK(piece != nullptr && std::strlen(piece) <= v.max_piece_length);
    prev = id;
  }
  std::vector<char> text(ids.size() * (v.max_piece_length + 1) + 1);
  size_t len = 0;
  const Status s = tok.Decode(ids.data(), ids.size(), text.data(), text.size(), &len);
  FUZZ_CHECK(s.ok() == all_in_range);
  if (!s.ok()) FUZZ_CHECK(s.code() == Error::kInvalidArgument);
}

void Exercise(const std::string& file, const uint8_t* data, size_t size, int32_t vocab_size) {
  auto tables = kite::convert::ParseLlama2cTokenizer(file, vocab_size, "fuzz input");
  if (!tables.ok()) {
    FUZZ_CHECK(!tables.status().message().empty());
    return;
  }
  const Tokenizer tok(tables->View());
  FUZZ_CHECK(tok.IsStop(1) && tok.IsStop(2));
  CheckEncodeDecode(tok, "");
  CheckEncodeDecode(tok, "Once upon a time, a little dog saw a big red ball.\nThe end.");
  const size_t tail = size < kMaxTextBytes ? size : kMaxTextBytes;
  CheckEncodeDecode(tok, std::string(reinterpret_cast<const char*>(data) + size - tail, tail));
  CheckDecodeOfArbitraryIds(tok, data, size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  // As given, with stories260K's vocabulary size (most seeds are tok512.bin).
  Exercise(bytes, data, size, 512);
  // Cut to the records it holds, with their count as the vocabulary size.
  size_t end = 0;
  const int32_t walked = CountEntries(bytes, &end);
  if (walked != 512 || end != size) Exercise(bytes.substr(0, end), data, size, walked);
  return 0;
}
