// kite-chat's input-line parser (the `/` commands) and its conversation file codec, as
// pure functions.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "samples/chat/chat.h"

namespace {

using kite::chat::Command;
using kite::chat::CommandKind;
using kite::chat::ParseCommand;

TEST(ChatCommand, PlainLinesAreMessages) {
  for (const std::string line : {"", "hello", " /reset", "a/b", "\t/quit"}) {
    const Command c = ParseCommand(line);
    EXPECT_EQ(c.kind, CommandKind::kMessage) << line;
    EXPECT_EQ(c.arg, line);
  }
}

TEST(ChatCommand, DoubleSlashSendsOneSlash) {
  EXPECT_EQ(ParseCommand("//etc/hosts").kind, CommandKind::kMessage);
  EXPECT_EQ(ParseCommand("//etc/hosts").arg, "/etc/hosts");
  EXPECT_EQ(ParseCommand("//").arg, "/");
  EXPECT_EQ(ParseCommand("///x").arg, "//x");
}

TEST(ChatCommand, Commands) {
  EXPECT_EQ(ParseCommand("/reset").kind, CommandKind::kReset);
  EXPECT_EQ(ParseCommand("/help").kind, CommandKind::kHelp);
  EXPECT_EQ(ParseCommand("/quit").kind, CommandKind::kQuit);
  EXPECT_EQ(ParseCommand("/quit   ").kind, CommandKind::kQuit);
  const Command save = ParseCommand("/save  my chat.bin ");
  EXPECT_EQ(save.kind, CommandKind::kSave);
  EXPECT_EQ(save.arg, "my chat.bin");
  const Command load = ParseCommand("/load\tx.chat");
  EXPECT_EQ(load.kind, CommandKind::kLoad);
  EXPECT_EQ(load.arg, "x.chat");
}

TEST(ChatCommand, BadCommandsSayWhatIsWrong) {
  const Command unknown = ParseCommand("/sav x");
  EXPECT_EQ(unknown.kind, CommandKind::kError);
  EXPECT_NE(unknown.arg.find("unknown command '/sav'"), std::string::npos) << unknown.arg;
  EXPECT_NE(unknown.arg.find("'//'"), std::string::npos) << unknown.arg;
  EXPECT_EQ(ParseCommand("/").kind, CommandKind::kError);
  EXPECT_EQ(ParseCommand("/RESET").kind, CommandKind::kError);
  const Command no_file = ParseCommand("/load  ");
  EXPECT_EQ(no_file.kind, CommandKind::kError);
  EXPECT_NE(no_file.arg.find("/load needs a file name"), std::string::npos) << no_file.arg;
  const Command extra = ParseCommand("/help me");
  EXPECT_EQ(extra.kind, CommandKind::kError);
  EXPECT_NE(extra.arg.find("/help takes no argument (got 'me')"), std::string::npos) << extra.arg;
}

TEST(ChatConversationFile, RoundTripsAndRefusesDamage) {
  const std::vector<kite::chat::Message> messages = {
      {"system", "Be brief."}, {"user", std::string("a\0b", 3)}, {"assistant", ""}};
  const std::string state("\x01\x02\x00\x03", 4);
  const std::string bytes = kite::chat::EncodeConversation(messages, state.data(), state.size());
  std::vector<kite::chat::Message> got;
  std::string got_state, error;
  ASSERT_TRUE(kite::chat::DecodeConversation(bytes, &got, &got_state, &error)) << error;
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].role, messages[i].role);
    EXPECT_EQ(got[i].content, messages[i].content);
  }
  EXPECT_EQ(got_state, state);
  // Every truncation, and a byte too many, is refused.
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(kite::chat::DecodeConversation(bytes.substr(0, n), &got, &got_state, &error)) << n;
    EXPECT_FALSE(error.empty());
  }
  EXPECT_FALSE(kite::chat::DecodeConversation(bytes + "x", &got, &got_state, &error));
  EXPECT_NE(error.find("unexpected bytes"), std::string::npos) << error;
  std::string other_version = bytes;
  other_version[8] = 2;
  EXPECT_FALSE(kite::chat::DecodeConversation(other_version, &got, &got_state, &error));
  EXPECT_NE(error.find("version 2"), std::string::npos) << error;
  // A message length past the end.
  std::string long_length = bytes;
  long_length[16 + 3] = 0x7f;
  EXPECT_FALSE(kite::chat::DecodeConversation(long_length, &got, &got_state, &error));
  EXPECT_NE(error.find("truncated in message 1"), std::string::npos) << error;
}

}  // namespace
