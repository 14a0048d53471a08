#!/usr/bin/env python3
"""Writes the small GGUF seeds of gguf_fuzz (committed; rerun only to change them):
tiny-llama.gguf, a 1-layer llama model (dim 32, F32/F16/Q8_0 tensors, a SentencePiece
vocabulary of 8 pieces), and tiny-gpt2-vocab.gguf, a vocabulary-only byte-level BPE file
(the 256 byte pieces, 3 merges). The big shared GGUF files are slow seeds; these are fast."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def s(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b


def kv_u32(k, v): return s(k) + struct.pack("<II", 4, v)
def kv_f32(k, v): return s(k) + struct.pack("<If", 6, v)
def kv_bool(k, v): return s(k) + struct.pack("<IB", 7, v)
def kv_str(k, v): return s(k) + struct.pack("<I", 8) + s(v)
def kv_strs(k, v): return s(k) + struct.pack("<IIQ", 9, 8, len(v)) + b"".join(s(x) for x in v)
def kv_i32s(k, v): return s(k) + struct.pack("<IIQ", 9, 5, len(v)) + struct.pack(f"<{len(v)}i", *v)
def kv_f32s(k, v): return s(k) + struct.pack("<IIQ", 9, 6, len(v)) + struct.pack(f"<{len(v)}f", *v)


def gguf(kvs, tensors):
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs)
    data = b""
    for name, ne, typ, payload in tensors:
        out += s(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
        out += struct.pack("<IQ", typ, len(data))
        data += payload + b"\0" * (-len(payload) % 32)
    if tensors:
        out += b"\0" * (-len(out) % 32) + data
    return out


def f32(n, base): return struct.pack(f"<{n}f", *[base + 0.01 * (i % 13) for i in range(n)])
def f16(n, base): return struct.pack(f"<{n}e", *[base + 0.01 * (i % 13) for i in range(n)])
def q8(n): return b"".join(struct.pack("<e", 0.02) + bytes((i * 7) % 256 for i in range(32)) for _ in range(n // 32))


tokens = ["<unk>", "<s>", "</s>", "\u2581", "a", "b", "\u2581a", "ab"]
llama = gguf(
    [kv_str("general.architecture", "llama"), kv_u32("llama.embedding_length", 32),
     kv_u32("llama.feed_forward_length", 32), kv_u32("llama.block_count", 1),
     kv_u32("llama.attention.head_count", 4), kv_u32("llama.attention.head_count_kv", 2),
     kv_u32("llama.context_length", 64), kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5),
     kv_str("tokenizer.ggml.model", "llama"), kv_strs("tokenizer.ggml.tokens", tokens),
     kv_f32s("tokenizer.ggml.scores", [0, 0, 0, -1, -2, -3, -4, -5]),
     kv_i32s("tokenizer.ggml.token_type", [2, 3, 3, 1, 1, 1, 1, 1]),
     kv_u32("tokenizer.ggml.bos_token_id", 1), kv_u32("tokenizer.ggml.eos_token_id", 2),
     kv_bool("tokenizer.ggml.add_bos_token", 1)],
    [("token_embd.weight", [32, 8], 0, f32(256, 0.1)),
     ("output_norm.weight", [32], 0, f32(32, 1.0)),
     ("blk.0.attn_norm.weight", [32], 0, f32(32, 1.0)),
     ("blk.0.ffn_norm.weight", [32], 0, f32(32, 1.0)),
     ("blk.0.attn_q.weight", [32, 32], 1, f16(1024, -0.05)),
     ("blk.0.attn_k.weight", [32, 16], 1, f16(512, -0.05)),
     ("blk.0.attn_v.weight", [32, 16], 8, q8(512)),
     ("blk.0.attn_output.weight", [32, 32], 8, q8(1024)),
     ("blk.0.ffn_gate.weight", [32, 32], 0, f32(1024, -0.05)),
     ("blk.0.ffn_up.weight", [32, 32], 0, f32(1024, -0.04)),
     ("blk.0.ffn_down.weight", [32, 32], 0, f32(1024, -0.03))])


def byte_level(b):
    keep = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, n = {}, 0
    for x in range(256):
        if x in keep:
            table[x] = chr(x)
        else:
            table[x] = chr(256 + n)
            n += 1
    return "".join(table[x] for x in b)


vocab = [byte_level(bytes([b])) for b in range(256)] + ["he", "ll", "hell", "<|endoftext|>"]
gpt2 = gguf(
    [kv_str("general.architecture", "gpt2"), kv_str("tokenizer.ggml.model", "gpt2"),
     kv_str("tokenizer.ggml.pre", "gpt-2"), kv_strs("tokenizer.ggml.tokens", vocab),
     kv_i32s("tokenizer.ggml.token_type", [1] * 259 + [3]),
     kv_strs("tokenizer.ggml.merges", ["h e", "l l", "he ll"]),
     kv_u32("tokenizer.ggml.eos_token_id", 259)], [])

with open(os.path.join(HERE, "tiny-llama.gguf"), "wb") as f:
    f.write(llama)
with open(os.path.join(HERE, "tiny-gpt2-vocab.gguf"), "wb") as f:
    f.write(gpt2)
