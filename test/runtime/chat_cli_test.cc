// kite-chat driven through stdin, as a user runs it, on stories260K converted with the
// ChatML format (greedy): each turn's answer equals the same conversation generated in one
// go through the C API; /reset, /save + /load (in a new process) and a refused /load
// continue exactly as an uninterrupted conversation; Ctrl-C (SIGINT) cancels a running
// answer and the next turn works; a full context drops the oldest turns, and a message
// longer than the context is refused while the chat goes on.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "test/common/test_paths.h"
#include "test/common/tool_run.h"

namespace {

using kite::test::ReadText;
using kite::test::ShellQuote;

std::string ChatModel() { return kite::test::TestModel("stories260K-chatml.kite"); }

const std::string& Scratch() {
  static const std::string dir = kite::test::MakeScratchDir("kite_chat_cli");
  return dir;
}

// The options every run shares: greedy, short answers.
const char kGreedy[] = " --temp 0 -n 12 -t 1";

// Runs kite-chat with `args` (shell words) and `input` on stdin.
kite::test::ToolRun Chat(const std::string& args, const std::string& input) {
  const std::string in = Scratch() + "/in.txt", out = Scratch() + "/out.txt",
                    err = Scratch() + "/err.txt";
  FILE* f = std::fopen(in.c_str(), "wb");
  if (f != nullptr) {
    std::fwrite(input.data(), 1, input.size(), f);
    std::fclose(f);
  }
  const std::string cmd = ShellQuote(KITE_CHAT_BIN) + " " + args + " <" + ShellQuote(in) +
                          " >" + ShellQuote(out) + " 2>" + ShellQuote(err);
  kite::test::ToolRun r;
  const int status = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadText(out);
  r.err = ReadText(err);
  return r;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The greedy answer to `messages` generated in one go by a fresh session: the whole
// conversation tokenized, fed, then generated (12 tokens at most).
std::string OneGo(const std::vector<kite_chat_message>& messages) {
  kite_model* model = nullptr;
  EXPECT_EQ(kite_model_open_file(ChatModel().c_str(), nullptr, &model), KITE_OK)
      << kite_last_error();
  if (model == nullptr) return "";
  kite_session* session = nullptr;
  EXPECT_EQ(kite_session_create(model, nullptr, nullptr, 0, &session), KITE_OK);
  std::vector<int32_t> ids(8192);
  size_t n = 0;
  EXPECT_EQ(kite_chat_tokenize(model, messages.data(), messages.size(), 1, 1, ids.data(),
                               ids.size(), &n),
            KITE_OK);
  EXPECT_EQ(kite_session_feed(session, ids.data(), n), KITE_OK);
  kite_generate_options go;
  kite_generate_options_init(&go);
  go.max_tokens = 12;
  go.add_bos = 0;
  std::string text;
  kite_generate(session, "", &go,
                [](const char* piece, int32_t, void* user) {
                  *static_cast<std::string*>(user) += piece;
                  return KITE_CONTINUE;
                },
                &text, nullptr);
  kite_session_destroy(session);
  kite_model_close(model);
  return text;
}

TEST(ChatCli, HasTheChatFormat) {
  kite_model* model = nullptr;
  ASSERT_EQ(kite_model_open_file(ChatModel().c_str(), nullptr, &model), KITE_OK);
  EXPECT_EQ(kite_model_chat_format(model), KITE_CHAT_FORMAT_CHATML);
  kite_model_close(model);
}

TEST(ChatCli, EachTurnEqualsTheConversationInOneGo) {
  const kite::test::ToolRun r =
      Chat("-m " + ChatModel() + kGreedy + " --system 'Tell a story.'",
           "Once upon a time\nThe little dog\nA cat sat\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string a1 = OneGo({{"system", "Tell a story."}, {"user", "Once upon a time"}});
  const std::string a2 = OneGo({{"system", "Tell a story."},
                                {"user", "Once upon a time"},
                                {"assistant", a1.c_str()},
                                {"user", "The little dog"}});
  const std::string a3 = OneGo({{"system", "Tell a story."},
                                {"user", "Once upon a time"},
                                {"assistant", a1.c_str()},
                                {"user", "The little dog"},
                                {"assistant", a2.c_str()},
                                {"user", "A cat sat"}});
  EXPECT_FALSE(a1.empty());
  EXPECT_EQ(r.out, a1 + "\n" + a2 + "\n" + a3 + "\n") << r.err;
  EXPECT_EQ(Count(r.err, "[turn "), 3u) << r.err;
}

TEST(ChatCli, ResetAnswersAsAFreshStart) {
  const std::string args = "-m " + ChatModel() + kGreedy + " --system 'Be kind.'";
  const kite::test::ToolRun fresh = Chat(args, "The little dog\n");
  const kite::test::ToolRun two = Chat(args, "Once upon a time\nThe little dog\n");
  const kite::test::ToolRun reset = Chat(args, "Once upon a time\n/reset\nThe little dog\n");
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  const std::string first = Chat(args, "Once upon a time\n").out;
  EXPECT_EQ(reset.out, first + fresh.out) << reset.err;
  EXPECT_NE(reset.out, two.out);  // without /reset the second answer differs
  EXPECT_NE(reset.err.find("[new conversation]"), std::string::npos) << reset.err;
}

TEST(ChatCli, SaveThenLoadInANewProcessContinuesIdentically) {
  const std::string args = "-m " + ChatModel() + kGreedy + " --system 'Tell a story.'";
  const std::string file = Scratch() + "/saved.chat";
  const kite::test::ToolRun whole = Chat(args, "Once upon a time\nThe little dog\nA cat sat\n");
  const kite::test::ToolRun first =
      Chat(args, "Once upon a time\n/save " + file + "\nThe little dog\nA cat sat\n");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("[saved 3 messages"), std::string::npos) << first.err;
  EXPECT_EQ(first.out, whole.out) << first.err;
  // A new process, started without --system: the loaded conversation brings its own.
  const kite::test::ToolRun second =
      Chat("-m " + ChatModel() + kGreedy, "/load " + file + "\nThe little dog\nA cat sat\n");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("[loaded 3 messages"), std::string::npos) << second.err;
  const std::string answer1 = Chat(args, "Once upon a time\n").out;
  EXPECT_EQ(answer1 + second.out, whole.out) << second.err;
  // /reset after /load keeps the loaded system message.
  const kite::test::ToolRun reset =
      Chat("-m " + ChatModel() + kGreedy, "/load " + file + "\n/reset\nOnce upon a time\n");
  EXPECT_EQ(reset.out, answer1) << reset.err;
}

TEST(ChatCli, CorruptOrForeignStateIsRefusedAndTheChatGoesOn) {
  const std::string args = "-m " + ChatModel() + kGreedy;
  const std::string good = Scratch() + "/good.chat", garbage = Scratch() + "/garbage.chat",
                    cut = Scratch() + "/cut.chat", foreign = Scratch() + "/foreign.chat",
                    flipped = Scratch() + "/flipped.chat";
  ASSERT_EQ(Chat(args, "Once upon a time\n/save " + good + "\n").exit_code, 0);
  const std::string bytes = ReadText(good);
  ASSERT_GT(bytes.size(), 100u);
  auto write = [](const std::string& path, const std::string& data) {
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(data.data(), 1, data.size(), f);
    std::fclose(f);
  };
  write(garbage, "not a conversation");
  write(cut, bytes.substr(0, bytes.size() / 2));
  std::string bad = bytes;
  bad[bad.size() - 5] ^= 0x40;  // inside the state: its checksum fails
  write(flipped, bad);
  // A state of another model (the same weights without a chat format: another file).
  ASSERT_EQ(Chat("-m " + kite::test::TestModel("stories260K-hf-f32.kite") + kGreedy,
                 "Hello\n/save " + foreign + "\n")
                .exit_code,
            0);
  // Another context length is refused too.
  const kite::test::ToolRun other_ctx = Chat(args + " -c 256", "/load " + good + "\n");
  EXPECT_NE(other_ctx.err.find("cannot load"), std::string::npos) << other_ctx.err;

  const kite::test::ToolRun uninterrupted = Chat(args, "Once upon a time\nThe little dog\n");
  std::string input = "Once upon a time\n";
  for (const std::string& f : {garbage, cut, flipped, foreign, Scratch() + "/missing.chat"}) {
    input += "/load " + f + "\n";
  }
  input += "The little dog\n";
  const kite::test::ToolRun r = Chat(args, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Count(r.err, "cannot load"), 5u) << r.err;
  EXPECT_EQ(Count(r.err, "the current conversation goes on"), 5u) << r.err;
  EXPECT_NE(r.err.find("is not a conversation saved by /save"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, uninterrupted.out) << r.err;
}

TEST(ChatCli, CommandsAndHelp) {
  const kite::test::ToolRun r =
      Chat("-m " + ChatModel() + kGreedy, "/bogus\n/save\n/help\n/reset now\n//x\n/quit\nnever sent\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("unknown command '/bogus'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/save needs a file name"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/reset takes no argument"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/load FILE"), std::string::npos) << r.err;
  EXPECT_EQ(Count(r.err, "[turn "), 1u) << r.err;  // "//x" is a message; after /quit nothing
  const kite::test::ToolRun help = Chat("--help", "");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("/save FILE"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--kv"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--backend"), std::string::npos) << help.out;
  EXPECT_EQ(Chat("", "").exit_code, 2);
}

TEST(ChatCli, FullContextDropsTheOldestTurnsAndRefusesAnOversizedMessage) {
  const std::string args = "-m " + ChatModel() + " --temp 0 -n 8 -t 1 -c 96 --system 'Hi.'";
  std::string input;
  for (int i = 0; i < 5; ++i) input += "Once upon a time\n";
  std::string huge;
  for (int i = 0; i < 60; ++i) huge += "The little dog ran. ";
  input += huge + "\nThe end\n";
  const kite::test::ToolRun r = Chat(args, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("dropped the"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(the system message is kept)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the message does not fit"), std::string::npos) << r.err;
  EXPECT_EQ(Count(r.err, "[turn "), 6u) << r.err;  // every message but the oversized one
  // Each drop leaves the system message and the new one: the same answer every time.
  const std::string first = Chat(args, "Once upon a time\n").out;
  ASSERT_FALSE(first.empty());
  std::string five;
  for (int i = 0; i < 5; ++i) five += first;
  EXPECT_EQ(r.out.substr(0, five.size()), five) << r.err;
}

// A running kite-chat with pipes on stdin, stdout and stderr.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int in[2], out[2], err[2];
    if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      // The test's own runner may ignore SIGINT (a background job); kite-chat keeps an
      // ignored SIGINT ignored, so give it the default.
      signal(SIGINT, SIG_DFL);
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
      std::vector<std::string> words = args;
      words.insert(words.begin(), KITE_CHAT_BIN);
      std::vector<char*> argv(words.size() + 1, nullptr);
      for (size_t i = 0; i < words.size(); ++i) argv[i] = &words[i][0];
      execv(KITE_CHAT_BIN, argv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    stderr_ = err[0];
  }

  ~Child() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : {stdin_, stdout_, stderr_}) {
      if (fd >= 0) close(fd);
    }
  }

  bool started() const { return pid_ > 0; }

  void Send(const std::string& text) {
    if (write(stdin_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      ADD_FAILURE() << "cannot write to kite-chat";
    }
  }

  void CloseStdin() {
    close(stdin_);
    stdin_ = -1;
  }

  void Interrupt() { kill(pid_, SIGINT); }

  // Reads stdout and stderr until `done` holds (true) or 120 s pass (false).
  bool ReadUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      pollfd fds[2] = {{stdout_, POLLIN, 0}, {stderr_, POLLIN, 0}};
      if (poll(fds, 2, 1000) <= 0) continue;
      char buf[65536];
      for (int i = 0; i < 2; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
        if (n > 0) (i == 0 ? out : err).append(buf, static_cast<size_t>(n));
        if (n == 0 && fds[i].revents & POLLHUP) fds[i].fd = -1;
      }
    }
    return true;
  }

