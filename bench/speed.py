#!/usr/bin/env python3
"""Tagging speed of arabic-ner against PyTorch transformers and ONNX Runtime.

The sentences of a CoNLL file (default ``../shared/data/anercorp/test.txt``,
``token TAG`` a line, blank lines between sentences; tokens joined with
spaces) become one text file, a sentence a line. The same model then runs on
it five ways (``--engines``, default the first three):

- ``ours``: ``arabic-ner tag --lines --keep-clitics --precision P --format
  jsonl`` (``--precision``, default int8, the engine's default), timed end to
  end as a subprocess (process start, model load, tagging, output). Its load
  time is measured separately by tagging a one-word input, and the
  throughput is also shown without it.
- ``pipeline``: ``transformers.pipeline("token-classification",
  aggregation_strategy="first")`` with PyTorch, ``torch.set_num_threads``,
  ``--batch-size`` sentences per forward pass.
- ``onnx``: the model exported here with ``torch.onnx.export`` (dynamo
  exporter, dynamic batch and sequence axes) and run by ONNX Runtime
  (``intra_op_num_threads``), in length-sorted batches of ``--batch-size``.
  Everything around the model is done in Python the engine's way: its word
  split, diacritic removal, sentence split, windows, the first piece's label
  for each word, and the same label decoding (``--decoding``, default the
  engine's Viterbi) and seqeval's BIO span rules. Its row is labelled
  ``onnx +py pre/post``: its time includes that Python pre- and
  post-processing.
- ``ort-f32``: the encoder alone, as an ONNX Runtime user runs it: the model
  exported with the classic TorchScript exporter (``dynamo=False``, opset 17,
  eager attention, dynamic batch and sequence axes, logits only), a session
  with ``ORT_ENABLE_ALL`` graph optimizations, ``intra_op_num_threads``
  ``--threads``, ``inter_op_num_threads`` 1, CPUExecutionProvider. The
  model's own tokenizer (``tokenizers``, from ``tokenizer.json``, truncation
  at the position limit) encodes the raw lines in one ``encode_batch``; the
  sentences are sorted by piece count and run in batches of
  ``--batch-size``, each padded to its longest, with the attention mask. The
  clock covers tokenization, batch building and ``session.run`` for every
  batch (tokenization and run time are also shown apart); the output is the
  logits, nothing is decoded. Session creation and one warm-up run on a
  one-word input are the load time.
- ``ort-int8``: the same ONNX file through
  ``onnxruntime.quantization.quantize_dynamic(weight_type=QInt8)`` (per
  tensor; ``--int8-per-channel`` for per-channel weights), run the same way.
  Its argmax label at every piece is compared with ``ort-f32``'s after the
  clock, when both run.

The exported and quantized files are kept in ``--ort-dir`` (default
``$TMPDIR/arabic-ner-bench-onnx``), under a key made from the model folder's
files and the export settings, so later runs reuse them. After an export,
the ONNX logits are checked against PyTorch on a few sentences.

``--pairs N`` runs the listed engines N times, in turn (the order reversed
every other pair), each run in a fresh process, and prints every pair's
tagging times and, for each other engine X, ``ours/X`` = X's tagging time /
ours' (above 1: ours is faster), then the minimum, median and maximum of
each ratio. On a shared machine the load changes from one minute to the
next; runs taken in turn are comparable where runs taken apart are not.

Each Python engine runs in a child process of its own, so its peak RSS (from
``os.wait4``) is its own; its load time is model + tokenizer loading, its
throughput counts the tagging only (tokenization, model, decoding).

The engines must agree on the entities (label, character start, end): the
script prints the entity-level agreement (2|A∩B| / (|A|+|B|)) and the share
of sentences with identical entities for each pair against the 99.5% target,
and counts the likely reasons of the differences. ``ours`` and ``onnx`` tag
the same words the same way; the exit status is 1 when they disagree. The
stock pipeline groups pieces into words its own way (whitespace words, a
bare "▁" piece taken as a word of its own, the whole line as one sentence),
so its agreement is reported, also with the bare "▁" piece grouped with its
word (computed after the clock from the same model outputs), but not
enforced.
Token counts, for every row, are the model tokenizer's pieces of each whole
sentence (without <s>/</s>; the ``ort-*`` rows also show their own count of
unpadded pieces with <s>/</s> and of padded positions); words are the CoNLL
tokens.

``--scale`` instead times only ours on the text and on the text repeated
``--scale-factor`` (10) times, to show that the time grows linearly.

This is a benchmark, not a test: it is not run in CI. Run it on an idle
machine; the numbers depend on the load.

Setup (once, from the repository root)::

    python3 -m venv .venv
    .venv/bin/pip install torch transformers safetensors numpy onnx onnxscript onnxruntime
    cargo build --release

Run::

    target/release/arabic-ner export --model models/arabic-ner-e5-small --hf /tmp/ner-f32
    .venv/bin/python bench/speed.py --model /tmp/ner-f32
    .venv/bin/python bench/speed.py --model /tmp/ner-f32 --engines ours,ort-f32,ort-int8 --pairs 5
    .venv/bin/python bench/speed.py --model models/arabic-ner-e5-small --scale

Options: ``--bin PATH`` (default target/release/arabic-ner), ``--data FILE``,
``--threads 2``, ``--batch-size 8``, ``--engines
ours,pipeline,onnx,ort-f32,ort-int8`` (any subset), ``--precision
int8|f32`` (ours), ``--pairs N``, ``--limit N`` (first N sentences),
``--onnx FILE`` (reuse or keep the dynamo export), ``--ort-dir DIR``,
``--int8-per-channel``, ``--json OUT``. Without ``--model``:
``../runs/default-v1`` when it holds a model, else the base (``--base``)
with a random classifier head.
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

DEFAULT_DATA = "../shared/data/anercorp/test.txt"
AGREEMENT_TARGET = 0.995
ENGINES = ["ours", "pipeline", "onnx", "ort-f32", "ort-int8"]
#: Row labels of the speed table.
DISPLAY = {"ours": "ours", "pipeline": "pipeline (PyTorch)", "onnx": "onnx +py pre/post",
           "ort-f32": "ort-f32 encoder", "ort-int8": "ort-int8 encoder"}
#: Classic-exporter settings; part of the cache key of the exported files.
ORT_OPSET = 17
ORT_ATTENTION = "eager"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_model_args(p)
    p.add_argument("--data", default=DEFAULT_DATA, help="CoNLL file (default: %(default)s)")
    p.add_argument("--threads", type=int, default=2, help="threads of every engine (default: 2)")
    p.add_argument("--batch-size", type=int, default=8,
                   help="sentences per batch for the pipeline and ONNX (default: 8)")
    p.add_argument("--engine-batch-size", type=int,
                   help="--batch-size passed to arabic-ner tag (default: its own default)")
    p.add_argument("--engines", default="ours,pipeline,onnx",
                   help=f"comma-separated subset of {','.join(ENGINES)} (default: %(default)s)")
    p.add_argument("--precision", choices=["int8", "int8-fast", "f32"], default="int8",
                   help="--precision passed to arabic-ner tag (default: %(default)s)")
    p.add_argument("--pairs", type=int, default=0,
                   help="run the engines N times in turn and print the speed ratios to ours")
    p.add_argument("--decoding", choices=["viterbi", "argmax"], default="viterbi",
                   help="label decoding of ours and onnx (default: %(default)s, the engine's)")
    p.add_argument("--limit", type=int, help="use only the first N sentences")
    p.add_argument("--onnx", help="ONNX file of the dynamo export (engine onnx): used if it "
                                  "exists, else the export is written there")
    p.add_argument("--ort-dir", default=str(Path(tempfile.gettempdir()) / "arabic-ner-bench-onnx"),
                   help="cache of the classic export and its int8 version (engines ort-f32, "
                        "ort-int8; default: %(default)s)")
    # Per tensor by default: per-channel weights (quantize_dynamic's
    # per_channel=True) ran as fast within the noise (2-core AVX-512 VNNI
    # machine, loaded; per tensor had the fastest single run) and keep the
    # f32 argmax more often; this option gives them.
    p.add_argument("--int8-per-channel", action="store_true",
                   help="ort-int8 with per-channel weight scales (default: per tensor)")
    p.add_argument("--scale", action="store_true", help="only time ours on 1x and N x the text")
    p.add_argument("--scale-factor", type=int, default=10, help="N for --scale (default: 10)")
    p.add_argument("--json", help="write the results as JSON to this file")
    # Internal: run one Python engine in this child process.
    p.add_argument("--worker", choices=["pipeline", "onnx", "ort-f32", "ort-int8"],
                   help=argparse.SUPPRESS)
    p.add_argument("--text", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    return p.parse_args(argv)


# --------------------------------------------------------------------------
# Data and measurement
# --------------------------------------------------------------------------

def read_sentences(path):
    """Sentences of a CoNLL file as lists of tokens (first column)."""
    return common.conll_sentences(path)


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
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as f:
    json.dump([status, wall, usage.ru_maxrss], f)
"""


