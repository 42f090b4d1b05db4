"""The package finds what the command line finds: same entities, offsets,
scores, countries and dates on the ANERcorp test sentences."""

import arabic_ner
from conftest import assert_same_entities, py_view


def test_tag_batch_equals_the_cli(tagger, anercorp_test, cli_entities):
    ours = tagger.tag_batch(anercorp_test)
    n = assert_same_entities(
        [[(py_view(e), e.score) for e in doc] for doc in ours], cli_entities, "tag_batch"
    )
    # The comparison covers every kind of value the CLI reports.
    assert n > 1000
    flat = [e for doc in cli_entities for e in doc]
    assert {e["label"] for e in flat} >= {"PER", "ORG", "LOC", "MISC"}
    assert any("country" in e for e in flat)
    assert any("value" in e for e in flat)


def test_tag_equals_tag_batch(tagger, anercorp_test, cli_entities):
    # One text at a time runs other batches: the results stay the same.
    sample = anercorp_test[::40]
    expected = cli_entities[::40]
    ours = [tagger.tag(t) for t in sample]
    assert_same_entities([[(py_view(e), e.score) for e in doc] for doc in ours], expected, "tag")


def test_to_dict_carries_every_field(tagger, anercorp_test):
    for doc in tagger.tag_batch(anercorp_test[:200]):
        for e in doc:
            d = e.to_dict()
            assert d["label"] == e.label and d["text"] == e.text
            assert (d["start"], d["end"], d["byte_start"], d["byte_end"]) == (
                e.start,
                e.end,
                e.byte_start,
                e.byte_end,
            )
            assert d["score"] == e.score and d["country"] == e.country
            assert d["date"] == (None if e.date is None else e.date.to_dict())


def test_precision_f32_and_int8_give_the_same_entities(anercorp_test):
    # The default int8 products carry each activation in two bytes: on the
    # ANERcorp test sentences they give exactly the f32 entities.
    texts = anercorp_test[:300]
    key = lambda doc: [(e.label, e.start, e.end) for e in doc]  # noqa: E731
    f32 = [key(d) for d in arabic_ner.Tagger(precision="f32").tag_batch(texts)]
    int8 = [key(d) for d in arabic_ner.Tagger(precision="int8").tag_batch(texts)]
    assert sum(map(len, f32)) > 300
    assert int8 == f32
