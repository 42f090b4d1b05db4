"""The spaCy pipeline component ``"arabic_ner"``.

Registered through the ``spacy_factories`` entry point, so that after
installing the package (``pip install arabic-ner[spacy]``)::

    nlp = spacy.blank("ar")
    nlp.add_pipe("arabic_ner")
    doc = nlp("زار ماكرون القاهرة")
    [(e.text, e.label_) for e in doc.ents]

The tagger reads ``doc.text`` and its entities become ``doc.ents``. Where
spaCy's tokens cut an entity (``وفرنسا`` is one token, the entity ``فرنسا``),
the span grows to whole tokens (``alignment_mode="expand"``); the entity's
own text and offsets stay on the span's extensions. Extensions on ``Span``:
``country`` (ISO code of a place that names a state), ``date_value`` and
``date_calendar`` (of a date), ``ner_score``, ``ner_text`` and
``ner_offsets`` (the entity exactly, as ``Tagger.tag`` returns it).
"""

from __future__ import annotations

from typing import Iterable, Iterator, List, Optional, Sequence, Union

from spacy.language import Language
from spacy.tokens import Doc, Span

from ._native import Entity, Tagger

EXTENSIONS = ("country", "date_value", "date_calendar", "ner_score", "ner_text", "ner_offsets")

for _name in EXTENSIONS:
    if not Span.has_extension(_name):
        Span.set_extension(_name, default=None)


class ArabicNER:
    """Sets ``doc.ents`` from the arabic-ner tagger."""

    def __init__(
        self,
        nlp: Language,
        name: str = "arabic_ner",
        *,
        model: Optional[str] = None,
        threads: Optional[int] = None,
        batch_size: Optional[int] = None,
        labels: Union[str, Sequence[str], None] = None,
        min_score: Optional[float] = None,
        reference_date: Optional[str] = None,
    ) -> None:
        self.name = name
        self.tagger = Tagger(
            model,
            threads=threads,
            batch_size=batch_size,
            labels=labels,
            min_score=min_score,
            reference_date=reference_date,
        )

    @property
    def labels(self) -> List[str]:
        return self.tagger.entity_types

    def __call__(self, doc: Doc) -> Doc:
        return self._set(doc, self.tagger.tag(doc.text))

    def pipe(self, stream: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        batch: List[Doc] = []
        for doc in stream:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._tag_many(batch)
                batch = []
        if batch:
            yield from self._tag_many(batch)

    def _tag_many(self, docs: List[Doc]) -> Iterator[Doc]:
        results = self.tagger.tag_batch([d.text for d in docs])
        for doc, entities in zip(docs, results):
            yield self._set(doc, entities)

    @staticmethod
    def _set(doc: Doc, entities: List[Entity]) -> Doc:
        spans: List[Span] = []
        last_end = 0
        for e in entities:
            span = doc.char_span(e.start, e.end, label=e.label, alignment_mode="expand")
            # An entity within whitespace only has no tokens; two entities in
            # one token (rare) keep the first: doc.ents cannot overlap.
            if span is None or len(span) == 0 or span.start < last_end:
                continue
            last_end = span.end
            span._.country = e.country
            span._.date_value = e.date.value if e.date else None
            span._.date_calendar = e.date.calendar if e.date else None
            span._.ner_score = e.score
            span._.ner_text = e.text
            span._.ner_offsets = (e.start, e.end)
            spans.append(span)
        doc.ents = spans
        return doc


@Language.factory(
    "arabic_ner",
    default_config={
        "model": None,
        "threads": None,
        "batch_size": None,
        "labels": None,
        "min_score": None,
        "reference_date": None,
    },
)
def make_arabic_ner(
    nlp: Language,
    name: str,
    model: Optional[str],
    threads: Optional[int],
    batch_size: Optional[int],
    labels: Optional[List[str]],
    min_score: Optional[float],
    reference_date: Optional[str],
) -> ArabicNER:
    """The ``"arabic_ner"`` factory: options as ``arabic_ner.Tagger``'s."""
    return ArabicNER(
        nlp,
        name,
        model=model,
        threads=threads,
        batch_size=batch_size,
        labels=labels,
        min_score=min_score,
        reference_date=reference_date,
    )
