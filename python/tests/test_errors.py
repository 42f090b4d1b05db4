"""Errors a caller can handle: ModelError with the CLI's message, TypeError
for arguments of the wrong type, ValueError for bad option values."""

import datetime
import json
import shutil

import pytest

import arabic_ner
from conftest import SHIPPED_MODEL, run_cli


def cli_error(cli, model) -> str:
    r = run_cli(cli, "tag", "--model", str(model), "-", check=False)
    assert r.returncode == 4, r.stderr
    line = r.stderr.strip()
    assert "\n" not in line
    prefix = "arabic-ner: error: "
    assert line.startswith(prefix)
    return line[len(prefix) :]


def test_missing_model_folder(cli, tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(arabic_ner.ModelError) as err:
        arabic_ner.Tagger(str(missing))
    assert str(err.value) == cli_error(cli, missing)
    assert str(missing) in str(err.value)


def broken_copies(tmp_path):
    """Model folders broken in the ways users break them."""
    def copy(name):
        dst = tmp_path / name
        shutil.copytree(SHIPPED_MODEL, dst)
        return dst

    no_config = copy("no-config")
    (no_config / "config.json").unlink()
    yield no_config

    bad_json = copy("bad-json")
    (bad_json / "config.json").write_text('{"hidden_size": 384,', encoding="utf-8")
    yield bad_json

    no_labels = copy("no-labels")
    cfg = json.loads((no_labels / "config.json").read_text(encoding="utf-8"))
    cfg.pop("id2label", None)
    cfg.pop("label2id", None)
    (no_labels / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    yield no_labels

    cut_weights = copy("cut-weights")
    data = (cut_weights / "model.safetensors").read_bytes()
    (cut_weights / "model.safetensors").write_bytes(data[: len(data) // 2])
    yield cut_weights

    no_tokenizer = copy("no-tokenizer")
    (no_tokenizer / "tokenizer.json").unlink()
    yield no_tokenizer


def test_broken_model_folders(cli, tmp_path):
    seen = set()
    for folder in broken_copies(tmp_path):
        with pytest.raises(arabic_ner.ModelError) as err:
            arabic_ner.Tagger(folder)  # an os.PathLike works as well as a str
        message = str(err.value)
        assert message == cli_error(cli, folder), folder.name
        assert "\n" not in message and str(folder) in message
        seen.add(message)
    assert len(seen) == 5, "each breakage has its own message"


def test_model_error_is_not_a_value_error():
    assert issubclass(arabic_ner.ModelError, Exception)
    assert not issubclass(arabic_ner.ModelError, (ValueError, TypeError))


@pytest.mark.parametrize("bad", [None, 3, b"\xd8\xa7", ["نص"], 1.5])
def test_tag_takes_a_str(tagger, bad):
    with pytest.raises(TypeError, match="text must be a str"):
        tagger.tag(bad)


def test_tag_batch_takes_an_iterable_of_str(tagger):
    with pytest.raises(TypeError, match="not one str"):
        tagger.tag_batch("نص واحد")
    with pytest.raises(TypeError, match="iterable of str"):
        tagger.tag_batch(5)
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str, not int"):
        tagger.tag_batch(["نص", 7])
    with pytest.raises(TypeError, match=r"texts\[0\] must be a str, not NoneType"):
        tagger.tag_batch([None])
    # Any iterable works, a generator included; nothing in, nothing out.
    assert len(tagger.tag_batch(t for t in ["زار ماكرون القاهرة", ""])) == 2
    assert tagger.tag_batch([]) == []


@pytest.mark.parametrize(
    "options, message",
    [
        ({"threads": 0}, "threads must be at least 1"),
        ({"batch_size": -3}, "batch_size must be at least 1"),
        ({"min_score": 1.5}, "min_score must be between 0 and 1"),
        ({"min_score": float("nan")}, "min_score must be between 0 and 1"),
        ({"aggregation": "mean"}, "unknown aggregation"),
        ({"decoding": "beam"}, "unknown decoding"),
        ({"precision": "int4"}, "unknown precision"),
        ({"reference_date": "2022-13-01"}, "reference_date"),
        ({"labels": ["PER", "PERSON"]}, r"^labels: the model has no type PERSON \(it has .*PER"),
        ({"labels": []}, "labels is empty"),
        ({"model": ""}, "model is an empty string"),
    ],
)
def test_bad_options_are_value_errors(options, message):
    with pytest.raises(ValueError, match=message):
        arabic_ner.Tagger(**options)


@pytest.mark.parametrize(
    "options",
    [{"threads": "2"}, {"threads": True}, {"batch_size": 2.0}, {"min_score": "high"}, {"decoding": 1}, {"precision": 8}, {"reference_date": 20220113}, {"labels": 3}, {"model": 3}],
)
def test_options_of_the_wrong_type_are_type_errors(options):
    with pytest.raises(TypeError):
        arabic_ner.Tagger(**options)


def test_options_take_effect():
    text = "وصل ماكرون إلى القاهرة مساء أمس ثم عاد إلى فرنسا"
    only_places = arabic_ner.Tagger(labels="LOC").tag(text)
    assert only_places and {e.label for e in only_places} == {"LOC"}
    countries = arabic_ner.Tagger(labels=["COUNTRY"]).tag(text)
    assert [e.text for e in countries] == ["فرنسا"]
    dated = arabic_ner.Tagger(reference_date=datetime.date(2022, 1, 13)).tag(text)
    assert [e.date.value for e in dated if e.label == "DATE"] == ["2022-01-12TEV"]
    assert all(e.date is None for e in arabic_ner.Tagger().tag(text) if e.label == "DATE")
    everything = arabic_ner.Tagger().tag(text)
    strict = arabic_ner.Tagger(min_score=0.999).tag(text)
    assert all(e.score >= 0.999 for e in strict)
    assert len(strict) <= len(everything)
