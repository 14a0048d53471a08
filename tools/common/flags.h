// One table-driven command-line parser for every Kite host tool and sample, so that they
// all spell, check and document their options the same way. Plain C++17 (no Abseil), never
// part of the runtime.
//
// A tool describes its options as a table (FlagSpec::flags): each row has a short name
// (-m), a long name (--model), a value name (PATH) and its help text, and writes the parsed
// value into the tool's own options struct through a typed target (String, Int, Number,
// Switch, Enum) or a Custom setter. Parse() walks the arguments once:
//   --name VALUE, --name=VALUE, -x VALUE   a flag with a value (the next argument is taken
//                                          as the value even when it starts with '-')
//   --name, -x                             a switch (no value; --name=VALUE is an error)
//   -h, --help                             stops parsing: ParsedArgs::help is set
//   --                                     every later argument is positional
//   anything else ("-" included)           a positional argument
// A flag given twice keeps its last value. Parse() never prints and never exits: a problem
// is returned as one line naming the flag and what is wrong, for the tool to print with
// UsageError() and exit with kExitUsage.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace kite::flags {

/// Exit status of every Kite tool: success.
inline constexpr int kExitOk = 0;
/// Exit status of every Kite tool: the work failed (unreadable file, bad model, ...).
inline constexpr int kExitFailure = 1;
/// Exit status of every Kite tool: bad command line.
inline constexpr int kExitUsage = 2;

/// Stores one flag value. `name` is the flag as the user spelled it ("-t" or "--threads"),
/// `value` its value ("" for a switch). Returns "" on success, otherwise the whole error
/// message for the user (e.g. "-t must be an integer in [1, 256], not 'x'").
using Setter = std::function<std::string(const std::string& name, const std::string& value)>;

/// One row of a tool's flag table: a flag, or (with `heading` set) a block of help text.
struct Flag {
  char short_name = 0;     ///< 'm' for -m; 0 when the flag has no short form
  std::string long_name;   ///< "model" for --model (no dashes); empty when none
  std::string value_name;  ///< "PATH", "N", "f32|q8|q4"; empty for a switch (no value)
  /// Help text; lines are separated by '\n' and indented to the help column when printed.
  std::string help;
  Setter set;               ///< stores the value; empty for a heading
  bool allow_empty = false; ///< the value may be "" (otherwise "" is an error)
  /// Help-only row: this text is printed as is (a section title, a paragraph) in table
  /// order; the row is not a flag.
  std::string heading;

  /// Lets "" be a valid value (e.g. an empty prompt). Returns *this for chaining.
  Flag& AllowEmpty() {
    allow_empty = true;
    return *this;
  }
};

/// The whole command line of one tool.
struct FlagSpec {
  std::string program;  ///< "kite-bench": used in UsageError()
  std::string header;   ///< help text before the table (usage lines, description)
  std::string footer;   ///< help text after the table (exit status, examples)
  std::vector<Flag> flags;
  /// Column (0-based) where flag help text starts; a longer flag spelling puts its help on
  /// the next line.
  size_t help_column = 24;
};

/// What Parse() found.
struct ParsedArgs {
  bool help = false;                     ///< -h or --help was given (parsing stopped there)
  std::vector<std::string> positionals;  ///< the non-flag arguments, in order
  /// The long name (or, for short-only flags, the one-letter name) of every flag given,
  /// in order, repeats included.
  std::vector<std::string> given;
  std::string error;  ///< "" on success, else one line for the user

  /// True when parsing succeeded.
  bool ok() const { return error.empty(); }
  /// True when the flag named `name` (long name, or one letter for short-only flags) was
  /// given.
  bool Given(const std::string& name) const;
};

/// Parses `args` (the arguments after the program name) against `spec`, calling each
/// flag's setter as it goes. Stops at the first error (ParsedArgs::error) or at -h/--help.
/// Unknown flags suggest the closest known one. Never prints, never exits.
ParsedArgs Parse(const FlagSpec& spec, const std::vector<std::string>& args);

/// The --help text: spec.header, the flag table (each flag's spellings, value name and
/// help, in table order, headings as given, then "-h, --help  Show this help."),
/// spec.footer.
std::string HelpText(const FlagSpec& spec);

/// The two lines a tool prints on stderr for a bad command line:
/// "PROGRAM: ERROR\nRun 'PROGRAM --help' for usage.\n".
std::string UsageError(const std::string& program, const std::string& error);

/// The online CPUs (sysconf(_SC_NPROCESSORS_ONLN)); 1 when unknown.
unsigned OnlineCpus();

/// Caps a thread count given on the command line at `cpus` (OnlineCpus() for real
/// tools): threads beyond the CPUs wait on each other at every parallel step and make a run
/// many times slower. Returns "" when *threads <= cpus, otherwise a warning naming `flag`
/// and both counts for the tool to print, and sets *threads = cpus.
template <typename T>
std::string CapThreads(const std::string& flag, T* threads, unsigned cpus = OnlineCpus());

// --- Typed table rows. `help` as in Flag::help. ---

/// A string value stored in *target.
Flag String(char short_name, std::string long_name, std::string value_name,
            std::string* target, std::string help);

/// An integer in [lo, hi] stored in *target (any integer type; unsigned types refuse a
/// sign). Error: "NAME must be an integer in [lo, hi], not 'VALUE'" ("an integer >= lo"
/// when hi is the type's maximum).
template <typename T>
Flag Int(char short_name, std::string long_name, std::string value_name, T* target, T lo, T hi,
         std::string help);

/// Which ends of a Number range are excluded.
enum class Ends { kClosed, kOpenLow, kOpenHigh, kOpen };

