// kite_generate_options version 2 through the C API: an old-size struct keeps working;
// min-p, the penalties and logit bias change generation as documented and stay
// deterministic for a seed; stop strings stop generation without being shown, across token
// boundaries; the text is whole UTF-8 characters unless raw_pieces; every absurd value
// fails with KITE_ERR_INVALID_ARGUMENT naming its field.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "test/common/every_generate_option.h"
#include "test/common/test_paths.h"

namespace {

const std::string kModel = kite::test::TestModel("stories260K-q4.kite");

// What one kite_generate call handed its callback.
struct Outcome {
  kite_status status = KITE_OK;
  std::vector<int32_t> ids;        // tokens, in order (the token -1 call excluded)
  std::vector<std::string> texts;  // the text of each call, the token -1 call included
  int flushes = 0;                 // calls with token -1
  kite_generate_stats stats{};
  std::string Text() const {
    std::string all;
    for (const std::string& t : texts) all += t;
    return all;
  }
};

int Record(const char* piece, int32_t token, void* user) {
  Outcome* r = static_cast<Outcome*>(user);
  if (token >= 0) {
    r->ids.push_back(token);
  } else {
    ++r->flushes;
  }
  r->texts.push_back(piece);
  return KITE_CONTINUE;
}

class GenerateOptions : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(kite_model_open_file(kModel.c_str(), nullptr, &model_), KITE_OK) << kite_last_error();
    kite_session_options so;
    kite_session_options_init(&so);
    so.max_context = 256;
    ASSERT_EQ(kite_session_create(model_, &so, nullptr, 0, &session_), KITE_OK);
    kite_generate_options_init(&o_);
    o_.max_tokens = 40;
  }
  void TearDown() override {
    kite_session_destroy(session_);
    kite_model_close(model_);
  }
  // Generates from a reset session with o_ (or `options`).
  Outcome Generate(const char* prompt, const kite_generate_options* options = nullptr) {
    Outcome r;
    kite_session_reset(session_);
    r.stats.struct_size = sizeof(r.stats);
    r.status = kite_generate(session_, prompt, options != nullptr ? options : &o_, Record, &r,
                             &r.stats);
    EXPECT_EQ(r.status, KITE_OK) << kite_session_last_error(session_);
    return r;
  }
  // Two byte tokens that spell one 2-byte character (*lead, *trail): the first candidate
  // the vocabulary has no piece for. *text receives the character.
  void ByteTokensOfACharacter(int32_t* lead, int32_t* trail, std::string* text) {
    for (const char* c : {"\xC5\xB7", "\xD0\xB6", "\xCE\xA9", "\xC3\xA9"}) {
      int32_t ids[16];
      size_t n = 0;
      ASSERT_EQ(kite_tokenize(model_, c, 2, 0, ids, 16, &n), KITE_OK);
      if (n < 2) continue;
      char byte[8];
      size_t len1 = 0, len2 = 0;
      ASSERT_EQ(kite_detokenize(model_, &ids[n - 2], 1, byte, sizeof(byte), &len1), KITE_OK);
      const bool lead_ok = len1 == 1 && byte[0] == c[0];
      ASSERT_EQ(kite_detokenize(model_, &ids[n - 1], 1, byte, sizeof(byte), &len2), KITE_OK);
      if (lead_ok && len2 == 1 && byte[0] == c[1]) {
        *lead = ids[n - 2];
        *trail = ids[n - 1];
        *text = c;
        return;
      }
    }
    FAIL() << "no candidate character is spelled with byte tokens";
  }
  kite_model* model_ = nullptr;
  kite_session* session_ = nullptr;
  kite_generate_options o_;
};

