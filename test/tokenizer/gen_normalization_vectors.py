#!/usr/bin/env python3
"""Writes test/tokenizer/normalization_vectors.txt: NFC, NFKC, NFD and NFKD of hand-picked
and random strings by Python's unicodedata, and their LOWER (Python's lower() of each
character alone, i.e. Rust's char::to_lowercase), for normalize_test.cc. One vector a line:
FORM <tab> input as UTF-8 hex <tab> expected output as UTF-8 hex. Lines starting with '#'
are comments. The random strings come from a fixed seed, so the output is reproducible for
a given Unicode version (recorded in the first line).

Usage: test/tokenizer/gen_normalization_vectors.py > test/tokenizer/normalization_vectors.txt
"""
import random
import unicodedata

CASES = [
    "", "hello world", "caf\u00e9", "cafe\u0301", "e\u0301\u0300", "a\u0323\u0307",
    "a\u0307\u0323",                    # marks reordered by class (220 before 230)
    "q\u0307\u0323", "\u1e0b\u0323",    # reordering then composition
    "\u0041\u030a", "\u212b",           # singleton: ANGSTROM SIGN -> A with ring
    "\u2126", "\u0958", "\u0344",       # OHM SIGN, excluded Devanagari, non-starter decomposition
    "\u1100\u1161", "\u1100\u1161\u11a8", "\uac00\u11a8", "\ud55c\uad6d\uc5b4",
    "\u1100\u1161\u0301\u11a8",         # a mark blocks Hangul composition
    "\ufb01", "\u2460", "\uff21\uff42\uff43\uff11", "\u3000", "\u00bd", "\u2075", "\u33a1",
    "\ufdfa", "\u1e9b\u0323", "\u0f73", "\u0b47\u0b3e", "\u0b47\u0300\u0b3e",
    "\u00c7\u0301", "\u0041\u0327\u0301", "\u0300abc", "x\u0300\u0300\u0300\u0315\u0301",
    "\u05d0\u05b7\u05bc", "\u0928\u093c", "\ud834\udd5e".encode("utf-16", "surrogatepass")
    .decode("utf-16"), "\U0001d15e\U0001d165", "\u2000\u2001", "\u00a8\u0301",
    "\u03d3", "\u03d2\u0301", "\u1fc1", "\u212a\u0301", "\u2fa1d", "\U0002fa1d",
    "HELLO \u0130stanbul \u03a3\u039f\u03a3", "\u1e9e\u023a\u2c6f\U00010400\u1f88",
]

POOLS = [
    list(range(0x61, 0x7b)),                                  # ASCII letters
    [0x20, 0x2e, 0x31],
    list(range(0x300, 0x315)) + [0x323, 0x327, 0x328, 0x31b, 0x345, 0x5b0, 0x5bc, 0x93c,
                                 0x3099, 0x309a, 0x1d165, 0x1d16e],   # combining marks
    list(range(0xc0, 0x180)),                                 # Latin-1 / Extended-A
    list(range(0x1e00, 0x1f00, 7)) + list(range(0x1f00, 0x2000, 5)),  # precomposed Latin, Greek
    list(range(0x1100, 0x1113)) + list(range(0x1161, 0x1176)) + list(range(0x11a8, 0x11c3)),
    [0xac00, 0xac01, 0xd7a3, 0xb098, 0xb2e4],                 # Hangul syllables
    [0xfb01, 0xfb02, 0x2460, 0x2474, 0xff21, 0xff41, 0xff10, 0x3000, 0xbd, 0x2126, 0x212b,
     0x1e9b, 0xfdfa, 0x3300, 0x33a1, 0x2fa1d - 0x1000, 0xf900, 0x2f800, 0x0958, 0x0344,
     0x0f73, 0x0b3e, 0x0b47, 0x304b, 0x30ab, 0xff76, 0xff9e],  # compatibility and exclusions
]


def hexs(s):
    return s.encode("utf-8").hex()


def main():
    rng = random.Random(16)
    strings = list(CASES)
    for _ in range(400):
        n = rng.randint(1, 12)
        s = ""
        for _ in range(n):
            pool = POOLS[rng.randrange(len(POOLS))]
            s += chr(pool[rng.randrange(len(pool))])
        strings.append(s)
    print(f"# Unicode {unicodedata.unidata_version}, Python unicodedata")
    for s in strings:
        for form in ("NFC", "NFKC"):
            print(f"{form}\t{hexs(s)}\t{hexs(unicodedata.normalize(form, s))}")
    for s in strings:
        for form in ("NFD", "NFKD"):
            print(f"{form}\t{hexs(s)}\t{hexs(unicodedata.normalize(form, s))}")
        print(f"LOWER\t{hexs(s)}\t{hexs(''.join(c.lower() for c in s))}")


if __name__ == "__main__":
    main()
