// A GGUF file (gguf_reader.h) as a Kite source model and tokenizer. Host tools only.
#pragma once

#include "absl/status/statusor.h"
#include "tools/convert/source/gguf_reader.h"
#include "tools/convert/source/source_model.h"
#include "tools/convert/tokenizer/tokenizer_tables.h"

namespace kite::convert {

/// The vocabulary in a GGUF file's tokenizer.ggml.* keys as finalized Kite tables.
///   - model "llama" (SentencePiece): SCORE_BPE. Pieces with U+2581 turned into spaces,
///     scores, token types (0 = undefined counts as NORMAL), byte tokens <0xHH>,
///     add_space_prefix (default true) as add_dummy_prefix, add_bos_token (default true).
///   - model "gpt2" (byte-level BPE): BYTE_BPE with the merges in rank order and the
///     pre-tokenizer from tokenizer.ggml.pre: "gpt-2" / "default" -> GPT2, "llama-bpe" /
///     "llama3" / "llama-v3" -> LLAMA3 (with ignore_merges), "qwen2" -> QWEN2,
///     "smollm" -> SMOLLM;
///     add_bos_token defaults to false.
/// bos/eos/unknown ids come from their keys; stop ids are EOS plus the end-of-turn and
/// end-of-message tokens when present. CONTROL and USER_DEFINED types are kept, so special
/// tokens never come from plain text. Unknown models or pre-tokenizers, mismatched array
/// lengths and ids outside the vocabulary are errors that name the key.
absl::StatusOr<TokenizerTables> TokenizerFromGguf(const GgufFile& gguf);

/// The weights and config of a GGUF Llama model (general.architecture "llama").
/// Config from llama.* keys: embedding_length, feed_forward_length, block_count,
/// attention.head_count(_kv), context_length (taken as given), rope.freq_base,
/// attention.layer_norm_rms_epsilon; rope.dimension_count must equal dim / n_heads.
/// Tensors: token_embd, output_norm, output (optional: absent means tied) and
/// blk.N.{attn_q,attn_k,attn_v,attn_output,attn_norm,ffn_gate,ffn_up,ffn_down,ffn_norm}
/// with ggml extents [ne0 = input, ne1 = output] become Kite [rows = output, cols = input]
/// tensors (the bytes are already in that order). GGUF stores q/k for llama.cpp's
/// interleaved RoPE, which is Kite's, so nothing is permuted. Types F32, F16, BF16 and Q8_0
/// are read (converted to f32); others are refused naming the tensor. An "output" that is
/// bit-identical to token_embd (as in stories260K.gguf) is dropped and the head is tied.
/// vocab_size is the number of tokens in tokenizer.ggml.tokens when present, else the
/// embedding's row count.
absl::StatusOr<SourceModel> SourceModelFromGguf(const GgufFile& gguf);

}  // namespace kite::convert