TEST_F(GenerateOptions, InitSetsTheDocumentedDefaults) {
  EXPECT_EQ(o_.min_p, 0.0f);
  EXPECT_EQ(o_.repetition_penalty, 1.0f);
  EXPECT_EQ(o_.frequency_penalty, 0.0f);
  EXPECT_EQ(o_.presence_penalty, 0.0f);
  EXPECT_EQ(o_.penalty_last_n, 64);
  EXPECT_EQ(o_.raw_pieces, 0);
  EXPECT_EQ(o_.logit_bias, nullptr);
  EXPECT_EQ(o_.n_logit_bias, 0u);
  EXPECT_EQ(o_.stop, nullptr);
  EXPECT_EQ(o_.n_stop, 0u);
}

// The struct_size rule: a caller built against version 1 (which ended with add_bos) passes
// that size; the fields it lacks take their defaults, whatever bytes follow its struct.
TEST_F(GenerateOptions, VersionOneSizeKeepsWorking) {
  static_assert(offsetof(kite_generate_options, min_p) % 8 == 0,
                "version 2 starts where version 1's sizeof ended");
  o_.temperature = 0.8f;
  o_.seed = 5;
  const Outcome current = Generate("Once upon");
  kite_generate_options old = o_;
  old.struct_size = offsetof(kite_generate_options, min_p);
  // Garbage where version 1 callers have none of these fields: never read.
  old.min_p = std::nanf("");
  old.repetition_penalty = -3.0f;
  old.penalty_last_n = -1;
  old.n_stop = 99;
  old.n_logit_bias = 7;
  const Outcome v1 = Generate("Once upon", &old);
  EXPECT_EQ(v1.ids, current.ids);
  EXPECT_EQ(v1.Text(), current.Text());
  // Between the two sizes is no published version.
  old.struct_size = offsetof(kite_generate_options, min_p) + 4;
  EXPECT_EQ(kite_generate(session_, "Once", &old, nullptr, nullptr, nullptr),
            KITE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(kite_session_last_error(session_), "kite_generate_options"), nullptr);
}

TEST_F(GenerateOptions, AbsurdValuesFailNamingTheField) {
  const kite_logit_bias out_of_range[] = {{1, 0.5f}, {100000, 1.0f}};
  const kite_logit_bias nan_bias[] = {{1, std::nanf("")}};
  const char* empty_stop[] = {""};
  const char* bad_utf8[] = {"\xE2\x82"};
  const char* nine[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
  struct Case {
    const char* field;
    kite_generate_options o;
  };
  std::vector<Case> cases;
  const auto add = [&](const char* field, void (*set)(kite_generate_options*, const void*),
                       const void* arg) {
    Case c{field, o_};
    set(&c.o, arg);
    cases.push_back(c);
  };
  add("min_p", [](kite_generate_options* o, const void*) { o->min_p = std::nanf(""); }, nullptr);
  add("min_p", [](kite_generate_options* o, const void*) { o->min_p = 1.01f; }, nullptr);
  add("repetition_penalty",
      [](kite_generate_options* o, const void*) { o->repetition_penalty = 0.0f; }, nullptr);
  add("frequency_penalty",
      [](kite_generate_options* o, const void*) { o->frequency_penalty = -1.0f; }, nullptr);
  add("presence_penalty",
      [](kite_generate_options* o, const void*) { o->presence_penalty = -0.1f; }, nullptr);
  add("penalty_last_n",
      [](kite_generate_options* o, const void*) { o->penalty_last_n = KITE_MAX_PENALTY_LAST_N + 1; },
      nullptr);
  add("penalty_last_n", [](kite_generate_options* o, const void*) { o->penalty_last_n = -1; },
      nullptr);
  add("logit_bias", [](kite_generate_options* o, const void*) { o->n_logit_bias = 3; }, nullptr);
  add("logit_bias[1].token",
      [](kite_generate_options* o, const void* a) {
        o->logit_bias = static_cast<const kite_logit_bias*>(a);
        o->n_logit_bias = 2;
      },
      out_of_range);
  add("logit_bias[0].bias",
      [](kite_generate_options* o, const void* a) {
        o->logit_bias = static_cast<const kite_logit_bias*>(a);
        o->n_logit_bias = 1;
      },
      nan_bias);
  add("stop is null", [](kite_generate_options* o, const void*) { o->n_stop = 1; }, nullptr);
  add("stop[0] is empty",
      [](kite_generate_options* o, const void* a) {
        o->stop = static_cast<const char* const*>(a);
        o->n_stop = 1;
      },
      empty_stop);
  add("stop[0] is not valid UTF-8",
      [](kite_generate_options* o, const void* a) {
        o->stop = static_cast<const char* const*>(a);
        o->n_stop = 1;
      },
      bad_utf8);
  add("n_stop",
      [](kite_generate_options* o, const void* a) {
        o->stop = static_cast<const char* const*>(a);
        o->n_stop = 9;
      },
      nine);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    EXPECT_EQ(kite_generate(session_, "Once", &c.o, Record, nullptr, nullptr),
              KITE_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::strstr(kite_last_error(), c.field), nullptr) << kite_last_error();
    EXPECT_NE(std::strstr(kite_session_last_error(session_), c.field), nullptr);
    EXPECT_EQ(kite_session_position(session_), 0u) << "nothing may change";
  }
}

