// Chat formats: each reference template in ../shared/models/tokenizers/templates (and the
// Phi-3 GGUF's) is detected as the right format, and Kite's formatter reproduces exactly
// what the template renders for fixed 3-message conversations (worked out by hand from
// the Jinja source, with bos_token and eos_token rendered as "" because Kite leaves BOS/EOS
// to the tokenizer). Also: buffer-too-small errors, trimming, special-token encoding, and
// the C API on a converted model with --chat-format.
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kite/kite.h"
#include "sdk/runtime/chat.h"
#include "sdk/runtime/tokenizer/tokenizer.h"
#include "test/common/test_paths.h"
#include "test/common/tool_run.h"
#include "tools/convert/tokenizer/chat_detect.h"
#include "tools/convert/cli_options.h"
#include "tools/convert/tokenizer/tokenizer_tables.h"

namespace kite {
namespace {

std::string Template(const std::string& name) {
  const std::string text =
      kite::test::ReadText(kite::test::SharedModel("tokenizers/templates/" + name));
  EXPECT_FALSE(text.empty()) << name;
  return text;
}

// The Phi-3-mini template stored in ggml-vocab-phi-3.gguf (tokenizer.chat_template).
std::string Phi3GgufTemplate() {
  const std::string gguf =
      kite::test::ReadText(kite::test::SharedModel("tokenizers/ggml-vocab-phi-3.gguf"));
  const std::string key = "tokenizer.chat_template";
  const size_t at = gguf.find(key);
  if (at == std::string::npos || at + key.size() + 12 > gguf.size()) return "";
  uint64_t len = 0;  // after the key: uint32 type (8 = string), uint64 length, bytes
  std::memcpy(&len, gguf.data() + at + key.size() + 4, 8);
  return gguf.substr(at + key.size() + 12, len);
}

// The style points into `tmpl`, which must outlive it (hence no temporaries).
ChatStyle StyleOf(const std::string& tmpl) {
  const ChatFormat id = convert::DetectChatFormatFromTemplate(tmpl);
  return ChatStyleFor(static_cast<ChatFormat>(id), tmpl.data(), tmpl.size());
}
ChatStyle StyleOf(std::string&& tmpl) = delete;

std::string Format(const ChatStyle& style, const std::vector<ChatMessage>& messages,
                   bool add_generation_prompt) {
  std::vector<char> buf(8192);
  size_t len = 0;
  const Status s = FormatChat(style, messages.data(), messages.size(), add_generation_prompt,
                              buf.data(), buf.size(), &len);
  EXPECT_TRUE(s.ok()) << s.message();
  return std::string(buf.data(), len);
}

// The fixed conversations: with a system message (rendered without a generation prompt),
// and without one, ending on a user turn (rendered with the generation prompt).
const std::vector<ChatMessage> kWithSystem = {
    {"system", "You are a helpful assistant."}, {"user", "Hello!"}, {"assistant", "Hi there!"}};
const std::vector<ChatMessage> kUserTurns = {
    {"user", "Hello!"}, {"assistant", "Hi there!"}, {"user", "Tell me a joke."}};

TEST(ChatDetect, ReferenceTemplates) {
  EXPECT_EQ(convert::DetectChatFormatFromTemplate(Template("Qwen-Qwen2.5-7B-Instruct.jinja")),
            ChatFormat::CHATML);
  EXPECT_EQ(convert::DetectChatFormatFromTemplate(
                Template("meta-llama-Llama-3.2-3B-Instruct.jinja")),
            ChatFormat::LLAMA3);
  EXPECT_EQ(convert::DetectChatFormatFromTemplate(
                Template("microsoft-Phi-3.5-mini-instruct.jinja")),
            ChatFormat::PHI3);
  EXPECT_EQ(convert::DetectChatFormatFromTemplate(Template("google-gemma-2-2b-it.jinja")),
            ChatFormat::GEMMA);
  const std::string phi3 = Phi3GgufTemplate();
  ASSERT_EQ(phi3.size(), 269u);
  EXPECT_EQ(convert::DetectChatFormatFromTemplate(phi3), ChatFormat::PHI3);
  EXPECT_EQ(convert::DetectChatFormatFromTemplate(
                "{% for m in messages %}{{ bos_token + '[INST] ' + m['content'] + ' [/INST]' }}"),
            ChatFormat::LLAMA2);
  EXPECT_EQ(convert::DetectChatFormatFromTemplate("{{ messages }}"), ChatFormat::NONE);
  EXPECT_EQ(convert::DetectChatFormatFromTemplate(""), ChatFormat::NONE);
}

TEST(ChatDetect, NamesAndVocabularyFallback) {
  for (const char* name : {"none", "llama2", "llama3", "chatml", "phi3", "gemma"}) {
    absl::StatusOr<ChatFormat> f = convert::ParseChatFormatName(name);
    ASSERT_TRUE(f.ok()) << name;
    EXPECT_STREQ(ChatFormatName(*f), name);
  }
  EXPECT_TRUE(convert::ParseChatFormatName("ChatML").ok());
  EXPECT_FALSE(convert::ParseChatFormatName("alpaca").ok());
  const auto has = [](std::vector<std::string> vocab) {
    return [vocab](const char* p) {
      for (const std::string& v : vocab) {
        if (v == p) return true;
      }
      return false;
    };
  };
  EXPECT_EQ(convert::DetectChatFormatFromVocabulary(has({"<|im_start|>", "<|im_end|>"})),
            ChatFormat::CHATML);
  EXPECT_EQ(convert::DetectChatFormatFromVocabulary(has({"<|start_header_id|>"})),
            ChatFormat::LLAMA3);
  EXPECT_EQ(convert::DetectChatFormatFromVocabulary(has({"<|user|>", "<|end|>"})),
            ChatFormat::PHI3);
  EXPECT_EQ(convert::DetectChatFormatFromVocabulary(has({"<|user|>"})), ChatFormat::NONE);
  EXPECT_EQ(convert::DetectChatFormatFromVocabulary(has({"<start_of_turn>"})),
            ChatFormat::GEMMA);
}

TEST(ChatDetect, CommandLineOption) {
  absl::StatusOr<convert::CliOptions> o =
      convert::ParseCommandLine({"in.bin", "--chat-format", "ChatML", "-o", "x.kite"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->chat_format, "chatml");
  EXPECT_NE(convert::OptionsForProvenance(*o).find("--chat-format chatml"), std::string::npos);
  absl::StatusOr<convert::CliOptions> bad =
      convert::ParseCommandLine({"in.bin", "--chat-format=alpaca", "-o", "x.kite"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("unknown chat format 'alpaca'"),
            std::string::npos);
}

TEST(ChatFormat, Qwen25Template) {
  const std::string tmpl = Template("Qwen-Qwen2.5-7B-Instruct.jinja");
  const ChatStyle style = StyleOf(tmpl);
  ASSERT_EQ(style.format, ChatFormat::CHATML);
  EXPECT_EQ(Format(style, kWithSystem, false),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHello!<|im_end|>\n"
            "<|im_start|>assistant\nHi there!<|im_end|>\n");
  // Without a system message the template inserts its own default one.
  EXPECT_EQ(Format(style, kUserTurns, true),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
            "assistant.<|im_end|>\n"
            "<|im_start|>user\nHello!<|im_end|>\n"
            "<|im_start|>assistant\nHi there!<|im_end|>\n"
            "<|im_start|>user\nTell me a joke.<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(ChatFormat, Llama32Template) {
  const std::string tmpl = Template("meta-llama-Llama-3.2-3B-Instruct.jinja");
  const ChatStyle style = StyleOf(tmpl);
  ASSERT_EQ(style.format, ChatFormat::LLAMA3);
  EXPECT_TRUE(style.llama3_dates);
  EXPECT_EQ(Format(style, kWithSystem, false),
            "<|start_header_id|>system<|end_header_id|>\n\n"
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
            "You are a helpful assistant.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHi there!<|eot_id|>");
  EXPECT_EQ(Format(style, kUserTurns, true),
            "<|start_header_id|>system<|end_header_id|>\n\n"
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHi there!<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // A Llama 3.0-style template (no date block): system is an ordinary message.
  const ChatStyle plain = ChatStyleFor(ChatFormat::LLAMA3, nullptr, 0);
  EXPECT_EQ(Format(plain, kWithSystem, true),
            "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHi there!<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatFormat, Phi35Template) {
  const std::string tmpl = Template("microsoft-Phi-3.5-mini-instruct.jinja");
  const ChatStyle style = StyleOf(tmpl);
  ASSERT_EQ(style.format, ChatFormat::PHI3);
  // The template appends eos_token when there is no generation prompt; Kite does not.
  EXPECT_EQ(Format(style, kWithSystem, false),
            "<|system|>\nYou are a helpful assistant.<|end|>\n"
            "<|user|>\nHello!<|end|>\n"
            "<|assistant|>\nHi there!<|end|>\n");
  EXPECT_EQ(Format(style, kUserTurns, true),
            "<|user|>\nHello!<|end|>\n<|assistant|>\nHi there!<|end|>\n"
            "<|user|>\nTell me a joke.<|end|>\n<|assistant|>\n");
  // An empty system message is skipped, as the template's `and message['content']`.
  EXPECT_EQ(Format(style, {{"system", ""}, {"user", "Hi"}}, true),
            "<|user|>\nHi<|end|>\n<|assistant|>\n");
}

TEST(ChatFormat, Phi3GgufTemplate) {
  const std::string tmpl = Phi3GgufTemplate();
  const ChatStyle style = StyleOf(tmpl);
  ASSERT_EQ(style.format, ChatFormat::PHI3);
  // Phi-3-mini's template writes "<|assistant|>\n" after every user message itself.
  EXPECT_EQ(Format(style, kUserTurns, true),
            "<|user|>\nHello!<|end|>\n<|assistant|>\nHi there!<|end|>\n"
            "<|user|>\nTell me a joke.<|end|>\n<|assistant|>\n");
}

TEST(ChatFormat, Gemma2Template) {
  const std::string tmpl = Template("google-gemma-2-2b-it.jinja");
  const ChatStyle style = StyleOf(tmpl);
  ASSERT_EQ(style.format, ChatFormat::GEMMA);
  EXPECT_EQ(Format(style, kUserTurns, true),
            "<start_of_turn>user\nHello!<end_of_turn>\n"
            "<start_of_turn>model\nHi there!<end_of_turn>\n"
            "<start_of_turn>user\nTell me a joke.<end_of_turn>\n"
            "<start_of_turn>model\n");
  // The template rejects a system role; Kite folds it into the first user turn.
  EXPECT_EQ(Format(style, kWithSystem, false),
            "<start_of_turn>user\nYou are a helpful assistant.\n\nHello!<end_of_turn>\n"
            "<start_of_turn>model\nHi there!<end_of_turn>\n");
}

TEST(ChatFormat, Llama2AndNone) {
  const ChatStyle llama2 = ChatStyleFor(ChatFormat::LLAMA2, nullptr, 0);
  const std::vector<ChatMessage> four = {kWithSystem[0], kWithSystem[1], kWithSystem[2],
                                         {"user", "Tell me a joke."}};
  EXPECT_EQ(Format(llama2, four, true),
            "[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello! [/INST] "
            "Hi there! </s><s>[INST] Tell me a joke. [/INST]");
  const ChatStyle none = ChatStyleFor(ChatFormat::NONE, nullptr, 0);
  EXPECT_EQ(Format(none, kUserTurns, true),
            "user: Hello!\nassistant: Hi there!\nuser: Tell me a joke.\nassistant: ");
}

TEST(ChatFormat, TrimmingFollowsTheTemplates) {
  const std::vector<ChatMessage> spaced = {{"user", "  Hello!\n"}};
  EXPECT_EQ(Format(ChatStyleFor(ChatFormat::CHATML, nullptr, 0), spaced, false),
            "<|im_start|>user\n  Hello!\n<|im_end|>\n");
  EXPECT_EQ(Format(ChatStyleFor(ChatFormat::GEMMA, nullptr, 0), spaced, false),
            "<start_of_turn>user\nHello!<end_of_turn>\n");
  EXPECT_EQ(Format(ChatStyleFor(ChatFormat::LLAMA3, nullptr, 0), spaced, false),
            "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>");
}

TEST(ChatFormat, BufferTooSmall) {
  const ChatStyle style = ChatStyleFor(ChatFormat::CHATML, nullptr, 0);
  const std::string full = Format(style, kUserTurns, true);
  for (size_t cap : {size_t{0}, size_t{1}, size_t{10}, full.size()}) {
    std::vector<char> buf(cap + 1, 'x');
    size_t len = 0;
    const Status s = FormatChat(style, kUserTurns.data(), kUserTurns.size(), true,
                                cap ? buf.data() : nullptr, cap, &len);
    EXPECT_EQ(s.code(), Error::kOutOfMemory) << cap;
    EXPECT_EQ(len, full.size()) << cap;
    if (cap > 0) EXPECT_EQ(std::string(buf.data()), full.substr(0, cap - 1));
    EXPECT_EQ(buf[cap], 'x') << "wrote past the capacity";
  }
  std::vector<char> exact(full.size() + 1);
  size_t len = 0;
  EXPECT_TRUE(FormatChat(style, kUserTurns.data(), kUserTurns.size(), true, exact.data(),
                         exact.size(), &len)
                  .ok());
  const ChatMessage bad[] = {{"user", nullptr}};
  EXPECT_EQ(FormatChat(style, bad, 1, true, exact.data(), exact.size(), &len).code(),
            Error::kInvalidArgument);
}

TEST(ChatEncode, SpecialPiecesBecomeTheirIds) {
  convert::TokenizerTables t;
  t.kind = TokenizerType::SCORE_BPE;
  t.add_dummy_prefix = false;
  t.pieces = {"<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "<", "|", ">", "u", "s",
              "e", "r", "\n", "H", "i"};
  t.types.assign(t.pieces.size(), static_cast<uint8_t>(TokenType::NORMAL));
  t.types[0] = static_cast<uint8_t>(TokenType::UNKNOWN);
  t.types[1] = t.types[2] = t.types[3] = static_cast<uint8_t>(TokenType::CONTROL);
  t.types[4] = static_cast<uint8_t>(TokenType::USER_DEFINED);
  t.unk_id = 0;
  t.bos_id = 1;
  t.eos_id = 2;
  t.Finalize();
  const Tokenizer tok(t.View());
  const std::string text = "<|im_start|>user\nHi<|im_end|>\n<|";
  std::vector<int32_t> ids(64);
  size_t n = 0;
  ASSERT_TRUE(
      EncodeWithSpecialTokens(tok, text.data(), text.size(), true, ids.data(), ids.size(), &n)
          .ok());
  ids.resize(n);
  // BOS, <|im_start|>, u s e r \n H i, <|im_end|>, \n, then an unfinished marker as text.
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 3, 8, 9, 10, 11, 12, 13, 14, 4, 12, 5, 6}));
  // Plain encoding spells the markers out.
  size_t plain = 0;
  std::vector<int32_t> spelled(64);
  ASSERT_TRUE(tok.Encode(text.data(), text.size(), false, spelled.data(), spelled.size(), &plain)
                  .ok());
  EXPECT_GT(plain, n);
  // Too small a buffer fails cleanly.
  std::vector<int32_t> tiny(3);
  EXPECT_EQ(EncodeWithSpecialTokens(tok, text.data(), text.size(), true, tiny.data(), tiny.size(),
                                    &n)
                .code(),
            Error::kOutOfMemory);
}

TEST(ChatCApi, ConvertedModelWithChatFormatOption) {
  const std::string dir = kite::test::MakeScratchDir("kite_chat");
  const std::string out = dir + "/chatml.kite";
  const kite::test::ToolRun r = kite::test::RunTool(
      KITE_CONVERT_BIN,
      {kite::test::SharedModel("hf/stories260K-hf-f32-sharded"), "--tokenizer",
       kite::test::SharedModel("tok512.bin"), "--chat-format", "chatml", "-o", out},
      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("chat format chatml"), std::string::npos) << r.err;
  kite_model* model = nullptr;
  ASSERT_EQ(kite_model_open_file(out.c_str(), nullptr, &model), KITE_OK) << kite_last_error();
  EXPECT_EQ(kite_model_chat_format(model), KITE_CHAT_FORMAT_CHATML);
  const kite_chat_message messages[] = {{"system", "Be brief."}, {"user", "Hi"}};
  char buf[256];
  size_t len = 0;
  ASSERT_EQ(kite_chat_format(model, messages, 2, 1, buf, sizeof(buf), &len), KITE_OK);
  EXPECT_STREQ(buf, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                    "<|im_start|>assistant\n");
  EXPECT_EQ(len, std::strlen(buf));
  EXPECT_EQ(kite_chat_format(model, messages, 2, 1, buf, 8, &len), KITE_ERR_OUT_OF_MEMORY);
  // No control pieces start with '<' in this vocabulary: same ids as kite_tokenize.
  int32_t a[64], b[64];
  size_t na = 0, nb = 0;
  ASSERT_EQ(kite_tokenize_special(model, "Hi there", 8, 1, a, 64, &na), KITE_OK);
  ASSERT_EQ(kite_tokenize(model, "Hi there", 8, 1, b, 64, &nb), KITE_OK);
  EXPECT_EQ(std::vector<int32_t>(a, a + na), std::vector<int32_t>(b, b + nb));
  kite_model_close(model);

  // Without --chat-format this base model has no chat format.
  const std::string base = dir + "/base.kite";
  ASSERT_EQ(kite::test::RunTool(KITE_CONVERT_BIN,
                                {kite::test::SharedModel("hf/stories260K-hf-bf16"), "--tokenizer",
                                 kite::test::SharedModel("tok512.bin"), "-o", base},
                                dir)
                .exit_code,
            0);
  ASSERT_EQ(kite_model_open_file(base.c_str(), nullptr, &model), KITE_OK);
  EXPECT_EQ(kite_model_chat_format(model), KITE_CHAT_FORMAT_NONE);
  kite_model_close(model);
}

}  // namespace
}  // namespace kite
