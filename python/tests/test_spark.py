"""A Spark job in local[2] mode over a Parquet file of the ANERcorp test
sentences gives the CLI's entities."""

import os
import sys

import pytest

pytest.importorskip("pyspark")
pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402

from conftest import assert_same_entities, java_available, missing  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    if not java_available():
        missing("no Java runtime for Spark (apt-get install openjdk-17-jre-headless)")
    import signal

    from pyspark.sql import SparkSession

    sigint = signal.getsignal(signal.SIGINT)
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("arabic-ner-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    yield session
    session.stop()
    # The session's Ctrl-C handler needs the session: put Python's back.
    signal.signal(signal.SIGINT, sigint)


def spark_view(row):
    date = None if row["date"] is None else (row["date"]["value"], row["date"]["calendar"], row["date"]["gregorian"])
    return (row["label"], row["text"], row["start"], row["end"], row["country"], date)


def cli_short(e):
    date = (e["value"], e["calendar"], e.get("gregorian")) if "value" in e else None
    return (e["label"], e["text"], e["start"], e["end"], e.get("country"), date)


def test_tag_column_equals_the_cli(spark, anercorp_test, cli_entities, tmp_path):
    from arabic_ner.spark import tag_column

    path = tmp_path / "sentences.parquet"
    ids = list(range(len(anercorp_test)))
    pq.write_table(pa.table({"id": ids, "text": anercorp_test}), path, row_group_size=200)
    df = spark.read.parquet(str(path)).repartition(4)
    tagged = tag_column(df, "text", out="entities")
    assert tagged.schema["entities"].dataType.simpleString().startswith(
        "array<struct<label:string,text:string,start:int,end:int,score:double,country:string,date:struct<"
    )
    rows = sorted(tagged.collect(), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == ids
    assert [r["text"] for r in rows] == anercorp_test
    ours = [[(spark_view(e), e["score"]) for e in r["entities"]] for r in rows]
    n = 0
    for i, (a, b) in enumerate(zip(ours, cli_entities)):
        assert [x[0] for x in a] == [cli_short(e) for e in b], f"sentence {i + 1} differs"
        assert all(abs(x[1] - e["score"]) <= 1e-6 for x, e in zip(a, b))
        n += len(b)
    assert n > 1000


def test_nulls_and_bad_columns(spark):
    from arabic_ner.spark import tag_column

    df = spark.createDataFrame([(1, "زار الرئيس الفرنسي إيمانويل ماكرون القاهرة"), (2, None), (3, "")], "id int, text string")
    rows = {r["id"]: r["entities"] for r in tag_column(df, "text").collect()}
    assert rows[2] is None and rows[3] == []
    assert [(e["label"], e["text"]) for e in rows[1]] == [("PER", "إيمانويل ماكرون"), ("LOC", "القاهرة")]
    with pytest.raises(ValueError, match="no column 'body'"):
        tag_column(df, "body")
    with pytest.raises(TypeError, match="not string"):
        tag_column(df, "id")
    with pytest.raises(ValueError, match="already has a column 'text'"):
        tag_column(df, "text", out="text")
    with pytest.raises(ValueError, match="unknown aggregation"):
        tag_column(df, "text", aggregation="mean")


def test_one_tagger_per_worker(spark):
    # Many small batches in many tasks: every batch of a worker process gets
    # the same tagger, loaded once.
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "5")
    try:
        df = spark.createDataFrame([(i, "زار ماكرون القاهرة") for i in range(400)], "id int, text string")
        df = df.repartition(8)

        def probe(batches):
            import os as _os

            import pyarrow as _pa

            from arabic_ner import spark as s

            for b in batches:
                t = s.worker_tagger(model=None, threads=1)
                n = len(t.tag_batch(b.column(1).to_pylist()))
                yield _pa.RecordBatch.from_pydict(
                    {"pid": [_os.getpid()], "tagger": [id(t)], "rows": [n]}
                )

        rows = df.mapInArrow(probe, "pid long, tagger long, rows long").collect()
    finally:
        spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
    assert sum(r["rows"] for r in rows) == 400
    assert len(rows) >= 80
    pids = {r["pid"] for r in rows}
    assert len({(r["pid"], r["tagger"]) for r in rows}) == len(pids)