// The same seed gives the same tokens with every option on; another seed differs.
TEST_F(GenerateOptions, DeterministicForASeed) {
  kite::test::TurnOnEveryGenerateOption(&o_);
  o_.temperature = 1.0f;
  o_.top_p = 0.95f;
  o_.seed = 1234;
  const Outcome a = Generate("Once upon a time");
  const Outcome b = Generate("Once upon a time");
  o_.seed = 99;
  const Outcome c = Generate("Once upon a time");
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(a.Text(), b.Text());
  EXPECT_NE(a.ids, c.ids);
  for (int32_t t : a.ids) EXPECT_NE(t, kite::test::kBannedToken) << "a banned token was drawn";
}

// A presence penalty far above the logits' spread over a window covering the whole
// context: greedy never repeats a token of the prompt or of its own output.
TEST_F(GenerateOptions, PenaltiesOverTheWindowStopRepeats) {
  const Outcome plain = Generate("Once upon a time");
  std::set<int32_t> distinct(plain.ids.begin(), plain.ids.end());
  ASSERT_LT(distinct.size(), plain.ids.size()) << "greedy stories repeat tokens";
  o_.presence_penalty = 100.0f;
  o_.penalty_last_n = KITE_MAX_PENALTY_LAST_N;  // longer than the context: all of it
  const Outcome penalised = Generate("Once upon a time");
  int32_t prompt[64];
  size_t n_prompt = 0;
  ASSERT_EQ(kite_tokenize(model_, "Once upon a time", 16, 1, prompt, 64, &n_prompt), KITE_OK);
  std::set<int32_t> seen(prompt, prompt + n_prompt);
  for (int32_t t : penalised.ids) EXPECT_TRUE(seen.insert(t).second) << "token " << t << " repeated";
  // The same with a repetition penalty (logits are divided or multiplied by it).
  o_.presence_penalty = 0.0f;
  o_.repetition_penalty = 100.0f;
  const Outcome divided = Generate("Once upon a time");
  EXPECT_NE(divided.ids, plain.ids);
}

TEST_F(GenerateOptions, LogitBiasBansAndForces) {
  const Outcome plain = Generate("Once upon a time");
  ASSERT_FALSE(plain.ids.empty());
  const kite_logit_bias ban[] = {{plain.ids[0], -INFINITY}};
  o_.logit_bias = ban;
  o_.n_logit_bias = 1;
  const Outcome banned = Generate("Once upon a time");
  for (int32_t t : banned.ids) EXPECT_NE(t, plain.ids[0]);
  // min_p 1 keeps only the most likely token: sampling then equals greedy.
  o_.n_logit_bias = 0;
  o_.min_p = 1.0f;
  o_.temperature = 1.5f;
  o_.seed = 77;
  EXPECT_EQ(Generate("Once upon a time").ids, plain.ids);
}

