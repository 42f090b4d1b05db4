"""Shared fixtures: the repository, the labelled data beside it, the CLI and
its output on the ANERcorp test sentences.

Tests that need something absent (the data, the CLI binary, Java) are
skipped with the reason; with ARABIC_NER_TESTS_STRICT=1 (as .ci/run sets)
they fail instead, so that nothing is skipped silently in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
SHIPPED_MODEL = REPO / "models" / "arabic-ner-e5-small"


def missing(reason: str) -> None:
    """Skips the test, or fails it in strict mode."""
    if os.environ.get("ARABIC_NER_TESTS_STRICT") == "1":
        pytest.fail(f"{reason} (strict mode: nothing may be skipped)")
    pytest.skip(reason)


def conll_sentences(path: Path) -> list:
    """Sentences of a CoNLL file, words joined by spaces: one a line, as
    `awk` builds them from the first column."""
    sentences, words = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if not fields:
                if words:
                    sentences.append(" ".join(words))
                words = []
            else:
                words.append(fields[0])
    if words:
        sentences.append(" ".join(words))
    return sentences


@pytest.fixture(scope="session")
def anercorp_test() -> list:
    path = DATA / "anercorp" / "test.txt"
    if not path.is_file():
        missing(f"no ANERcorp test data at {path}")
    return conll_sentences(path)


@pytest.fixture(scope="session")
def anercorp_file(anercorp_test, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("anercorp") / "test-lines.txt"
    path.write_text("\n".join(anercorp_test) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def cli() -> Path:
    """The `arabic-ner` binary: ARABIC_NER_CLI, else the release build."""
    given = os.environ.get("ARABIC_NER_CLI")
    path = Path(given) if given else REPO / "target" / "release" / "arabic-ner"
    if not path.is_file():
        missing(f"no arabic-ner binary at {path} (cargo build --release)")
    return path


def run_cli(cli: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ARABIC_NER_MODEL"}
    return subprocess.run(
        [str(cli), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        check=check,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session")
def cli_entities(cli, anercorp_file, anercorp_test) -> list:
    """The CLI's entities of each ANERcorp test sentence, in line order."""
    out = run_cli(
        cli, "tag", "--lines", "--format", "jsonl", "--model", str(SHIPPED_MODEL), str(anercorp_file)
    ).stdout
    by_line = {}
    for row in out.splitlines():
        obj = json.loads(row)
        by_line[obj["line"]] = obj["entities"]
    # Every line is reported, entities or not.
    assert sorted(by_line) == list(range(1, len(anercorp_test) + 1))
    return [by_line[i] for i in range(1, len(anercorp_test) + 1)]


def cli_view(e: dict) -> tuple:
    """An entity of the CLI's JSON as comparable fields (score apart)."""
    date = None
    if "value" in e:
        date = (e["value"], e["calendar"], e.get("gregorian"))
    return (e["label"], e["text"], e["start"], e["end"], e["byte_start"], e["byte_end"], e.get("country"), date)


def py_view(e) -> tuple:
    date = None if e.date is None else (e.date.value, e.date.calendar, e.date.gregorian)
    return (e.label, e.text, e.start, e.end, e.byte_start, e.byte_end, e.country, date)


def assert_same_entities(ours: list, theirs: list, what: str) -> int:
    """Equal entity for entity, scores within 1e-6; returns the count."""
    assert len(ours) == len(theirs), f"{what}: {len(ours)} documents, expected {len(theirs)}"
    n = 0
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert [x[0] for x in a] == [cli_view(e) for e in b], f"{what}: document {i + 1} differs"
        for (_, score), e in zip(a, b):
            assert abs(score - e["score"]) <= 1e-6, f"{what}: document {i + 1}: score {score} vs {e['score']}"
        n += len(b)
    return n


@pytest.fixture(scope="session")
def tagger():
    import arabic_ner

    return arabic_ner.Tagger()


def java_available() -> bool:
    return shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))


def pytest_sessionfinish(session, exitstatus):
    """In strict mode a skipped test (a missing optional dependency too)
    fails the run."""
    if os.environ.get("ARABIC_NER_TESTS_STRICT") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and session.exitstatus == 0:
        reporter.write_line(f"strict mode: {len(skipped)} skipped, counted as a failure")
        session.exitstatus = 1
