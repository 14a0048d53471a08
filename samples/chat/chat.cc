#include "samples/chat/chat.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "samples/common/run_options.h"
#include "tools/common/input_file.h"

namespace kite::chat {

const char kCommandHelp[] =
    "commands (a line starting with '/'):\n"
    "  /reset       start a new conversation (same system message)\n"
    "  /save FILE   save the conversation (its messages and KV cache) to FILE\n"
    "  /load FILE   continue a conversation saved with /save (same model, -c and --kv)\n"
    "  /help        show this help\n"
    "  /quit        quit (so do end of input and Ctrl-C at the prompt)\n"
    "Ctrl-C while the model answers stops the answer; what it said so far stays in the\n"
    "conversation. To send a line that starts with '/', double the '/': \"//x\" sends \"/x\".\n";

namespace {

constexpr char kMagic[8] = {'K', 'I', 'T', 'E', 'C', 'H', 'A', 'T'};
constexpr uint32_t kFileVersion = 1;

// Trims spaces and tabs at both ends.
std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads little-endian integers and byte strings off a buffer, refusing to read past its end.
struct Reader {
  const std::string& bytes;
  size_t at = 0;

  bool U64(uint64_t* v, int n = 8) {
    if (bytes.size() - at < static_cast<size_t>(n)) return false;
    *v = 0;
    for (int i = 0; i < n; ++i) {
      *v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
    }
    at += n;
    return true;
  }
  bool Bytes(uint64_t n, std::string* out) {
    if (bytes.size() - at < n) return false;
    out->assign(bytes, at, n);
    at += n;
    return true;
  }
  // A uint32 length, then that many bytes.
  bool Text(std::string* out) {
    uint64_t n = 0;
    return U64(&n, 4) && Bytes(n, out);
  }
};

// ---- Ctrl-C: a self-pipe and a watcher thread --------------------------------------------
// kite_session_cancel is documented as thread-safe, not async-signal-safe, so the SIGINT
// handler only writes a byte to a pipe (write() is async-signal-safe); a watcher thread
// reads it and cancels the running answer, or, at the prompt, wakes the line reader to quit.

int g_signal_pipe_write = -1;

extern "C" void OnSigint(int) {
  const int saved = errno;
  const char c = 's';
  if (write(g_signal_pipe_write, &c, 1) < 0) {
    // The pipe is full: a Ctrl-C is already waiting to be handled.
  }
  errno = saved;
}

class InterruptWatcher {
 public:
  explicit InterruptWatcher(kite_session* session) : session_(session) {}
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  // Creates the pipes, starts the thread and installs the handler. False (nothing
  // installed) when a pipe cannot be made; the chat then runs without Ctrl-C handling.
  bool Start() {
    if (pipe(signal_) != 0) return false;
    if (pipe(wake_) != 0) {
      CloseAll();
      return false;
    }
    for (int fd : {signal_[0], signal_[1], wake_[0], wake_[1]}) {
      fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    fcntl(signal_[1], F_SETFL, O_NONBLOCK);
    fcntl(wake_[1], F_SETFL, O_NONBLOCK);
    g_signal_pipe_write = signal_[1];
    thread_ = std::thread([this] { Watch(); });
    started_ = true;
    // A SIGINT the parent ignores (e.g. a background job of a script) stays ignored.
    sigaction(SIGINT, nullptr, &previous_);
    if (previous_.sa_handler == SIG_IGN) return true;
    struct sigaction sa;
    std::memset(&sa, 0, sizeof(sa));
    sa.sa_handler = OnSigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, nullptr);
    return true;
  }

  ~InterruptWatcher() {
    if (started_) {
      sigaction(SIGINT, &previous_, nullptr);
      const char stop = 'x';
      while (write(signal_[1], &stop, 1) < 0 && errno == EINTR) {
      }
      thread_.join();
      g_signal_pipe_write = -1;
    }
    CloseAll();
  }

  // The descriptor that becomes readable when Ctrl-C is pressed at the prompt (-1 when
  // not started).
  int wake_fd() const { return wake_[0]; }

  // True once Ctrl-C was pressed while no answer ran.
  bool quit_requested() {
    std::lock_guard<std::mutex> lock(mu_);
    return quit_;
  }

  // Marks an answer (feed and generation) as running: Ctrl-C now cancels it.
  void BeginAnswer() {
    std::lock_guard<std::mutex> lock(mu_);
    answering_ = true;
    cancel_sent_ = false;
  }

