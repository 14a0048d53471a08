#include "samples/voice_assistant/commands.h"

#include <cctype>
#include <vector>

namespace kite::voice {
namespace {

// The nouns a story can be about, with the article each takes.
// (Chosen so that espeak-ng's voice saying each is recognised exactly: "cat", "bird",
// "dragon", "ball" and "pirate" came back as other nouns.)
constexpr const char* kNounsA[] = {"dog",  "fish",   "frog",  "bear",    "robot",   "princess",
                                   "king", "queen",  "bunny", "monkey",  "tiger",   "lion",
                                   "boat", "tree",   "girl",  "boy",     "mouse",   "wizard",
                                   "unicorn", "dinosaur"};
constexpr const char* kNounsAn[] = {"owl", "elephant", "apple"};

constexpr char kStoryPrefix[] = "tell me a story";

// Lower-cases ASCII letters, turns everything but letters, digits and apostrophes into
// spaces, and collapses the spaces.
std::string Normalise(std::string_view text) {
  std::string out;
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    const bool word = std::isalnum(u) || c == '\'' || u >= 0x80;
    if (word) {
      out.push_back(static_cast<char>(std::tolower(u)));
    } else if (!out.empty() && out.back() != ' ') {
      out.push_back(' ');
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string Trim(std::string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return std::string(text.substr(b, e - b));
}

std::string Alternatives(const char* const* words, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? " | " : "") + std::string(words[i]);
  return out;
}

void ReplaceAll(std::string* s, const std::string& from, const std::string& to) {
  for (size_t at = s->find(from); at != std::string::npos; at = s->find(from, at + to.size())) {
    s->replace(at, from.size(), to);
  }
}

}  // namespace

std::string CommandGrammar() {
  return "#JSGF V1.0;\n"
         "grammar kite;\n"
         "public <command> = <story> | stop | again | say that again | help | goodbye;\n"
         "<story> = tell me a story [about (a <noun_a> | an <noun_an>)];\n"
         "<noun_a> = " + Alternatives(kNounsA, std::size(kNounsA)) + ";\n"
         "<noun_an> = " + Alternatives(kNounsAn, std::size(kNounsAn)) + ";\n";
}

std::string NounList() {
  std::string out = Alternatives(kNounsA, std::size(kNounsA)) + " | " +
                    Alternatives(kNounsAn, std::size(kNounsAn));
  ReplaceAll(&out, " | ", ", ");
  return out;
}

Command ParseCommand(std::string_view heard) {
  Command c;
  c.text = Normalise(heard);
  const std::string& t = c.text;
  if (t.empty()) return c;
  if (t == "stop") {
    c.kind = CommandKind::kStop;
  } else if (t == "again" || t == "say that again") {
    c.kind = CommandKind::kAgain;
  } else if (t == "help") {
    c.kind = CommandKind::kHelp;
  } else if (t == "goodbye") {
    c.kind = CommandKind::kGoodbye;
  } else if (t == kStoryPrefix) {
    c.kind = CommandKind::kStory;
    c.a_noun = kDefaultStoryNoun;
  } else if (t.rfind(std::string(kStoryPrefix) + " about ", 0) == 0) {
    // Any noun phrase after "about" (typed text may name nouns the grammar lacks).
    c.kind = CommandKind::kStory;
    c.a_noun = t.substr(sizeof(kStoryPrefix) - 1 + 7);
  } else {
    c.kind = CommandKind::kText;
    c.text = Trim(heard);
  }
  return c;
}

std::string DefaultStoryTemplate(bool chat_model) {
  return chat_model ? "Tell me a short story about {a_noun}."
                    : "Once upon a time, there was {a_noun}";
}

std::string StoryPrompt(const std::string& story_template, const std::string& a_noun) {
  std::string noun = a_noun;
  for (const char* article : {"a ", "an ", "the "}) {
    if (noun.rfind(article, 0) == 0) {
      noun = noun.substr(std::char_traits<char>::length(article));
      break;
    }
  }
  std::string out = story_template;
  ReplaceAll(&out, "{a_noun}", a_noun);
  ReplaceAll(&out, "{noun}", noun);
  return out;
}

}  // namespace kite::voice