def run_measured(cmd, stdout_path, stdin_path=None):
    """Runs ``cmd`` and returns (wall seconds, peak RSS in MiB, stderr text);
    exits when the command fails."""
    err_path = str(stdout_path) + ".stderr"
    argv = [str(c) for c in cmd]
    # A child's peak RSS counts the pages it shared with its parent before
    # exec, so wait4 here would report this process's RSS (hundreds of MB
    # once transformers is imported). A fresh, small Python process starts
    # the command instead, times it and reports its wait4.
    report = str(stdout_path) + ".rusage"
    with open(stdout_path, "wb") as out, open(err_path, "wb") as err, \
            open(stdin_path or os.devnull, "rb") as inp:
        subprocess.run([sys.executable, "-c", RUSAGE_HELPER, report] + argv,
                                stdin=inp, stdout=out, stderr=err)
    if not Path(report).is_file():
        raise SystemExit(f"measuring {' '.join(argv)} failed:\n{Path(err_path).read_text()}")
    status, wall, maxrss_kib = json.loads(Path(report).read_text())
    returncode = os.waitstatus_to_exitcode(status)
    stderr = Path(err_path).read_text(encoding="utf-8", errors="replace")
    if returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({returncode}):\n{stderr}")
    return wall, maxrss_kib / 1024, stderr


