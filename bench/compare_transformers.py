#!/usr/bin/env python3
"""Check arabic-ner against Python transformers on the same checkpoint.

The model is loaded with transformers and written back with
``BertForTokenClassification.save_pretrained`` plus the tokenizer files into
a temporary folder, so the engine reads exactly what transformers writes.
The texts are the Arabic paragraphs of ``paragraphs.py`` (news-style; one
fully vowelled; one longer than a 512-piece window, and the same as a single
run-on sentence), each in two variants: ``spaced`` (every punctuation mark
set apart by spaces, so whitespace words are the engine's words) and
``natural`` (as written).

(a) logits: ``arabic-ner logits`` prints, per paragraph, its normalized words,
    the ids of every window and the logits. The words are checked against
    this script's Python port of the engine's word rules, the ids against the
    transformers tokenizer applied word by word, and the SAME ids are fed to
    ``BertForTokenClassification``: the largest |Δlogit| must be at most
    ``--tolerance`` (1e-4). When the binary has the ``encode`` command, the
    encoder's last hidden state is compared the same way.

(b) entities: ``arabic-ner tag --lines --keep-clitics --format jsonl`` versus
    ``pipeline("token-classification", aggregation_strategy="first")``,
    compared as (label, character start, character end). The engine tags a
    document sentence by sentence, so the pipeline is run on the same
    sentences (offsets mapped back); its agreement when run on whole
    paragraphs is reported too. Two more references:

    - ``fixed``: the pipeline with a bare "▁" piece grouped with the piece
      after it (see ``common.make_pipeline``);
    - ``tag=hf``: transformers run exactly the engine's way (Python port of
      its word split and diacritic removal, words tokenized one by one, its
      windows and window merging, first-piece labels, seqeval spans). Any
      difference here is a bug in the engine.

    Every difference between the engine and the pipeline is listed with a
    reason found automatically (``REASONS`` below): ``engine`` (differs from
    ``tag=hf``), ``bare-piece`` (vanishes with ``fixed``), ``diacritics`` and
    ``punctuation`` (at the entity's words), ``diacritics-context`` and
    ``punctuation-context`` (elsewhere in its sentence, which changes the
    pipeline's pieces and so the context), ``window`` (a sentence longer
    than a window: the engine and the pipeline cut windows differently).

Exit status: 0 when every logit difference is within the tolerance and the
ids match, 1 otherwise; entity agreement is reported, not enforced.

Setup (once, from the repository root)::

    python3 -m venv .venv
    .venv/bin/pip install torch transformers safetensors numpy
    cargo build --release

Run::

    .venv/bin/python bench/compare_transformers.py --model runs/default-v1
    # without --model: ../runs/default-v1 if it holds a model, else a test
    # model = the base (--base) with a random classifier head

Options: ``--bin PATH`` (default target/release/arabic-ner), ``--threads 2``,
``--stride 128`` (pieces shared by consecutive windows, for both engines),
``--json OUT`` (write the full report), ``--keep DIR`` (keep the exported
folder there).
"""

import argparse
import itertools
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
    common.add_model_args(p)
    p.add_argument("--threads", type=int, default=2, help="threads for both engines (default: 2)")
    p.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed |Δlogit| (default: 1e-4)")
    p.add_argument("--stride", type=int, default=128,
                   help="pieces shared by consecutive windows, for the engine and the pipeline "
                   "(default: %(default)s)")
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
    """Runs ``logits`` on ``texts`` and compares with transformers; returns
    one result dict per text."""
    import torch

    out = common.read_jsonl(common.run_bin(binary, ["logits", "--model", export_dir, "-"],
                                           "\n".join(texts) + "\n", threads))
    if len(out) != len(texts):
        raise SystemExit(f"logits printed {len(out)} objects for {len(texts)} lines")
    results = []
    for text, obj in zip(texts, out):
        expected_words = common.engine_words(text)[1]
        pieces = word_pieces(tokenizer, obj["words"])
        ranges = window_word_ranges(pieces, obj["ids"])
        ids_ok = all(r is not None for r in ranges) and all(
            w[0] == tokenizer.cls_token_id and w[-1] == tokenizer.sep_token_id for w in obj["ids"])
        covered = {i for r in ranges if r is not None for i in r}
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
    return results


