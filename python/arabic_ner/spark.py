"""Tagging a text column of a Spark DataFrame.

::

    from arabic_ner.spark import tag_column
    tagged = tag_column(df, "text", out="entities")

adds a column ``entities`` of type
``array<struct<label, text, start, end, score, country, date>>`` (``date`` a
``struct<value, calendar, gregorian>``, null when the entity has no date
value; ``entities`` null where the text is null). The job runs with
``mapInArrow``: each Python worker process loads one ``Tagger`` (the model
comes with the installed package) the first time it needs it and keeps it
for every batch and task it runs after.

Spark runs one task per core, so each task's tagger uses ``threads=1``
unless told otherwise; give ``threads=k`` with ``spark.task.cpus=k``.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple, Union

from ._native import Tagger

__all__ = ["ENTITIES_DDL", "entities_type", "tag_column", "worker_tagger"]

ENTITIES_DDL = (
    "array<struct<label: string, text: string, start: int, end: int, score: double, "
    "country: string, date: struct<value: string, calendar: string, gregorian: string>>>"
)

# One tagger per Python process and set of options: loaded on first use in a
# worker, kept while the worker lives (Spark reuses its Python workers).
_TAGGERS: Dict[Tuple[Any, ...], Tagger] = {}
_LOCK = threading.Lock()


def worker_tagger(**options: Any) -> Tagger:
    """The process's tagger for these options, loaded once."""
    # Options left at None are the defaults: the same tagger with or without them.
    key = tuple(sorted((k, _hashable(v)) for k, v in options.items() if v is not None))
    with _LOCK:
        tagger = _TAGGERS.get(key)
        if tagger is None:
            tagger = Tagger(**options)
            _TAGGERS[key] = tagger
        return tagger


def _hashable(v: Any) -> Any:
    if isinstance(v, (list, set, tuple)):
        return tuple(sorted(v)) if isinstance(v, set) else tuple(v)
    return v


def entities_type():
    """The Spark type of the output column."""
    from pyspark.sql.types import _parse_datatype_string

    return _parse_datatype_string(ENTITIES_DDL)


def _arrow_type():
    import pyarrow as pa

    date = pa.struct(
        [("value", pa.string()), ("calendar", pa.string()), ("gregorian", pa.string())]
    )
    entity = pa.struct(
        [
            ("label", pa.string()),
            ("text", pa.string()),
            ("start", pa.int32()),
            ("end", pa.int32()),
            ("score", pa.float64()),
            ("country", pa.string()),
            ("date", date),
        ]
    )
    return pa.list_(entity)


def _rows(entities) -> list:
    return [
        {
            "label": e.label,
            "text": e.text,
            "start": e.start,
            "end": e.end,
            "score": e.score,
            "country": e.country,
            "date": None
            if e.date is None
            else {"value": e.date.value, "calendar": e.date.calendar, "gregorian": e.date.gregorian},
        }
        for e in entities
    ]


def tag_column(
    df,
    column: str,
    out: str = "entities",
    *,
    threads: Optional[int] = 1,
    model: Optional[str] = None,
    batch_size: Optional[int] = None,
    labels: Union[str, Sequence[str], None] = None,
    min_score: Optional[float] = None,
    reference_date: Optional[str] = None,
    aggregation: Optional[str] = None,
    decoding: Optional[str] = None,
    precision: Optional[str] = None,
):
    """``df`` with a column ``out`` of the entities of its string column
    ``column``. Options are ``arabic_ner.Tagger``'s; ``threads`` are per
    task (default 1: Spark already runs a task per core). ``model`` must be a
    path every executor can read, or ``None`` for the built-in model."""
    from pyspark.sql.types import StringType, StructField, StructType

    if column not in df.columns:
        raise ValueError(f"no column {column!r} in the DataFrame (it has {', '.join(df.columns)})")
    if not isinstance(df.schema[column].dataType, StringType):
        raise TypeError(f"column {column!r} is {df.schema[column].dataType.simpleString()}, not string")
    if out in df.columns:
        raise ValueError(f"the DataFrame already has a column {out!r}; choose another out=")
    options: Dict[str, Any] = {
        "model": model,
        "threads": threads,
        "batch_size": batch_size,
        "labels": list(labels) if labels is not None and not isinstance(labels, str) else labels,
        "min_score": min_score,
        "reference_date": reference_date,
        "aggregation": aggregation,
        "decoding": decoding,
        "precision": precision,
    }
    # Options are checked here, on the driver, so that a bad one fails the
    # call rather than every task.
    worker_tagger(**options)
    schema = StructType(df.schema.fields + [StructField(out, entities_type(), True)])

    def tag_batches(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        tagger = worker_tagger(**options)
        arrow_type = _arrow_type()
        for batch in batches:
            texts = batch.column(batch.schema.get_field_index(column)).to_pylist()
            present = [t for t in texts if t is not None]
            found = iter(tagger.tag_batch(present))
            values = [None if t is None else _rows(next(found)) for t in texts]
            entities = pa.array(values, type=arrow_type)
            yield pa.RecordBatch.from_arrays(
                list(batch.columns) + [entities], names=list(batch.schema.names) + [out]
            )

    return df.mapInArrow(tag_batches, schema)