# --------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------

def ours_command(args, binary, model_dir, text_path, out_path):
    cmd = [binary, "--threads", args.threads, "tag", "--model", model_dir, "--lines",
           "--keep-clitics", "--decoding", args.decoding, "--precision", args.precision,
           "--format", "jsonl", "--output", out_path]
    if args.engine_batch_size:
        cmd += ["--batch-size", args.engine_batch_size]
    return cmd + [text_path]


def run_ours(args, binary, model_dir, text_path, work, n_lines):
    """Times ours on ``text_path``; returns a result dict with entities."""
    one = work / "one-word.txt"
    one.write_text("القاهرة\n", encoding="utf-8")
    load, _, _ = run_measured(ours_command(args, binary, model_dir, one, work / "one.jsonl"),
                              work / "one.stdout")
    out = work / "ours.jsonl"
    wall, rss, _ = run_measured(ours_command(args, binary, model_dir, text_path, out),
                                work / "ours.stdout")
    docs = common.read_jsonl(out.read_text(encoding="utf-8"))
    entities = [[] for _ in range(n_lines)]
    for doc in docs:
        entities[doc["line"] - 1] = common.engine_entities(doc)
    return {"engine": "ours", "load_s": load, "total_s": wall, "tag_s": max(wall - load, 1e-9),
            "peak_rss_mib": rss, "entities": entities}


def run_worker_process(kind, args, model_dir, text_path, work, onnx_path=None):
    """Runs a Python engine in a child process; returns its result dict."""
    out = work / f"{kind}.json"
    cmd = [sys.executable, Path(__file__).resolve(), "--worker", kind, "--model", model_dir,
           "--text", text_path, "--out", out, "--threads", args.threads,
           "--batch-size", args.batch_size, "--decoding", args.decoding]
    if onnx_path:
        cmd += ["--onnx", onnx_path]
    wall, rss, _ = run_measured(cmd, work / f"{kind}.stdout")
    result = json.loads(out.read_text(encoding="utf-8"))
    result.update({"total_s": wall, "peak_rss_mib": rss})
    for key in ("entities", "fixed_entities"):
        if key in result:
            result[key] = [[tuple(e) for e in sent] for sent in result[key]]
    return result


def worker_pipeline(args):
    """Child process: the transformers token-classification pipeline."""
    t0 = time.perf_counter()
    import torch

    common.quiet_transformers()
    torch.set_num_threads(args.threads)
    t1 = time.perf_counter()
    model, tokenizer = common.load_model(args.model)
    # The stock pipeline; it also keeps the model outputs (a reference, no
    # copy) so that the fixed word grouping can be computed after the clock.
    pipe = common.make_pipeline(model, tokenizer, batch_size=args.batch_size, both=False)
    t2 = time.perf_counter()
    lines = Path(args.text).read_text(encoding="utf-8").splitlines()
    results = pipe(lines)
    entities = [common.pipeline_entities(r) for r in results]
    t3 = time.perf_counter()
    fixed = [common.pipeline_entities(r) for r in common.fixed_results(pipe)]
    return {"engine": "pipeline", "import_s": t1 - t0, "load_s": t2 - t1, "tag_s": t3 - t2,
            "entities": entities, "fixed_entities": fixed}


