"""Helpers shared by the benchmark and comparison scripts in bench/.

Not a script: ``compare_transformers.py`` and ``speed.py`` import it (Python
puts the script's own folder on ``sys.path``, so no installation is needed).

It holds what those scripts must do the same way:

- locating the repository, the ``arabic-ner`` binary and a model folder
  (a trained one, or a test model with a random classifier head);
- a Python port of the engine's word splitting and diacritic removal
  (``src/text/words.rs`` and ``src/text/normalize.rs``, simplified to what
  the benchmarks need), so a Python path can tag the same words;
- BIO decoding with seqeval's default (non-strict) rules;
- a token-classification pipeline that can also group a bare ``▁`` piece
  with the piece after it (see :class:`FirstPiecePipeline`).
"""

import itertools
import json
import subprocess
import tempfile
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BIN = "target/release/arabic-ner"

#: Label set of the project's models, in id order.
LABELS = ["O", "B-DATE", "I-DATE", "B-LOC", "I-LOC", "B-MISC", "I-MISC",
          "B-ORG", "I-ORG", "B-PER", "I-PER"]

#: Where the trained model and the base model usually are, relative to the
#: repository root (the first existing one wins).
TRAINED_CANDIDATES = ["../runs/default-v1", "runs/default-v1"]
BASE_CANDIDATES = ["base/e5-small-ar", "../base/e5-small-compact"]


# --------------------------------------------------------------------------
# Locating things
# --------------------------------------------------------------------------

def conll_sentences(path):
    """Sentences of a CoNLL file as lists of tokens (first column)."""
    sentences, current = [], []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            parts = line.split()
            if not parts:
                if current:
                    sentences.append(current)
                current = []
            elif not line.startswith("-DOCSTART-"):
                current.append(parts[0])
    if current:
        sentences.append(current)
    return sentences


def repo_path(p):
    """Resolves ``p`` against the repository root unless it is absolute."""
    p = Path(p)
    return p if p.is_absolute() else REPO / p


def cli_path(p):
    """Resolves a path given on the command line: absolute, relative to the
    current directory if it exists there, else relative to the repository."""
    p = Path(p)
    if p.is_absolute() or p.exists():
        return p.resolve()
    return REPO / p


def find_bin(bin_arg):
    """The arabic-ner binary; exits with a clear message when it is missing."""
    path = cli_path(bin_arg)
    if not path.is_file():
        raise SystemExit(f"arabic-ner binary not found at {path}; build it with "
                         "`cargo build --release` or pass --bin PATH")
    return path


def is_model_dir(path):
    """Whether ``path`` holds a complete Hugging Face token-classification folder."""
    path = Path(path)
    return all((path / f).is_file() for f in ("config.json", "model.safetensors", "tokenizer.json"))


def default_base():
    for cand in BASE_CANDIDATES:
        if is_base_dir(repo_path(cand)):
            return str(repo_path(cand))
    return str(repo_path(BASE_CANDIDATES[0]))


def is_base_dir(path):
    path = Path(path)
    return (path / "config.json").is_file() and (path / "model.safetensors").is_file()


def resolve_model(model_arg, base_arg, workdir):
    """Returns ``(model_dir, description)``.

    ``model_arg`` wins when given. Otherwise the trained model
    (``../runs/default-v1``) is used when it is complete, and failing that a
    test model with a random classifier head is built from ``base_arg`` into
    ``workdir``.
    """
    if model_arg:
        path = cli_path(model_arg)
        if not is_model_dir(path):
            raise SystemExit(f"{path} is not a model folder (config.json, "
                             "model.safetensors and tokenizer.json are needed)")
        return path, f"{path}"
    for cand in TRAINED_CANDIDATES:
        path = repo_path(cand).resolve()
        if is_model_dir(path):
            return path, f"{path} (trained)"
    base = cli_path(base_arg)
    out = Path(workdir) / "random-head"
    make_random_model(base, out)
    return out, f"{base} + random classifier head (seed 0): a test model, not trained"


