#include "sdk/runtime/tokenizer/tokenizer_loader.h"

#include <cmath>
#include <cstring>

#include "sdk/base/quote.h"
#include "sdk/runtime/tokenizer/tokenizer_bpe.h"
#include "sdk/schema/kite_generated.h"

namespace kite {
namespace {

// The SPLIT stages into v->split_stages (none for the other pre-tokenizers).
Status LoadSplitStages(const schema::Tokenizer* t, TokenizerView* v) {
  v->n_split_stages = 0;
  const auto* rules = t->split_rules();
  const uint32_t n = rules != nullptr ? rules->size() : 0;
  if (t->pretokenizer() != PreTokenizerType::SPLIT) {
    KITE_CHECK_OR_RETURN(n == 0, Error::kInvalidFormat,
                         "tokenizer: split_rules given for pre-tokenizer %u",
                         static_cast<unsigned>(t->pretokenizer()));
    return Status::Ok();
  }
  KITE_CHECK_OR_RETURN(n >= 1 && n <= kMaxSplitStages, Error::kInvalidFormat,
                       "tokenizer: the SPLIT pre-tokenizer has %u stages (1..%u)", n,
                       kMaxSplitStages);
  for (uint32_t i = 0; i < n; ++i) {
    const schema::SplitRule* r = rules->Get(i);
    KITE_CHECK_OR_RETURN(r != nullptr && r->program() != nullptr, Error::kInvalidFormat,
                         "tokenizer: split rule %u has no program", i);
    KITE_CHECK_OR_RETURN(static_cast<uint8_t>(r->behavior()) <=
                             static_cast<uint8_t>(SplitBehavior::MAX),
                         Error::kInvalidFormat, "tokenizer: split rule %u has unknown behavior %u",
                         i, static_cast<unsigned>(r->behavior()));
    KITE_RETURN_IF_ERROR(
        ValidateSplitProgram(r->program()->data(), r->program()->size(), "tokenizer"));
    SplitStage& s = v->split_stages[i];
    s.program.words = r->program()->data();
    s.program.n_words = r->program()->size();
    s.behavior = r->behavior();
    s.invert = r->invert();
  }
  v->n_split_stages = n;
  return Status::Ok();
}

// The PIPELINE normalizer's steps into v->normalizer_steps (none for the other normalizers).
Status LoadNormalizerSteps(const schema::Tokenizer* t, TokenizerView* v) {
  v->n_normalizer_steps = 0;
  const auto* steps = t->normalizer_steps();
  const uint32_t n = steps != nullptr ? steps->size() : 0;
  if (t->normalizer() != NormalizerType::PIPELINE) {
    KITE_CHECK_OR_RETURN(n == 0, Error::kInvalidFormat,
                         "tokenizer: normalizer_steps given for normalizer %u",
                         static_cast<unsigned>(t->normalizer()));
    return Status::Ok();
  }
  KITE_CHECK_OR_RETURN(n >= 1 && n <= kMaxNormalizerSteps, Error::kInvalidFormat,
                       "tokenizer: the normalizer pipeline has %u steps (1..%u)", n,
                       kMaxNormalizerSteps);
  for (uint32_t i = 0; i < n; ++i) {
    const schema::NormalizerStep* s = steps->Get(i);
    KITE_CHECK_OR_RETURN(s != nullptr, Error::kInvalidFormat, "tokenizer: normalizer step %u is null",
                         i);
    const char* name = s->name() != nullptr ? s->name()->c_str() : "";
    const size_t name_size = s->name() != nullptr ? s->name()->size() : 0;
    KITE_CHECK_OR_RETURN(
        static_cast<uint8_t>(s->kind()) <= static_cast<uint8_t>(NormalizerStepKind::MAX),
        Error::kUnsupported,
        "tokenizer: normalizer step %u is %s (kind %u), which this runtime does not know", i,
        Quoted(name, name_size).c_str(), static_cast<unsigned>(s->kind()));
    NormalizerStep& step = v->normalizer_steps[i];
    step = NormalizerStep{};
    step.kind = s->kind();
    step.strip_left = s->strip_left();
    step.strip_right = s->strip_right();
    const size_t pattern = s->pattern() != nullptr ? s->pattern()->size() : 0;
    const size_t content = s->content() != nullptr ? s->content()->size() : 0;
    const bool replace = step.kind == NormalizerStepKind::REPLACE;
    const bool prepend = step.kind == NormalizerStepKind::PREPEND;
    KITE_CHECK_OR_RETURN(replace ? pattern >= 1 && pattern <= kMaxNormalizerText : pattern == 0,
                         Error::kInvalidFormat,
                         "tokenizer: normalizer step %u (%s) has a pattern of %zu bytes (%s)", i,
                         Quoted(name, name_size).c_str(), pattern,
                         replace ? "Replace: 1..64" : "only Replace has one");
    KITE_CHECK_OR_RETURN(
        replace ? content <= kMaxNormalizerText
                : prepend ? content >= 1 && content <= kMaxNormalizerText : content == 0,
        Error::kInvalidFormat, "tokenizer: normalizer step %u (%s) has content of %zu bytes (%s)",
        i, Quoted(name, name_size).c_str(), content,
        replace ? "Replace: 0..64" : prepend ? "Prepend: 1..64" : "only Replace and Prepend have it");
    KITE_CHECK_OR_RETURN(step.kind == NormalizerStepKind::STRIP ||
                             (!step.strip_left && !step.strip_right),
                         Error::kInvalidFormat,
                         "tokenizer: normalizer step %u (%s) sets strip flags", i,
                         Quoted(name, name_size).c_str());
    if (pattern > 0) {
      step.pattern = reinterpret_cast<const char*>(s->pattern()->data());
      step.pattern_size = pattern;
    }
    if (content > 0) {
      step.content = reinterpret_cast<const char*>(s->content()->data());
      step.content_size = content;
    }
  }
  v->n_normalizer_steps = n;
  return Status::Ok();
}

}  // namespace

Status BuildTokenizer(const schema::Tokenizer* t, uint32_t vocab, TokenizerView* v) {
  if (t == nullptr || t->type() == schema::TokenizerType::NONE) {
    v->kind = TokenizerType::NONE;
    return Status::Ok();
  }
  const bool byte_level = t->type() == schema::TokenizerType::BYTE_BPE;
  KITE_CHECK_OR_RETURN(t->type() == schema::TokenizerType::SCORE_BPE || byte_level,
                       Error::kUnsupported, "tokenizer type %u is not supported by this build",
                       static_cast<unsigned>(t->type()));
  KITE_CHECK_OR_RETURN(
      t->pieces() && t->piece_offsets() && t->scores() && t->types() && t->sorted_ids(),
      Error::kInvalidFormat, "tokenizer: a required table is missing");
  const auto* offsets = t->piece_offsets();
  const uint32_t blob = t->pieces()->size();
  KITE_CHECK_OR_RETURN(offsets->size() == vocab + 1 && t->scores()->size() == vocab &&
                           t->types()->size() == vocab && t->sorted_ids()->size() == vocab,
                       Error::kInvalidFormat,
                       "tokenizer: table sizes do not match vocab_size %u (offsets %u, scores %u, "
                       "types %u, sorted_ids %u)",
                       vocab, offsets->size(), t->scores()->size(), t->types()->size(),
                       t->sorted_ids()->size());
  const uint8_t* pieces = t->pieces()->data();
  KITE_CHECK_OR_RETURN(offsets->Get(0) == 0 && offsets->Get(vocab) == blob, Error::kInvalidFormat,
                       "tokenizer: piece offsets do not cover the piece table");
  uint32_t max_len = 0;
  for (uint32_t i = 0; i < vocab; ++i) {
    const uint32_t a = offsets->Get(i), b = offsets->Get(i + 1);
    // Byte-level pieces are raw bytes and may hold NUL (their length comes from offsets).
    KITE_CHECK_OR_RETURN(a < b && b <= blob && pieces[b - 1] == '\0' &&
                             (byte_level || std::memchr(pieces + a, '\0', b - 1 - a) == nullptr),
                         Error::kInvalidFormat, "tokenizer: piece %u is malformed", i);
    max_len = b - 1 - a > max_len ? b - 1 - a : max_len;
    const uint8_t type = static_cast<uint8_t>(t->types()->Get(i));
    KITE_CHECK_OR_RETURN(type >= 1 && type <= 6, Error::kInvalidFormat,
                         "tokenizer: token %u has unknown type %u", i, type);
    KITE_CHECK_OR_RETURN(t->sorted_ids()->Get(i) < vocab, Error::kInvalidFormat,
                         "tokenizer: sorted_ids[%u] = %u is not a token id", i,
                         t->sorted_ids()->Get(i));
    // NaN or infinite merge priorities make the encoder's comparisons meaningless.
    const float score = t->scores()->Get(i);
    KITE_CHECK_OR_RETURN(std::isfinite(score), Error::kInvalidFormat,
                         "tokenizer: scores[%u] = %g is not a finite number", i,
                         static_cast<double>(score));
  }
  // Lookups binary-search sorted_ids, so its order is part of memory safety's contract.
  for (uint32_t i = 1; i < vocab; ++i) {
    const uint32_t a = t->sorted_ids()->Get(i - 1), b = t->sorted_ids()->Get(i);
    const uint32_t la = offsets->Get(a + 1) - offsets->Get(a) - 1;
    const uint32_t lb = offsets->Get(b + 1) - offsets->Get(b) - 1;
    const int c =
        std::memcmp(pieces + offsets->Get(a), pieces + offsets->Get(b), la < lb ? la : lb);
    // Strictly ascending by (piece, id): equal pieces keep id order. With vocab entries that
    // are all token ids, this also makes sorted_ids a permutation (no id twice, none missing).
    KITE_CHECK_OR_RETURN(c < 0 || (c == 0 && (la < lb || (la == lb && a < b))),
                         Error::kInvalidFormat,
                         a == b ? "tokenizer: sorted_ids holds token id %u twice (at %u)"
                                : "tokenizer: sorted_ids is not sorted at %u (id %u)",
                         a == b ? a : i, a == b ? i : b);
  }
  const int32_t* byte_ids = nullptr;
  if (t->byte_ids() && t->byte_ids()->size() != 0) {
    KITE_CHECK_OR_RETURN(t->byte_ids()->size() == 256, Error::kInvalidFormat,
                         "tokenizer: byte_ids has %u entries, expected 256", t->byte_ids()->size());
    for (uint32_t b = 0; b < 256; ++b) {
      const int32_t id = t->byte_ids()->Get(b);
      KITE_CHECK_OR_RETURN(id >= -1 && id < static_cast<int32_t>(vocab), Error::kInvalidFormat,
                           "tokenizer: byte_ids[%u] = %d is not a token id", b, id);
    }
    byte_ids = t->byte_ids()->data();
  }
  KITE_CHECK_OR_RETURN(!byte_level || byte_ids != nullptr, Error::kInvalidFormat,
                       "tokenizer: a byte-level tokenizer needs byte_ids (256 entries)");
  const BpeMerge* merges = nullptr;
  uint32_t n_merges = 0;
  if (byte_level) {
    KITE_CHECK_OR_RETURN(static_cast<uint8_t>(t->pretokenizer()) <=
                             static_cast<uint8_t>(PreTokenizerType::MAX),
                         Error::kInvalidFormat, "tokenizer: unknown pre-tokenizer %u",
                         static_cast<unsigned>(t->pretokenizer()));
    KITE_RETURN_IF_ERROR(LoadSplitStages(t, v));
    const int32_t max_stage = t->pretokenizer() == PreTokenizerType::SPLIT
                                  ? static_cast<int32_t>(v->n_split_stages)
                                  : 0;
    KITE_CHECK_OR_RETURN(t->prefix_space_stage() >= -1 && t->prefix_space_stage() <= max_stage,
                         Error::kInvalidFormat,
                         "tokenizer: prefix_space_stage %d is not -1..%d",
                         static_cast<int>(t->prefix_space_stage()), static_cast<int>(max_stage));
    KITE_CHECK_OR_RETURN(static_cast<uint8_t>(t->normalizer()) <=
                             static_cast<uint8_t>(NormalizerType::MAX),
                         Error::kInvalidFormat, "tokenizer: unknown normalizer %u",
                         static_cast<unsigned>(t->normalizer()));
    KITE_RETURN_IF_ERROR(LoadNormalizerSteps(t, v));
    if (t->merges() != nullptr && t->merges()->size() != 0) {
      merges = t->merges()->Get(0);
      n_merges = t->merges()->size();
    }
    const auto piece_len = [&](uint32_t id) { return offsets->Get(id + 1) - offsets->Get(id) - 1; };
    for (uint32_t i = 0; i < n_merges; ++i) {
      const BpeMerge& m = merges[i];
      KITE_CHECK_OR_RETURN(m.left() < vocab && m.right() < vocab && m.result() < vocab,
                           Error::kInvalidFormat, "tokenizer: merge %u names a token id >= %u", i,
                           vocab);
      KITE_CHECK_OR_RETURN(
          i == 0 || merges[i - 1].left() < m.left() ||
              (merges[i - 1].left() == m.left() && merges[i - 1].right() < m.right()),
          Error::kInvalidFormat, "tokenizer: merges are not sorted by (left, right) at %u", i);
      // The result must spell the two pieces joined; the encoder relies on a merged token
      // covering one byte of text per position it absorbed.
      const uint32_t ll = piece_len(m.left()), lr = piece_len(m.right());
      KITE_CHECK_OR_RETURN(piece_len(m.result()) == ll + lr &&
                               std::memcmp(pieces + offsets->Get(m.result()),
                                           pieces + offsets->Get(m.left()), ll) == 0 &&
                               std::memcmp(pieces + offsets->Get(m.result()) + ll,
                                           pieces + offsets->Get(m.right()), lr) == 0,
                           Error::kInvalidFormat,
                           "tokenizer: merge %u: token %u is not tokens %u and %u joined", i,
                           m.result(), m.left(), m.right());
    }
    for (uint32_t b = 0; b < 256; ++b) {
      const int32_t id = byte_ids[b];
      KITE_CHECK_OR_RETURN(
          id < 0 || (piece_len(static_cast<uint32_t>(id)) == 1 &&
                     pieces[offsets->Get(static_cast<uint32_t>(id))] == static_cast<uint8_t>(b)),
          Error::kInvalidFormat,
          "tokenizer: byte_ids[%u] = %d is not the one-byte piece of that byte", b, id);
    }
  }
  const uint8_t* added_flags = nullptr;
  if (t->added_token_flags() != nullptr && t->added_token_flags()->size() != 0) {
    KITE_CHECK_OR_RETURN(byte_level && t->added_token_flags()->size() == vocab,
                         Error::kInvalidFormat,
                         "tokenizer: added_token_flags has %u entries, expected %u (byte-level "
                         "BPE only)",
                         t->added_token_flags()->size(), vocab);
    added_flags = t->added_token_flags()->data();
    for (uint32_t i = 0; i < vocab; ++i) {
      const uint8_t f = added_flags[i];
      KITE_CHECK_OR_RETURN(
          (f & ~static_cast<uint8_t>(AddedTokenFlag::ANY)) == 0 &&
              (f == 0 || t->types()->Get(i) == TokenType::USER_DEFINED),
          Error::kInvalidFormat,
          "tokenizer: added_token_flags[%u] = 0x%02X (unknown bits, or not an added token)", i,
          static_cast<unsigned>(f));
    }
  }
  const int32_t ids[3] = {t->bos_id(), t->eos_id(), t->unk_id()};
  for (int32_t id : ids) {
    KITE_CHECK_OR_RETURN(id >= -1 && id < static_cast<int32_t>(vocab), Error::kInvalidFormat,
                         "tokenizer: special token id %d is out of range", id);
  }
  if (t->stop_ids()) {
    for (uint32_t i = 0; i < t->stop_ids()->size(); ++i) {
      const int32_t id = t->stop_ids()->Get(i);
      KITE_CHECK_OR_RETURN(id >= 0 && id < static_cast<int32_t>(vocab), Error::kInvalidFormat,
                           "tokenizer: stop id %d is out of range", id);
    }
  }
  v->kind = byte_level ? TokenizerType::BYTE_BPE : TokenizerType::SCORE_BPE;
  v->vocab_size = vocab;
  v->pieces = reinterpret_cast<const char*>(pieces);
  v->piece_offsets = offsets->data();
  v->scores = t->scores()->data();
  v->types = reinterpret_cast<const uint8_t*>(t->types()->data());
  v->sorted_ids = t->sorted_ids()->data();
  v->byte_ids = byte_ids;
  v->bos_id = t->bos_id();
  v->eos_id = t->eos_id();
  v->unk_id = t->unk_id();
  v->stop_ids = t->stop_ids() ? t->stop_ids()->data() : nullptr;
  v->n_stop_ids = t->stop_ids() ? t->stop_ids()->size() : 0;
  v->add_dummy_prefix = t->add_dummy_prefix();
  v->max_piece_length = max_len;
  v->merges = merges;
  v->n_merges = n_merges;
  v->pretokenizer = t->pretokenizer();
  v->ignore_merges = t->ignore_merges();
  v->prefix_space_stage = t->prefix_space_stage();
  v->normalizer = t->normalizer();
  v->added_token_flags = added_flags;
  v->add_bos = t->add_bos();
  IndexUserDefinedTokens(v);
  return Status::Ok();
}

}  // namespace kite
