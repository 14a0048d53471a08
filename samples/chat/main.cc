// kite-chat: chat with a .kite model in its chat format (the conversation code is
// samples/chat/chat.h). Uses only the public C API, plus the tools' flag parser and file
// helpers.
#include <cstdio>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "samples/chat/chat.h"
#include "samples/common/run_options.h"
#include "tools/common/flags.h"

namespace {

constexpr const char* kHeader = R"(kite-chat: chat with a .kite model

usage: kite-chat -m MODEL.kite [--system TEXT] [options]

Each line read from stdin is a user message; the answer streams to stdout, notes and the
"> " prompt go to stderr. The conversation uses the model's chat format (see
kite-convert --chat-format; a model without one gets "role: content" lines). The session
keeps the conversation: each message feeds only its new tokens.

)";

constexpr const char* kFooter = R"(
While chatting:
  /reset       start a new conversation (same system message)
  /save FILE   save the conversation (messages and KV cache) to FILE
  /load FILE   continue a conversation saved with /save (same model, -c and --kv;
               anything else is refused and the current conversation goes on)
  /help        list the commands
  /quit        quit (so do end of input and Ctrl-C at the prompt)
  //TEXT       send "/TEXT" (a message that starts with '/')
Ctrl-C while the model answers stops the answer; what it said so far stays in the
conversation. When a message would leave too little room for an answer (-n, at most a
quarter of the context), the oldest turns are dropped (never the system message) and the
conversation is read again; a message longer than the whole context is not sent. See
docs/chat.md.

Exit status: 0 success, 1 failure (the model cannot be opened or run), 2 bad command line.

examples:
  kite-chat -m qwen2.5-0.5b-instruct-q4.kite --system "Be brief." --temp 0.7
  kite-chat -m model.kite -c 2048 --kv int8 -t 4
)";

struct Options {
  kite::samples::RunOptions run;
  std::string system;
};

}  // namespace

int main(int argc, char** argv) {
  namespace flags = kite::flags;
  Options o;
  flags::FlagSpec spec;
  spec.program = "kite-chat";
  spec.help_column = 23;
  spec.header = kHeader;
  spec.footer = kFooter;
  spec.flags = kite::samples::ModelFlags(&o.run);
  for (flags::Flag& f : kite::samples::SamplingFlags(&o.run)) spec.flags.push_back(std::move(f));
  spec.flags.push_back(flags::String(0, "system", "TEXT", &o.system,
                                     "a system message that starts the conversation")
                           .AllowEmpty());
  const flags::ParsedArgs parsed =
      flags::Parse(spec, std::vector<std::string>(argv + 1, argv + argc));
  if (parsed.ok() && parsed.help) {
    std::fputs(flags::HelpText(spec).c_str(), stdout);
    return flags::kExitOk;
  }
  std::string error = parsed.error;
  if (error.empty() && !parsed.positionals.empty()) {
    error = "unexpected argument '" + parsed.positionals[0] + "' (messages are read from stdin)";
  }
  if (error.empty() && o.run.model.empty()) error = "a model is required (-m MODEL.kite)";
  if (!error.empty()) {
    std::fputs(flags::UsageError("kite-chat", error).c_str(), stderr);
    return flags::kExitUsage;
  }
  o.run.seed_given = parsed.Given("seed");
  const std::string capped = flags::CapThreads("-t", &o.run.threads);
  if (!capped.empty()) std::fprintf(stderr, "kite-chat: warning: %s\n", capped.c_str());

  kite::samples::Opened opened;
  const int open_status = kite::samples::OpenModelAndSession("kite-chat", o.run, &opened);
  if (open_status >= 0) return open_status;
  std::vector<const char*> stop;
  kite::chat::ChatConfig config;
  config.program = "kite-chat";
  config.has_system = parsed.Given("system");
  config.system = o.system;
  config.generate = kite::samples::GenerateOptions(o.run, &stop);
  config.max_context = opened.session_options.max_context;
  const int rc = kite::chat::RunChat(config, opened.model, opened.session);
  opened.Close();
  return rc;
}
