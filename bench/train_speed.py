#!/usr/bin/env python3
"""Training speed of PyTorch transformers on the fine-tuning arabic-ner does.

The PyTorch side of the training-speed comparison: ``BertForTokenClassification``
from the base model (default: the project's base folder) is trained on
``../shared/data/anercorp/train.txt`` for ``--steps`` steps (20) the way
``arabic-ner train`` does it:

- words normalized (diacritics and tatweel removed), tokenized one by one,
  ``<s> … </s>`` windows of at most ``--max-length`` (254) pieces;
- the label on each word's FIRST piece, the other pieces ignored (-100);
- labels mapped as the default model's training does (PERS=PER, MIS=MISC,
  GPE=LOC, anything outside the 11 labels = O);
- batches of ``--batch-size`` (16) windows: shuffled, sorted by length within
  pools of 50 batches, then the batches shuffled, with arabic-ner's generator
  and seed, so that step N here runs the windows of ``arabic-ner train``'s step N;
- AdamW (lr 1.5e-4, weight decay 0.01), gradients clipped to norm 1.0,
  dropout on, ``torch.set_num_threads(--threads)`` (2).

``--task mlm`` times masked-LM steps instead, as ``arabic-ner pretrain
--context 0 --head-steps 0`` runs them: ``BertForMaskedLM`` from the same
base (a fresh head when the base has none), the word embeddings (also the
output matrix) fixed, whole words masked (15%, at least one a window; 80%
the mask token, 10% a random piece, 10% kept), the head run on the masked
positions only and the loss over them.

It prints each step and tokens/s counted two ways: ``unpadded`` counts the
real positions of every window (with ``<s>``/``</s>``), which is what
``arabic-ner train`` reports as tok/s; ``padded`` counts every position of
the padded batch (batch × longest window), which is the work PyTorch
actually does. The first ``--skip`` steps (1) are left out of the steady
rate (warm-up of the allocator and kernels); the rate over all steps is
printed too.

The matching Rust figure comes from the trainer's own log, for example::

    target/release/arabic-ner --threads 2 train --base ../base/e5-small-compact \\
        --train ../shared/data/anercorp/train.txt --map PERS=PER,MIS=MISC,GPE=LOC \\
        --batch-size 16 --max-steps 20 --out /tmp/train-speed

and for masked-LM steps::

    target/release/arabic-ner --threads 2 pretrain --base ../base/e5-small-compact \\
        --conll ../shared/data/anercorp/train.txt --context 0 --head-steps 0 \\
        --lr 1.5e-4 --batch-size 16 --max-steps 20 --out /tmp/pretrain-speed

Setup (once, from the repository root)::

    python3 -m venv .venv
    .venv/bin/pip install torch transformers safetensors numpy

Run::

    .venv/bin/python bench/train_speed.py --steps 20
    .venv/bin/python bench/train_speed.py --task mlm --steps 20
    .venv/bin/python bench/train_speed.py --base base/e5-small-ar --threads 2 --json /tmp/ts.json
"""

import argparse
import json
import random
import sys
import time

import common

DEFAULT_DATA = "../shared/data/anercorp/train.txt"
DEFAULT_MAP = "PERS=PER,MIS=MISC,GPE=LOC"
IGNORE = -100


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", default=common.default_base(), help="base model folder (default: %(default)s)")
    p.add_argument("--data", default=DEFAULT_DATA, help="CoNLL training file (default: %(default)s)")
    p.add_argument("--map", default=DEFAULT_MAP, help="label map OLD=NEW,... (default: %(default)s)")
    p.add_argument("--steps", type=int, default=20, help="training steps (default: 20)")
    p.add_argument("--skip", type=int, default=1, help="first steps left out of the steady rate (default: 1)")
    p.add_argument("--batch-size", type=int, default=16, help="windows per step (default: 16)")
    p.add_argument("--max-length", type=int, default=254,
                   help="most word pieces in a window, without <s>/</s> (default: 254)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    p.add_argument("--lr", type=float, default=1.5e-4, help="AdamW learning rate (default: 1.5e-4)")
    p.add_argument("--seed", type=int, default=42, help="shuffling and initialization seed (default: 42)")
    p.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"],
                   help="transformers attention implementation (default: sdpa)")
    p.add_argument("--task", default="ner", choices=["ner", "mlm"],
                   help="ner: token classification as `arabic-ner train`; mlm: masked-LM "
                        "steps as `arabic-ner pretrain --context 0` (default: %(default)s)")
    p.add_argument("--mask-prob", type=float, default=0.15,
                   help="mlm: share of words masked (default: %(default)s)")
    p.add_argument("--json", help="write the results as JSON to this file")
    return p.parse_args()


