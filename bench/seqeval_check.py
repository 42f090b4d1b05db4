#!/usr/bin/env python3
"""Score a CoNLL prediction file with seqeval, as a reference for our metrics.

Input: one token a line, ``token gold pred`` separated by whitespace, blank
lines between sentences (the format written by ``train::data::write_conll``).
Output: seqeval's ``classification_report`` (4 digits), then every figure at
full precision, one per line, as ``name precision recall f1 support`` (names:
each entity type, then ``micro``, ``macro``, ``weighted``), ready to paste into
a Rust test.

Uses seqeval's default (non-strict, conlleval-compatible) mode, which is what
published Arabic NER results use and what ``src/train/metrics.rs`` mirrors.

Setup (once)::

    python3 -m venv /work/venv-seqeval
    /work/venv-seqeval/bin/pip install seqeval==1.2.2

The figures hard-coded in ``anercorp_perturbed_matches_seqeval``
(src/train/metrics.rs) were obtained with, from the repository root::

    ARABIC_NER_WRITE_PERTURBED=/tmp/anercorp-perturbed.txt \\
        cargo test --lib anercorp_perturbed_matches_seqeval
    /work/venv-seqeval/bin/python bench/seqeval_check.py /tmp/anercorp-perturbed.txt

(The test writes the file before it compares, so the first command works even
while the expected figures are stale.)
"""

import argparse
import sys
import warnings


def read_columns(path):
    """Returns (gold, pred) as lists of sentences of tags."""
    gold, pred = [], []
    g_sent, p_sent = [], []
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, 1):
            cols = line.split()
            if not cols:
                if g_sent:
                    gold.append(g_sent)
                    pred.append(p_sent)
                    g_sent, p_sent = [], []
                continue
            if len(cols) < 3:
                sys.exit(f"{path}:{number}: expected 'token gold pred', got {line.strip()!r}")
            g_sent.append(cols[1])
            p_sent.append(cols[2])
    if g_sent:
        gold.append(g_sent)
        pred.append(p_sent)
    return gold, pred


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="CoNLL file with 'token gold pred' columns")
    args = parser.parse_args()

    from seqeval.metrics import classification_report

    gold, pred = read_columns(args.file)
    tokens = sum(map(len, gold))
    print(f"{args.file}: {len(gold)} sentences, {tokens} tokens")
    with warnings.catch_warnings():
        # Undefined precision/recall become 0, as in our metrics; the warning
        # adds nothing here.
        warnings.simplefilter("ignore")
        print(classification_report(gold, pred, digits=4))
        report = classification_report(gold, pred, output_dict=True)
    for name, row in report.items():
        short = name[: -len(" avg")] if name.endswith(" avg") else name
        print(
            short,
            repr(float(row["precision"])),
            repr(float(row["recall"])),
            repr(float(row["f1-score"])),
            int(row["support"]),
        )


if __name__ == "__main__":
    main()
