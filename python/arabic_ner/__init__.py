"""Named-entity recognition for Arabic, with the shipped model built in.

>>> import arabic_ner
>>> tagger = arabic_ner.Tagger()
>>> [(e.label, e.text) for e in tagger.tag("زار الرئيس الفرنسي إيمانويل ماكرون القاهرة")]
[('PER', 'إيمانويل ماكرون'), ('LOC', 'القاهرة')]

``Tagger`` loads a model once; ``tag`` and ``tag_batch`` return ``Entity``
objects whose ``start``/``end`` index the Python string. Errors: a model that
cannot be loaded raises ``ModelError``; a wrong argument type ``TypeError``;
a bad option value ``ValueError``.

The spaCy component is in ``arabic_ner.spacy_component`` (registered as
``"arabic_ner"``), the Spark column tagger in ``arabic_ner.spark``.
"""

from ._native import DateValue, Entity, ModelError, Tagger, __version__

__all__ = ["DateValue", "Entity", "ModelError", "Tagger", "__version__"]