/// A finite number in the range lo..hi (ends per `ends`) stored in *target (float or
/// double). Error: "NAME must be a number in (lo, hi], not 'VALUE'".
template <typename T>
Flag Number(char short_name, std::string long_name, std::string value_name, T* target, double lo,
            double hi, Ends ends, std::string help);

/// A switch: sets *target to true.
Flag Switch(char short_name, std::string long_name, bool* target, std::string help);

/// One accepted value of an Enum flag.
template <typename T>
struct Choice {
  std::string name;   ///< what the user types
  T value;            ///< what is stored
  bool alias = false; ///< accepted but not listed in the error message
};

/// One of `choices` stored in *target. Error: "NAME must be a, b or c, not 'VALUE'".
template <typename T>
Flag Enum(char short_name, std::string long_name, std::string value_name, T* target,
          std::vector<Choice<T>> choices, std::string help);

/// A flag with its own setter (value_name empty: a switch, called with "").
Flag Custom(char short_name, std::string long_name, std::string value_name, Setter set,
            std::string help);

/// A help-only row: `text` printed as is between flags (end it with '\n').
Flag Heading(std::string text);

/// "a, b or c" (the serial list of `names`, as error messages spell choices).
std::string OrList(const std::vector<std::string>& names);

// --- Implementation of the templates. ---

namespace internal {
/// Parses a whole decimal integer ("" / junk / overflow: false). Unsigned refuses '-'.
bool ParseSigned(const std::string& s, long long* out);
bool ParseUnsigned(const std::string& s, unsigned long long* out);
/// Parses a whole finite number.
bool ParseDouble(const std::string& s, double* out);
/// Shortest decimal spelling of `v` ("0.1", "1000000").
std::string FormatNumber(double v);
}  // namespace internal

template <typename T>
Flag Int(char short_name, std::string long_name, std::string value_name, T* target, T lo, T hi,
         std::string help) {
  static_assert(std::is_integral<T>::value, "Int needs an integer target");
  Flag f;
  f.short_name = short_name;
  f.long_name = std::move(long_name);
  f.value_name = std::move(value_name);
  f.help = std::move(help);
  f.set = [target, lo, hi](const std::string& name, const std::string& value) -> std::string {
    bool ok;
    T v{};
    if constexpr (std::is_unsigned<T>::value) {
      unsigned long long x = 0;
      ok = internal::ParseUnsigned(value, &x) && x >= static_cast<unsigned long long>(lo) &&
           x <= static_cast<unsigned long long>(hi);
      v = static_cast<T>(x);
    } else {
      long long x = 0;
      ok = internal::ParseSigned(value, &x) && x >= static_cast<long long>(lo) &&
           x <= static_cast<long long>(hi);
      v = static_cast<T>(x);
    }
    if (!ok) {
      // A range up to the type's maximum is spelled as a lower bound only.
      const std::string range =
          hi == std::numeric_limits<T>::max()
              ? " >= " + std::to_string(lo)
              : " in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
      return name + " must be an integer" + range + ", not '" + value + "'";
    }
    *target = v;
    return "";
  };
  return f;
}

template <typename T>
Flag Number(char short_name, std::string long_name, std::string value_name, T* target, double lo,
            double hi, Ends ends, std::string help) {
  static_assert(std::is_floating_point<T>::value, "Number needs a float or double target");
  Flag f;
  f.short_name = short_name;
  f.long_name = std::move(long_name);
  f.value_name = std::move(value_name);
  f.help = std::move(help);
  f.set = [target, lo, hi, ends](const std::string& name,
                                 const std::string& value) -> std::string {
    const bool open_lo = ends == Ends::kOpenLow || ends == Ends::kOpen;
    const bool open_hi = ends == Ends::kOpenHigh || ends == Ends::kOpen;
    double x = 0;
    // The range is checked on the stored type, so float targets see what they store.
    const bool parsed = internal::ParseDouble(value, &x);
    const double stored = static_cast<double>(static_cast<T>(x));
    if (!parsed || (open_lo ? !(stored > lo) : !(stored >= lo)) ||
        (open_hi ? !(stored < hi) : !(stored <= hi))) {
      return name + " must be a number in " + (open_lo ? "(" : "[") +
             internal::FormatNumber(lo) + ", " + internal::FormatNumber(hi) +
             (open_hi ? ")" : "]") + ", not '" + value + "'";
    }
    *target = static_cast<T>(x);
    return "";
  };
  return f;
}

template <typename T>
Flag Enum(char short_name, std::string long_name, std::string value_name, T* target,
          std::vector<Choice<T>> choices, std::string help) {
  Flag f;
  f.short_name = short_name;
  f.long_name = std::move(long_name);
  f.value_name = std::move(value_name);
  f.help = std::move(help);
  f.set = [target, choices = std::move(choices)](const std::string& name,
                                                 const std::string& value) -> std::string {
    std::vector<std::string> listed;
    for (const Choice<T>& c : choices) {
      if (c.name == value) {
        *target = c.value;
        return "";
      }
      if (!c.alias) listed.push_back(c.name);
    }
    return name + " must be " + OrList(listed) + ", not '" + value + "'";
  };
  return f;
}

template <typename T>
std::string CapThreads(const std::string& flag, T* threads, unsigned cpus) {
  if (cpus < 1) cpus = 1;
  if (*threads <= static_cast<T>(cpus)) return "";
  const std::string warning = flag + " " + std::to_string(*threads) + " is more than the " +
                              std::to_string(cpus) + " online CPU" + (cpus == 1 ? "" : "s") +
                              ": using " + std::to_string(cpus) +
                              " (extra threads would wait on each other and make every step "
                              "much slower)";
  *threads = static_cast<T>(cpus);
  return warning;
}

}  // namespace kite::flags