  // Marks the answer done; true when Ctrl-C cancelled it (or tried to).
  bool EndAnswer() {
    std::lock_guard<std::mutex> lock(mu_);
    answering_ = false;
    return cancel_sent_;
  }

 private:
  void Watch() {
    while (true) {
      char c = 0;
      const ssize_t r = read(signal_[0], &c, 1);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0 || c == 'x') return;
      std::lock_guard<std::mutex> lock(mu_);
      if (answering_) {
        kite_session_cancel(session_);
        cancel_sent_ = true;
      } else {
        quit_ = true;
        const char q = 'q';
        if (write(wake_[1], &q, 1) < 0) {
          // Full: the reader is woken already.
        }
      }
    }
  }

  void CloseAll() {
    for (int* fd : {&signal_[0], &signal_[1], &wake_[0], &wake_[1]}) {
      if (*fd >= 0) close(*fd);
      *fd = -1;
    }
  }

  kite_session* session_;
  int signal_[2] = {-1, -1};
  int wake_[2] = {-1, -1};
  std::thread thread_;
  struct sigaction previous_;
  bool started_ = false;
  std::mutex mu_;
  bool answering_ = false;   // guarded by mu_
  bool cancel_sent_ = false;  // guarded by mu_
  bool quit_ = false;         // guarded by mu_
};

// Lines from fd 0, read with poll() so that Ctrl-C (the watcher's wake descriptor) can
// interrupt the wait.
class LineReader {
 public:
  enum Result { kLine, kEof, kInterrupted };

  explicit LineReader(InterruptWatcher* watcher) : watcher_(watcher) {}

  Result Read(std::string* line) {
    while (true) {
      const size_t nl = buffer_.find('\n');
      if (nl != std::string::npos || (eof_ && !buffer_.empty())) {
        const size_t end = nl == std::string::npos ? buffer_.size() : nl;
        line->assign(buffer_, 0, end);
        buffer_.erase(0, nl == std::string::npos ? end : end + 1);
        if (!line->empty() && line->back() == '\r') line->pop_back();
        return kLine;
      }
      if (eof_) return kEof;
      if (watcher_->quit_requested()) return kInterrupted;
      pollfd fds[2] = {{0, POLLIN, 0}, {watcher_->wake_fd(), POLLIN, 0}};
      const int n = poll(fds, fds[1].fd >= 0 ? 2 : 1, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        eof_ = true;
        continue;
      }
      if (fds[1].fd >= 0 && (fds[1].revents & POLLIN) != 0) return kInterrupted;
      if (fds[0].revents != 0) {
        char chunk[4096];
        const ssize_t got = read(0, chunk, sizeof(chunk));
        if (got > 0) {
          buffer_.append(chunk, static_cast<size_t>(got));
        } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
          eof_ = true;
        }
      }
    }
  }

 private:
  InterruptWatcher* watcher_;
  std::string buffer_;
  bool eof_ = false;
};

// One answer being streamed: printed as it comes, and kept.
struct Answer {
  std::string text;
};

int StreamPiece(const char* piece, int32_t, void* user) {
  static_cast<Answer*>(user)->text += piece;
  std::fputs(piece, stdout);
  std::fflush(stdout);
  return KITE_CONTINUE;
}

// The conversation: its messages, the ids the session's context holds, and the turns.
class Chat {
 public:
  Chat(const ChatConfig& config, kite_model* model, kite_session* session,
       InterruptWatcher* watcher)
      : config_(config), model_(model), session_(session), watcher_(watcher) {
    generate_ = config.generate;
    generate_.add_bos = 0;  // the conversation's ids (BOS included) are fed before generating
    has_system_ = config.has_system;
    system_ = config.system;
    Reset();
  }

  // Starts a new conversation with the current system message.
  void Reset() {
    messages_.clear();
    if (has_system_) messages_.push_back({"system", system_});
    kite_session_reset(session_);
    in_context_.clear();
    overflowed_ = false;
  }

