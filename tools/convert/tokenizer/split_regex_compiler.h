// Compiles a pre-tokenizer split pattern (the regular expression of a tokenizer.json Split, or
// of a llama.cpp pre-tokenizer name) into the program format of
// sdk/runtime/tokenizer/split_regex.h. Host tools only.
//
// The subset (Oniguruma/Perl syntax, as Hugging Face tokenizers runs it):
//   literals (UTF-8), escapes \t \n \r \f \v \e \0 \xHH \x{H..} \uHHHH and escaped punctuation;
//   `.` (any character but \n); `|`; groups ( ), (?: ), (?i: ) and (?i) (ASCII case folding);
//   classes [..] with ranges, negation ^, and inside them the items below;
//   \p{X} \P{X} \pX for a general category (Lu, L, N, P, ...) or L&/LC; \s \S (White_Space),
//   \d \D (Nd), \w \W (L, M, Nd, Pc);
//   quantifiers ? * + {m} {m,} {m,n}, greedy, or lazy with a trailing ?;
//   anchors ^ $ \A \z; lookahead (?=X) (?!X) where X is one character (a class, an escape,
//   a literal or `.`).
// Anything else (backreferences, possessive quantifiers, lookbehind, longer lookaheads, named
// groups, \b, \p{Han} and other scripts, ...) is an error naming the construct and its byte
// offset in the pattern.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kite::convert {

/// The program for `pattern` (see the file comment), or an error naming what is not supported.
absl::StatusOr<std::vector<uint32_t>> CompileSplitPattern(const std::string& pattern);

}  // namespace kite::convert