def worker_onnx(args):
    """Child process: ONNX Runtime with the engine's pre- and post-processing
    done in Python."""
    t0 = time.perf_counter()
    import numpy as np
    import onnxruntime as ort
    from transformers import AutoConfig, AutoTokenizer

    common.quiet_transformers()
    t1 = time.perf_counter()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(args.onnx, opts, providers=["CPUExecutionProvider"])
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    config = AutoConfig.from_pretrained(args.model)
    labels = [config.id2label[i] for i in range(config.num_labels)]
    max_pieces = config.max_position_embeddings - 2
    pad = config.pad_token_id if config.pad_token_id is not None else tokenizer.pad_token_id
    t2 = time.perf_counter()

    lines = Path(args.text).read_text(encoding="utf-8").splitlines()
    # Sentences as the engine cuts each line, their words and windows.
    sentences = []  # (line index, offset, spans, windows)
    for li, line in enumerate(lines):
        for start, end in common.sentence_spans(line):
            spans, pieces = common.sentence_words(line[start:end], tokenizer)
            wins = common.build_windows(pieces, max_pieces, 128, tokenizer.cls_token_id,
                                        tokenizer.sep_token_id)
            sentences.append((li, start, spans, wins))
    flat = [(si, wi) for si, s in enumerate(sentences) for wi in range(len(s[3]))]
    flat.sort(key=lambda x: len(sentences[x[0]][3][x[1]][1]))
    logits = [[None] * len(s[3]) for s in sentences]
    for b in range(0, len(flat), args.batch_size):
        batch = flat[b:b + args.batch_size]
        seqs = [sentences[si][3][wi][1] for si, wi in batch]
        width = max(len(s) for s in seqs)
        ids = np.full((len(seqs), width), pad, dtype=np.int64)
        mask = np.zeros((len(seqs), width), dtype=np.int64)
        for row, s in enumerate(seqs):
            ids[row, :len(s)] = s
            mask[row, :len(s)] = 1
        out = session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]
        for row, (si, wi) in enumerate(batch):
            logits[si][wi] = out[row]
    entities = [[] for _ in lines]
    for (li, offset, spans, wins), lg in zip(sentences, logits):
        tags = common.merge_windows(wins, lg, labels, len(spans), args.decoding)
        entities[li] += [(label, spans[a][0] + offset, spans[e - 1][1] + offset)
                         for label, a, e in common.bio_spans(tags)]
    t3 = time.perf_counter()
    return {"engine": "onnx", "import_s": t1 - t0, "load_s": t2 - t1, "tag_s": t3 - t2,
            "entities": entities}


