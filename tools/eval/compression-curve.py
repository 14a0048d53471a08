#!/usr/bin/env python3
"""The size-vs-accuracy curve of compressed .kite files (docs/compression.md).

  compression-curve.py measure --reference F32.kite --tokens TOKENS.json [--ctx 256]
                               [--bin build/release] -o RESULTS.tsv LABEL=MODEL.kite...
      Runs kite-inspect --json (tensor bytes and parameters: bits/weight) and
      kite-eval --json (KLD, top-1, perplexity against the reference) on every model and
      appends one row per model to RESULTS.tsv (created with a header if missing).

  compression-curve.py plot RESULTS.tsv -o CURVE.svg [--external EXTERNAL.tsv]
      Draws KLD (log scale) against bits/weight with gnuplot (Debian package gnuplot-nox),
      one labelled point per row; EXTERNAL.tsv (same columns, e.g. figures quoted from
      other projects) is drawn beside them in another colour. Also prints the rows as a
      Markdown table.

"bits/weight" is every tensor's bytes (data, scales, mins: norms included) times 8 over
the parameter count, as the converter's "tensor bytes" total. Only the standard library.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

COLUMNS = ["label", "bits_per_weight", "kld", "top1", "ppl", "file_bytes", "model"]


def run_json(argv):
    """Runs a Kite tool that prints one JSON object; exits with its message on failure."""
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr.strip()}")
    return json.loads(done.stdout)


def bits_per_weight(inspect):
    """Tensor bytes * 8 / parameters, from kite-inspect --json."""
    total_bytes = 0
    params = 0
    for t in inspect["tensors"]:
        total_bytes += sum(v for k, v in t.items() if k.endswith("_bytes"))
        n = 1
        for d in t["shape"]:
            n *= d
        params += n
    if params == 0:
        sys.exit("the model has no tensors (a vocabulary-only file?)")
    return 8.0 * total_bytes / params


def require_regular_file(path, must_exist):
    """Exits with a message unless `path` is a regular file (or, when not `must_exist`, absent):
    never blocks on a FIFO, writes to a device or follows a link planted as an output."""
    if not os.path.lexists(path):
        if must_exist:
            sys.exit(f"{path}: no such file")
        return
    if os.path.islink(path) or not os.path.isfile(path):
        sys.exit(f"{path}: not a regular file (a link, FIFO, device or folder)")


def read_rows(path):
    require_regular_file(path, True)
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header != COLUMNS:
            sys.exit(f"{path}: expected the header {' '.join(COLUMNS)}")
        for n, line in enumerate(f, 2):
            if not line.strip():
                continue
            cells = line.rstrip("\n").split("\t")
            if len(cells) != len(COLUMNS):
                sys.exit(f"{path}:{n}: {len(cells)} columns, expected {len(COLUMNS)}")
            rows.append(dict(zip(COLUMNS, cells)))
    return rows


def measure(args):
    require_regular_file(args.output, False)
    inspect_bin = os.path.join(args.bin, "tools/inspect/kite-inspect")
    eval_bin = os.path.join(args.bin, "tools/eval/kite-eval")
    for tool in (inspect_bin, eval_bin):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} not found: build the release preset or pass --bin")
    new = not os.path.exists(args.output)
    with open(args.output, "a", encoding="utf-8") as out:
        if new:
            out.write("\t".join(COLUMNS) + "\n")
        for item in args.models:
            label, sep, model = item.partition("=")
            if not sep or not label or not model or "\t" in label:
                sys.exit(f"'{item}' is not LABEL=MODEL.kite (a label without tabs)")
            inspect = run_json([inspect_bin, model, "--json"])
            result = run_json([eval_bin, "-m", model, "--reference", args.reference,
                               "--tokens", args.tokens, "--ctx", str(args.ctx), "--json"])
            row = [label, f"{bits_per_weight(inspect):.3f}", f"{result['kld']:.5f}",
                   f"{result['top1']:.4f}", f"{result['ppl']:.4f}", str(inspect["file_size"]),
                   model]
            out.write("\t".join(row) + "\n")
            out.flush()
            print(f"{label}: {row[1]} bits/weight, KLD {row[2]}, top-1 {row[3]}", file=sys.stderr)


def gnuplot_quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def plot(args):
    require_regular_file(args.output, False)
    rows = read_rows(args.results)
    external = read_rows(args.external) if args.external else []
    print("| variant | bits/weight | KLD | top-1 | PPL | file bytes |")
    print("|---|---|---|---|---|---|")
    for r in rows + external:
        print(f"| {r['label']} | {r['bits_per_weight']} | {r['kld']} | "
              f"{100 * float(r['top1']):.2f}% | {r['ppl']} | {r['file_bytes']} |")
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        sys.exit("gnuplot not found: sudo apt-get install -y gnuplot-nox")
    with tempfile.TemporaryDirectory() as tmp:
        data = []
        for name, part in (("kite", rows), ("external", external)):
            path = os.path.join(tmp, name + ".dat")
            with open(path, "w", encoding="utf-8") as f:
                for r in part:
                    f.write(f"{r['bits_per_weight']} {r['kld']} {gnuplot_quote(r['label'])}\n")
            data.append(path)
        script = [
            "set terminal svg size 900,600 dynamic font 'sans,11'",
            f"set output {gnuplot_quote(args.output)}",
            "set logscale y",
            "set xlabel 'bits per weight (all tensor bytes)'",
            "set ylabel 'KL divergence against f32 (log scale)'",
            "set grid",
            "set key top right",
            f"plot {gnuplot_quote(data[0])} using 1:2 with points pt 7 ps 1.2 title 'Kite', "
            f"'' using 1:2:3 with labels offset 0.8,0.4 left font ',8' notitle",
        ]
        if external:
            script[-1] += (f", {gnuplot_quote(data[1])} using 1:2 with points pt 5 ps 1.2 "
                           f"title 'quoted elsewhere', '' using 1:2:3 with labels offset "
                           f"0.8,-0.6 left font ',8' notitle")
        done = subprocess.run([gnuplot], input="\n".join(script) + "\n", text=True,
                              capture_output=True)
        if done.returncode != 0:
            sys.exit(f"gnuplot failed:\n{done.stderr.strip()}")
    print(f"wrote {args.output}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure", help="evaluate models and append rows to a TSV")
    m.add_argument("--reference", required=True, help="the f32 .kite file")
    m.add_argument("--tokens", required=True, help="kite-eval --tokens JSON file")
    m.add_argument("--ctx", type=int, default=256, help="context window (default 256)")
    m.add_argument("--bin", default="build/release", help="build folder (default build/release)")
    m.add_argument("-o", "--output", required=True, help="results TSV (appended to)")
    m.add_argument("models", nargs="+", metavar="LABEL=MODEL.kite")
    p = sub.add_parser("plot", help="draw a results TSV with gnuplot")
    p.add_argument("results")
    p.add_argument("-o", "--output", required=True, help="SVG to write")
    p.add_argument("--external", help="TSV of points quoted from elsewhere")
    args = parser.parse_args()
    if args.command == "measure":
        if args.ctx < 2:
            parser.error("--ctx must be at least 2")
        measure(args)
    else:
        plot(args)


if __name__ == "__main__":
    main()
