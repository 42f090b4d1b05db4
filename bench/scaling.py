#!/usr/bin/env python3
"""Time and peak memory of `arabic-ner tag` as one input grows.

For each size, the same Arabic text is tagged in three shapes:

- lines:     the text as written, one paragraph a line, from a file;
- one-line:  the same text with every line break turned into a space, so the
             whole input is one run of sentences without a newline;
- stdin:     the one-line text again, through standard input.

Time should grow linearly with size (seconds per MB flat) and peak memory
should stay flat: a long document is read in parts (`--part-size`), and
standard input is streamed like a file.

The encoder's cost dominates with the shipped model (about 10 KB of text a
second on two cores), so large sizes are meant for a tiny model that leaves
the rest of the pipeline (reading, normalization, words, decoding,
propagation, dates, output) in view:

    cargo build --release
    python3 bench/scaling.py --model tests/fixtures/tiny-st --sizes 10K,100K,1M,10M,50M
    python3 bench/scaling.py --sizes 10K,100K,1M

Without `--text`, the source text is the ANERcorp test sentences when
`../shared/data/anercorp/test.txt` is there (one sentence a line), else
`data/sample.txt`; it is repeated up to each size.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_size(s):
    s = s.strip().upper()
    mult = 1
    for suffix, m in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)):
        if s.endswith(suffix):
            s, mult = s[:-1], m
    return int(float(s) * mult)


def source_text(path):
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read()
    conll = os.path.join(ROOT, "..", "shared", "data", "anercorp", "test.txt")
    if os.path.exists(conll):
        return "\n".join(" ".join(w) for w in common.conll_sentences(conll)) + "\n"
    with open(os.path.join(ROOT, "data", "sample.txt"), encoding="utf-8") as f:
        return f.read()


def grow(text, size):
    """`text` repeated and cut at a line break near `size` bytes."""
    data = text.encode("utf-8")
    reps = size // len(data) + 1
    out = (data * reps)[:size]
    cut = out.rfind(b"\n")
    if cut > size // 2:
        out = out[: cut + 1]
    # Never end inside a character.
    return out.decode("utf-8", errors="ignore").encode("utf-8")


def run(cmd, stdin_path=None):
    """(seconds, peak RSS in MB) of one run, from GNU time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        full = ["/usr/bin/time", "-f", "%e %M", "-o", t.name] + cmd
        stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        try:
            start = time.monotonic()
            p = subprocess.run(full, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            wall = time.monotonic() - start
        finally:
            if stdin_path:
                stdin.close()
        if p.returncode != 0:
            sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr.decode(errors='replace')}")
        fields = t.read().split()
        return wall, int(fields[-1]) / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "arabic-ner"))
    ap.add_argument("--model", help="model folder (default: the shipped model)")
    ap.add_argument("--text", help="source text (UTF-8), repeated to each size")
    ap.add_argument("--sizes", default="10K,100K,1M", help="comma-separated sizes (K, M suffixes)")
    ap.add_argument("--shapes", default="lines,one-line,stdin")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", help="keep the generated inputs in this folder")
    args = ap.parse_args()

    text = source_text(args.text)
    work = args.keep or tempfile.mkdtemp(prefix="scaling-")
    os.makedirs(work, exist_ok=True)
    base = [args.bin, "--threads", str(args.threads), "tag", "--format", "jsonl"]
    if args.model:
        base += ["--model", args.model]

    print(f"{'size':>8} {'shape':>9} {'seconds':>9} {'s/MB':>8} {'peak MB':>8}")
    for size in [parse_size(s) for s in args.sizes.split(",")]:
        data = grow(text, size)
        lines_path = os.path.join(work, f"lines-{size}.txt")
        flat_path = os.path.join(work, f"one-line-{size}.txt")
        with open(lines_path, "wb") as f:
            f.write(data)
        with open(flat_path, "wb") as f:
            f.write(data.replace(b"\n", b" "))
        mb = len(data) / (1 << 20)
        for shape in args.shapes.split(","):
            if shape == "lines":
                secs, peak = run(base + [lines_path])
            elif shape == "one-line":
                secs, peak = run(base + [flat_path])
            elif shape == "stdin":
                secs, peak = run(base + ["-"], stdin_path=flat_path)
            else:
                sys.exit(f"unknown shape {shape!r}")
            print(f"{len(data):>8} {shape:>9} {secs:>9.2f} {secs / mb:>8.2f} {peak:>8.0f}", flush=True)
        if not args.keep:
            os.remove(lines_path)
            os.remove(flat_path)
    if not args.keep:
        os.rmdir(work)


if __name__ == "__main__":
    main()
