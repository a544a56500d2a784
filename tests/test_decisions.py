"""Decisions are never lost: re-runs, edited transcripts, renamed codes, undo, two coders."""

import multiprocessing
import sqlite3

import pytest
from typer.testing import CliRunner

from copcode.cli import app
from copcode.coding import project_codebook
from copcode.decisions import coding_state, project_status, record
from copcode.project import open_project
from copcode.store import open_store

POSTER_P03 = "Overall, it needs to be more of a culture change"


def cli(project, *args):
    result = CliRunner().invoke(app, ["--project", str(project), *args], env={"COLUMNS": "200"})
    return result


def segment_with(project, words):
    db = sqlite3.connect(project / ".copcode" / "copcode.db")
    [(segment,)] = db.execute("SELECT id FROM segments WHERE text LIKE ?", (f"%{words}%",)).fetchall()
    return segment


def state(project):
    project = open_project(project)
    store = open_store(project.store_path, create=False)
    try:
        result = coding_state(store, project_codebook(project))
        texts = dict(store.db.execute("SELECT id, text FROM segments"))
        return {(texts[s], c, coder): v for (s, c, coder), v in result.states.items()}, result
    finally:
        store.close()


def test_decisions_follow_their_words_through_reruns_and_edits(demo_copy):
    assert cli(demo_copy, "code").exit_code == 0
    p03 = segment_with(demo_copy, POSTER_P03)
    p01 = segment_with(demo_copy, "that's about language")
    assert cli(demo_copy, "tag", p03, "prevailing-culture", "--coder", "coder-a").exit_code == 0
    assert cli(demo_copy, "reject", p01, "shared-language", "--coder", "coder-b").exit_code == 0
    before, _ = state(demo_copy)
    assert len(before) == 2

    assert cli(demo_copy, "code").exit_code == 0  # a plain re-run
    assert state(demo_copy)[0] == before

    path = demo_copy / "transcripts" / "P03.txt"
    text = path.read_text(encoding="utf-8")
    header_end = text.index("---\n", 4) + 4
    path.write_text(text[:header_end] + "Interviewer: Before we start, one thing.\n\nP03: Go ahead.\n\n"
                    + text[header_end:], encoding="utf-8")
    assert cli(demo_copy, "code").exit_code == 0  # a passage added above
    assert state(demo_copy)[0] == before
    assert segment_with(demo_copy, POSTER_P03) == p03  # same words, same id

    path.write_text(path.read_text(encoding="utf-8").replace(
        "sticking their necks out", "sticking their neck out"), encoding="utf-8")
    assert cli(demo_copy, "code").exit_code == 0  # a typo fixed inside the coded passage
    after, result = state(demo_copy)
    [(words, code, coder)] = [k for k in after if k[2] == "coder-a"]
    assert (code, after[(words, code, coder)]) == ("prevailing-culture", "accepted")
    assert POSTER_P03 in words and "sticking their neck out" in words
    assert result.orphans == []


def test_decisions_whose_words_are_gone_are_orphaned_not_dropped(demo_copy):
    cli(demo_copy, "code")
    p03 = segment_with(demo_copy, POSTER_P03)
    cli(demo_copy, "tag", p03, "prevailing-culture", "--coder", "coder-a")
    # an undone decision, and one that a later decision on the same coding replaced, are no
    # codings lost: only the coder's last word on each coding is listed
    project = open_project(demo_copy)
    store = open_store(project.store_path, create=False)
    try:
        for code, verdict in (("shared-language", "tag"), ("shared-language", "undo"),
                              ("practice-policy", "tag"), ("practice-policy", "accept")):
            record(store, project_codebook(project), p03, code, verdict, "coder-a")
    finally:
        store.close()
    path = demo_copy / "transcripts" / "P03.txt"
    text = path.read_text(encoding="utf-8")
    start = text.index("I think it did, for her.")
    end = text.index("\n", start)
    path.write_text(text[:start] + "I would rather not say." + text[end:], encoding="utf-8")
    result = cli(demo_copy, "code")
    assert "Warning: 2 decision(s) are orphaned: their words are no longer in the transcripts. `copcode status` " \
        "lists them." in " ".join(result.output.split())
    result = cli(demo_copy, "status")
    assert "2 orphaned decision(s)" in result.stdout
    assert [line.split(":")[0] for line in result.stdout.splitlines() if line.startswith("  #")] == [
        "  #1 tag prevailing-culture by coder-a on P03 4445-4758", "  #5 accept practice-policy by coder-a on P03 4445-4758"]
    assert POSTER_P03 in result.stdout


