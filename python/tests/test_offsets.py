"""Offsets index the Python string whatever it holds: characters beyond the
BMP, diacritics, tatweel, bidi marks, CRLF line ends."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import arabic_ner
from conftest import py_view

NAMES = ["القاهرة", "ماكرون", "الأمم المتحدة", "فرنسا", "بغداد", "محمد بن سلمان", "13 يناير 2022", "وزارة الخارجية"]
PIECES = NAMES + [
    "زار",
    "قال",
    "في",
    "إن",
    "😀",
    "👩‍👩‍👧",
    "𝔸",
    "\U0001F1EA\U0001F1EC",
    "\u064e",
    "\u0651",
    "\u0640",
    "\u200f",
    "\u200d",
    "\ufeff",
    "\r\n",
    "\n",
    "\t",
    " ",
    "  ",
    ".",
    "،",
    "ﻻ",
    "١٢",
    "abc",
    "é",
]


def check(text, entities):
    raw = text.encode("utf-8")
    last = 0
    for e in entities:
        assert text[e.start : e.end] == e.text
        assert raw[e.byte_start : e.byte_end].decode("utf-8") == e.text
        assert len(text[: e.start].encode("utf-8")) == e.byte_start
        assert e.start < e.end and e.start >= last, "entities are in order and never overlap"
        last = e.end
        assert 0.0 <= e.score <= 1.0


def test_offsets_after_characters_beyond_the_bmp(tagger):
    base = "زار الرئيس الفرنسي إيمانويل ماكرون القاهرة أمس"
    plain = tagger.tag(base)
    assert [e.text for e in plain] == ["إيمانويل ماكرون", "القاهرة"]
    prefix = "😀👩‍👩‍👧 𝔸\r\n"
    shifted = tagger.tag(prefix + base)
    assert [e.text for e in shifted] == [e.text for e in plain]
    for a, b in zip(plain, shifted):
        assert b.start - a.start == len(prefix)
        assert b.byte_start - a.byte_start == len(prefix.encode("utf-8"))
    check(prefix + base, shifted)


def test_diacritics_and_tatweel_stay_in_the_entity_text(tagger):
    text = "وصل الوفد إلى القـــاهِرَة صباحا\r\nثم زار بَغْدَاد"
    entities = tagger.tag(text)
    check(text, entities)
    texts = [e.text for e in entities]
    assert "القـــاهِرَة" in texts
    assert "بَغْدَاد" in texts


def test_crlf_documents(tagger):
    lines = ["زار ماكرون القاهرة", "وقال إن فرنسا تدعم مصر"]
    text = "\r\n".join(lines) + "\r\n"
    entities = tagger.tag(text)
    check(text, entities)
    assert {"ماكرون", "القاهرة", "فرنسا", "مصر"} <= {e.text for e in entities}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(PIECES), max_size=40).map(lambda parts: " ".join(parts) if len(parts) % 2 else "".join(parts)))
def test_offsets_on_hostile_mixtures(tagger, text):
    check(text, tagger.tag(text))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_any_text_is_tagged_without_error(tagger, text):
    check(text, tagger.tag(text))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=30).map("".join), max_size=8))
def test_batch_offsets_match_single_texts(tagger, texts):
    batch = tagger.tag_batch(texts)
    assert len(batch) == len(texts)
    for text, entities in zip(texts, batch):
        check(text, entities)
        alone = tagger.tag(text)
        assert [py_view(e) for e in entities] == [py_view(e) for e in alone]
        assert all(abs(a.score - b.score) <= 1e-6 for a, b in zip(entities, alone))


def test_lone_surrogate_is_a_value_error(tagger):
    with pytest.raises(ValueError):
        tagger.tag("القاهرة \ud800")


def test_repr_and_types(tagger):
    e = tagger.tag("زار ماكرون فرنسا")[-1]
    assert isinstance(e, arabic_ner.Entity)
    r = repr(e)
    assert r.startswith("Entity(label='LOC', text='فرنسا'") and "country='FR'" in r
    d = tagger.tag("ولد في 13 يناير 2022")
    dates = [x for x in d if x.label == "DATE"]
    assert dates and dates[0].date is not None
    assert dates[0].date.value == "2022-01-13" and dates[0].date.calendar == "gregorian"
    assert "date=DateValue(value='2022-01-13'" in repr(dates[0])