def read_conll(path):
    """Sentences as (words, tags) from a ``word TAG`` file."""
    sentences, words, tags = [], [], []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            parts = line.split()
            if not parts:
                if words:
                    sentences.append((words, tags))
                    words, tags = [], []
            elif not line.startswith("-DOCSTART-"):
                words.append(parts[0])
                tags.append(parts[-1])
    if words:
        sentences.append((words, tags))
    return sentences


def map_tag(tag, mapping, known):
    """Applies the label map to a BIO tag; unknown labels become O."""
    if tag == "O" or "-" not in tag:
        return "O"
    prefix, label = tag.split("-", 1)
    label = mapping.get(label, label)
    tag = f"{prefix}-{label}"
    return tag if tag in known else "O"


def make_examples(sentences, tokenizer, mapping, max_pieces):
    """Windows ``(ids, labels)`` as the Rust trainer builds them."""
    label_ids = {label: i for i, label in enumerate(common.LABELS)}
    examples = []
    for words, tags in sentences:
        normed = [common.strip_marks(w) for w in words]
        pieces = tokenizer(normed, add_special_tokens=False)["input_ids"]
        pieces = [p or [tokenizer.unk_token_id] for p in pieces]
        wins = common.build_windows(pieces, max_pieces, 0, tokenizer.cls_token_id,
                                    tokenizer.sep_token_id)
        for r, ids, first in wins:
            labels = [IGNORE] * len(ids)
            for k, wi in enumerate(r):
                labels[first[k]] = label_ids[map_tag(tags[wi], mapping, label_ids)]
            examples.append((ids, labels))
    return examples


def make_mlm_examples(sentences, tokenizer, max_pieces):
    """Windows ``(ids, first pieces of words)`` as ``arabic-ner pretrain --context 0`` builds them."""
    examples = []
    for words, _ in sentences:
        normed = [common.strip_marks(w) for w in words]
        pieces = tokenizer(normed, add_special_tokens=False)["input_ids"]
        pieces = [p or [tokenizer.unk_token_id] for p in pieces]
        wins = common.build_windows(pieces, max_pieces, 0, tokenizer.cls_token_id,
                                    tokenizer.sep_token_id)
        for _, ids, first in wins:
            if first:
                examples.append((ids, first))
    return examples


def mask_words(examples, batch, width, prob, mask_id, first_piece, vocab, rng):
    """Whole words masked as pretrain masks them (each with ``prob``, at least one a
    window; 80% the mask token, 10% a random piece, 10% kept): the masked input and
    the flat positions (``row * width + col``) and original ids of the masked pieces."""
    seqs, positions, targets = [], [], []
    for row, i in enumerate(batch):
        ids, first = examples[i]
        seq = list(ids)
        chosen = [k for k in range(len(first)) if rng.random() < prob] or [rng.randrange(len(first))]
        for k in chosen:
            end = first[k + 1] if k + 1 < len(first) else len(ids) - 1
            how = rng.random()
            for p in range(first[k], end):
                positions.append(row * width + p)
                targets.append(ids[p])
                if how < 0.8:
                    seq[p] = mask_id
                elif how < 0.9:
                    seq[p] = rng.randrange(first_piece, vocab)
        seqs.append(seq)
    return seqs, positions, targets


M64 = (1 << 64) - 1


class XorShift:
    """arabic-ner's generator (splitmix64-seeded xorshift64*), so that the
    batches here are the very batches ``arabic-ner train`` runs."""

    def __init__(self, seed):
        z = (seed + 0x9E3779B97F4A7C15) & M64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        self.state = (z ^ (z >> 31)) | 1

    def next(self):
        x = self.state
        x ^= x >> 12
        x ^= (x << 25) & M64
        x ^= x >> 27
        self.state = x
        return (x * 0x2545F4914F6CDD1D) & M64

    def shuffle(self, v):
        for i in range(len(v) - 1, 0, -1):
            j = self.next() % (i + 1)
            v[i], v[j] = v[j], v[i]


def derive_seed(seed, a, b):
    rot = ((b << 32) | (b >> 32)) & M64
    return ((seed * 0x9E3779B97F4A7C15) & M64) ^ ((a * 0xC2B2AE3D27D4EB4F) & M64) ^ rot