def make_random_model(base, out, seed=0):
    """Saves ``base`` as a BertForTokenClassification with a random head of
    len(LABELS) labels (safetensors) plus its tokenizer files into ``out``."""
    import torch
    from transformers import AutoTokenizer, BertForTokenClassification

    torch.manual_seed(seed)
    model = BertForTokenClassification.from_pretrained(
        str(base),
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    model.save_pretrained(str(out), safe_serialization=True)
    AutoTokenizer.from_pretrained(str(base)).save_pretrained(str(out))
    return out


def load_model(model_dir, attn_implementation="eager"):
    """Loads a token-classification model in eval mode and its tokenizer."""
    from transformers import AutoTokenizer, BertForTokenClassification

    model = BertForTokenClassification.from_pretrained(
        str(model_dir), attn_implementation=attn_implementation)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    return model, tokenizer


def run_bin(binary, args, stdin_text, threads=None):
    """Runs the binary with ``args`` feeding ``stdin_text``; returns stdout."""
    cmd = [str(binary)]
    if threads:
        cmd += ["--threads", str(threads)]
    cmd += [str(a) for a in args]
    proc = subprocess.run(cmd, input=stdin_text.encode("utf-8"), capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}:\n"
                         + proc.stderr.decode("utf-8", "replace"))
    return proc.stdout.decode("utf-8")


