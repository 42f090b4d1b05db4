"""The spaCy component, registered through the package's entry point."""

import subprocess
import sys

import pytest

spacy = pytest.importorskip("spacy")
from spacy import displacy  # noqa: E402

import arabic_ner  # noqa: E402

# A news paragraph written for this test.
PARAGRAPH = (
    "أعلنت وزارة الخارجية الأردنية يوم الأحد 5 مارس 2023 أن الوزير أيمن الصفدي "
    "سيزور بغداد الأسبوع المقبل، في جولة تشمل العراق والكويت. وقال مسؤول في "
    "جامعة الدول العربية إن الزيارة ستبحث مع البنك الدولي تمويل مشاريع المياه، "
    "وإن وفدا من فرنسا وألمانيا سيحضر الاجتماع في عمان."
)


@pytest.fixture(scope="module")
def nlp():
    nlp = spacy.blank("ar")
    nlp.add_pipe("arabic_ner")
    return nlp


def test_entry_point_registers_the_factory():
    # A fresh interpreter that never imports the component module itself.
    code = (
        "import spacy\n"
        "nlp = spacy.blank('ar')\n"
        "nlp.add_pipe('arabic_ner')\n"
        "print(len(nlp('زار الرئيس الفرنسي إيمانويل ماكرون القاهرة').ents))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout.strip()) >= 2


def test_doc_ents_follow_the_tagger(nlp):
    doc = nlp(PARAGRAPH)
    expected = arabic_ner.Tagger().tag(PARAGRAPH)
    assert len(doc.ents) >= 8
    by_text = {e.text: e for e in expected}
    for span in doc.ents:
        entity = by_text[span._.ner_text]
        assert span.label_ == entity.label
        # The span covers the entity, grown at most to whole tokens.
        assert span.start_char <= entity.start and entity.end <= span.end_char
        assert span._.ner_offsets == (entity.start, entity.end)
        assert PARAGRAPH[entity.start : entity.end] in span.text
        assert span._.ner_score == entity.score
    labels = {s.label_ for s in doc.ents}
    assert {"PER", "ORG", "LOC", "DATE"} <= labels
    # Every entity the tagger found is on the doc (none overlap here).
    assert len(doc.ents) == len(expected)


def test_extensions_carry_country_and_date(nlp):
    doc = nlp(PARAGRAPH)
    ents = {s.text: s for s in doc.ents}
    assert ents["العراق"]._.country == "IQ"
    assert ents["بغداد"]._.country is None
    dates = [s for s in doc.ents if s.label_ == "DATE" and s._.date_value]
    assert any(s._.date_value == "2023-03-05" and s._.date_calendar == "gregorian" for s in dates)


def test_expand_alignment_where_a_token_holds_a_clitic(nlp):
    doc = nlp(PARAGRAPH)
    # "والكويت" is one spaCy token; the tagger's entity is "الكويت".
    span = next(s for s in doc.ents if s._.ner_text == "الكويت")
    assert span.text == "والكويت"
    assert span.label_ == "LOC" and span._.country == "KW"


def test_pipe_matches_call(nlp):
    texts = [PARAGRAPH, "زار ماكرون القاهرة", "", "لا أسماء هنا"]
    piped = [[(s.start_char, s.end_char, s.label_) for s in d.ents] for d in nlp.pipe(texts, batch_size=3)]
    called = [[(s.start_char, s.end_char, s.label_) for s in nlp(t).ents] for t in texts]
    assert piped == called


def test_displacy_renders_the_entities(nlp):
    doc = nlp(PARAGRAPH)
    html = displacy.render(doc, style="ent", page=True)
    for span in doc.ents:
        assert span.text in html
    assert "direction: rtl" in html
    for label in ("PER", "ORG", "LOC", "DATE"):
        assert label in html


def test_factory_options(nlp):
    only = spacy.blank("ar")
    only.add_pipe("arabic_ner", config={"labels": ["LOC"], "threads": 1})
    doc = only(PARAGRAPH)
    assert doc.ents and {s.label_ for s in doc.ents} == {"LOC"}
    with pytest.raises(ValueError):
        spacy.blank("ar").add_pipe("arabic_ner", config={"labels": ["NOPE"]})
