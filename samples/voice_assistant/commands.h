// kite-voice's spoken commands: the JSGF grammar the recogniser listens for, the reading of
// a recognised (or typed) line as a command, and the prompt each command gives the model.
// Pure functions, thread-safe. Host only.
#pragma once

#include <string>
#include <string_view>

namespace kite::voice {

/// What the user asked for.
enum class CommandKind {
  kNothing,  ///< silence, or nothing recognised
  kStory,    ///< "tell me a story [about a NOUN]": generate a story
  kStop,     ///< "stop": cancel the answer being spoken
  kAgain,    ///< "again": generate the last answer again
  kHelp,     ///< "help": say what the commands are
  kGoodbye,  ///< "goodbye": end kite-voice
  kText      ///< any other text (free speech, --text): the model answers it
};

/// A recognised utterance.
struct Command {
  CommandKind kind = CommandKind::kNothing;
  /// kStory: the noun with its article ("a dragon", "an owl"); the default story's noun
  /// (kDefaultStoryNoun) when none was said.
  std::string a_noun;
  /// The normalised words (lower case, single spaces, no punctuation); for kText the text
  /// as given (trimmed), for the model.
  std::string text;
};

/// The noun of "tell me a story" said without "about ...".
inline constexpr char kDefaultStoryNoun[] = "a little girl";

/// The command grammar in JSGF: "tell me a story [about (a|an) NOUN]", "stop", "again",
/// "say that again", "help", "goodbye", with a fixed list of nouns (every word is in
/// pocketsphinx's English dictionary).
std::string CommandGrammar();

/// Reads `heard` (a recogniser's words, or a typed line: case and punctuation are ignored)
/// as a command. Text that is no command is kText; blank text is kNothing.
Command ParseCommand(std::string_view heard);

/// The nouns of the grammar, as one line for --help and the "help" answer ("cat, dog, ...").
std::string NounList();

/// The default --prompt-template: for a completion model (no chat format),
/// "Once upon a time, there was {a_noun}" (the model continues the story); for a chat
/// model, "Tell me a short story about {a_noun}." (the user's message).
std::string DefaultStoryTemplate(bool chat_model);

/// `story_template` with every "{a_noun}" replaced by the noun with its article and every
/// "{noun}" by the noun alone.
std::string StoryPrompt(const std::string& story_template, const std::string& a_noun);

}  // namespace kite::voice
