"""Fixtures: the demo study copied to a temporary folder (coded once per session), and small
projects written by the tests themselves."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SMALL_CODEBOOK = """\
name: small
themes:
  - id: learning
    label: Learning together (co-producing knowledge)
    aliases: [together]
    codes:
      - id: learn
        label: Learning
        definition: Members say what they learned.
        cues:
          keywords: [learn, {phrase: training, exact: true}]
          patterns:
            - [{LOWER: read}, {LOWER: about}]
          exclude: [learning disability]
  - id: barriers
    label: Barriers to taking part
    codes:
      - id: time
        label: No time
        definition: Members say they had no time.
        cues:
          keywords: [workload, no time]
"""


def copy_demo(destination: Path) -> Path:
    for name in ("transcripts", "codebooks"):
        shutil.copytree(ROOT / name, destination / name)
    for name in ("participants.csv", "copcode.yaml"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, destination / name)
    return destination


@pytest.fixture(scope="session")
def coded_demo(tmp_path_factory) -> Path:
    """A copy of the demo study, coded once; tests must not change it."""
    from copcode.coding import code_project
    from copcode.project import open_project

    root = copy_demo(tmp_path_factory.mktemp("demo"))
    code_project(open_project(root))
    return root


@pytest.fixture
def demo_copy(tmp_path) -> Path:
    """A fresh, uncoded copy of the demo study that a test may change."""
    return copy_demo(tmp_path / "demo")


@pytest.fixture
def small_project(tmp_path) -> Path:
    """Two short transcripts and a two-theme codebook."""
    root = tmp_path / "small"
    (root / "transcripts").mkdir(parents=True)
    (root / "codebooks").mkdir()
    (root / "codebooks" / "small.yaml").write_text(SMALL_CODEBOOK, encoding="utf-8")
    write(root / "transcripts" / "E01.txt", """\
        ---
        participant: E01
        cop: CC
        ---
        Interviewer: What did you learn from the group?

        E01: I learnt so much from the others. Carers know things nobody writes down.
        Then I went home and read about it.

        Interviewer: Anything else?

        E01: Mm-hmm. [laughs]
        """)
    write(root / "transcripts" / "P02.txt", """\
        INT: Did you go to every meeting?
        P02: No. My workload is huge, I had no time. The training we get is poor.
        INT: Thanks.
        """)
    return root


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def coded_small(small_project):
    """The small project coded, with its store open: (project, store, codebook)."""
    from copcode.coding import code_project, project_codebook
    from copcode.project import open_project
    from copcode.store import open_store

    project = open_project(small_project)
    code_project(project)
    store = open_store(project.store_path, create=False)
    yield project, store, project_codebook(project)
    store.close()


def list_identifiers(root: Path, identifiers: dict[str, str]) -> Path:
    """List `identifiers` (name -> replacement) in the copcode.yaml that `copcode init` wrote
    at `root`, where its commented example stands."""
    settings = root / "copcode.yaml"
    listed = "\n".join(f'    "{name}": "{replacement}"' for name, replacement in identifiers.items())
    text = settings.read_text(encoding="utf-8")
    assert '    # "Firstname Surname": "[name]"' in text
    settings.write_text(text.replace('    # "Firstname Surname": "[name]"', listed), encoding="utf-8")
    return root


# What each migration added (store.MIGRATIONS), taken away again, newest first.
UNDO = {
    7: "DROP TABLE shown",
    6: "ALTER TABLE decisions DROP COLUMN span_start; ALTER TABLE decisions DROP COLUMN span_end",
    5: "DROP TABLE coded",
    4: "DROP TABLE participants; ALTER TABLE segments DROP COLUMN participant; "
       "ALTER TABLE turns DROP COLUMN participant",
}


def store_as_of(root: Path, schema: int) -> None:
    """Make the store at `root` one an older copcode of `schema` wrote: what the migrations
    after it added is taken away (an older store to read and migrate)."""
    import sqlite3

    from copcode.store import SCHEMA

    assert set(UNDO) == set(range(min(UNDO), SCHEMA + 1))  # a new migration needs its undo here
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    try:
        db.executescript("; ".join(UNDO[n] for n in range(SCHEMA, schema, -1)) + f"; PRAGMA user_version = {schema};")
    finally:
        db.close()