def test_decisions_survive_a_renamed_code(demo_copy):
    cli(demo_copy, "code")
    p01 = segment_with(demo_copy, "that's about language")
    cli(demo_copy, "tag", p01, "shared-language", "--coder", "coder-a")
    codebook = demo_copy / "codebooks" / "cop.yaml"
    original = codebook.read_text(encoding="utf-8")
    # renamed without renamed_from: the decision is kept, and the coder is told, not left to
    # find the coding gone from every table
    codebook.write_text(original.replace("      - id: shared-language\n", "      - id: research-language\n"),
                        encoding="utf-8")
    told = ("Warning: 1 decision(s) are on codes that are not in the codebook: shared-language (1). They are "
            "kept, but not shown or counted: if a code was renamed, add `renamed_from: [shared-language]` to it "
            "under its new id; if it was removed, put it back to see them.")
    assert told in " ".join(cli(demo_copy, "code").output.split())
    status = " ".join(cli(demo_copy, "status").stdout.split())
    assert told in status and "1 decisions; coders (codings decided): none yet." in status
    codebook.write_text(original.replace(
        "      - id: shared-language\n",
        "      - id: research-language\n        renamed_from: [shared-language]\n"), encoding="utf-8")
    result = cli(demo_copy, "code")
    assert "not in the codebook" not in result.output and "not in the codebook" not in cli(demo_copy, "status").stdout
    after, _ = state(demo_copy)
    assert [(k[1], v) for k, v in after.items()] == [("research-language", "accepted")]
    result = cli(demo_copy, "quotes", "--code", "research-language", "--status", "accepted", "--format", "csv")
    assert "accepted by coder-a" in result.stdout
    # the old id still works on the command line
    assert cli(demo_copy, "untag", p01, "shared-language", "--coder", "coder-a").exit_code == 0
    assert state(demo_copy)[0] == {k: "rejected" for k in after}


def test_decisions_undo_appends_and_restores(coded_small):
    project, store, codebook = coded_small
    segment = store.db.execute("SELECT id FROM segments LIMIT 1").fetchone()[0]
    accepted = record(store, codebook, segment, "learn", "accept", "ann")
    record(store, codebook, segment, "learn", "reject", "ann")
    record(store, codebook, segment, "learn", "undo", "ann")
    assert coding_state(store, codebook).states == {(segment, "learn", "ann"): "accepted"}
    record(store, codebook, segment, "learn", "undo", "ann")
    assert coding_state(store, codebook).states == {}
    assert store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 4
    assert accepted.text == store.db.execute("SELECT text FROM segments WHERE id = ?", (segment,)).fetchone()[0]


@pytest.mark.parametrize("args, message", [
    (["tag", "E01-000000", "learn"], "Error: unknown segment 'E01-000000'\n  How to fix: use a segment id as "
     "`copcode segments` and out/coded_segments.csv show it (e.g. {segment}); run `copcode code` if the "
     "transcripts changed.\n"),
    (["tag", "{segment}", "nope"], "Error: codebooks/small.yaml: unknown code 'nope'\n"),
    (["tag", "{segment}", "learn", "--coder", " "], "Error: the coder's name is empty\n"),
])
def test_decisions_bad_input_changes_nothing(coded_small, args, message):
    project, store, codebook = coded_small
    segment = store.db.execute("SELECT id FROM segments ORDER BY rowid LIMIT 1").fetchone()[0]
    result = cli(project.root, *[a.format(segment=segment) for a in args])
    assert result.exit_code == 1
    assert result.stderr.startswith(message.format(segment=segment)), result.stderr
    assert store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 0


def _tag_many(root, coder, segments):
    project = open_project(root)
    codebook = project_codebook(project)
    for segment in segments:
        store = open_store(project.store_path, create=False)
        try:
            record(store, codebook, segment, "learn", "tag", coder)
        finally:
            store.close()


def test_decisions_two_coders_at_once_lose_nothing(coded_small):
    project, store, codebook = coded_small
    segments = [r[0] for r in store.db.execute("SELECT id FROM segments")] * 15
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_tag_many, args=(str(project.root), coder, segments))
               for coder in ("ann", "bob")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    counts = dict(store.db.execute("SELECT coder, COUNT(*) FROM decisions GROUP BY coder"))
    assert counts == {"ann": len(segments), "bob": len(segments)}
    assert project_status(store, codebook).coders == {"ann": 3, "bob": 3}


def test_decisions_rank_quotes_and_rejections_hide_them(coded_small):
    project, store, codebook = coded_small
    from copcode.tables import ProjectView, coded_segments, exemplar_quotes

    def quotes():  # a view per state of the log, as a command builds one
        return exemplar_quotes(ProjectView(store, codebook), "learning")

    before = quotes()
    assert list(before["participant"]) == ["E01", "P02"] and set(before["status"]) == {"suggested"}
    record(store, codebook, before["segment"][1], "learn", "accept", "ann")
    record(store, codebook, before["segment"][0], "learn", "reject", "ann")
    after = quotes()
    assert list(zip(after["participant"], after["status"])) == [("P02", "accepted by ann")]
    coded = coded_segments(ProjectView(store, codebook))
    assert "E01" not in {r["participant"] for r in coded.rows if r["code"] == "learn"}
    record(store, codebook, before["segment"][0], "learn", "accept", "bob")  # bob disagrees
    after = quotes()
    assert list(zip(after["participant"], after["status"])) == [("E01", "accepted by bob"), ("P02", "accepted by ann")]