// A stop string spanning two tokens ends generation; the text before it is all that is
// shown, and the token that completed it is in the context.
TEST_F(GenerateOptions, StopStringAcrossTokensIsNeverShown) {
  const Outcome plain = Generate("Once upon a time");
  ASSERT_GE(plain.ids.size(), 12u);
  // The text of tokens 8..9 plus the first character of token 10: a string ending inside
  // a token, starting at a token boundary.
  std::string before, stop_text;
  for (size_t i = 0; i < 8; ++i) before += plain.texts[i];
  stop_text = plain.texts[8] + plain.texts[9] + plain.texts[10].substr(0, 1);
  ASSERT_GT(stop_text.size(), 1u);
  ASSERT_EQ(before.find(stop_text), std::string::npos) << "pick a later stop string";
  const char* stop[] = {"never appears", stop_text.c_str()};
  o_.stop = stop;
  o_.n_stop = 2;
  const Outcome stopped = Generate("Once upon a time");
  EXPECT_EQ(stopped.stats.stop_reason, KITE_STOP_STRING);
  EXPECT_EQ(stopped.ids.size(), 11u);
  EXPECT_EQ(stopped.Text(), before);
  EXPECT_EQ(stopped.flushes, 0);
  EXPECT_EQ(kite_session_position(session_), stopped.stats.prompt_tokens + 11u);
  // A stop string that never completes: the text it held back comes at the end (token -1),
  // so the whole text is the plain run's.
  const std::string tail = plain.Text().substr(plain.Text().size() - 2);
  const std::string never = tail + "\x01";
  const char* held[] = {never.c_str()};
  o_.stop = held;
  o_.n_stop = 1;
  const Outcome flushed = Generate("Once upon a time");
  EXPECT_EQ(flushed.stats.stop_reason, KITE_STOP_MAX_TOKENS);
  EXPECT_EQ(flushed.ids, plain.ids);
  EXPECT_EQ(flushed.Text(), plain.Text());
  EXPECT_EQ(flushed.flushes, 1);
  EXPECT_EQ(flushed.texts.back(), tail);
}

// A 2-byte character generated as its two byte tokens: by default the callback gets it
// whole with the second token; raw_pieces gives each token's byte; an incomplete character
// at the end becomes U+FFFD in the final token -1 call.
TEST_F(GenerateOptions, TextIsWholeUtf8UnlessRawPieces) {
  int32_t lead = 0, trail = 0;
  std::string ch;
  ByteTokensOfACharacter(&lead, &trail, &ch);
  // Only the two byte tokens may come; after each, the presence penalty over a window of
  // one token makes the other win: lead, trail, lead (lead first: its bias is higher).
  kite_model_info info;
  info.struct_size = sizeof(info);
  ASSERT_EQ(kite_model_get_info(model_, &info), KITE_OK);
  std::vector<kite_logit_bias> bias;
  for (int32_t t = 0; t < static_cast<int32_t>(info.vocab_size); ++t) {
    bias.push_back({t, t == lead ? 50.0f : t == trail ? 25.0f : -INFINITY});
  }
  o_.logit_bias = bias.data();
  o_.n_logit_bias = bias.size();
  o_.presence_penalty = 100.0f;
  o_.penalty_last_n = 1;
  o_.max_tokens = 3;
  const Outcome text = Generate("Once");
  ASSERT_EQ(text.ids, (std::vector<int32_t>{lead, trail, lead}));
  EXPECT_EQ(text.texts, (std::vector<std::string>{"", ch, "", "\xEF\xBF\xBD"}));
  EXPECT_EQ(text.flushes, 1);
  o_.raw_pieces = 1;
  const Outcome raw = Generate("Once");
  EXPECT_EQ(raw.ids, text.ids);
  EXPECT_EQ(raw.texts, (std::vector<std::string>{ch.substr(0, 1), ch.substr(1), ch.substr(0, 1)}));
  EXPECT_EQ(raw.flushes, 0);
}

}  // namespace