def worker_ort(args):
    """Child process: the encoder alone in ONNX Runtime, as its users run it
    (see ``ort-f32`` in the module docstring). Returns the times, the piece
    counts and, computed after the clock, each line's argmax label ids."""
    t0 = time.perf_counter()
    # The tokenizer's thread pool (rayon) gets the same budget as the model.
    os.environ["RAYON_NUM_THREADS"] = os.environ["RAYON_RS_NUM_THREADS"] = str(args.threads)
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    t1 = time.perf_counter()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(args.onnx, opts, providers=["CPUExecutionProvider"])
    config = json.loads((Path(args.model) / "config.json").read_text(encoding="utf-8"))
    pad = config.get("pad_token_id", 1)
    tokenizer = Tokenizer.from_file(str(Path(args.model) / "tokenizer.json"))
    tokenizer.enable_truncation(config["max_position_embeddings"])
    tokenizer.no_padding()

    def run(ids, mask):
        return session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]

    warm = np.array([tokenizer.encode("القاهرة").ids], dtype=np.int64)
    run(warm, np.ones_like(warm))
    t2 = time.perf_counter()

    lines = Path(args.text).read_text(encoding="utf-8").splitlines()
    start = time.perf_counter()
    seqs = [e.ids for e in tokenizer.encode_batch(lines)]
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    tokenize_s = time.perf_counter() - start
    run_s = 0.0
    outputs = []
    for b in range(0, len(order), args.batch_size):
        rows = order[b:b + args.batch_size]
        width = max(len(seqs[i]) for i in rows)
        ids = np.full((len(rows), width), pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, i in enumerate(rows):
            ids[r, :len(seqs[i])] = seqs[i]
            mask[r, :len(seqs[i])] = 1
        t = time.perf_counter()
        outputs.append((rows, run(ids, mask)))
        run_s += time.perf_counter() - t
    t3 = time.perf_counter()

    argmax = [None] * len(lines)
    padded = 0
    for rows, logits in outputs:
        padded += logits.shape[0] * logits.shape[1]
        best = logits.argmax(-1)
        for r, i in enumerate(rows):
            argmax[i] = best[r, :len(seqs[i])].tolist()
    return {"engine": args.worker, "import_s": t1 - t0, "load_s": t2 - t1, "tag_s": t3 - t2,
            "tokenize_s": tokenize_s, "run_s": run_s,
            "pieces_with_specials": sum(len(s) for s in seqs), "padded_positions": padded,
            "truncated": sum(len(s) == config["max_position_embeddings"] for s in seqs),
            "onnx_file": str(args.onnx), "onnx_mib": os.path.getsize(args.onnx) / 2**20,
            "onnxruntime": ort.__version__,
            "graph_optimization": str(opts.graph_optimization_level).split(".")[-1],
            "providers": session.get_providers(), "argmax": argmax}


def logits_module(torch):
    """A wrapper module whose forward returns the logits alone (what both
    exporters trace)."""

    class Logits(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    return Logits


def export_onnx(model_dir, path):
    """Exports the model to ONNX (dynamo exporter, dynamic batch and
    sequence axes, inputs input_ids and attention_mask, output logits)."""
    import torch

    common.quiet_transformers()
    model, _ = common.load_model(model_dir, attn_implementation="sdpa")

    Logits = logits_module(torch)
    ids = torch.tensor([[0, 5, 6, 7, 2, 1], [0, 8, 9, 2, 1, 1]])
    mask = (ids != 1).long()
    batch = torch.export.Dim("batch")
    seq = torch.export.Dim("seq", max=model.config.max_position_embeddings)
    torch.onnx.export(Logits(model).eval(), (ids, mask), str(path), dynamo=True,
                      input_names=["input_ids", "attention_mask"], output_names=["logits"],
                      dynamic_shapes={"input_ids": {0: batch, 1: seq},
                                      "attention_mask": {0: batch, 1: seq}},
                      verbose=False)


def ort_cache_key(model_dir):
    """Key of the classic export of ``model_dir`` and its int8 version: the
    folder's files (sizes, times), the export settings and the versions of
    the packages that write the files."""
    from importlib.metadata import version

    parts = [str(Path(model_dir).resolve()), f"opset{ORT_OPSET}", ORT_ATTENTION]
    parts += [f"{name} {version(name)}"
              for name in ("torch", "transformers", "onnx", "onnxruntime")]
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        st = (Path(model_dir) / name).stat()
        parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def export_classic(model_dir, path):
    """Exports the model with the classic TorchScript exporter (opset 17,
    eager attention, dynamic batch and sequence axes of both inputs and the
    logits), then checks the file against PyTorch on real-shaped input:
    returns the largest |Δlogit| over the unpadded positions."""
    import numpy as np
    import onnxruntime as ort
    import torch

    common.quiet_transformers()
    model, tokenizer = common.load_model(model_dir, attn_implementation=ORT_ATTENTION)

    Logits = logits_module(torch)
    pad = model.config.pad_token_id if model.config.pad_token_id is not None else 1
    ids = torch.tensor([[0, 5, 6, 7, 8, 9, 10, 2], [0, 11, 12, 13, 2, pad, pad, pad]])
    mask = (ids != pad).long()
    axes = {0: "batch", 1: "sequence"}
    tmp = Path(str(path) + ".part")
    torch.onnx.export(Logits(model).eval(), (ids, mask), str(tmp), dynamo=False,
                      opset_version=ORT_OPSET, input_names=["input_ids", "attention_mask"],
                      output_names=["logits"],
                      dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": axes})
    # Other batch and sequence sizes than the traced ones, with padding.
    texts = ["القاهرة", "قال الرئيس المصري في القاهرة يوم الأحد إن الاتفاق سيوقع قريبا",
             "ذكرت وكالة الأنباء أن وزير الخارجية الأردني سيزور باريس ولندن الأسبوع المقبل"]
    enc = tokenizer(texts, padding=True, return_tensors="np")
    feed = {"input_ids": enc["input_ids"].astype(np.int64),
            "attention_mask": enc["attention_mask"].astype(np.int64)}
    session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], feed)[0]
    with torch.no_grad():
        want = model(**{k: torch.from_numpy(v) for k, v in feed.items()}).logits.numpy()
    err = float(np.abs(got - want)[feed["attention_mask"].astype(bool)].max())
    if err > 1e-3:
        raise SystemExit(f"classic ONNX export of {model_dir}: logits differ from PyTorch by {err}")
    tmp.replace(path)
    return err


def quantize_int8(f32_path, path, per_channel):
    """``quantize_dynamic`` with int8 weights (activations u8, quantized at
    run time)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = Path(str(path) + ".part.onnx")
    quantize_dynamic(str(f32_path), str(tmp), weight_type=QuantType.QInt8, per_channel=per_channel)
    tmp.replace(path)


def ort_files(args, model_dir, engines):
    """Paths of the classic export and of its int8 version in ``--ort-dir``,
    made when missing."""
    files = {}
    if not {"ort-f32", "ort-int8"} & set(engines):
        return files
    cache = Path(args.ort_dir)
    cache.mkdir(parents=True, exist_ok=True)
    key = ort_cache_key(model_dir)
    f32 = cache / f"{key}-f32.onnx"
    if not f32.is_file():
        t = time.perf_counter()
        err = export_classic(model_dir, f32)
        print(f"exported {model_dir} (classic exporter, opset {ORT_OPSET}) to {f32} in "
              f"{time.perf_counter() - t:.1f} s; largest |Δlogit| against PyTorch {err:.1e}")
    files["ort-f32"] = f32
    if "ort-int8" in engines:
        int8 = cache / f"{key}-int8-{'per-channel' if args.int8_per_channel else 'per-tensor'}.onnx"
        if not int8.is_file():
            t = time.perf_counter()
            quantize_int8(f32, int8, args.int8_per_channel)
            print(f"quantized to {int8} in {time.perf_counter() - t:.1f} s")
        files["ort-int8"] = int8
    for name, path in files.items():
        print(f"{name}: {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    return files


# --------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------

def compare(a, b):
    """(entity agreement, share of sentences with identical entities, number
    of entities only in a, only in b)."""
    same = total = identical = only_a = only_b = 0
    for x, y in zip(a, b):
        x, y = set(x), set(y)
        same += len(x & y)
        total += len(x) + len(y)
        identical += x == y
        only_a += len(x - y)
        only_b += len(y - x)
    return (2 * same / total if total else 1.0), identical / max(1, len(a)), only_a, only_b


def explain_differences(a, b, lines, tokenizer):
    """Counts, over the entities found by only one of two engines, the
    likely reason (the first that applies):

    - ``sentence split``: the engine cuts the line into several sentences
      and tags them apart; the pipeline sees the whole line;
    - ``bare '▁' piece``: a word of the entity is tokenized as a bare '▁'
      piece plus the rest, which the stock pipeline makes two words;
    - ``marks/tatweel``: harakat or a tatweel in the entity's words (the
      engine removes them, a lone tatweel word disappears);
    - ``glued punctuation``: punctuation glued to a word of the entity (one
      whitespace word for the pipeline, several words for the engine);
    - ``... in the sentence``: the same two elsewhere in the line, which
      changes the pipeline's pieces there and so the context;
    - ``other``."""
    counts = {}
    for x, y, line in zip(a, b, lines):
        diff = set(x) ^ set(y)
        if not diff:
            continue
        several = len(common.sentence_spans(line)) > 1
        glued_line = len(common.split_words(line)) != len(line.split())
        for _, start, end in diff:
            lo = line.rfind(" ", 0, start) + 1
            hi = line.find(" ", end)
            hi = len(line) if hi < 0 else hi
            region = line[lo:hi]
            words = region.split()
            pieces = tokenizer(words, add_special_tokens=False)["input_ids"] if words else []
            if several:
                reason = "sentence split"
            elif any(p and tokenizer.convert_ids_to_tokens(p[0]) == "▁" for p in pieces):
                reason = "bare '▁' piece"
            elif common.has_marks(region):
                reason = "marks/tatweel"
            elif len(common.split_words(region)) != len(words):
                reason = "glued punctuation"
            elif common.has_marks(line):
                reason = "marks/tatweel in the sentence"
            elif glued_line:
                reason = "glued punctuation in the sentence"
            else:
                reason = "other"
            counts[reason] = counts.get(reason, 0) + 1
    return counts


def count_tokens(tokenizer, lines):
    return sum(len(ids) for ids in tokenizer(lines, add_special_tokens=False)["input_ids"])


def print_speed(results, tokens, words, ours_key="ours"):
    ours = next((r for r in results if r["engine"] == ours_key), None)
    print(f"\n{'engine':<20} {'load s':>7} {'tag s':>7} {'total s':>8} {'tokens/s':>9} "
          f"{'words/s':>8} {'vs ours':>8} {'peak RSS MiB':>12}")
    for r in results:
        tps = tokens / r["tag_s"]
        ratio = f"{r['tag_s'] / ours['tag_s']:>7.2f}x" if ours else f"{'-':>8}"
        print(f"{DISPLAY[r['engine']]:<20} {r['load_s']:>7.2f} {r['tag_s']:>7.2f} "
              f"{r['total_s']:>8.2f} {tps:>9.0f} {words / r['tag_s']:>8.0f} {ratio} "
              f"{r['peak_rss_mib']:>12.0f}")
        if r["engine"] == "ours":
            print(f"{'ours end to end':<20} {'':>7} {'':>7} {r['total_s']:>8.2f} "
                  f"{tokens / r['total_s']:>9.0f} {words / r['total_s']:>8.0f}")
    print("tag s: tagging only (ours: end-to-end time minus the one-word run; ort-*: tokenization "
          "+ batches + session.run, no decoding); total s: the whole process; load s: model load "
          "(ours: a whole one-word run; ort-*: session, tokenizer, one warm-up run); vs ours: how "
          "many times faster ours tags (tag s); tokens: pieces of the whole sentences without "
          "<s>/</s>, the same count for every row")
    for r in results:
        if r["engine"].startswith("ort-"):
            print(f"  {r['engine']}: tokenize {r['tokenize_s']:.2f} s, session.run "
                  f"{r['run_s']:.2f} s, other (batch arrays) "
                  f"{r['tag_s'] - r['tokenize_s'] - r['run_s']:.2f} s; "
                  f"{r['pieces_with_specials']} pieces with <s>/</s> "
                  f"({r['pieces_with_specials'] / r['tag_s']:.0f}/s), {r['padded_positions']} "
                  f"padded positions, {r['truncated']} truncated; {Path(r['onnx_file']).name} "
                  f"({r['onnx_mib']:.0f} MiB), onnxruntime {r['onnxruntime']}, "
                  f"{r['graph_optimization']}")


def print_argmax_agreement(results):
    """Share of pieces where ort-int8 and ort-f32 pick the same label."""
    f32 = next((r for r in results if r["engine"] == "ort-f32"), None)
    int8 = next((r for r in results if r["engine"] == "ort-int8"), None)
    if not (f32 and int8):
        return None
    same = total = same_ent = total_ent = 0
    for a, b in zip(f32["argmax"], int8["argmax"]):
        for x, y in zip(a, b):
            same += x == y
            total += 1
            if x or y:  # label id 0 is O
                same_ent += x == y
                total_ent += 1
    share = same / max(1, total)
    share_ent = same_ent / max(1, total_ent)
    print(f"  ort-int8 vs ort-f32, argmax label of each piece: {share:.4f} of {total} pieces "
          f"identical, {share_ent:.4f} of the {total_ent} pieces where either is not O")
    return {"pieces": total, "identical": share, "entity_pieces": total_ent,
            "entity_identical": share_ent}


def scale_mode(args, binary, model_dir, lines, tokens, work):
    """Times ours on the text and on it repeated ``--scale-factor`` times."""
    rows = []
    for factor in (1, args.scale_factor):
        path = work / f"text-x{factor}.txt"
        path.write_text("\n".join(lines * factor) + "\n", encoding="utf-8")
        r = run_ours(args, binary, model_dir, path, work, len(lines) * factor)
        rows.append((factor, r))
        print(f"x{factor:<3} {len(lines) * factor:>7} lines: total {r['total_s']:8.2f} s, "
              f"tagging {r['tag_s']:8.2f} s, {tokens * factor / r['tag_s']:8.0f} tokens/s, "
              f"peak RSS {r['peak_rss_mib']:.0f} MiB")
    (f1, r1), (fn, rn) = rows
    print(f"time ratio x{fn}/x{f1}: total {rn['total_s'] / r1['total_s']:.2f}, "
          f"tagging {rn['tag_s'] / r1['tag_s']:.2f} (linear: {fn / f1:.0f})")
    return [{"factor": f, "total_s": r["total_s"], "tag_s": r["tag_s"],
             "peak_rss_mib": r["peak_rss_mib"]} for f, r in rows]


def run_engine(name, args, binary, model_dir, text_path, work, n_lines, files):
    """Runs one engine in a fresh process; returns its result dict."""
    if name == "ours":
        return run_ours(args, binary, model_dir, text_path, work, n_lines)
    return run_worker_process(name, args, model_dir, text_path, work, files.get(name))


def report_agreement(results, lines, tokenizer):
    """Prints the entity agreement of every pair of engines that tag (the
    ort-* engines only give logits) and the int8/f32 argmax agreement;
    returns (whether ours and onnx agree, the figures)."""
    taggers = [r for r in results if "entities" in r]
    if len(taggers) > 1 or {"ort-f32", "ort-int8"} <= {r["engine"] for r in results}:
        print("\nagreement:")
    ok = True
    pairs = []
    for i, a in enumerate(taggers):
        for b in taggers[i + 1:]:
            agree, identical, only_a, only_b = compare(a["entities"], b["entities"])
            passed = agree >= AGREEMENT_TARGET
            if "pipeline" not in (a["engine"], b["engine"]):
                ok = ok and passed
            pairs.append({"a": a["engine"], "b": b["engine"], "agreement": agree,
                          "identical_sentences": identical, "only_a": only_a, "only_b": only_b})
            print(f"  {a['engine']:>8} vs {b['engine']:<8}: {agree:.4f} of entities (label, "
                  f"start, end), "
                  f"{identical:.4f} of sentences identical ({only_a} only in {a['engine']}, "
                  f"{only_b} only in {b['engine']}): {'ok' if passed else 'BELOW'} "
                  f"{AGREEMENT_TARGET:.1%}")
            if only_a + only_b:
                reasons = explain_differences(a["entities"], b["entities"], lines, tokenizer)
                pairs[-1]["reasons"] = reasons
                print("      differing entities by likely reason: " + ", ".join(
                    f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])))
    ours = next((r for r in results if r["engine"] == "ours"), None)
    pipe = next((r for r in results if r["engine"] == "pipeline"), None)
    if ours and pipe and "fixed_entities" in pipe:
        agree, identical, only_a, only_b = compare(ours["entities"], pipe["fixed_entities"])
        pairs.append({"a": "ours", "b": "pipeline-fixed", "agreement": agree,
                      "identical_sentences": identical, "only_a": only_a, "only_b": only_b})
        print(f"  ours vs pipeline with a bare '▁' piece grouped with its word (not timed): "
              f"{agree:.4f} of entities, {identical:.4f} of sentences identical "
              f"({only_a} only in ours, {only_b} only in pipeline)")
        if only_a + only_b:
            reasons = explain_differences(ours["entities"], pipe["fixed_entities"], lines,
                                          tokenizer)
            pairs[-1]["reasons"] = reasons
            print("      differing entities by likely reason: " + ", ".join(
                f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])))
    int8 = print_argmax_agreement(results)
    if int8:
        pairs.append({"a": "ort-f32", "b": "ort-int8", "argmax": int8})
    return ok, pairs


def run_pairs(args, engines, binary, model_dir, text_path, work, n_lines, files, tokens):
    """``--pairs N``: the engines N times in turn, every run in a fresh
    process, the order reversed every other pair. Returns (the runs, the
    ratios); prints each pair and the min, median and max of each ratio."""
    others = [e for e in engines if e != "ours"]
    runs, ratios = [], {e: [] for e in others if "ours" in engines}
    print(f"\n{args.pairs} pairs of {', '.join(engines)} (tag s; ours/X = X's tag s / ours': "
          f"above 1, ours is faster)")
    for i in range(args.pairs):
        order = engines if i % 2 == 0 else engines[::-1]
        pair = {name: run_engine(name, args, binary, model_dir, text_path, work, n_lines, files)
                for name in order}
        runs.append(pair)
        parts = [f"{name} {pair[name]['tag_s']:.2f} s ({tokens / pair[name]['tag_s']:.0f} tok/s)"
                 for name in engines]
        for name in ratios:
            ratios[name].append(pair[name]["tag_s"] / pair["ours"]["tag_s"])
            parts.append(f"ours/{name} {ratios[name][-1]:.2f}x")
        print(f"pair {i + 1}: " + ", ".join(parts), flush=True)
    print("\nover the pairs (min, median, max):")
    for name in engines:
        tps = [tokens / run[name]["tag_s"] for run in runs]
        print(f"  {DISPLAY[name]:<20} tokens/s {min(tps):.0f}, {statistics.median(tps):.0f}, "
              f"{max(tps):.0f}")
    summary = {}
    for name, values in ratios.items():
        summary[name] = {"min": min(values), "median": statistics.median(values),
                         "max": max(values), "values": values}
        print(f"  ours/{name:<10} {min(values):.2f}x, {statistics.median(values):.2f}x, "
              f"{max(values):.2f}x")
    return runs, summary


def main():
    args = parse_args()
    if args.worker:
        worker = {"pipeline": worker_pipeline, "onnx": worker_onnx}.get(args.worker, worker_ort)
        result = worker(args)
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        return 0

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        raise SystemExit(f"unknown engine(s) {', '.join(unknown)}; known: {', '.join(ENGINES)}")
    binary = common.find_bin(args.bin) if "ours" in engines or args.scale else None
    sentences = read_sentences(common.cli_path(args.data))
    if args.limit:
        sentences = sentences[:args.limit]
    lines = [" ".join(s) for s in sentences]
    words = sum(len(s) for s in sentences)
    load = os.getloadavg()

    with common.temp_dir("arabic-ner-speed-") as work:
        work = Path(work)
        model_dir, description = common.resolve_model(args.model, args.base, work)
        text_path = work / "text.txt"
        text_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        from transformers import AutoTokenizer

        common.quiet_transformers()
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        tokens = count_tokens(tokenizer, lines)
        print(f"model: {description}")
        print(f"data: {args.data}: {len(lines)} sentences, {words} words, {tokens} tokens")
        print(f"threads: {args.threads}, batch size: {args.batch_size}, cores: {os.cpu_count()}, "
              f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        if "ours" in engines or args.scale:
            print(f"ours: {binary}, --precision {args.precision}")

        if args.scale:
            rows = scale_mode(args, binary, model_dir, lines, tokens, work)
            if args.json:
                Path(args.json).write_text(json.dumps({"scale": rows}, indent=1), encoding="utf-8")
            return 0

        files = ort_files(args, model_dir, engines)
        if "onnx" in engines:
            onnx_path = Path(args.onnx) if args.onnx else work / "model.onnx"
            if not onnx_path.is_file():
                t = time.perf_counter()
                export_onnx(model_dir, onnx_path)
                print(f"exported ONNX to {onnx_path} in {time.perf_counter() - t:.1f} s")
            files["onnx"] = onnx_path

        runs, ratios = [], {}
        if args.pairs:
            runs, ratios = run_pairs(args, engines, binary, model_dir, text_path, work,
                                     len(lines), files, tokens)
            results = [runs[-1][name] for name in engines]
            print("\nthe last pair in detail:")
        else:
            results = [run_engine(name, args, binary, model_dir, text_path, work, len(lines), files)
                       for name in engines]
        print_speed(results, tokens, words)
        ok, pairs = report_agreement(results, lines, tokenizer)
        load = os.getloadavg()
        print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        if args.json:
            def figures(r):
                return {k: v for k, v in r.items() if not k.endswith("entities") and k != "argmax"}

            report = {"model": description, "sentences": len(lines), "words": words,
                      "tokens": tokens, "threads": args.threads, "batch_size": args.batch_size,
                      "precision": args.precision,
                      "results": [figures(r) for r in results],
                      "agreement": pairs}
            if args.pairs:
                report["pairs"] = [{name: figures(r) for name, r in run.items()} for run in runs]
                report["ratios"] = ratios
            Path(args.json).write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
