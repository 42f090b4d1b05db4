#!/usr/bin/env python3
"""How far the int8 encoder products move the results from f32.

For each data set, the engine tags the sentences (one a line, the words
joined by spaces) with ``--precision f32`` and ``--precision int8`` and
counts the entities both give identically (same line, offsets and label),
then scores both with ``arabic-ner eval``:

    cargo build --release
    python3 bench/precision.py [--precision int8-fast]

Needs only the standard library and ``../shared/data``. The targets: the
int8 entities agree with the f32 ones on at least 99.5% of the ANERcorp
test entities, and micro-F1 moves by at most 0.3 on ANERcorp test and
Wojood val.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

DATA = os.path.join(os.path.dirname(common.REPO), "shared", "data")
WOJOOD_MAP = ("PERS=PER,GPE=LOC,CARDINAL=O,CURR=O,EVENT=O,FAC=O,LANGUAGE=O,LAW=O,"
              "MONEY=O,NORP=O,OCC=O,ORDINAL=O,PERCENT=O,PRODUCT=O,QUANTITY=O,"
              "TIME=O,UNIT=O,WEBSITE=O")
SETS = [
    ("ANERcorp test", "anercorp/test.txt", "PERS=PER,MIS=MISC", None),
    ("Wojood val", "wojood-sample/val.txt", WOJOOD_MAP, None),
    ("AQMAR dev", "aqmar/dev.txt", "MIS=MISC", "PER,LOC,ORG"),
]


def entities(binary, model, precision, text_path):
    out = subprocess.run(
        [binary, "tag", "--model", model, "--precision", precision, "--lines",
         "--format", "jsonl", text_path],
        check=True, capture_output=True, text=True).stdout
    found = set()
    for doc in common.read_jsonl(out):
        for e in doc["entities"]:
            found.add((doc["line"], e["start"], e["end"], e["label"]))
    return found


def micro_f1(binary, model, precision, path, label_map, labels):
    cmd = [binary, "eval", "--model", model, "--precision", precision,
           "--data", path, "--map", label_map]
    if labels:
        cmd += ["--labels", labels]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    m = re.search(r"micro avg\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", out)
    return float(m.group(3)) * 100


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", default=common.DEFAULT_BIN)
    p.add_argument("--model", default="models/arabic-ner-e5-small")
    p.add_argument("--precision", default="int8", help="the precision compared with f32 (default: %(default)s)")
    p.add_argument("--data", default=DATA, help="folder of the labelled data")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    binary = common.find_bin(args.bin)
    model = str(common.repo_path(args.model))
    rows = []
    with tempfile.TemporaryDirectory(prefix="precision-") as work:
        for name, rel, label_map, labels in SETS:
            path = os.path.join(args.data, rel)
            if not os.path.isfile(path):
                print(f"{name}: {path} not found, skipped")
                continue
            text = os.path.join(work, "text.txt")
            with open(text, "w", encoding="utf-8") as f:
                for s in common.conll_sentences(path):
                    f.write(" ".join(s) + "\n")
            a = entities(binary, model, "f32", text)
            b = entities(binary, model, args.precision, text)
            same = len(a & b)
            f32 = micro_f1(binary, model, "f32", path, label_map, labels)
            int8 = micro_f1(binary, model, args.precision, path, label_map, labels)
            row = {"data": name, "f32_entities": len(a), "int8_entities": len(b),
                   "identical": same, "agreement": same / max(len(a), 1),
                   "f32_f1": f32, "int8_f1": int8}
            rows.append(row)
            print(f"{name}: {len(a)} f32 entities, {len(b)} {args.precision}, {same} identical "
                  f"({100 * row['agreement']:.2f}% of f32's); micro-F1 f32 {f32:.2f}, "
                  f"{args.precision} {int8:.2f} ({int8 - f32:+.2f})", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
