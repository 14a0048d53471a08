// The conversation code of kite-chat (and of kite-generate --chat, which runs the same
// loop): multi-turn chat in the model's chat format, feeding the session only each turn's
// new tokens; `/` commands (/reset, /save, /load, /help, /quit); Ctrl-C cancels a running
// answer; a full context drops the oldest turns. Uses only the public C API and the tools'
// file helpers. Host samples only (POSIX). See docs/chat.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kite/kite.h"

namespace kite::chat {

/// What one input line asks for.
enum class CommandKind {
  kMessage,  ///< a user message: Command::arg is its text
  kReset,    ///< /reset: a new conversation with the same system message
  kSave,     ///< /save FILE: Command::arg is FILE
  kLoad,     ///< /load FILE: Command::arg is FILE
  kHelp,     ///< /help
  kQuit,     ///< /quit
  kError,    ///< a bad command: Command::arg is the message for the user
};

/// One parsed input line.
struct Command {
  CommandKind kind = CommandKind::kMessage;
  std::string arg;  ///< the message, the file name or the error (see CommandKind)
};

/// Parses one input line (without its newline). A line that does not start with '/' is a
/// message, as is one starting with "//", which is sent with one '/' removed ("//etc" sends
/// "/etc"). Otherwise the word after '/' names a command; /save and /load take the rest of
/// the line (trimmed of spaces) as the file name, the others take nothing. An unknown
/// command, a missing file name or an extra argument gives kError with a message naming it.
/// Pure; thread-safe.
Command ParseCommand(const std::string& line);

/// The text /help prints (the commands, and how to send a line starting with '/').
extern const char kCommandHelp[];

/// One message of a conversation (owned strings).
struct Message {
  std::string role;     ///< "system", "user" or "assistant"
  std::string content;  ///< the text
};

/// A saved conversation: its messages and the session state (kite_session_save_state)
/// that holds them, as written by /save. The file is "KITECHAT", a little-endian uint32
/// version (1), a uint32 message count, each message as uint32 length + role bytes and
/// uint32 length + content bytes, then a uint64 length + the state's bytes, and nothing
/// after. Pure; thread-safe.
std::string EncodeConversation(const std::vector<Message>& messages, const void* state,
                               size_t state_size);

/// Parses EncodeConversation's bytes into *messages and *state. False (outputs
/// unspecified) with *error saying what is wrong for anything else: another file, a
/// truncated one, a length past the end, bytes after the state, another version.
bool DecodeConversation(const std::string& bytes, std::vector<Message>* messages,
                        std::string* state, std::string* error);

/// How RunChat runs.
struct ChatConfig {
  const char* program = "kite-chat";  ///< names the tool in messages (static string)
  bool has_system = false;            ///< start (and /reset) with a system message
  std::string system;                 ///< its text
  /// True: run one turn with `prompt` instead of reading stdin (kite-generate -p --chat).
  bool one_turn = false;
  std::string prompt;  ///< the one turn's text
  /// The options of every answer (add_bos is ignored: the conversation's ids carry BOS).
  kite_generate_options generate{};
  uint32_t max_context = 0;  ///< the session's max_context
};

/// Runs the chat on `session` (a fresh session of `model`, used only by this call): reads
/// lines from stdin (fd 0, prompting "> " on stderr) until EOF, /quit or a Ctrl-C at the
/// prompt, answering each message on stdout (whole UTF-8 characters, streamed) and printing
/// notes ("[turn ...]", what a command did) on stderr. Installs a SIGINT handler for its
/// duration (Ctrl-C during an answer cancels the answer). Returns the exit status: 0, or 1
/// when the conversation cannot be tokenized or the model fails. Call from one thread at a
/// time.
int RunChat(const ChatConfig& config, kite_model* model, kite_session* session);

}  // namespace kite::chat
