"""The model travels inside the package: Tagger() needs no path, no
environment variable and no network."""

import os
import subprocess
import sys

from conftest import SHIPPED_MODEL, py_view

import arabic_ner

SAMPLE = "أعلنت وزارة الخارجية المصرية أن الوزير سامح شكري سيتوجه إلى باريس يوم 13 يناير 2022."


def test_builtin_model_equals_the_shipped_folder(tagger):
    assert tagger.model_dir != str(SHIPPED_MODEL)
    from_folder = arabic_ner.Tagger(str(SHIPPED_MODEL))
    assert from_folder.model_dir == str(SHIPPED_MODEL)
    a, b = tagger.tag(SAMPLE), from_folder.tag(SAMPLE)
    assert a and [py_view(e) for e in a] == [py_view(e) for e in b]


def test_fresh_process_elsewhere(tmp_path):
    # Another working folder, an empty cache, no model variable: the
    # built-in model is unpacked into the cache and tags.
    env = {k: v for k, v in os.environ.items() if k != "ARABIC_NER_MODEL"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["HF_HUB_OFFLINE"] = "1"
    code = (
        "import arabic_ner\n"
        "t = arabic_ner.Tagger()\n"
        "print(t.model_dir)\n"
        "print([(e.label, e.text) for e in t.tag('زار ماكرون القاهرة')])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    model_dir, entities = out.stdout.strip().splitlines()
    assert model_dir.startswith(str(tmp_path / "cache" / "arabic-ner"))
    assert "('LOC', 'القاهرة')" in entities


def test_model_variable_overrides(tmp_path):
    env = dict(os.environ, ARABIC_NER_MODEL=str(tmp_path / "elsewhere"))
    r = subprocess.run(
        [sys.executable, "-c", "import arabic_ner; arabic_ner.Tagger()"], env=env, capture_output=True, text=True
    )
    assert r.returncode != 0
    assert "arabic_ner.ModelError" in r.stderr and "elsewhere" in r.stderr