def make_batches(examples, batch_size, seed):
    """As ``arabic-ner train`` makes the first epoch's batches: shuffled,
    sorted by length within pools of 50 batches, batches shuffled, with the
    same generator and seed, so both run the same windows step by step."""
    rng = XorShift(derive_seed(seed, 1, 0))
    order = list(range(len(examples)))
    rng.shuffle(order)
    pool = batch_size * 50
    for i in range(0, len(order), pool):
        order[i:i + pool] = sorted(order[i:i + pool], key=lambda j: len(examples[j][0]))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(examples, batch, pad):
    import torch

    width = max(len(examples[i][0]) for i in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    for row, i in enumerate(batch):
        seq, lab = examples[i]
        ids[row, :len(seq)] = torch.tensor(seq)
        mask[row, :len(seq)] = 1
        labels[row, :len(seq)] = torch.tensor(lab)
    return ids, mask, labels, int(mask.sum()), ids.numel()


def main():
    args = parse_args()
    common.quiet_transformers()
    import torch
    from transformers import AutoTokenizer, BertForTokenClassification

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    base = common.cli_path(args.base)
    mapping = dict(pair.split("=", 1) for pair in args.map.split(",") if pair)

    t = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    sentences = read_conll(common.cli_path(args.data))
    if args.task == "mlm":
        examples = make_mlm_examples(sentences, tokenizer, args.max_length)
    else:
        examples = make_examples(sentences, tokenizer, mapping, args.max_length)
    prep = time.perf_counter() - t
    t = time.perf_counter()
    if args.task == "mlm":
        from transformers import BertForMaskedLM

        model = BertForMaskedLM.from_pretrained(str(base), attn_implementation=args.attn)
        # As pretrain: the word embeddings (also the output matrix) stay fixed.
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    else:
        model = BertForTokenClassification.from_pretrained(
            str(base), num_labels=len(common.LABELS), id2label=dict(enumerate(common.LABELS)),
            label2id={label: i for i, label in enumerate(common.LABELS)},
            attn_implementation=args.attn)
    model.train()
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=args.lr, weight_decay=0.01)
    load = time.perf_counter() - t
    pad = model.config.pad_token_id if model.config.pad_token_id is not None else tokenizer.pad_token_id
    batches = make_batches(examples, args.batch_size, args.seed)
    mask_rng = random.Random(args.seed + 1)
    specials = max(tokenizer.cls_token_id, tokenizer.sep_token_id, pad, tokenizer.unk_token_id) + 1

    print(f"task {args.task}; base: {base} ({sum(p.numel() for p in model.parameters()) / 1e6:.1f} M "
          f"parameters, attention {args.attn})")
    print(f"data: {args.data}: {len(sentences)} sentences, {len(examples)} windows "
          f"(prepared in {prep:.1f} s); model loaded in {load:.1f} s")
    print(f"batch {args.batch_size}, threads {args.threads}, steps {args.steps}")
    steps = []
    for step, batch in enumerate(batches[:args.steps], 1):
        start = time.perf_counter()
        if args.task == "mlm":
            width = max(len(examples[i][0]) for i in batch)
            seqs, positions, targets = mask_words(examples, batch, width, args.mask_prob,
                                                  tokenizer.mask_token_id, specials,
                                                  model.config.vocab_size, mask_rng)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, seq in enumerate(seqs):
                ids[row, :len(seq)] = torch.tensor(seq)
                mask[row, :len(seq)] = 1
            real, padded = int(mask.sum()), ids.numel()
            # The head reads the masked positions only (the faster form).
            hidden = model.bert(input_ids=ids, attention_mask=mask).last_hidden_state
            picked = hidden.reshape(-1, hidden.shape[-1])[torch.tensor(positions)]
            logits = model.cls(picked)
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor(targets))
        else:
            ids, mask, labels, real, padded = collate(examples, batch, pad)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seconds = time.perf_counter() - start
        steps.append({"step": step, "seconds": seconds, "tokens": real, "padded_tokens": padded,
                      "width": ids.shape[1], "loss": float(loss)})
        print(f"step {step:>3}: {seconds:6.2f} s, {ids.shape[0]}x{ids.shape[1]:<3} loss "
              f"{float(loss):.4f}, {real / seconds:6.0f} tok/s unpadded, "
              f"{padded / seconds:6.0f} padded")

    def rates(sel):
        secs = sum(s["seconds"] for s in sel)
        return (sum(s["tokens"] for s in sel) / secs, sum(s["padded_tokens"] for s in sel) / secs,
                secs)

    summary = {}
    for name, sel in (("all steps", steps), (f"steps after {args.skip}", steps[args.skip:])):
        if sel:
            unpadded, padded, secs = rates(sel)
            summary[name] = {"tokens_per_s": unpadded, "padded_tokens_per_s": padded, "seconds": secs,
                             "steps": len(sel)}
            print(f"{name}: {len(sel)} steps in {secs:.1f} s: {unpadded:.0f} tokens/s unpadded "
                  f"(as arabic-ner train counts), {padded:.0f} tokens/s padded")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"base": str(base), "batch_size": args.batch_size, "threads": args.threads,
                       "attn": args.attn, "steps": steps, "summary": summary}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