  // Sends `text` as the user's message and streams the answer. Returns false only when
  // the chat must end (the model failed); a message that cannot be sent is reported and
  // the conversation goes on.
  bool Turn(const std::string& text) {
    std::vector<Message> next = messages_;
    next.push_back({"user", text});
    std::vector<int32_t> ids;
    if (!FitToContext(&next, &ids)) return !failed_;

    // Earlier turns tokenize the same way, so only the new ids need feeding; if they
    // differ (turns were dropped, the context shifted, or an answer re-tokenizes
    // differently from the ids generated), start the context over.
    size_t start = in_context_.size();
    if (ids.size() < start || !std::equal(in_context_.begin(), in_context_.end(), ids.begin())) {
      kite_session_reset(session_);
      in_context_.clear();
      start = 0;
    }
    const size_t fed = ids.size() - start;
    Answer answer;
    kite_generate_stats stats;
    stats.struct_size = sizeof(stats);
    watcher_->BeginAnswer();
    kite_status s = kite_session_feed(session_, ids.data() + start, fed);
    const bool feed_ok = s == KITE_OK;
    if (feed_ok) s = kite_generate(session_, "", &generate_, StreamPiece, &answer, &stats);
    if (watcher_->EndAnswer() && s != KITE_ERR_CANCELLED) {
      // The Ctrl-C came after the call's last check: the cancel is pending on the session.
      // A feed of nothing consumes it and changes nothing.
      kite_session_feed(session_, nullptr, 0);
    }
    if (!feed_ok) {
      if (s == KITE_ERR_CANCELLED) {
        // The feed was rolled back: the context holds what it held before.
        std::fprintf(stderr, "[cancelled: the message was not sent]\n");
        return true;
      }
      Fail("cannot feed the turn", s);
      return false;
    }
    std::fputs("\n", stdout);
    std::fflush(stdout);
    if (s != KITE_OK && s != KITE_ERR_CANCELLED) {
      Fail("generation failed", s);
      return false;
    }
    ++turns_;
    std::fprintf(stderr, "[turn %d: fed %zu new tokens, generated %u, context %u of %u]\n",
                 turns_, fed, stats.generated_tokens, kite_session_position(session_),
                 config_.max_context);
    // The answer (partial when cancelled or cut) stays in the conversation: its ids are in
    // the context, and the next turn's tokenization closes it with the end-of-turn marker.
    next.push_back({"assistant", answer.text});
    messages_ = std::move(next);
    ReadContext();
    // An answer that leaves no room for another (a context shift let it run past the
    // context) cannot stay with the next message: drop it, and what came before, up front
    // rather than tokenizing its long text (the tokenizer's time grows faster than the text).
    overflowed_ = stats.generated_tokens + AnswerRoom() >= config_.max_context;
    if (s == KITE_ERR_CANCELLED) {
      std::fprintf(stderr, "[answer cancelled: what it said so far stays in the conversation]\n");
    } else if (stats.stop_reason == KITE_STOP_CONTEXT_FULL) {
      std::fprintf(stderr,
                   "[the context is full (%u tokens): the answer was cut; the next message "
                   "drops the oldest turns]\n",
                   config_.max_context);
    }
    return true;
  }

  void Save(const std::string& path) {
    std::string state, error;
    if (!kite::samples::SaveSessionState(session_, &state, &error)) {
      std::fprintf(stderr, "%s: cannot save the conversation: %s\n", config_.program,
                   error.c_str());
      return;
    }
    const std::string bytes = EncodeConversation(messages_, state.data(), state.size());
    const absl::Status st = kite::samples::ReplaceFile(path, bytes);
    if (!st.ok()) {
      std::fprintf(stderr, "%s: cannot save the conversation: %s\n", config_.program,
                   std::string(st.message()).c_str());
      return;
    }
    std::fprintf(stderr, "[saved %zu messages (%u tokens) to %s]\n", messages_.size(),
                 kite_session_position(session_), path.c_str());
  }

  void Load(const std::string& path) {
    const absl::StatusOr<std::string> bytes = kite::tools::ReadInputFile(path);
    std::vector<Message> messages;
    std::string state, error;
    if (!bytes.ok()) {
      error = std::string(bytes.status().message());
    } else if (!DecodeConversation(*bytes, &messages, &state, &error)) {
      error = "'" + path + "' is not a conversation saved by /save: " + error;
    } else if (kite_session_restore_state(session_, state.data(), state.size()) != KITE_OK) {
      // The library checked everything before changing the session: it is as it was.
      error = "its state does not fit this session (" +
              std::string(kite_session_last_error(session_)) + ")";
    }
    if (!error.empty()) {
      std::fprintf(stderr, "%s: cannot load %s: %s; the current conversation goes on\n",
                   config_.program, path.c_str(), error.c_str());
      return;
    }
    messages_ = std::move(messages);
    has_system_ = !messages_.empty() && messages_[0].role == "system";
    system_ = has_system_ ? messages_[0].content : "";
    overflowed_ = false;
    ReadContext();
    std::fprintf(stderr, "[loaded %zu messages (%u tokens) from %s]\n", messages_.size(),
                 kite_session_position(session_), path.c_str());
  }

