#!/usr/bin/env python3
"""Makes the integer-dot variant of a Vulkan shader (sdk/backends/vulkan/shaders/NAME.comp ->
NAME_dot.spvasm): the same shader with the body of its function

    int PackedDot(uint a, uint b)   // sum over bytes j of int8(a_j) * int8(b_j)

replaced by one OpSDot (SPV_KHR_integer_dot_product, PackedVectorFormat4x8Bit, signed).
Debian's glslc rejects GL_EXT_integer_dot_product, so the variant is SPIR-V assembly,
committed next to its .comp; the build assembles it with spirv-as and checks it with
spirv-val (sdk/backends/vulkan/CMakeLists.txt). The steps:

 1. glslc --target-env=vulkan1.1 -I shaders -S NAME.comp (no -O: PackedDot stays a function
    of its own, %PackedDot_u1_u1_, taking its arguments by pointer);
 2. PackedDot's body becomes
        %sdot_a = OpLoad %uint %a
        %sdot_b = OpLoad %uint %b
        %sdot = OpSDotKHR %int %sdot_a %sdot_b PackedVectorFormat4x8BitKHR
        OpReturnValue %sdot
    (the names of its removed locals are dropped), and the capabilities
    DotProductInput4x8BitPackedKHR and DotProductKHR and the extension
    SPV_KHR_integer_dot_product are declared;
 3. spirv-as --target-env vulkan1.1, spirv-opt -O --target-env=vulkan1.1 (which inlines
    PackedDot into main), spirv-dis: the text from the "; SPIR-V" line on.

The file's header (its comment lines before "; SPIR-V") is written by hand and kept as it is.

Usage: tools/gen-dot-shader.py [--check] NAME...   (NAME: q4r16_matvec, q3r16_matvec)
Writes sdk/backends/vulkan/shaders/NAME_dot.spvasm, or with --check exits 1 when a committed
file differs from what its .comp gives now (the ctest vulkan_dot_shaders_current runs that).
Rerun it whenever one of those .comp files (or a file it includes) changes.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHADERS = os.path.join(ROOT, "sdk", "backends", "vulkan", "shaders")
CAPABILITIES = ("               OpCapability DotProductInput4x8BitPackedKHR\n"
                "               OpCapability DotProductKHR\n"
                "               OpExtension \"SPV_KHR_integer_dot_product\"\n")


def run(args, stdin=None):
    r = subprocess.run(args, input=stdin, capture_output=True)
    if r.returncode != 0:
        sys.exit("%s failed:\n%s" % (" ".join(args), r.stderr.decode()))
    return r.stdout


def replace_packed_dot(text):
    """Step 2 on glslc's assembly `text`."""
    if re.search(r"%sdot(_a|_b)?\b", text):
        sys.exit("the shader already uses the names %sdot, %sdot_a or %sdot_b")
    lines = text.split("\n")
    start = next((i for i, l in enumerate(lines)
                  if re.match(r"\s*%PackedDot\w* = OpFunction ", l)), None)
    if start is None:
        sys.exit("no PackedDot function in the shader")
    end = next(i for i in range(start, len(lines)) if lines[i].strip() == "OpFunctionEnd")
    params = [re.match(r"\s*(%\w+) = OpFunctionParameter", l) for l in lines[start + 1:start + 3]]
    if not all(params):
        sys.exit("PackedDot does not take two parameters")
    a, b = params[0].group(1), params[1].group(1)
    label = lines[start + 3]
    if not label.strip().endswith("OpLabel"):
        sys.exit("PackedDot's body does not start with a label")
    removed = set()
    for l in lines[start + 4:end]:
        m = re.match(r"\s*(%\w+) = ", l)
        if m:
            removed.add(m.group(1))
    body = [
        "      %sdot_a = OpLoad %uint " + a,
        "      %sdot_b = OpLoad %uint " + b,
        "       %sdot = OpSDotKHR %int %sdot_a %sdot_b PackedVectorFormat4x8BitKHR",
        "               OpReturnValue %sdot",
    ]
    out = lines[:start + 4] + body + lines[end:]

    def refers_to_removed(l):
        m = re.match(r"\s*Op(Name|Decorate|MemberName) (%\w+)", l)
        return m is not None and m.group(2) in removed

    out = [l for l in out if not refers_to_removed(l)]
    text = "\n".join(out)
    anchor = "               OpCapability Shader\n"
    if anchor not in text:
        sys.exit("no OpCapability Shader line")
    return text.replace(anchor, anchor + CAPABILITIES, 1)


def generate(name):
    """The variant's assembly (from "; SPIR-V" on) for shaders/NAME.comp."""
    src = os.path.join(SHADERS, name + ".comp")
    with tempfile.TemporaryDirectory() as tmp:
        asm = os.path.join(tmp, "in.spvasm")
        run(["glslc", "--target-env=vulkan1.1", "-I", SHADERS, "-S", "-o", asm, src])
        with open(asm) as f:
            edited = replace_packed_dot(f.read())
        with open(asm, "w") as f:
            f.write(edited)
        spv = os.path.join(tmp, "dot.spv")
        run(["spirv-as", "--target-env", "vulkan1.1", "-o", spv, asm])
        opt = os.path.join(tmp, "opt.spv")
        run(["spirv-opt", "-O", "--target-env=vulkan1.1", "-o", opt, spv])
        run(["spirv-val", "--target-env", "vulkan1.1", opt])
        return run(["spirv-dis", opt]).decode()


def header(path):
    """The hand-written comment lines before "; SPIR-V" of the committed file."""
    if not os.path.exists(path):
        sys.exit("%s: write its header (comment lines) first" % path)
    with open(path) as f:
        text = f.read()
    at = text.find("; SPIR-V\n")
    if at < 0:
        sys.exit("%s: no '; SPIR-V' line" % path)
    return text[:at], text[at:]


def main(argv):
    check = "--check" in argv
    names = [a for a in argv if a != "--check"]
    if not names:
        sys.exit(__doc__)
    stale = []
    for name in names:
        path = os.path.join(SHADERS, name + "_dot.spvasm")
        head, body = header(path)
        fresh = generate(name)
        if check:
            if fresh != body:
                stale.append(path)
        else:
            with open(path, "w") as f:
                f.write(head + fresh)
    if stale:
        sys.exit("out of date (rerun tools/gen-dot-shader.py %s): %s"
                 % (" ".join(names), " ".join(stale)))


if __name__ == "__main__":
    main(sys.argv[1:])
