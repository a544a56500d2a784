"""The demo study: the corpus is what the README says it is, and coding it finds the poster's
quotes where the poster's authors placed them."""

import csv
import io
import sqlite3

import pytest
from typer.testing import CliRunner

from copcode.cli import app
from copcode.codebook import load_codebook
from copcode.ingest import read_transcripts
from copcode.project import open_project
from copcode.segment import word_count

from conftest import ROOT
from gold import gold_passages, precision_recall

# The poster's table (../shared/study/README.md): theme, subtheme code, participant, opening.
POSTER = [
    ("coproducing", "inclusive-learning", "E05", "we've done some really interesting things"),
    ("coproducing", "inclusive-learning", "E04", "That group it does stop everyone"),
    ("coproducing", "capturing-knowledge", "E05", "I always come away finding"),
    ("coproducing", "building-relationships", "P04", "Well, as a result of these COPs"),
    ("territory", "prevailing-culture", "P03", "Overall, it needs to be more of a culture change"),
    ("territory", "shared-language", "P01", "I think sometimes that's about language"),
    ("practice", "research-collaboration", "R01", "I met... a good and collaborative community"),
    ("practice", "research-collaboration", "P07", "It was a validation and the endorsement."),
    ("practice", "practice-policy", "P06", "From my point of view, because the outcome of the COPs"),
]
CODES = [c.id for c in load_codebook(ROOT / "codebooks" / "cop.yaml").codes]


@pytest.fixture(scope="module")
def demo():
    return read_transcripts(open_project(ROOT))


def test_demo_corpus_is_21_synthetic_interviews_in_three_formats(demo):
    assert [t.id for t in demo] == [f"E{i:02}" for i in range(1, 8)] + \
        [f"P{i:02}" for i in range(1, 11)] + [f"R{i:02}" for i in range(1, 5)]
    assert {t.source.rsplit(".", 1)[1] for t in demo} == {"txt", "docx", "vtt"}
    for transcript in demo:
        assert 1200 <= word_count(transcript.text) <= 2600, transcript.id
        if transcript.source.endswith(".txt"):
            assert b"\nsynthetic: true\n" in (ROOT / transcript.source).read_bytes(), transcript.id
        else:  # .docx and .vtt say so in their first lines
            assert "Synthetic demonstration transcript" in transcript.text[:200] or \
                b"Synthetic demonstration transcript" in (ROOT / transcript.source).read_bytes()[:200]
        assert transcript.group == transcript.id[0]


def test_demo_poster_quotes_are_verbatim_in_their_participants_transcripts(demo):
    by_id = {t.id: t for t in demo}
    for _, _, participant, opening in POSTER:
        text = by_id[participant].text
        assert opening in text, (participant, opening)
        start = text.index(opening)
        turn = next(t for t in by_id[participant].turns if t.start <= start < t.end)
        assert turn.role == "participant"


def test_demo_gold_passages_are_verbatim_and_every_theme_has_every_group(demo):
    by_id = {t.id: t for t in demo}
    groups_by_theme = {}
    codebook = load_codebook(ROOT / "codebooks" / "cop.yaml")
    assert sorted(gold_passages()) == sorted(by_id)
    for participant, passages in gold_passages().items():
        text = by_id[participant].text
        for passage in passages:
            assert text.count(passage["text"]) == 1, (participant, passage["text"])
            for code in passage["codes"]:
                groups_by_theme.setdefault(codebook.theme_of(code).id, set()).add(participant[0])
    assert groups_by_theme == {t: {"E", "P", "R"} for t in ("coproducing", "territory", "practice")}


def test_demo_quotes_list_every_poster_quote_under_its_theme(coded_demo):
    under_code = 0
    for theme, code, participant, opening in POSTER:
        result = CliRunner().invoke(app, [
            "--project", str(coded_demo), "quotes", "--theme", theme, "--status", "all",
            "--limit", "50", "--per-participant", "0", "--format", "csv"])
        assert result.exit_code == 0, result.output
        rows = [r for r in csv.DictReader(io.StringIO(result.stdout))
                if r["participant"] == participant and opening in r["quote"]]
        assert rows, f"{participant}'s poster quote is not among the {theme} quotes"
        under_code += any(r["code"] == code for r in rows)
    assert under_code >= 7


def test_demo_suggestions_against_the_gold_coding(coded_demo, capsys):
    db = sqlite3.connect(coded_demo / ".copcode" / "copcode.db")
    report = precision_recall(db, CODES)
    with capsys.disabled():
        print("\nSuggestions against the demo's gold coding (unit: segment x code):")
        print(report.to_string(index=False))
    overall = report.set_index("code").loc["ALL"]
    # The README states these figures; this catches a change that makes them worse.
    assert overall["precision"] >= 0.45 and overall["recall"] >= 0.45
    assert overall["gold"] > 100