  bool failed() const { return failed_; }

 private:
  void Fail(const char* what, kite_status s) {
    kite::samples::Fail(config_.program, what, s, kite_session_last_error(session_));
    failed_ = true;
  }

  // The conversation's ids in the chat format (BOS first, ending with the assistant's
  // header). kite_chat_tokenize keeps the messages plain text: a line holding "<|end|>"
  // or "<|im_start|>" cannot forge a turn.
  bool Tokenize(const std::vector<Message>& messages, std::vector<int32_t>* ids) {
    std::vector<kite_chat_message> m;
    for (const Message& x : messages) m.push_back({x.role.c_str(), x.content.c_str()});
    size_t n = 0;
    ids->resize(4096);
    kite_status s = kite_chat_tokenize(model_, m.data(), m.size(), 1, 1, ids->data(), ids->size(), &n);
    if (s == KITE_ERR_OUT_OF_MEMORY) {
      ids->resize(n);
      s = kite_chat_tokenize(model_, m.data(), m.size(), 1, 1, ids->data(), ids->size(), &n);
    }
    if (s != KITE_OK) {
      kite::samples::Fail(config_.program, "cannot tokenize the conversation", s,
                          kite_last_error());
      failed_ = true;
      return false;
    }
    ids->resize(n);
    return true;
  }

  // Tokenizes *messages (ending with the new user message) into *ids, dropping the oldest
  // turns (never the system message) while the prompt leaves less room than an answer
  // needs (max_tokens, at most a quarter of the context). False when even the new
  // message alone does not fit (said on stderr; the conversation is unchanged) or the
  // tokenizer failed (failed_).
  bool FitToContext(std::vector<Message>* messages, std::vector<int32_t>* ids) {
    const size_t room = AnswerRoom();
    const size_t first = !messages->empty() && (*messages)[0].role == "system" ? 1 : 0;
    size_t dropped = 0;
    if (overflowed_) {
      // Everything but the system message and the new message goes.
      dropped = messages->size() - first - 1;
      messages->erase(messages->begin() + first, messages->end() - 1);
    }
    while (true) {
      if (!Tokenize(*messages, ids)) return false;
      if (ids->size() + room <= config_.max_context || messages->size() - first <= 1) break;
      // Drop the oldest message and what follows it up to the next user message, so the
      // conversation still starts with the user.
      do {
        messages->erase(messages->begin() + first);
        ++dropped;
      } while (messages->size() - first > 1 && (*messages)[first].role != "user");
    }
    if (ids->size() >= config_.max_context) {
      std::fprintf(stderr,
                   "%s: the message does not fit: in the chat format%s it is %zu tokens, and "
                   "the context holds %u (-c); not sent, the conversation goes on\n",
                   config_.program, first ? ", with the system message," : "", ids->size(),
                   config_.max_context);
      return false;
    }
    if (dropped > 0) {
      std::fprintf(stderr,
                   "[the context is full: dropped the %zu oldest messages%s; the conversation "
                   "is read again]\n",
                   dropped, first ? " (the system message is kept)" : "");
    }
    return true;
  }

  // Room an answer needs: max_tokens, at most a quarter of the context.
  size_t AnswerRoom() const {
    return std::min<size_t>(static_cast<size_t>(generate_.max_tokens), config_.max_context / 4);
  }

  // in_context_ = the session's context ids.
  void ReadContext() {
    size_t n = 0;
    in_context_.resize(kite_session_position(session_));
    kite_session_tokens(session_, in_context_.data(), in_context_.size(), &n);
    in_context_.resize(n);
  }

  const ChatConfig& config_;
  kite_model* model_;
  kite_session* session_;
  InterruptWatcher* watcher_;
  kite_generate_options generate_;
  bool has_system_ = false;
  std::string system_;
  std::vector<Message> messages_;
  std::vector<int32_t> in_context_;  // the ids the session's context holds
  int turns_ = 0;
  bool failed_ = false;
  bool overflowed_ = false;  // the last answer alone leaves no room for another
};

}  // namespace

