#!/usr/bin/env python3
"""Speed of the Python package against the CLI, the transformers pipeline
and itself on Spark.

The sentences of a CoNLL file (default ``../shared/data/anercorp/test.txt``,
first column, a sentence a line) are tagged by:

- ``cli``: ``arabic-ner --threads T tag --lines --format jsonl``, a
  subprocess timed end to end, minus its load time (the fastest of three
  runs on one word);
- ``python``: ``arabic_ner.Tagger(threads=T).tag_batch(lines)`` in a child
  Python process, the model loaded before the clock starts;
- ``pipeline``: ``transformers.pipeline("token-classification",
  aggregation_strategy="first")`` on the same model exported to f32
  (``--hf``), ``torch.set_num_threads(T)``, batches of 8, in the same
  child process as ``python``, the two timed in turn;
- ``spark``: ``arabic_ner.spark.tag_column`` in ``local[T]`` over a Parquet
  file of the sentences, one tagger thread per task, the job run twice (the
  first run starts the Python workers and loads the model in each); and the
  peak RSS of a Python worker that tags its batches as ``tag_column`` does.

``--pairs N`` repeats the cli/python and python/pipeline measurements N
times, alternating, and reports each run and the range: on a shared machine
the load changes from one minute to the next, and figures taken in turn are
comparable where figures taken apart are not.

Tokens are pieces of the model's tokenizer (without the special tokens),
counted with the ``tokenizers`` package; words are CoNLL tokens.

This is a benchmark, not a test; it is not run in CI. Setup (once, from the
repository root)::

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install torch transformers tokenizers maturin pyspark pyarrow pandas
    cargo build --release
    .venv-bench/bin/maturin build --release -m python/Cargo.toml -o target/wheels \\
        --interpreter .venv-bench/bin/python
    .venv-bench/bin/pip install target/wheels/arabic_ner-*.whl
    target/release/arabic-ner export --model models/arabic-ner-e5-small --hf /tmp/ner-f32

Run::

    .venv-bench/bin/python bench/python_speed.py --hf /tmp/ner-f32 --pairs 3 --spark
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "models" / "arabic-ner-e5-small"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", default=str(REPO / "target" / "release" / "arabic-ner"))
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "anercorp" / "test.txt"))
    p.add_argument("--hf", help="the model as an f32 Hugging Face folder (arabic-ner export --hf); "
                                "without it the pipeline is not run")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--spark", action="store_true", help="also time the Spark job")
    p.add_argument("--pipeline-sentences", type=int, default=200,
                   help="the pipeline and the package are compared in turn on the first N "
                        "sentences (default 200: the pipeline is slow)")
    p.add_argument("--json", help="write the figures here")
    # Internal: the child process that times the package (and the pipeline).
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--text", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def sentences(path):
    """The sentences of a CoNLL file, one string each."""
    return [" ".join(words) for words in common.conll_sentences(path)]


def count_tokens(lines):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(SHIPPED / "tokenizer.json"))
    return sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=False))


RUSAGE_HELPER = """
import json, os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump([os.waitstatus_to_exitcode(status), time.perf_counter() - start, usage.ru_maxrss], f)
"""


def measured(cmd, work, name):
    """Runs ``cmd`` through a small helper process (so that the peak RSS is
    the command's own) and returns (wall seconds, peak RSS MiB)."""
    report = work / f"{name}.rusage"
    err = work / f"{name}.stderr"
    with open(err, "wb") as e:
        subprocess.run([sys.executable, "-c", RUSAGE_HELPER, str(report)] + [str(c) for c in cmd],
                       stdout=subprocess.DEVNULL, stderr=e, stdin=subprocess.DEVNULL)
    code, wall, rss = json.loads(report.read_text())
    if code != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({code}):\n{err.read_text()}")
    return wall, rss / 1024


def cli_run(args, text, work):
    def cmd(path, out):
        return [args.bin, "--threads", args.threads, "tag", "--lines", "--format", "jsonl",
                "--output", out, path]

    one = work / "one.txt"
    one.write_text("القاهرة\n", encoding="utf-8")
    # The load time is the fastest of three one-word runs: the first run
    # after a pause pays for cold caches, which would otherwise be taken
    # off the real run and make the CLI look faster than it is.
    load = min(measured(cmd(one, work / "one.jsonl"), work, "cli-load")[0] for _ in range(3))
    wall, rss = measured(cmd(text, work / "cli.jsonl"), work, "cli")
    return {"load_s": load, "total_s": wall, "tag_s": max(wall - load, 1e-9), "peak_rss_mib": rss}


def worker(args):
    """Child process: the package, and the pipeline in turn, in one process."""
    import resource

    lines = Path(args.text).read_text(encoding="utf-8").splitlines()
    t0 = time.perf_counter()
    import arabic_ner

    tagger = arabic_ner.Tagger(threads=args.threads)
    result = {"python_load_s": time.perf_counter() - t0, "python_s": [], "pipeline_s": [],
              "python_subset_s": []}
    subset = lines[: args.pipeline_sentences]
    tagger.tag_batch(lines[:50])
    pipe = None
    if args.hf:
        import torch
        from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline
        from transformers.utils import logging

        logging.set_verbosity_error()
        torch.set_num_threads(args.threads)
        t0 = time.perf_counter()
        model = AutoModelForTokenClassification.from_pretrained(args.hf)
        tok = AutoTokenizer.from_pretrained(args.hf)
        pipe = pipeline("token-classification", model=model, tokenizer=tok, device=-1,
                        aggregation_strategy="first", batch_size=8)
        result["pipeline_load_s"] = time.perf_counter() - t0
        pipe(lines[:20])
    for _ in range(args.pairs):
        t0 = time.perf_counter()
        found = tagger.tag_batch(lines)
        result["python_s"].append(time.perf_counter() - t0)
        result["python_entities"] = sum(map(len, found))
        if pipe is not None:
            t0 = time.perf_counter()
            tagger.tag_batch(subset)
            result["python_subset_s"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            found = pipe(subset)
            result["pipeline_s"].append(time.perf_counter() - t0)
            result["pipeline_entities"] = sum(map(len, found))
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(args.out).write_text(json.dumps(result))


def spark_run(args, lines, work):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import SparkSession

    from arabic_ner.spark import tag_column

    os.environ["PYSPARK_PYTHON"] = sys.executable
    path = work / "sentences.parquet"
    pq.write_table(pa.table({"id": list(range(len(lines))), "text": lines}), path)
    spark = (SparkSession.builder.master(f"local[{args.threads}]").appName("arabic-ner-bench")
             .config("spark.ui.enabled", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        df = spark.read.parquet(str(path)).repartition(args.threads * 2).cache()
        df.count()
        runs = []
        for _ in range(2):
            t0 = time.perf_counter()
            tag_column(df, "text").write.format("noop").mode("overwrite").save()
            runs.append(time.perf_counter() - t0)

        def probe(batches):
            import resource

            import pyarrow as _pa

            from arabic_ner import spark as s

            n = 0
            for b in batches:
                # The tagger tag_column's batches use (threads=1, the rest default).
                n += len(s.worker_tagger(threads=1).tag_batch(b.column(1).to_pylist()))
            yield _pa.RecordBatch.from_pydict({
                "pid": [os.getpid()], "rows": [n],
                "rss": [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]})

        probes = df.mapInArrow(probe, "pid long, rows long, rss double").collect()
    finally:
        spark.stop()
    return {"first_s": runs[0], "warm_s": runs[1],
            "worker_peak_rss_mib": max(r["rss"] for r in probes),
            "workers": len({r["pid"] for r in probes})}


def span(values):
    return f"{min(values):.0f}-{max(values):.0f}" if values else "-"


def main():
    args = parse_args()
    if args.worker:
        return worker(args)
    lines = sentences(args.data)
    tokens = count_tokens(lines)
    sub_tokens = count_tokens(lines[: args.pipeline_sentences])
    words = sum(len(s.split()) for s in lines)
    print(f"data: {args.data}: {len(lines)} sentences, {words} words, {tokens} tokens; "
          f"threads {args.threads}; load average {os.getloadavg()[0]:.1f}", flush=True)
    report = {"sentences": len(lines), "tokens": tokens, "threads": args.threads, "runs": []}
    with tempfile.TemporaryDirectory(prefix="ner-pybench-") as tmp:
        work = Path(tmp)
        text = work / "lines.txt"
        text.write_text("\n".join(lines) + "\n", encoding="utf-8")
        cli_tps, py_tps, hf_tps = [], [], []
        for i in range(args.pairs):
            load_before = os.getloadavg()[0]
            cli = cli_run(args, text, work)
            out = work / "worker.json"
            cmd = [sys.executable, Path(__file__).resolve(), "--worker", "--text", text, "--out", out,
                   "--threads", args.threads, "--pairs", 1,
                   "--pipeline-sentences", args.pipeline_sentences]
            if args.hf:
                cmd += ["--hf", args.hf]
            _, rss = measured(cmd, work, "worker")
            w = json.loads(out.read_text())
            run = {"load_average": load_before, "cli": cli, "python": w}
            report["runs"].append(run)
            cli_tps.append(tokens / cli["tag_s"])
            py_tps.append(tokens / w["python_s"][0])
            line = (f"pair {i + 1}: load {load_before:.1f}  cli {tokens / cli['tag_s']:.0f} tok/s "
                    f"(tag {cli['tag_s']:.2f} s, load {cli['load_s']:.2f} s, rss {cli['peak_rss_mib']:.0f} MiB)"
                    f"  python {tokens / w['python_s'][0]:.0f} tok/s (tag {w['python_s'][0]:.2f} s, "
                    f"load {w['python_load_s']:.2f} s)  ratio {cli['tag_s'] / w['python_s'][0]:.2f}x")
            if w["pipeline_s"]:
                hf_tps.append((sub_tokens / w["python_subset_s"][0], sub_tokens / w["pipeline_s"][0]))
                line += (f"\n        first {args.pipeline_sentences} sentences in one process: python "
                         f"{sub_tokens / w['python_subset_s'][0]:.0f} tok/s, pipeline "
                         f"{sub_tokens / w['pipeline_s'][0]:.0f} tok/s "
                         f"(tag {w['pipeline_s'][0]:.2f} s)  python/pipeline "
                         f"{w['pipeline_s'][0] / w['python_subset_s'][0]:.2f}x")
            print(line, flush=True)
        print(f"\ntokens/s over {args.pairs} pairs: cli {span(cli_tps)}, python {span(py_tps)}"
              + (f", pipeline {span([h for _, h in hf_tps])}" if hf_tps else ""))
        ratios = [p / c for p, c in zip(py_tps, cli_tps)]
        if ratios:
            print(f"python/cli: {min(ratios):.2f}-{max(ratios):.2f}x (target >= 0.9)")
        if hf_tps:
            r = [p / h for p, h in hf_tps]
            print(f"python/pipeline: {min(r):.2f}-{max(r):.2f}x (target >= 2)")
        if args.spark:
            s = spark_run(args, lines, work)
            report["spark"] = s
            print(f"spark local[{args.threads}]: first run {s['first_s']:.2f} s "
                  f"({tokens / s['first_s']:.0f} tok/s, workers start and load the model), "
                  f"warm run {s['warm_s']:.2f} s ({tokens / s['warm_s']:.0f} tok/s"
                  + (f", {tokens / s['warm_s'] / (sum(cli_tps) / len(cli_tps)):.2f}x the cli's mean); "
                     if cli_tps else "); ")
                  + f"worker peak RSS {s['worker_peak_rss_mib']:.0f} MiB ({s['workers']} workers)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
