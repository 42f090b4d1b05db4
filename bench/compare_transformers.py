#!/usr/bin/env python3
"""Check arabic-ner against Python transformers on the same checkpoint.

The model is loaded with transformers and written back with
``BertForTokenClassification.save_pretrained`` plus the tokenizer files into
a temporary folder, so the engine reads exactly what transformers writes.
Then, on the Arabic paragraphs of ``paragraphs.py`` (news-style, one fully
vowelled, one longer than a 512-piece window), each once with punctuation set
apart by spaces and once naturally punctuated:

(a) logits: ``arabic-ner logits`` prints, per paragraph, its normalized words,
    the ids of every window and the logits. The word list is checked against
    this script's Python port of the engine's word rules, the ids against the
    transformers tokenizer applied word by word, and the SAME ids are fed to
    ``BertForTokenClassification``; the largest |Δlogit| must be at most
    ``--tolerance`` (1e-4). When the binary has the ``encode`` command, the
    encoder's last hidden state is compared the same way.

(b) entities: ``pipeline("token-classification", aggregation_strategy="first")``
    versus ``arabic-ner tag --lines --keep-clitics --format jsonl``, compared
    as (label, character start, character end). Every difference is listed
    with a reason found automatically:

    - ``bare-piece``: the word is tokenized as a bare "▁" piece plus the rest;
      the pipeline's word heuristic treats them as two words. Shown by the
      difference vanishing in a pipeline variant that groups them;
    - ``diacritics``: the engine removes harakat before tokenizing, the
      pipeline feeds the vowelled word (other pieces, other logits);
    - ``punctuation``: in natural text the pipeline's words are whitespace
      words, so "القاهرة،" is one word for it and two for the engine;
    - ``window``: the paragraph needs several windows and the two engines cut
      them differently, so words near a cut see other context;
    - ``decoding``: the engine's entity differs from this script's own
      decoding of the engine's logits (a bug in the engine's decoding).

    A Python decoding of the engine's logits (first piece of each word, BIO as
    seqeval) is also compared with ``tag``, which checks the engine's word
    aggregation, BIO decoding and character offsets end to end.

Exit status: 0 when every logit difference is within the tolerance (and the
ids match), 1 otherwise; entity agreement is reported, not enforced.

Setup (once, from the repository root)::

    python3 -m venv .venv
    .venv/bin/pip install torch transformers safetensors numpy
    cargo build --release

Run::

    .venv/bin/python bench/compare_transformers.py --model runs/default-v1
    # without --model: ../runs/default-v1 if it holds a model, else a test
    # model = the base (--base) with a random classifier head

Options: ``--bin PATH`` (default target/release/arabic-ner), ``--threads 2``,
``--stride 128`` (pipeline window overlap for the long paragraph),
``--json OUT`` (write the full report), ``--keep DIR`` (keep the exported
folder there).
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

import common
from paragraphs import PARAGRAPHS


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="Hugging Face token-classification folder "
                   "(default: ../runs/default-v1 when present, else a random-head test model)")
    p.add_argument("--base", default=common.default_base(),
                   help="base model for the random-head test model (default: %(default)s)")
    p.add_argument("--bin", default=common.DEFAULT_BIN, help="arabic-ner binary (default: %(default)s)")
    p.add_argument("--threads", type=int, default=2, help="threads for both engines (default: 2)")
    p.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed |Δlogit| (default: 1e-4)")
    p.add_argument("--stride", type=int, default=128,
                   help="overlap in pieces of the pipeline's windows (default: %(default)s)")
    p.add_argument("--json", help="write the full report as JSON to this file")
    p.add_argument("--keep", help="copy the exported model folder here")
    return p.parse_args()


# --------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------

def export_checkpoint(model_dir, out_dir):
    """Loads the model with transformers and saves it (safetensors + tokenizer
    files) into ``out_dir``; returns the reloaded (model, tokenizer)."""
    model, tokenizer = common.load_model(model_dir)
    model.save_pretrained(str(out_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(out_dir))
    return common.load_model(out_dir)


# --------------------------------------------------------------------------
# (a) logits and hidden states
# --------------------------------------------------------------------------

def word_pieces(tokenizer, words):
    """Ids of each word tokenized on its own, as the engine does."""
    if not words:
        return []
    return tokenizer(words, add_special_tokens=False)["input_ids"]


def window_word_ranges(pieces, windows):
    """For each window (ids with specials), the range of words it holds, or
    None when its ids are not a run of whole words of the full sequence."""
    starts = [0]
    for p in pieces:
        starts.append(starts[-1] + len(p))
    full = [i for p in pieces for i in p]
    ranges = []
    first = 0
    for ids in windows:
        inner = list(ids[1:-1])
        found = None
        for s in range(first, len(pieces)):
            a = starts[s]
            if full[a:a + len(inner)] == inner and (a + len(inner)) in starts:
                found = range(s, starts.index(a + len(inner)))
                break
        ranges.append(found)
        if found is not None:
            first = found.start
    return ranges


def check_logits(binary, export_dir, model, tokenizer, texts, threads):
    """Runs ``logits`` on ``texts`` and compares with transformers.

    Returns (per-text results, engine output objects)."""
    import torch

    out = common.read_jsonl(common.run_bin(binary, ["logits", "--model", export_dir, "-"],
                                           "\n".join(texts) + "\n", threads))
    if len(out) != len(texts):
        raise SystemExit(f"logits printed {len(out)} objects for {len(texts)} lines")
    results = []
    for text, obj in zip(texts, out):
        expected_words = [common.strip_marks(text[s:e]) for s, e in common.split_words(text)]
        pieces = word_pieces(tokenizer, obj["words"])
        ranges = window_word_ranges(pieces, obj["ids"])
        ids_ok = all(r is not None for r in ranges) and all(
            w[0] == tokenizer.cls_token_id and w[-1] == tokenizer.sep_token_id for w in obj["ids"])
        covered = set(i for r in ranges if r is not None for i in r)
        ids_ok = ids_ok and covered == set(range(len(obj["words"])))
        delta = 0.0
        for ids, logits in zip(obj["ids"], obj["logits"]):
            with torch.no_grad():
                ref = model(input_ids=torch.tensor([ids])).logits[0].numpy()
            delta = max(delta, float(np.abs(ref - np.asarray(logits, dtype=np.float32)).max()))
        results.append({
            "words": len(obj["words"]),
            "words_match_python_port": obj["words"] == expected_words,
            "pieces": sum(len(w) - 2 for w in obj["ids"]),
            "windows": len(obj["ids"]),
            "window_words": [[r.start, r.stop] if r else None for r in ranges],
            "ids_match": ids_ok,
            "max_abs_delta": delta,
        })
    return results, out


def check_hidden(binary, export_dir, model, texts, threads):
    """Compares ``encode`` (last hidden state) with the model's encoder;
    returns the largest |Δ| or None when the binary has no ``encode``."""
    import subprocess

    import torch

    proc = subprocess.run([str(binary), "encode", "--help"], capture_output=True)
    if proc.returncode != 0:
        return None
    out = common.read_jsonl(common.run_bin(binary, ["encode", "--model", export_dir, "-"],
                                           "\n".join(texts) + "\n", threads))
    delta = 0.0
    for obj in out:
        with torch.no_grad():
            ref = model.bert(input_ids=torch.tensor([obj["ids"]])).last_hidden_state[0].numpy()
        delta = max(delta, float(np.abs(ref - np.asarray(obj["hidden"], dtype=np.float32)).max()))
    return delta


# --------------------------------------------------------------------------
# (b) entities
# --------------------------------------------------------------------------

def decode_engine_logits(text, obj, labels, ranges):
    """Entities from the engine's logits, decoded here: each word takes the
    label of its first piece, from the window where it is farthest from a
    window edge; BIO spans as seqeval; offsets of this script's word split.

    Returns None when the engine's words do not line up with the Python
    word split (then character offsets cannot be recovered here)."""
    spans = common.split_words(text)
    if len(spans) != len(obj["words"]):
        return None
    best = [None] * len(spans)  # (margin, tag)
    for ids, logits, r in zip(obj["ids"], obj["logits"], ranges):
        if r is None:
            return None
        pos = 1
        for k, wi in enumerate(r):
            margin = min(k, len(r) - 1 - k) if len(ranges) > 1 else 0
            tag = labels[int(np.argmax(logits[pos]))]
            if best[wi] is None or margin > best[wi][0]:
                best[wi] = (margin, tag)
            pos += len(obj["pieces"][wi])
    tags = [b[1] for b in best]
    return [(label, spans[a][0], spans[b - 1][1]) for label, a, b in common.bio_spans(tags)]


def piece_labels(model, tokenizer, text, start, end):
    """The pipeline's view of ``text[start:end]``: its pieces and their argmax
    labels, as 'piece/label' strings (first 512 pieces of the text only)."""
    import torch

    enc = tokenizer(text, return_offsets_mapping=True, truncation=True)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([enc["input_ids"]])).logits[0].numpy()
    out = []
    for i, (a, b) in enumerate(enc["offset_mapping"]):
        if b > a and a < end and b > start:
            piece = tokenizer.convert_ids_to_tokens(enc["input_ids"][i])
            out.append(f"{piece}/{model.config.id2label[int(np.argmax(logits[i]))]}")
    return out


def glued_punctuation(text, start, end):
    """Whether the whitespace words around text[start:end] hold more than one
    engine word (punctuation or digits glued to letters)."""
    a = start
    while a > 0 and not text[a - 1].isspace():
        a -= 1
    b = end
    while b < len(text) and not text[b].isspace():
        b += 1
    region = text[a:b]
    return len(common.split_words(region)) != len(region.split())


def explain(entity, side, text, fixed, reference, windows):
    """A reason for an entity found by one side only (see module docs)."""
    label, start, end = entity
    if side == "engine" and reference is not None and entity not in reference:
        return "decoding", "not in the Python decoding of the engine's own logits"
    if (entity in fixed) == (side == "engine"):
        return "bare-piece", ("a word here is tokenized as a bare '▁' piece plus the rest; the "
                              "pipeline labels them as two words, the engine labels the word "
                              "from its first piece (the difference vanishes when the pipeline "
                              "groups them)")
    lo, hi = max(0, start - 1), min(len(text), end + 1)
    while lo > 0 and not text[lo - 1].isspace():
        lo -= 1
    while hi < len(text) and not text[hi].isspace():
        hi += 1
    if common.has_marks(text[lo:hi]):
        return "diacritics", ("the engine removes the harakat before tokenizing; the pipeline "
                              "tokenizes the vowelled words into other pieces")
    if glued_punctuation(text, start, end):
        return "punctuation", ("punctuation or digits are glued to a word here: one whitespace "
                               "word for the pipeline, several words for the engine")
    if windows > 1:
        return "window", ("the paragraph spans several windows and the engines cut them "
                          "differently, so the context near a cut differs")
    return "unexplained", ""


def compare_entities(texts, names, variant, tagged, pipe_results, logits_out, results,
                     model, tokenizer):
    """Compares the engine's entities with the pipeline's, per paragraph."""
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    rows = []
    totals = {"engine": 0, "pipeline": 0, "pipeline_fixed": 0, "same": 0, "same_fixed": 0,
              "reference_same": 0, "reference_lines": 0}
    diffs = []
    for k, text in enumerate(texts):
        engine = common.engine_entities(tagged[k])
        stock = common.pipeline_entities(pipe_results[k]["stock"])
        fixed = common.pipeline_entities(pipe_results[k]["fixed"])
        obj = dict(logits_out[k])
        obj["pieces"] = word_pieces(tokenizer, obj["words"])
        ranges = window_word_ranges(obj["pieces"], obj["ids"])
        reference = decode_engine_logits(text, obj, labels, ranges)
        e, s, f = set(engine), set(stock), set(fixed)
        totals["engine"] += len(e)
        totals["pipeline"] += len(s)
        totals["pipeline_fixed"] += len(f)
        totals["same"] += len(e & s)
        totals["same_fixed"] += len(e & f)
        if reference is not None:
            totals["reference_lines"] += 1
            totals["reference_same"] += int(set(reference) == e)
        rows.append({"paragraph": names[k], "variant": variant, "engine": len(e),
                     "pipeline": len(s), "agreement": common.agreement(e, s),
                     "agreement_fixed": common.agreement(e, f),
                     "engine_equals_own_decoding": None if reference is None else set(reference) == e})
        for side, only in (("engine", sorted(e - s, key=lambda x: x[1])),
                           ("pipeline", sorted(s - e, key=lambda x: x[1]))):
            for ent in only:
                reason, why = explain(ent, side, text, f, reference, results[k]["windows"])
                diffs.append({
                    "paragraph": names[k], "variant": variant, "only_in": side,
                    "label": ent[0], "start": ent[1], "end": ent[2],
                    "text": text[ent[1]:ent[2]], "reason": reason, "why": why,
                    "pipeline_pieces": piece_labels(model, tokenizer, text, ent[1], ent[2]),
                })
    return rows, totals, diffs


def main():
    args = parse_args()
    common.quiet_transformers()
    import torch

    torch.set_num_threads(args.threads)
    binary = common.find_bin(args.bin)

    with common.temp_dir("arabic-ner-compare-") as tmp:
        tmp = Path(tmp)
        model_dir, description = common.resolve_model(args.model, args.base, tmp)
        export_dir = tmp / "export"
        model, tokenizer = export_checkpoint(model_dir, export_dir)
        if args.keep:
            shutil.copytree(export_dir, args.keep, dirs_exist_ok=True)
        print(f"model: {description}")
        print(f"exported with transformers save_pretrained to {export_dir}")
        print(f"binary: {binary}, threads: {args.threads}")

        names = [n for n, _ in PARAGRAPHS]
        variants = {
            "spaced": [common.space_words(t) for _, t in PARAGRAPHS],
            "natural": [t for _, t in PARAGRAPHS],
        }

        # (a) logits
        print("\n(a) logits: same ids through arabic-ner and transformers")
        print(f"{'paragraph':<12} {'variant':<8} {'words':>5} {'pieces':>6} {'win':>3} "
              f"{'ids':>4} {'words=py':>8} {'max|Δlogit|':>12}")
        logit_results, logit_outputs = {}, {}
        worst, ids_ok = 0.0, True
        for variant, texts in variants.items():
            res, out = check_logits(binary, export_dir, model, tokenizer, texts, args.threads)
            logit_results[variant], logit_outputs[variant] = res, out
            for name, r in zip(names, res):
                worst = max(worst, r["max_abs_delta"])
                ids_ok = ids_ok and r["ids_match"]
                print(f"{name:<12} {variant:<8} {r['words']:>5} {r['pieces']:>6} {r['windows']:>3} "
                      f"{'ok' if r['ids_match'] else 'DIFF':>4} "
                      f"{'yes' if r['words_match_python_port'] else 'no':>8} {r['max_abs_delta']:>12.2e}")
        logits_pass = worst <= args.tolerance and ids_ok
        print(f"largest |Δlogit|: {worst:.3e} (target ≤ {args.tolerance:g}): "
              f"{'PASS' if logits_pass else 'FAIL'}; ids {'match' if ids_ok else 'DIFFER'}")
        hidden = check_hidden(binary, export_dir, model, variants["spaced"], args.threads)
        if hidden is None:
            print("encode: not available in this binary, hidden states not compared")
        else:
            print(f"largest |Δhidden| of the encoder's last layer (encode): {hidden:.3e}")

        # (b) entities
        print("\n(b) entities: transformers pipeline (aggregation first) vs arabic-ner tag --keep-clitics")
        pipe = common.make_pipeline(model, tokenizer, stride=args.stride)
        all_rows, all_diffs, summary = [], [], {}
        for variant, texts in variants.items():
            tagged = common.read_jsonl(common.run_bin(
                binary, ["tag", "--model", export_dir, "--lines", "--keep-clitics",
                         "--format", "jsonl", "-"], "\n".join(texts) + "\n", args.threads))
            if len(tagged) != len(texts):
                raise SystemExit(f"tag printed {len(tagged)} objects for {len(texts)} lines")
            results = pipe(texts)
            rows, totals, diffs = compare_entities(texts, names, variant, tagged, results,
                                                   logit_outputs[variant], logit_results[variant],
                                                   model, tokenizer)
            all_rows += rows
            all_diffs += diffs
            summary[variant] = totals
        print(f"{'paragraph':<12} {'variant':<8} {'engine':>6} {'pipe':>5} {'agree':>6} "
              f"{'agree(fixed)':>12} {'tag=own decode':>14}")
        for r in all_rows:
            own = {None: "n/a", True: "yes", False: "NO"}[r["engine_equals_own_decoding"]]
            print(f"{r['paragraph']:<12} {r['variant']:<8} {r['engine']:>6} {r['pipeline']:>5} "
                  f"{r['agreement']:>6.3f} {r['agreement_fixed']:>12.3f} {own:>14}")
        for variant, t in summary.items():
            agree = 2 * t["same"] / max(1, t["engine"] + t["pipeline"])
            agree_fixed = 2 * t["same_fixed"] / max(1, t["engine"] + t["pipeline_fixed"])
            print(f"{variant}: engine {t['engine']} entities, pipeline {t['pipeline']}, identical "
                  f"{t['same']} -> agreement {agree:.4f}; with bare-▁ grouping {agree_fixed:.4f}; "
                  f"tag equals Python decoding of its logits on {t['reference_same']}/"
                  f"{t['reference_lines']} paragraphs")
        if all_diffs:
            print("\ndifferences (only_in side: label [start,end) text — reason; pipeline pieces/labels):")
            for d in all_diffs:
                print(f"  {d['paragraph']}/{d['variant']}: only in {d['only_in']}: {d['label']} "
                      f"[{d['start']},{d['end']}) {d['text']!r} — {d['reason']}; "
                      f"{' '.join(d['pipeline_pieces'])}")
            reasons = {}
            for d in all_diffs:
                reasons.setdefault(d["reason"], d["why"])
            print("reasons:")
            for reason, why in reasons.items():
                print(f"  {reason}: {why}")
        else:
            print("\nno differences")

        if args.json:
            report = {
                "model": description, "tolerance": args.tolerance, "max_abs_delta_logits": worst,
                "max_abs_delta_hidden": hidden, "ids_match": ids_ok, "logits_pass": logits_pass,
                "logits": logit_results, "entities": all_rows, "summary": summary,
                "differences": all_diffs,
            }
            Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if logits_pass else 1


if __name__ == "__main__":
    sys.exit(main())