Command ParseCommand(const std::string& line) {
  if (line.empty() || line[0] != '/') return {CommandKind::kMessage, line};
  if (line.size() > 1 && line[1] == '/') return {CommandKind::kMessage, line.substr(1)};
  const size_t space = line.find_first_of(" \t");
  const std::string name = line.substr(1, space == std::string::npos ? std::string::npos : space - 1);
  const std::string arg = space == std::string::npos ? "" : Trim(line.substr(space));
  struct Known {
    const char* name;
    CommandKind kind;
    bool takes_file;
  };
  static const Known kKnown[] = {
      {"reset", CommandKind::kReset, false}, {"save", CommandKind::kSave, true},
      {"load", CommandKind::kLoad, true},    {"help", CommandKind::kHelp, false},
      {"quit", CommandKind::kQuit, false},
  };
  for (const Known& k : kKnown) {
    if (name != k.name) continue;
    if (k.takes_file && arg.empty()) {
      return {CommandKind::kError, "/" + name + " needs a file name: /" + name + " FILE"};
    }
    if (!k.takes_file && !arg.empty()) {
      return {CommandKind::kError, "/" + name + " takes no argument (got '" + arg + "')"};
    }
    return {k.kind, arg};
  }
  return {CommandKind::kError, "unknown command '/" + name +
                                   "' (/help lists the commands; start a line with '//' to "
                                   "send a message that begins with '/')"};
}

std::string EncodeConversation(const std::vector<Message>& messages, const void* state,
                               size_t state_size) {
  std::string out(kMagic, sizeof(kMagic));
  PutU32(&out, kFileVersion);
  PutU32(&out, static_cast<uint32_t>(messages.size()));
  for (const Message& m : messages) {
    PutU32(&out, static_cast<uint32_t>(m.role.size()));
    out += m.role;
    PutU32(&out, static_cast<uint32_t>(m.content.size()));
    out += m.content;
  }
  PutU64(&out, state_size);
  out.append(static_cast<const char*>(state), state_size);
  return out;
}

bool DecodeConversation(const std::string& bytes, std::vector<Message>* messages,
                        std::string* state, std::string* error) {
  Reader r{bytes};
  if (bytes.size() < sizeof(kMagic) || bytes.compare(0, sizeof(kMagic), kMagic, sizeof(kMagic)) != 0) {
    *error = "it does not start with KITECHAT";
    return false;
  }
  r.at = sizeof(kMagic);
  uint64_t version = 0, count = 0, state_size = 0;
  if (!r.U64(&version, 4) || version != kFileVersion) {
    *error = "version " + std::to_string(version) + ", this build reads version " +
             std::to_string(kFileVersion);
    return false;
  }
  if (!r.U64(&count, 4)) {
    *error = "truncated in its header";
    return false;
  }
  messages->clear();
  for (uint64_t i = 0; i < count; ++i) {
    Message m;
    if (!r.Text(&m.role) || !r.Text(&m.content)) {
      *error = "truncated in message " + std::to_string(i + 1) + " of " + std::to_string(count);
      return false;
    }
    messages->push_back(std::move(m));
  }
  if (!r.U64(&state_size) || !r.Bytes(state_size, state)) {
    *error = "truncated in the session state";
    return false;
  }
  if (r.at != bytes.size()) {
    *error = std::to_string(bytes.size() - r.at) + " unexpected bytes after the session state";
    return false;
  }
  return true;
}

int RunChat(const ChatConfig& config, kite_model* model, kite_session* session) {
  InterruptWatcher watcher(session);
  if (!watcher.Start()) {
    std::fprintf(stderr, "%s: warning: cannot watch for Ctrl-C (%s); it will end the chat\n",
                 config.program, std::strerror(errno));
  }
  Chat chat(config, model, session, &watcher);
  if (config.one_turn) return chat.Turn(config.prompt) && !chat.failed() ? 0 : 1;
  LineReader reader(&watcher);
  std::string line;
  while (true) {
    std::fputs("> ", stderr);
    std::fflush(stderr);
    const LineReader::Result got = reader.Read(&line);
    if (got != LineReader::kLine) {
      std::fputs("\n", stderr);
      break;
    }
    const Command c = ParseCommand(line);
    switch (c.kind) {
      case CommandKind::kMessage:
        if (!chat.Turn(c.arg)) return 1;
        break;
      case CommandKind::kReset:
        chat.Reset();
        std::fputs("[new conversation]\n", stderr);
        break;
      case CommandKind::kSave:
        chat.Save(c.arg);
        break;
      case CommandKind::kLoad:
        chat.Load(c.arg);
        break;
      case CommandKind::kHelp:
        std::fputs(kCommandHelp, stderr);
        break;
      case CommandKind::kQuit:
        return 0;
      case CommandKind::kError:
        std::fprintf(stderr, "%s: %s\n", config.program, c.arg.c_str());
        break;
    }
    if (watcher.quit_requested()) break;
  }
  return 0;
}

}  // namespace kite::chat