def read_jsonl(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def quiet_transformers():
    """Silences transformers' progress bars, info logs and Python warnings
    (the stock pipeline warns once per piece with aggregation "first")."""
    import warnings

    from transformers.utils import logging as hf_logging

    warnings.filterwarnings("ignore")
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def temp_dir(prefix):
    return tempfile.TemporaryDirectory(prefix=prefix)


# --------------------------------------------------------------------------
# Text: diacritics and words, as the engine does it
# --------------------------------------------------------------------------

def is_removed_mark(c):
    """Harakat, superscript alef, tatweel and Quranic marks (removed by the
    engine's normalization)."""
    o = ord(c)
    return (0x0610 <= o <= 0x061A or o == 0x0640 or 0x064B <= o <= 0x065F
            or o == 0x0670 or 0x06D6 <= o <= 0x06ED or 0x08D3 <= o <= 0x08FF)


def is_invisible(c):
    """Zero-width characters, BOM, soft hyphen and bidi controls."""
    o = ord(c)
    return (o in (0x00AD, 0x061C, 0xFEFF) or 0x200B <= o <= 0x200F
            or 0x202A <= o <= 0x202E or 0x2060 <= o <= 0x2064 or 0x2066 <= o <= 0x206F)


def strip_marks(text):
    """Removes what the engine removes from Arabic letters (without letter
    folding, presentation forms or line-break handling)."""
    return "".join(c for c in text if not (is_removed_mark(c) or is_invisible(c)))


def has_marks(text):
    return any(is_removed_mark(c) for c in text)


def _is_arabic_script(c):
    o = ord(c)
    return (0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F or 0x0870 <= o <= 0x08FF
            or 0xFB50 <= o <= 0xFDFF or 0xFE70 <= o <= 0xFEFF)


def _char_class(c):
    """'space', 'extend', 'arabic', 'letter', 'digit' or 'other'."""
    if "a" <= c <= "z" or "A" <= c <= "Z":
        return "letter"
    if "0" <= c <= "9":
        return "digit"
    if "!" <= c <= "~":
        return "other"
    if c in "\u200c\u200d" or "\ufe00" <= c <= "\ufe0f":
        return "extend"
    cat = unicodedata.category(c)
    if c.isspace() or cat == "Cc":
        return "space"
    if cat in ("Mn", "Mc", "Me"):
        return "extend"
    if cat.startswith("L"):
        return "arabic" if _is_arabic_script(c) else "letter"
    if cat.startswith("N"):
        return "digit"
    if cat == "Cf":
        return "space"
    return "other"


_DIGIT_SEPARATORS = set(".,/-:٫٬")


def split_words(text):
    """Word spans ``(start, end)`` in characters, following the engine's
    rules: Arabic letter runs, Latin/digit runs, numbers with single
    separators between digits (3.5, 15/3/2024), every other symbol alone;
    marks stay with the word they follow."""
    words = []
    start, kind = None, None
    prev = ""
    n = len(text)
    for i, c in enumerate(text):
        cls = _char_class(c)
        nxt = text[i + 1] if i + 1 < n else ""
        if cls == "space":
            joins = False
        elif start is not None and cls == "extend":
            joins = True
        elif kind == "arabic":
            joins = cls == "arabic"
        elif kind in ("alnum", "number"):
            joins = cls in ("letter", "digit") or (
                cls == "other" and c in _DIGIT_SEPARATORS
                and _char_class(prev) == "digit" and _char_class(nxt) == "digit")
        else:
            joins = False
        if joins:
            if kind == "number" and cls == "letter":
                kind = "alnum"
        else:
            if start is not None:
                words.append((start, i))
                start, kind = None, None
            if cls != "space":
                start = i
                kind = {"arabic": "arabic", "letter": "alnum", "digit": "number"}.get(cls, "other")
        prev = c
    if start is not None:
        words.append((start, n))
    return words


_TERMINALS = {".", "!", "?", "؟", "…", "۔", "‼", "⁇", "⁈", "⁉"}
_CLOSERS = {")", "]", "}", "»", '"', "'", "”", "’", "›", "〉", "﴿"}


def sentence_spans(text):
    """Sentence spans ``(start, end)`` in characters, as the engine cuts a
    document before tagging (``sentence_breaks`` in src/text/words.rs): after
    a terminal mark (or a cluster such as ``؟!`` or ``.»``) followed by
    whitespace or the end, and at line breaks; not after a ``.`` that follows
    a single letter (``د. محمد``) or that is glued to the next word."""
    words = split_words(text)
    spans = []
    first = 0
    in_cluster = False
    for i, (s, e) in enumerate(words):
        word = text[s:e]
        nxt = words[i + 1] if i + 1 < len(words) else None
        gap = text[e:nxt[0]] if nxt else text[e:]
        if word in _TERMINALS:
            prev = text[words[i - 1][0]:words[i - 1][1]] if i > 0 else ""
            abbreviation = (word == "." and i > 0 and words[i - 1][1] == s
                            and len([c for c in prev if _char_class(c) != "extend"]) == 1
                            and prev[0].isalpha())
            in_cluster = in_cluster or not abbreviation
        elif word not in _CLOSERS:
            in_cluster = False
        if gap == "":
            if nxt is not None:
                nw = text[nxt[0]:nxt[1]]
                if in_cluster and nw not in _TERMINALS and nw not in _CLOSERS:
                    in_cluster = False
                ends = False
            else:
                ends = True
        else:
            ends = in_cluster
        if nxt is None or ends or any(c in gap for c in "\n\r\x0b\x0c\x85\u2028\u2029"):
            spans.append((words[first][0], e))
            first = i + 1
            in_cluster = False
    return spans


def space_words(text):
    """``text`` with exactly one space between the engine's words, so that a
    whitespace tokenizer sees the same words (punctuation set apart)."""
    return " ".join(text[s:e] for s, e in split_words(text))


# --------------------------------------------------------------------------
# Windows, as the engine cuts and merges them
# --------------------------------------------------------------------------

def engine_windows(starts, max_pieces, overlap):
    """Word ranges of the engine's windows (``windows`` in src/model/mod.rs).

    ``starts[i]`` is the first piece of word ``i`` (one entry more than there
    are words). A window holds as many whole words as fit in ``max_pieces``;
    the next one starts so that about ``overlap`` pieces are shared."""
    n = len(starts) - 1
    overlap = min(overlap, max_pieces // 2)
    out, start = [], 0
    while start < n:
        end = start + 1
        while end < n and starts[end + 1] - starts[start] <= max_pieces:
            end += 1
        out.append(range(start, end))
        if end == n:
            break
        nxt = end
        while nxt > start + 1 and starts[end] - starts[nxt - 1] <= overlap:
            nxt -= 1
        start = nxt
    return out


def build_windows(pieces, max_pieces, overlap, cls, sep):
    """Model inputs for one sentence, as the engine builds them: a list of
    ``(word range, ids with <s>/</s>, position of each word's first piece)``.
    ``pieces`` holds each word's piece ids (never empty)."""
    starts = [0]
    for p in pieces:
        starts.append(starts[-1] + len(p))
    wins = []
    for r in engine_windows(starts, max_pieces, overlap):
        ids, first = [cls], []
        for wi in r:
            room = max(1, max_pieces + 1 - len(ids))
            first.append(min(len(ids), max_pieces))
            ids += pieces[wi][:room]
        wins.append((r, ids[:max_pieces + 1] + [sep], first))
    return wins


def merge_windows(wins, logits, labels, n_words, decoding="argmax"):
    """Word labels from per-window logits (aggregation "first"): each word
    takes the scores at its first piece in the window where it sits farthest
    from an edge; among equals, the window the engine runs first (shorter,
    then earlier) wins. ``decoding`` is "argmax" (each word alone) or
    "viterbi" (the engine's default: the most probable BIO sequence without
    an I-X after O or after another type)."""
    best = [None] * n_words  # (margin, scores)
    order = sorted(range(len(wins)), key=lambda i: (len(wins[i][1]), i))
    for i in order:
        r, _, first = wins[i]
        for k, wi in enumerate(r):
            margin = min(k, len(r) - 1 - k)
            if best[wi] is None or margin > best[wi][0]:
                best[wi] = (margin, logits[i][first[k]])
    rows = [b[1] for b in best]
    if decoding == "viterbi":
        return [labels[k] for k in viterbi(rows, labels)]
    return [labels[int(row.argmax())] for row in rows]


def viterbi(rows, labels):
    """The best BIO label path for per-word logits ``rows``: the sum of
    log-softmax scores, with I-X allowed only after B-X or I-X."""
    import numpy as np

    if not rows:
        return []
    logp = []
    for row in rows:
        row = np.asarray(row, dtype=np.float64)
        row = row - row.max()
        logp.append(row - np.log(np.exp(row).sum()))
    n = len(labels)
    kind = [lab.partition("-") for lab in labels]

    def allowed(prev, nxt):
        p, _, t = kind[nxt]
        if p != "I":
            return True
        return prev is not None and kind[prev][0] in ("B", "I") and kind[prev][2] == t

    neg = float("-inf")
    score = [logp[0][k] if allowed(None, k) else neg for k in range(n)]
    back = []
    for lp in logp[1:]:
        nxt, frm = [neg] * n, [0] * n
        for k in range(n):
            for j in range(n):
                if score[j] > nxt[k] and allowed(j, k):
                    nxt[k], frm[k] = score[j], j
            nxt[k] += lp[k]
        score = nxt
        back.append(frm)
    path = [max(range(n), key=lambda k: score[k])]
    for frm in reversed(back):
        path.append(frm[path[-1]])
    return path[::-1]


def engine_words(text):
    """The engine's words of ``text``: (character spans, normalized words).

    The engine removes marks before it splits words; splitting first and
    dropping what becomes empty (a lone tatweel or mark) gives the same
    words here."""
    spans, words = [], []
    for a, b in split_words(text):
        word = strip_marks(text[a:b])
        if word:
            spans.append((a, b))
            words.append(word)
    return spans, words


def sentence_words(sentence, tokenizer):
    """The engine's words of one sentence: their character spans and the
    piece ids of each word tokenized on its own after diacritic removal (a
    word without pieces gets <unk>, as in the engine)."""
    spans, words = engine_words(sentence)
    pieces = tokenizer(words, add_special_tokens=False)["input_ids"] if words else []
    return spans, [p or [tokenizer.unk_token_id] for p in pieces]


# --------------------------------------------------------------------------
# BIO decoding
# --------------------------------------------------------------------------

def bio_spans(tags):
    """Entity spans ``(label, first, last + 1)`` over a tag sequence, with
    seqeval's default rules: B starts a span, I continues a span of its own
    type and otherwise starts one, O ends it."""
    spans = []
    current = None  # [label, start]
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, label = tag.partition("-")
        if tag == "O" or prefix == "B" or (prefix == "I" and (current is None or current[0] != label)):
            if current is not None:
                spans.append((current[0], current[1], i))
                current = None
            if tag != "O":
                current = [label if label else tag, i]
    return spans


def agreement(a, b):
    """Dice agreement of two entity collections: 2|A∩B| / (|A| + |B|); 1.0
    when both are empty."""
    a, b = set(a), set(b)
    if not a and not b:
        return 1.0
    return 2 * len(a & b) / (len(a) + len(b))


# --------------------------------------------------------------------------
# The transformers pipeline, optionally word-aware for bare "▁" pieces
# --------------------------------------------------------------------------

def make_pipeline(model, tokenizer, batch_size=1, stride=None, both=True):
    """A token-classification pipeline with aggregation "first".

    XLM-R's tokenizer splits some words into a bare ``▁`` piece plus the rest
    of the word, and the stock pipeline's word heuristic (a piece starts a
    word when a space precedes its first character) then sees two words:
    both pieces start at the same character. The "fixed" grouping joins such
    a piece to the bare ``▁`` before it, so every whitespace word is labelled
    from its real first piece, as the engine does.

    With ``both`` each result is ``{"stock": entities, "fixed": entities}``.
    Without it the pipeline returns exactly what ``pipeline(
    "token-classification", aggregation_strategy="first")`` returns, and
    keeps the model outputs so that :func:`fixed_results` can compute the
    fixed grouping afterwards, outside any timing.
    """
    from transformers import TokenClassificationPipeline

    class FirstPiecePipeline(TokenClassificationPipeline):
        """See :func:`make_pipeline`."""

        fix_bare_piece = False

        def gather_pre_entities(self, *args, **kwargs):
            pre = super().gather_pre_entities(*args, **kwargs)
            if self.fix_bare_piece:
                for prev, cur in itertools.pairwise(pre):
                    if prev["word"] == "▁" and cur["start"] == prev["start"] and not cur["is_subword"]:
                        cur["is_subword"] = True
            return pre

        def postprocess(self, all_outputs, **kwargs):
            if not both:
                self.kept.append((all_outputs, kwargs))
                return super().postprocess(all_outputs, **kwargs)
            stock = super().postprocess(all_outputs, **kwargs)
            self.fix_bare_piece = True
            fixed = super().postprocess(all_outputs, **kwargs)
            self.fix_bare_piece = False
            return {"stock": stock, "fixed": fixed}

        def postprocess_fixed(self, all_outputs, **kwargs):
            """The stock post-processing with the fixed word grouping."""
            self.fix_bare_piece = True
            try:
                return TokenClassificationPipeline.postprocess(self, all_outputs, **kwargs)
            finally:
                self.fix_bare_piece = False

    kwargs = {"aggregation_strategy": "first"}
    if stride is not None:
        kwargs["stride"] = stride
    pipe = FirstPiecePipeline(model=model, tokenizer=tokenizer, device=-1,
                              batch_size=batch_size, **kwargs)
    pipe.kept = []
    return pipe


def fixed_results(pipe):
    """The fixed grouping (see :func:`make_pipeline`) of every text a
    ``both=False`` pipeline has processed, in order."""
    return [pipe.postprocess_fixed(outputs, **kwargs) for outputs, kwargs in pipe.kept]


def pipeline_entities(result):
    """(label, start, end) triples of one pipeline result list."""
    return [(e["entity_group"], int(e["start"]), int(e["end"])) for e in result]


def engine_entities(doc):
    """(label, start, end) triples of one engine JSONL object."""
    return [(e["label"], int(e["start"]), int(e["end"])) for e in doc.get("entities", [])]


def add_model_args(p):
    """The --model, --base and --bin options every comparison script takes."""
    p.add_argument("--model", help="Hugging Face token-classification folder "
                   "(default: ../runs/default-v1 when present, else a random-head test model)")
    p.add_argument("--base", default=default_base(),
                   help="base model for the random-head test model (default: %(default)s)")
    p.add_argument("--bin", default=DEFAULT_BIN, help="arabic-ner binary (default: %(default)s)")