def check_hidden(binary, export_dir, model, tokenizer, texts, threads):
    """Compares ``encode`` (last hidden state) with the model's encoder;
    returns the largest |Δ|, or None when the binary has no ``encode``.

    For a line that needs several windows, ``encode`` prints the windows one
    after the other (each ``<s> … </s>``); they are compared one by one."""
    import subprocess

    import torch

    proc = subprocess.run([str(binary), "encode", "--help"], capture_output=True, check=False)
    if proc.returncode != 0:
        return None
    out = common.read_jsonl(common.run_bin(binary, ["encode", "--model", export_dir, "-"],
                                           "\n".join(texts) + "\n", threads))
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    delta = 0.0
    for obj in out:
        ids, hidden = obj["ids"], np.asarray(obj["hidden"], dtype=np.float32)
        cuts = [0] + [i for i in range(1, len(ids)) if ids[i] == cls and ids[i - 1] == sep] + [len(ids)]
        for a, b in itertools.pairwise(cuts):
            with torch.no_grad():
                ref = model.bert(input_ids=torch.tensor([ids[a:b]])).last_hidden_state[0].numpy()
            delta = max(delta, float(np.abs(ref - hidden[a:b]).max()))
    return delta


# --------------------------------------------------------------------------
# (b) entities
# --------------------------------------------------------------------------

def sentence_units(texts):
    """The sentences the engine tags separately: (text index, character
    offset, sentence text) for every sentence of every text."""
    return [(k, s, text[s:e]) for k, text in enumerate(texts) for s, e in common.sentence_spans(text)]


def shift(entities, offset):
    return [(label, s + offset, e + offset) for label, s, e in entities]


def engine_tag(binary, export_dir, texts, threads, stride):
    """Entities of ``arabic-ner tag --lines --keep-clitics --decoding argmax``
    (the pipeline labels each word alone), one list per text."""
    tagged = common.read_jsonl(common.run_bin(
        binary, ["tag", "--model", export_dir, "--lines", "--keep-clitics", "--decoding", "argmax",
                 "--stride", stride,
                 "--format", "jsonl", "-"],
        "\n".join(texts) + "\n", threads))
    if len(tagged) != len(texts):
        raise SystemExit(f"tag printed {len(tagged)} objects for {len(texts)} lines")
    return [common.engine_entities(doc) for doc in tagged]


def transformers_reference(model, tokenizer, labels, sentence, stride):
    """Entities of one sentence computed with transformers the way the engine
    tags: the Python port of its word rules and diacritic removal, words
    tokenized one by one, its windows (each word labelled from the window
    where it is farthest from an edge), the first piece's label, seqeval
    spans. Returns (entities with offsets into the sentence, windows)."""
    import torch

    spans, pieces = common.sentence_words(sentence, tokenizer)
    if not spans:
        return [], 0
    wins = common.build_windows(pieces, model.config.max_position_embeddings - 2, stride,
                                tokenizer.cls_token_id, tokenizer.sep_token_id)
    logits = []
    for _, ids, _ in wins:
        with torch.no_grad():
            logits.append(model(input_ids=torch.tensor([ids])).logits[0].numpy())
    tags = common.merge_windows(wins, logits, labels, len(spans))
    return [(label, spans[a][0], spans[b - 1][1]) for label, a, b in common.bio_spans(tags)], len(wins)


def pipeline_by_sentence(pipe, texts, units):
    """The pipeline run on each sentence the engine tags separately;
    {"stock": [...], "fixed": [...]} per text, offsets into the text."""
    results = pipe([u[2] for u in units])
    per_text = [{"stock": [], "fixed": []} for _ in texts]
    for (k, offset, _), res in zip(units, results):
        for kind in ("stock", "fixed"):
            per_text[k][kind] += shift(common.pipeline_entities(res[kind]), offset)
    return per_text


