#!/usr/bin/env python3
"""Draws a kite-bench --sweep --json result with gnuplot: prefill and decode tok/s against the
prompt length (top), and their fractions of the roofs measured in the same run (bottom,
when the sweep ran with --roofline), one line per thread count. Long-context rows
(--long-context) are drawn as single points.

Usage: plot-sweep.py SWEEP.json OUT.svg|OUT.png [--title TEXT]

Only the Python standard library and the gnuplot program (Debian: gnuplot-nox).
Exit status: 0 drawn, 1 gnuplot missing or failed, 2 bad command line or input.
"""
import argparse
import json
import shutil
import os
import subprocess
import sys


def fail(message, status):
    print(f"plot-sweep: {message}", file=sys.stderr)
    sys.exit(status)


def require_regular_file(path, must_exist):
    """Fails unless `path` is a regular file (or, when not `must_exist`, absent): never blocks
    on a FIFO, writes to a device or follows a link planted as an output."""
    if not os.path.lexists(path):
        if must_exist:
            fail(f"{path}: no such file", 2)
        return
    if os.path.islink(path) or not os.path.isfile(path):
        fail(f"{path}: not a regular file (a link, FIFO, device or folder)", 2)


def load_sweep(path):
    require_regular_file(path, True)
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read {path}: {e}", 2)
    rows = doc.get("sweep") if isinstance(doc, dict) else None
    if not isinstance(rows, list) or not rows:
        fail(f"{path} has no \"sweep\" rows: write it with kite-bench --sweep --json", 2)
    return doc, rows


def datablock(name, lines):
    """A gnuplot datablock ($name << EOD ... EOD) of whitespace-separated columns."""
    return f"${name} << EOD\n" + "\n".join(lines) + "\nEOD\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", help="kite-bench --sweep --json output")
    parser.add_argument("out", help="the picture to write: .svg or .png")
    parser.add_argument("--title", default=None, help="title (default: the model file)")
    args = parser.parse_args()
    if not args.out.endswith((".svg", ".png")):
        fail(f"{args.out}: the output must end in .svg or .png", 2)
    require_regular_file(args.out, False)
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        fail("gnuplot not found: install it with 'sudo apt-get install gnuplot-nox'", 1)

    doc, rows = load_sweep(args.json)
    roofline = "roofs" in doc
    threads = sorted({r["threads"] for r in rows})
    script = []
    # Columns: prompt, prefill tok/s, decode tok/s, prefill roof %, decode roof %.
    for t in threads:
        for kind, is_long in (("sweep", False), ("long", True)):
            lines = [
                "%d %g %g %g %g" % (r["prompt_tokens"], r["prefill_tok_s"], r["decode_tok_s"],
                                    100 * r.get("prefill_roof_fraction", 0),
                                    100 * r.get("decode_roof_fraction", 0))
                for r in rows if r["threads"] == t and bool(r.get("long_context")) == is_long
            ]
            if lines:
                script.append(datablock(f"{kind}{t}", lines))

    title = args.title or doc.get("model", "")
    if args.out.endswith(".svg"):
        script.append("set terminal svg size 900,%d dynamic font 'sans,11'\n"
                      % (1100 if roofline else 600))
    else:
        script.append("set terminal png size 900,%d\n" % (1100 if roofline else 600))
    script.append(f"set output '{args.out}'\n")
    script.append("set termoption noenhanced\nset logscale x 2\nset grid\n"
                  "set key below maxrows 4\n"
                  "set xlabel 'prompt length (tokens)'\n")
    if roofline:
        script.append(f"set multiplot layout 2,1 title \"{title}\"\n")
    else:
        script.append(f"set title \"{title}\"\n")

    def plot(columns, ylabel, logy):
        parts = []
        for t in threads:
            name = f"{t} thread" + ("" if t == 1 else "s")
            for col, label in columns:
                parts.append(f"$sweep{t} using 1:{col} with linespoints "
                             f"title '{label}, {name}'")
                if any(r["threads"] == t and r.get("long_context") for r in rows):
                    parts.append(f"$long{t} using 1:{col} with points pointsize 2 "
                                 f"title '{label}, {name}, long context'")
        script.append(("set logscale y 10\n" if logy else "unset logscale y\n") +
                      f"set ylabel '{ylabel}'\nplot " + ", \\\n  ".join(parts) + "\n")

    plot([(2, "prefill"), (3, "decode")], "tok/s", True)
    if roofline:
        script.append("set yrange [0:*]\n")
        plot([(4, "prefill / int8 roof"), (5, "decode / bandwidth roof")], "% of roof", False)
        script.append("unset multiplot\n")
    done = subprocess.run([gnuplot], input="".join(script), text=True, capture_output=True)
    if done.returncode != 0:
        fail(f"gnuplot failed: {done.stderr.strip()}", 1)
    print(f"plot-sweep: wrote {args.out}")


if __name__ == "__main__":
    main()