  // Waits (draining the pipes, at most 120 s) for the exit; its status, or -1.
  int Wait() {
    int status = 0;
    const bool exited = ReadUntil([&] {
      const pid_t got = waitpid(pid_, &status, WNOHANG);
      return got == pid_;
    });
    if (!exited) return -1;
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string out, err;

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int stdin_ = -1, stdout_ = -1, stderr_ = -1;
};

TEST(ChatCli, CtrlCCancelsTheAnswerAndTheNextTurnWorks) {
  // With a context shift, the end tokens (EOS, and BOS, which also ends an answer) banned
  // and no token limit to speak of, an answer runs until cancelled.
  Child chat({"-m", ChatModel(), "--temp", "0", "-n", "16000000", "-t", "1", "-c", "128",
              "--context-shift", "0", "--logit-bias", "1=-inf", "--logit-bias", "2=-inf"});
  ASSERT_TRUE(chat.started());
  chat.Send("Once upon a time\n");
  ASSERT_TRUE(chat.ReadUntil([&] { return chat.out.size() > 200; })) << chat.err;
  chat.Interrupt();
  ASSERT_TRUE(chat.ReadUntil([&] { return chat.err.find("[answer cancelled") != std::string::npos; }))
      << chat.err;
  EXPECT_NE(chat.err.find("[turn 1:"), std::string::npos) << chat.err;
  // The next turn runs (the long partial answer no longer fits: the oldest turn goes).
  const size_t before = chat.out.size();
  chat.Send("The little dog\n");
  ASSERT_TRUE(chat.ReadUntil([&] { return chat.out.size() > before + 200; })) << chat.err;
  chat.Interrupt();
  ASSERT_TRUE(chat.ReadUntil([&] { return Count(chat.err, "[answer cancelled") == 2; }))
      << chat.err;
  EXPECT_NE(chat.err.find("[turn 2:"), std::string::npos) << chat.err;
  // Back at the prompt, Ctrl-C quits.
  ASSERT_TRUE(chat.ReadUntil([&] { return chat.err.size() >= 2 && chat.err.substr(chat.err.size() - 2) == "> "; }))
      << chat.err;
  chat.Interrupt();
  EXPECT_EQ(chat.Wait(), 0) << chat.err;
}

TEST(ChatCli, EndOfInputDuringAnAnswerFinishesItAndQuits) {
  Child chat({"-m", ChatModel(), "--temp", "0", "-n", "12", "-t", "1"});
  ASSERT_TRUE(chat.started());
  chat.Send("Once upon a time\n");
  chat.CloseStdin();
  EXPECT_EQ(chat.Wait(), 0) << chat.err;
  EXPECT_EQ(Count(chat.err, "[turn "), 1u) << chat.err;
}

}  // namespace