_PIECE_CACHE = {}


def piece_labels(model, tokenizer, text, start, end):
    """The pipeline's view of ``text[start:end]``: its pieces and their argmax
    labels, as 'piece/label' strings. A text longer than one window is seen
    through a window centred on the span."""
    import torch

    if text not in _PIECE_CACHE:
        enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
        _PIECE_CACHE[text] = (enc["input_ids"], enc["offset_mapping"], {})
    ids, offsets, cache = _PIECE_CACHE[text]
    hits = [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > start]
    if not hits:
        return []
    size = model.config.max_position_embeddings - 2
    first = max(0, min(hits[0] - size // 2, len(ids) - size))
    if first not in cache:
        window = [tokenizer.cls_token_id] + ids[first:first + size] + [tokenizer.sep_token_id]
        with torch.no_grad():
            cache[first] = model(input_ids=torch.tensor([window])).logits[0].numpy()
    logits = cache[first]
    return [f"{tokenizer.convert_ids_to_tokens(ids[i])}/"
            f"{model.config.id2label[int(np.argmax(logits[i - first + 1]))]}"
            for i in hits if i - first < size]


def trim_punctuation(entities, text):
    """Entities with punctuation and symbols cut off both ends of the span
    (the pipeline keeps punctuation glued to a word inside the word's span)."""
    import unicodedata

    def is_punct(c):
        return unicodedata.category(c)[0] in "PS"

    out = set()
    for label, start, end in entities:
        while start < end and is_punct(text[start]):
            start += 1
        while end > start and is_punct(text[end - 1]):
            end -= 1
        if end > start:
            out.add((label, start, end))
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


REASONS = {
    "engine": "the engine's tag differs from transformers run the engine's way (same words, "
              "windows and decoding): a bug in the engine",
    "bare-piece": "a word here is tokenized as a bare '▁' piece plus the rest; the stock "
                  "pipeline labels them as two words, the engine labels the word from its "
                  "first piece (the difference vanishes when the pipeline groups them)",
    "diacritics": "the engine removes the harakat before tokenizing; the pipeline tokenizes "
                  "the vowelled words into other pieces, so the logits differ",
    "punctuation": "punctuation or digits are glued to a word here: one whitespace word for "
                   "the pipeline (labelled from its first piece), several words for the engine",
    "diacritics-context": "vowelled words elsewhere in the sentence give the pipeline other "
                          "pieces there, which changes the context of this word",
    "punctuation-context": "punctuation glued to words elsewhere in the sentence gives the "
                           "pipeline other pieces there, which changes the context of this word",
    "window": "the sentence needs several 512-piece windows; the engine cuts them at word "
              "boundaries, the pipeline (stride) mid-word at other places, so the context "
              "near a cut differs",
    "unexplained": "",
}


def explain(entity, side, text, sentence, fixed, reference, sentence_windows):
    """The reason (a key of REASONS) for an entity found by one side only;
    ``sentence`` is the text of the sentence holding it."""
    _, start, end = entity
    if (entity in reference) != (side == "engine"):
        return "engine"
    if (entity in fixed) == (side == "engine"):
        return "bare-piece"
    lo, hi = max(0, start - 1), min(len(text), end + 1)
    while lo > 0 and not text[lo - 1].isspace():
        lo -= 1
    while hi < len(text) and not text[hi].isspace():
        hi += 1
    if common.has_marks(text[lo:hi]):
        return "diacritics"
    if glued_punctuation(text, start, end):
        return "punctuation"
    if common.has_marks(sentence):
        return "diacritics-context"
    if glued_punctuation(sentence, 0, len(sentence)):
        return "punctuation-context"
    if sentence_windows > 1:
        return "window"
    return "unexplained"


def compare_variant(name, texts, names, pipe, binary, export_dir, model, tokenizer, threads,
                    stride):
    """Compares the engine's entities with the pipeline's on one variant."""
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    units = sentence_units(texts)
    engine = engine_tag(binary, export_dir, texts, threads, stride)
    reference, windows = [[] for _ in texts], []
    for k, offset, sentence in units:
        ents, n = transformers_reference(model, tokenizer, labels, sentence, stride)
        reference[k] += shift(ents, offset)
        windows.append(n)
    by_sentence = pipeline_by_sentence(pipe, texts, units)
    whole = [common.pipeline_entities(r["stock"]) for r in pipe(texts)]

    rows, diffs = [], []
    for k, text in enumerate(texts):
        e = set(engine[k])
        s, f, w = set(by_sentence[k]["stock"]), set(by_sentence[k]["fixed"]), set(whole[k])
        t = trim_punctuation(s, text)
        ref = set(reference[k])
        rows.append({
            "paragraph": names[k], "variant": name, "sentences": sum(u[0] == k for u in units),
            "engine": len(e), "pipeline": len(s), "same": len(e & s),
            "pipeline_fixed": len(f), "same_fixed": len(e & f),
            "pipeline_whole": len(w), "same_whole": len(e & w),
            "pipeline_trimmed": len(t), "same_trimmed": len(e & t),
            "agreement": common.agreement(e, s), "agreement_fixed": common.agreement(e, f),
            "agreement_whole": common.agreement(e, w), "agreement_trimmed": common.agreement(e, t),
            "engine_equals_reference": ref == e,
        })
        for side, only in (("engine", e - s), ("pipeline", s - e)):
            for ent in sorted(only, key=lambda x: (x[1], x[2])):
                u = max((i for i, unit in enumerate(units) if unit[0] == k and unit[1] <= ent[1]),
                        default=None)
                offset, sentence = (units[u][1], units[u][2]) if u is not None else (0, text)
                diffs.append({
                    "paragraph": names[k], "variant": name, "only_in": side,
                    "label": ent[0], "start": ent[1], "end": ent[2], "text": text[ent[1]:ent[2]],
                    "reason": explain(ent, side, text, sentence, f, ref,
                                      windows[u] if u is not None else 1),
                    "pipeline_pieces": piece_labels(model, tokenizer, sentence,
                                                    ent[1] - offset, ent[2] - offset),
                })
    return rows, diffs


def print_entity_report(rows, diffs):
    print(f"{'paragraph':<11} {'variant':<8} {'sent':>4} {'engine':>6} {'pipe':>5} {'agree':>6} "
          f"{'fixed':>6} {'trim':>6} {'whole':>6} {'tag=hf':>6}")
    for r in rows:
        own = "yes" if r["engine_equals_reference"] else "NO"
        print(f"{r['paragraph']:<11} {r['variant']:<8} {r['sentences']:>4} {r['engine']:>6} "
              f"{r['pipeline']:>5} {r['agreement']:>6.3f} {r['agreement_fixed']:>6.3f} "
              f"{r['agreement_trimmed']:>6.3f} "
              f"{r['agreement_whole']:>6.3f} {own:>6}")
    print("agree: pipeline run on the engine's sentences (stock); fixed: same, bare '▁' piece "
          "grouped with its word; trim: stock, punctuation cut off the pipeline's span ends; "
          "whole: pipeline run on whole paragraphs; tag=hf: tag gives "
          "exactly the entities of transformers run the engine's way (its words, windows, "
          "first-piece labels)")
    for variant in dict.fromkeys(r["variant"] for r in rows):
        sel = [r for r in rows if r["variant"] == variant]
        tot = {key: sum(r[key] for r in sel) for key in
               ("engine", "pipeline", "same", "pipeline_fixed", "same_fixed", "pipeline_whole",
                "same_whole", "pipeline_trimmed", "same_trimmed")}
        own = [r["engine_equals_reference"] for r in sel]
        print(f"{variant}: engine {tot['engine']} entities, pipeline {tot['pipeline']}, identical "
              f"{tot['same']}: agreement {2 * tot['same'] / max(1, tot['engine'] + tot['pipeline']):.4f}"
              f"; with '▁' grouping "
              f"{2 * tot['same_fixed'] / max(1, tot['engine'] + tot['pipeline_fixed']):.4f}"
              f"; punctuation trimmed "
              f"{2 * tot['same_trimmed'] / max(1, tot['engine'] + tot['pipeline_trimmed']):.4f}"
              f"; pipeline on whole paragraphs "
              f"{2 * tot['same_whole'] / max(1, tot['engine'] + tot['pipeline_whole']):.4f}"
              f"; tag = transformers run the engine's way on {sum(own)}/{len(own)} paragraphs")
    if not diffs:
        print("\nno differences")
        return
    print(f"\n{len(diffs)} differences (paragraph/variant: side, label [start,end) text — reason; "
          "the pipeline's pieces/labels there):")
    for d in diffs:
        print(f"  {d['paragraph']}/{d['variant']}: only {d['only_in']}: {d['label']} "
              f"[{d['start']},{d['end']}) {d['text']!r} — {d['reason']}; {' '.join(d['pipeline_pieces'])}")
    counts = {}
    for d in diffs:
        counts[d["reason"]] = counts.get(d["reason"], 0) + 1
    print("reasons:")
    for reason, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"  {reason} ({n}): {REASONS[reason]}")


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
        print(f"{'paragraph':<11} {'variant':<8} {'words':>5} {'pieces':>6} {'win':>3} "
              f"{'ids':>4} {'words=py':>8} {'max|Δlogit|':>12}")
        logit_results = {}
        worst, ids_ok = 0.0, True
        for variant, texts in variants.items():
            res = check_logits(binary, export_dir, model, tokenizer, texts, args.threads)
            logit_results[variant] = res
            for name, r in zip(names, res):
                worst = max(worst, r["max_abs_delta"])
                ids_ok = ids_ok and r["ids_match"]
                print(f"{name:<11} {variant:<8} {r['words']:>5} {r['pieces']:>6} {r['windows']:>3} "
                      f"{'ok' if r['ids_match'] else 'DIFF':>4} "
                      f"{'yes' if r['words_match_python_port'] else 'no':>8} {r['max_abs_delta']:>12.2e}")
        logits_pass = worst <= args.tolerance and ids_ok
        print(f"largest |Δlogit|: {worst:.3e} (target ≤ {args.tolerance:g}): "
              f"{'PASS' if logits_pass else 'FAIL'}; ids {'match' if ids_ok else 'DIFFER'}")
        hidden = check_hidden(binary, export_dir, model, tokenizer, variants["spaced"], args.threads)
        if hidden is None:
            print("encode: not available in this binary, hidden states not compared")
        else:
            print(f"largest |Δhidden| of the encoder's last layer (encode): {hidden:.3e}")

        # (b) entities
        print("\n(b) entities: transformers pipeline (aggregation first) vs "
              "arabic-ner tag --lines --keep-clitics")
        pipe = common.make_pipeline(model, tokenizer, stride=args.stride)
        rows, diffs = [], []
        for variant, texts in variants.items():
            r, d = compare_variant(variant, texts, names, pipe, binary, export_dir, model,
                                   tokenizer, args.threads, args.stride)
            rows += r
            diffs += d
        print_entity_report(rows, diffs)

        if args.json:
            report = {
                "model": description, "tolerance": args.tolerance, "max_abs_delta_logits": worst,
                "max_abs_delta_hidden": hidden, "ids_match": ids_ok, "logits_pass": logits_pass,
                "logits": logit_results, "entities": rows, "differences": diffs,
                "reasons": REASONS,
            }
            Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if logits_pass else 1


if __name__ == "__main__":
    sys.exit(main())
