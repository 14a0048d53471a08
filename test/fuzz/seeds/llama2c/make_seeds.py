#!/usr/bin/env python3
"""Writes the llama2c_fuzz seeds: tiny llama2.c legacy checkpoints (7 x int32 header, then
f32 blocks: embedding, per-layer norms and matrices, final norm, two RoPE tables and, with a
negative vocab_size, a separate classifier). Run from this folder: python3 make_seeds.py"""
import struct


def checkpoint(dim, hidden, layers, heads, kv_heads, vocab, seq, shared=True):
    head = dim // heads
    kv_dim = kv_heads * head
    floats = (vocab * dim + layers * dim + layers * dim * dim + 2 * layers * dim * kv_dim
              + layers * dim * dim + layers * dim + 3 * layers * dim * hidden + dim
              + seq * head)  # two RoPE tables of seq * head / 2 each
    if not shared:
        floats += vocab * dim
    header = struct.pack("<7i", dim, hidden, layers, heads, kv_heads,
                         vocab if shared else -vocab, seq)
    body = struct.pack("<%df" % floats, *[((i * 37) % 17 - 8) / 16.0 for i in range(floats)])
    return header + body


with open("shared-1layer.bin", "wb") as f:
    f.write(checkpoint(dim=8, hidden=16, layers=1, heads=2, kv_heads=2, vocab=6, seq=4))
with open("unshared-gqa-2layers.bin", "wb") as f:
    f.write(checkpoint(dim=8, hidden=8, layers=2, heads=4, kv_heads=2, vocab=5, seq=2,
                       shared=False))
