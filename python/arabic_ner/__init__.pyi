import os
from datetime import date
from typing import Iterable, List, Optional, Union

__version__: str

class ModelError(Exception):
    """A model folder that is missing or cannot be loaded; the message names
    the file and the problem, as the command line prints it."""

class DateValue:
    """The normalized value of a date entity."""

    @property
    def value(self) -> str:
        """TIMEX3 / ISO 8601 style value: ``2022-01-13``, ``2022-H1``,
        ``XXXX-WXX-3``, ``2022-01-13/2022-01-14`` ..."""
    @property
    def calendar(self) -> str:
        """``"gregorian"`` or ``"hijri"``."""
    @property
    def gregorian(self) -> Optional[str]:
        """For Hijri values, the Gregorian day when known."""
    def to_dict(self) -> dict:
        """``{"value": ..., "calendar": ..., "gregorian": ...}``."""

class Entity:
    """One named entity, a span of the tagged text:
    ``text == input[start:end]``."""

    @property
    def label(self) -> str:
        """``PER``, ``ORG``, ``LOC``, ``DATE``, ``MISC`` or a type of the model's own."""
    @property
    def text(self) -> str:
        """The entity as written in the input."""
    @property
    def start(self) -> int:
        """Index of the first character in the input ``str``."""
    @property
    def end(self) -> int:
        """Index one past the last character."""
    @property
    def byte_start(self) -> int:
        """First byte in the UTF-8 encoding of the input."""
    @property
    def byte_end(self) -> int:
        """One past the last byte."""
    @property
    def score(self) -> float:
        """Mean probability of the entity's word labels."""
    @property
    def country(self) -> Optional[str]:
        """ISO 3166-1 alpha-2 code when a place names a sovereign state."""
    @property
    def date(self) -> Optional[DateValue]:
        """The normalized value of a date, when the text allows one."""
    def to_dict(self) -> dict:
        """The entity as a dict of plain values (``date`` a dict or ``None``)."""

class Tagger:
    """A model loaded once, to tag many texts; safe to share between threads.

    ``model``: a model folder or a Hugging Face Hub id ``org/name[@revision]``;
    ``None`` is the model shipped with the package. ``threads``: threads to
    run on (default: one a core). ``batch_size``: windows run through the
    model together (default 32). ``labels``: keep only these types
    (``COUNTRY`` keeps places that name a state). ``min_score``: drop
    entities scored below it. ``aggregation``: ``"first"``, ``"average"`` or
    ``"max"``. ``decoding``: ``"viterbi"`` or ``"argmax"``.
    ``reference_date``: ``"YYYY-MM-DD"`` or a ``datetime.date`` that relative
    dates (اليوم, أمس) are resolved against. ``precision``: ``"int8"``
    (default; the same entities as ``"f32"``), ``"int8-fast"`` or ``"f32"``,
    the number format of the encoder's products.
    """

    def __init__(
        self,
        model: Union[str, os.PathLike[str], None] = None,
        *,
        threads: Optional[int] = None,
        batch_size: Optional[int] = None,
        labels: Union[str, Iterable[str], None] = None,
        min_score: Optional[float] = None,
        aggregation: Optional[str] = None,
        decoding: Optional[str] = None,
        reference_date: Union[str, date, None] = None,
        precision: Optional[str] = None,
    ) -> None: ...
    def tag(self, text: str) -> List[Entity]:
        """Entities of one text, in order of position."""
    def tag_batch(self, texts: Iterable[str]) -> List[List[Entity]]:
        """Entities of each text, run through the model together."""
    @property
    def entity_types(self) -> List[str]:
        """Entity types the model finds."""
    @property
    def threads(self) -> int:
        """Threads the tagger runs on."""
    @property
    def model_dir(self) -> str:
        """The model folder the tagger was loaded from."""
