// Building the tokenizer of a .kite file: validating its tables and viewing them in place.
#pragma once

#include <cstdint>

#include "sdk/base/status.h"
#include "sdk/runtime/tokenizer/tokenizer.h"

namespace kite {
namespace schema {
struct Tokenizer;
}  // namespace schema

/// Checks the tokenizer tables `t` of a verified .kite FlatBuffer against `vocab` token ids
/// and fills `view` with pointers into them (no copy, no allocation): piece offsets and
/// NUL terminators, token types, finite scores, sorted_ids strictly ordered by (piece, id)
/// (so a permutation of the ids), byte_ids, BPE merges (sorted, each result the two pieces
/// joined), special and stop ids. A null table or type NONE gives a view of kind kNone.
/// Fails with kInvalidFormat (or kUnsupported for an unknown type) naming the field.
/// The views stay valid while the FlatBuffer's bytes do. Thread-safe (reads only).
Status BuildTokenizer(const schema::Tokenizer* t, uint32_t vocab, TokenizerView* view);

}  // namespace kite
