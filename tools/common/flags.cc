#include "tools/common/flags.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace kite::flags {
namespace {

// The table row for "--name" (without dashes) or "-x"; nullptr when there is none.
const Flag* FindLong(const FlagSpec& spec, const std::string& name) {
  for (const Flag& f : spec.flags) {
    if (f.heading.empty() && !f.long_name.empty() && f.long_name == name) return &f;
  }
  return nullptr;
}

const Flag* FindShort(const FlagSpec& spec, char c) {
  for (const Flag& f : spec.flags) {
    if (f.heading.empty() && f.short_name != 0 && f.short_name == c) return &f;
  }
  return nullptr;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean '--x'?)" for the long flag closest to `name` ("--xyz"), or "" when none is
// close: at most 2 edits, or a third of the name's length for long names.
std::string Suggestion(const FlagSpec& spec, const std::string& name) {
  if (name.size() < 3 || name.compare(0, 2, "--") != 0) return "";
  const std::string bare = name.substr(2);
  const size_t limit = std::max<size_t>(2, bare.size() / 3);
  const Flag* best = nullptr;
  size_t best_distance = limit + 1;
  for (const Flag& f : spec.flags) {
    if (!f.heading.empty() || f.long_name.empty()) continue;
    const size_t d = EditDistance(bare, f.long_name);
    if (d < best_distance) {
      best_distance = d;
      best = &f;
    }
  }
  if (best == nullptr && (bare == "h" || bare == "elp")) return " (did you mean '--help'?)";
  return best == nullptr ? "" : " (did you mean '--" + best->long_name + "'?)";
}

std::string Spelling(const Flag& f) {
  std::string s = "  ";
  if (f.short_name != 0) {
    s += '-';
    s += f.short_name;
    if (!f.long_name.empty()) s += ", --" + f.long_name;
  } else {
    s += "    --" + f.long_name;
  }
  if (!f.value_name.empty()) s += " " + f.value_name;
  return s;
}

}  // namespace

bool ParsedArgs::Given(const std::string& name) const {
  return std::find(given.begin(), given.end(), name) != given.end();
}

ParsedArgs Parse(const FlagSpec& spec, const std::vector<std::string>& args) {
  ParsedArgs r;
  bool only_positionals = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (only_positionals || arg.size() < 2 || arg[0] != '-') {
      r.positionals.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positionals = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      r.help = true;
      return r;
    }
    std::string name = arg;
    std::string value;
    bool has_value = false;
    const Flag* f = nullptr;
    if (arg[1] == '-') {
      const size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        has_value = true;
      }
      f = FindLong(spec, name.substr(2));
    } else if (arg.size() == 2) {
      f = FindShort(spec, arg[1]);
    }
    if (f == nullptr) {
      r.error = "unknown option '" + name + "'" + Suggestion(spec, name);
      return r;
    }
    if (f->value_name.empty()) {
      if (has_value) {
        r.error = "option " + name + " takes no value (not '" + value + "')";
        return r;
      }
    } else {
      if (!has_value) {
        if (i + 1 >= args.size()) {
          r.error = "option " + name + " needs a value";
          return r;
        }
        value = args[++i];
      }
      if (value.empty() && !f->allow_empty) {
        r.error = "option " + name + " needs a non-empty value";
        return r;
      }
    }
    r.error = f->set(name, value);
    if (!r.error.empty()) return r;
    r.given.push_back(f->long_name.empty() ? std::string(1, f->short_name) : f->long_name);
  }
  return r;
}

std::string HelpText(const FlagSpec& spec) {
  std::string out = spec.header;
  std::vector<Flag> rows = spec.flags;
  rows.push_back(Custom('h', "help", "", Setter(), "Show this help."));
  for (const Flag& f : rows) {
    if (!f.heading.empty()) {
      out += f.heading;
      continue;
    }
    std::string line = Spelling(f);
    const std::string indent(spec.help_column, ' ');
    size_t start = 0;
    bool first = true;
    if (line.size() + 2 > spec.help_column) {
      out += line + "\n";
      line = indent;
    } else {
      line.resize(spec.help_column, ' ');
    }
    // One output line per help line; an empty help line is printed without indentation.
    while (start <= f.help.size()) {
      size_t end = f.help.find('\n', start);
      if (end == std::string::npos) end = f.help.size();
      const std::string text = f.help.substr(start, end - start);
      if (!first) line = indent;
      first = false;
      out += text.empty() ? "\n" : line + text + "\n";
      if (end == f.help.size()) break;
      start = end + 1;
    }
  }
  return out + spec.footer;
}

std::string UsageError(const std::string& program, const std::string& error) {
  return program + ": " + error + "\nRun '" + program + " --help' for usage.\n";
}

unsigned OnlineCpus() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1u : static_cast<unsigned>(n);
}

Flag String(char short_name, std::string long_name, std::string value_name, std::string* target,
            std::string help) {
  return Custom(
      short_name, std::move(long_name), std::move(value_name),
      [target](const std::string&, const std::string& value) {
        *target = value;
        return std::string();
      },
      std::move(help));
}

Flag Switch(char short_name, std::string long_name, bool* target, std::string help) {
  return Custom(
      short_name, std::move(long_name), "",
      [target](const std::string&, const std::string&) {
        *target = true;
        return std::string();
      },
      std::move(help));
}

Flag Custom(char short_name, std::string long_name, std::string value_name, Setter set,
            std::string help) {
  Flag f;
  f.short_name = short_name;
  f.long_name = std::move(long_name);
  f.value_name = std::move(value_name);
  f.help = std::move(help);
  f.set = std::move(set);
  return f;
}

Flag Heading(std::string text) {
  Flag f;
  f.heading = std::move(text);
  return f;
}

std::string OrList(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) s += i + 1 == names.size() ? " or " : ", ";
    s += names[i];
  }
  return s;
}

namespace internal {

bool ParseSigned(const std::string& s, long long* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  *out = v;
  return true;
}

bool ParseUnsigned(const std::string& s, unsigned long long* out) {
  if (s.empty() || s[0] == '-' || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  *out = v;
  return true;
}

bool ParseDouble(const std::string& s, double* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

std::string FormatNumber(double v) {
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace internal
}  // namespace kite::flags
