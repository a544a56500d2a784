"""`copcode code` learning from the coders' decisions, `copcode evaluate`, and the settings
that steer them, on the demo study coded from its gold (tests/gold/)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from copcode.cli import app
from copcode.codebook import load_codebook
from copcode.learn import cue_scores
from copcode.store import open_store
from copcode.tables import questions

from conftest import store_as_of
from gold import TUNED_ON, code_from_gold, micro_f1

HELD_OUT = ["E01", "E02", "E03", "E04"] + [f"P{n:02d}" for n in range(1, 11)]  # all but TUNED_ON


def is_learned(evidence: str) -> bool:
    return any(e["kind"] == "learned" for e in json.loads(evidence))


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args])


@pytest.fixture(scope="module")
def learned_demo(coded_demo, tmp_path_factory):
    """The demo coded by the gold on the seven transcripts the cues were tuned on, then coded
    again (learning from those decisions): (root, cues-alone F1 and learned F1 on the other
    fourteen, the output of the second `copcode code`)."""
    root = tmp_path_factory.mktemp("learned") / "demo"
    shutil.copytree(coded_demo, root)
    code_from_gold(root, TUNED_ON)
    with sqlite3.connect(root / ".copcode" / "copcode.db") as db:
        cues = micro_f1(db, HELD_OUT)
    result = cli(root, "code")
    assert result.exit_code == 0, result.output
    with sqlite3.connect(root / ".copcode" / "copcode.db") as db:
        learned = micro_f1(db, HELD_OUT)
    return root, cues, learned, result.output


def test_held_out_transcripts_are_the_fourteen_others(coded_demo):
    assert sorted(HELD_OUT + TUNED_ON) == sorted(p.stem for p in (coded_demo / "transcripts").iterdir())


def test_suggestions_on_transcripts_nobody_coded_improve_after_coding_seven(learned_demo):
    _, cues, learned, _ = learned_demo
    print(f"micro F1 on the 14 held-out transcripts: cues alone {cues:.3f}, with learning {learned:.3f}")
    assert round(cues, 3) == 0.462  # the README's figure for the cues alone
    assert round(learned, 3) == 0.554 > round(cues, 3)  # the README's figure with learning


def test_code_says_what_it_learned_from(learned_demo):
    *_, output = learned_demo
    said = " ".join(output.split())
    assert ("Learned from 156 decisions by gold (156) on 7 coded transcript(s), 128 passages: 5 code(s) now "
            "suggested from them and the cues (inclusive-learning, capturing-knowledge, prevailing-culture, "
            "research-collaboration, practice-policy): 120 learned suggestions on the 14 transcript(s) not coded "
            "yet (where the model passed over 47 of those codes' cue suggestions); the other codes, and the coded "
            "transcripts, keep their cues' suggestions. Use --no-learning for the cues alone.") in said


def test_a_learned_suggestion_says_where_it_came_from(learned_demo, coded_demo):
    root, *_ = learned_demo
    with sqlite3.connect(root / ".copcode" / "copcode.db") as db:
        rows = db.execute(
            "SELECT g.code, g.score, g.quote_start, g.quote_end, g.evidence, s.start, s.\"end\", s.text, t.text, "
            "g.segment FROM suggestions g JOIN segments s ON s.id = g.segment JOIN transcripts t ON t.id = s.transcript"
        ).fetchall()
    learned = [r for r in rows if is_learned(r[4])]
    assert {r[0] for r in learned} == {"inclusive-learning", "capturing-knowledge", "prevailing-culture",
                                       "research-collaboration", "practice-policy"}
    # learned suggestions on the fourteen transcripts nobody coded; on the seven coded ones, the
    # cues' suggestions, which the coder decided: the model would replay their decisions there
    assert {r[9].split("-")[0] for r in learned} <= set(HELD_OUT)
    with sqlite3.connect(root / ".copcode" / "copcode.db") as db:
        cue_rows = sorted(db.execute("SELECT segment, code, score, evidence FROM suggestions WHERE substr(segment, 1, 3)"
                                     f" IN ({', '.join('?' * len(TUNED_ON))})", TUNED_ON))
    with sqlite3.connect(coded_demo / ".copcode" / "copcode.db") as db:  # the cues alone
        assert cue_rows == sorted(db.execute("SELECT segment, code, score, evidence FROM suggestions WHERE "
                                             f"substr(segment, 1, 3) IN ({', '.join('?' * len(TUNED_ON))})", TUNED_ON))
    assert not [r for r in rows if not is_learned(r[4]) and r[0] in {r[0] for r in learned}
                and r[9].split("-")[0] in HELD_OUT]
    # the question before each passage, and the codes whose cues it matches
    store = open_store(root / ".copcode" / "copcode.db", create=False, readonly=True)
    try:
        asked = questions(store, {r[9] for r in learned})
    finally:
        store.close()
    codebook = load_codebook(root / "codebooks" / "cop.yaml")
    matched = dict(zip(asked, cue_scores(codebook, list(asked.values()))))
    with sqlite3.connect(coded_demo / ".copcode" / "copcode.db") as db:  # the cues' suggestions
        suggested: dict[str, set[str]] = {}
        for segment, code in db.execute("SELECT segment, code FROM suggestions"):
            suggested.setdefault(segment, set()).add(code)
    after = pushed = 0
    for code, score, quote_start, quote_end, evidence, start, end, text, transcript, segment in learned:
        item = [e for e in json.loads(evidence) if e["kind"] == "learned"][0]
        assert set(item) == {"kind", "words", "cues", "asked", "passages", "positives", "threshold"}
        assert set(item["asked"]) <= set(matched.get(segment, {}))
        assert set(item["cues"]) <= suggested.get(segment, set()) - {code}  # other codes' cues in the passage
        after += bool(item["asked"])
        pushed += bool(item["cues"])
        assert item["passages"] == 128 and 3 <= item["positives"] <= 128
        words = {w.lower() for w in text.replace("'", " ").split()}
        assert all(any(word in w for w in words) for word in item["words"])
        assert not {"the", "they", "them", "their", "it"} & set(item["words"])  # no function words
        assert start <= quote_start < quote_end <= end
        assert transcript[quote_start:quote_end] in text
        cue = [e for e in json.loads(evidence) if e["kind"] != "learned"]
        assert score >= item["threshold"] or cue
        assert score == round(score, 3)  # to three decimals, as cue scores are
    assert after == 40  # of 120: pushed by the cues of the question before them
    assert pushed == 24  # pushed by the cues of other codes in the passage


def test_no_learning_gives_the_cues_alone(learned_demo, tmp_path):
    root, *_ = learned_demo
    copy = tmp_path / "demo"
    shutil.copytree(root, copy)
    result = cli(copy, "code", "--no-learning")
    assert result.exit_code == 0
    assert "Learned" not in result.output
    assert ("Learning is off (--no-learning, or `learning: false` in copcode.yaml): suggestions come from the cues "
            "alone, not from the coders' decisions.") in " ".join(result.output.split())
    with sqlite3.connect(copy / ".copcode" / "copcode.db") as db:
        assert round(micro_f1(db, HELD_OUT), 3) == 0.462
        assert not [e for e, in db.execute("SELECT evidence FROM suggestions") if is_learned(e)]


def test_a_rejection_stays_listed_when_its_suggestion_is_no_longer_made(learned_demo, tmp_path):
    """Learning replaces the suggestions of the codes it learned, and learns from a rejection
    not to make that suggestion again: the rejection is still listed (`segments --status
    rejected`), with the whole passage as its quote, and no other coder is asked about it."""
    from copcode.review import review_queue

    root = tmp_path / "demo"
    shutil.copytree(learned_demo[0], root)

    def rejected() -> list[list[str]]:
        result = cli(root, "segments", "--status", "rejected", "--format", "csv")
        assert result.exit_code == 0, result.output
        return list(csv.reader(io.StringIO(result.stdout)))

    with sqlite3.connect(root / ".copcode" / "copcode.db") as db:
        (segments,), = db.execute("SELECT COUNT(DISTINCT segment) FROM decisions WHERE verdict = 'reject'")
        learned_only = [(s, c) for s, c, e in db.execute("SELECT segment, code, evidence FROM suggestions")
                        if all(item["kind"] == "learned" for item in json.loads(e))][:3]
    listed = rejected()
    assert len(listed) == 1 + segments == 40
    assert cli(root, "code", "--no-learning").exit_code == 0
    assert rejected() == listed  # cue suggestions of learned codes, suggested again: the same
    assert cli(root, "code").exit_code == 0
    for segment, code in learned_only:  # rejected: the model learns not to suggest them
        assert cli(root, "reject", segment, code, "--coder", "gold").exit_code == 0
    assert cli(root, "code").exit_code == 0
    with sqlite3.connect(root / ".copcode" / "copcode.db") as db:
        now = set(db.execute("SELECT segment, code FROM suggestions"))
    assert not set(learned_only) & now
    after = {row[0]: row[-1] for row in rejected()[1:]}
    assert all(f"{code}: rejected" in after[segment] for segment, code in learned_only)
    store = open_store(root / ".copcode" / "copcode.db", create=False, readonly=True)
    try:
        asked = {(i.segment, i.code) for i in review_queue(store, load_codebook(root / "codebooks" / "cop.yaml"),
                                                           "ann")}
    finally:
        store.close()
    assert not set(learned_only) & asked


def test_a_second_coder_of_a_coded_transcript_is_not_shown_the_first_coders_decisions(learned_demo, coded_demo):
    """Where the model learned from a coder's decisions, it would replay them as suggestions
    (flattering agreement with the suggestions too): a second coder of those transcripts is
    asked about the cues' suggestions, as without learning; learned ones are elsewhere."""
    from copcode.review import review_queue

    def queue(root) -> list[tuple[str, str, float]]:
        store = open_store(root / ".copcode" / "copcode.db", create=False, readonly=True)
        try:
            return [(i.segment, i.code, i.score)
                    for i in review_queue(store, load_codebook(root / "codebooks" / "cop.yaml"), "ann")]
        finally:
            store.close()

    learned, cues = queue(learned_demo[0]), queue(coded_demo)
    coded = [item for item in learned if item[0].split("-")[0] in TUNED_ON]
    assert coded and coded == [item for item in cues if item[0].split("-")[0] in TUNED_ON]
    assert {item[0].split("-")[0] for item in learned if item not in cues} <= set(HELD_OUT)


def test_learn_from_names_the_coders_learned_from(learned_demo, tmp_path):
    root, *_ = learned_demo
    copy = tmp_path / "demo"
    shutil.copytree(root, copy)
    (copy / "copcode.yaml").write_text("learn_from: [ann]\n", encoding="utf-8")
    result = cli(copy, "code")
    assert ("Learned from no decisions: none is by a coder that `learn_from:` in copcode.yaml names (the coders: "
            "gold).") in " ".join(result.output.split())
    (copy / "copcode.yaml").write_text("learning: false\n", encoding="utf-8")
    assert "Learned" not in cli(copy, "code").output
    for wrong in ("ann", "[]"):  # an empty list would read as "everyone", which it does not say
        (copy / "copcode.yaml").write_text(f"learn_from: {wrong}\n", encoding="utf-8")
        result = cli(copy, "code")
        assert result.exit_code == 1
        assert " ".join(result.output.split()) == (
            "Error: copcode.yaml:1: `learn_from:` must be a list of coders' names, e.g. [ann, ben]; leave it out to "
            "learn from every coder, or write `learning: false` to learn from none How to fix: see README, "
            "'Project settings'.")


def test_learning_from_orphaned_decisions_alone_says_so(small_project):
    """A decision whose transcript is gone is no unit to learn from: the summary said none was
    on a code of this codebook, which it was (hostile-case re-check)."""
    assert cli(small_project, "code").exit_code == 0
    db = sqlite3.connect(small_project / ".copcode" / "copcode.db")
    [(segment,)] = db.execute("SELECT id FROM segments WHERE transcript = 'P02'").fetchall()
    db.close()
    assert cli(small_project, "tag", segment, "time", "--coder", "ann").exit_code == 0
    (small_project / "transcripts" / "P02.txt").unlink()
    result = cli(small_project, "code")
    assert result.exit_code == 0, result.output
    assert ("Learned from no decisions: none is on a passage coded in this run with a code of this codebook "
            "(`copcode status` lists the orphaned ones).") in " ".join(result.output.split())
    assert "#1 tag time by ann on P02 39-107" in " ".join(cli(small_project, "status").output.split())


def test_learn_from_says_whom_it_left_out_and_which_names_it_does_not_know(learned_demo, tmp_path):
    root, *_ = learned_demo
    copy = tmp_path / "demo"
    shutil.copytree(root, copy)
    assert cli(copy, "tag", "E01-2e56ee", "practice-policy", "--coder", "bob").exit_code == 0
    (copy / "copcode.yaml").write_text("learn_from: [gold, nobody]\n", encoding="utf-8")
    said = " ".join(cli(copy, "code").output.split())
    assert ("Warning: `learn_from:` in copcode.yaml names 'nobody', with no decision here: check the spelling (the "
            "coders: bob, gold).") in said
    assert "Learned from 156 decisions by gold (156), not from bob (`learn_from:` in copcode.yaml), on 7 coded " \
           "transcript(s), 128 passages:" in said
    # E01, which bob coded, is among the fourteen given learned suggestions: not coded by those learned from
    assert " learned suggestions on the 14 transcript(s) not coded by them (where " in said


def test_the_learning_summary_says_answers_for_a_survey_and_agrees_in_number():
    from copcode.cli import _learned
    from copcode.learn import Learning

    learning = Learning({"ann": 240}, 200, 200, [], ["ann"], flooding=["referrals-continuity"])
    assert _learned(learning, str, "answer") == (
        "Learned from 240 decisions by ann (240) on 200 coded answer(s), 200 passages: no code is suggested from "
        "them yet (a code needs at least 3 passages coded with it, in two answers or more, and the learned model "
        "must beat its cues); suggestions come from the cues alone. referrals-continuity: learned, but kept to its "
        "cues: the model would suggest it on far more passages than the coders gave it.")
    assert _learned(Learning({"ann": 1}, 1, 1, [], ["ann"]), str).startswith(
        "Learned from 1 decision by ann (1) on 1 coded transcript(s), 1 passage:")
    learning.flooding.append("visits")
    assert _learned(learning, str).endswith(
        "referrals-continuity, visits: learned, but kept to their cues: the model would suggest them on far more "
        "passages than the coders gave them.")


def test_evaluate_scores_the_suggestions_against_the_decisions(learned_demo):
    root, *_ = learned_demo
    result = cli(root, "evaluate", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == ("code,gold,cues_precision,cues_recall,cues_f1,learning_precision,learning_recall,"
                        "learning_f1,best_cue_threshold,coders,transcripts,passages,folds")
    assert [line.split(",")[0] for line in lines[1:]] == [
        "inclusive-learning", "capturing-knowledge", "building-relationships", "prevailing-culture",
        "shared-language", "research-collaboration", "practice-policy", "micro", "macro"]
    micro = dict(zip(lines[0].split(","), lines[-2].split(",")))
    assert micro["gold"] == "107"
    # what the figures stand on, in every row: the terminal's title says it, a file must too
    assert {line.split(",", 9)[9] for line in lines[1:]} == {"gold,7,128,5"}
    assert 0 < float(micro["cues_f1"]) < 1 and 0 < float(micro["learning_f1"]) < 1


def test_evaluate_reads_the_cue_scores_not_the_learned_ones(learned_demo, coded_demo, tmp_path):
    """Learned suggestions replace cue ones in the store; evaluating must score the cues'
    own suggestions. A coder decides every suggestion on E03, learned or the cues', after the
    learning run: its learned suggestions are in the store until the next run, and must not be
    read as its cue scores."""
    root, *_ = learned_demo
    copy = tmp_path / "demo"
    shutil.copytree(root, copy)
    with sqlite3.connect(copy / ".copcode" / "copcode.db") as db:
        learned = db.execute("SELECT segment, code, evidence FROM suggestions WHERE segment LIKE 'E03-%'").fetchall()
    with sqlite3.connect(coded_demo / ".copcode" / "copcode.db") as db:
        cues = db.execute("SELECT segment, code FROM suggestions WHERE segment LIKE 'E03-%'").fetchall()
    assert any(is_learned(evidence) for *_, evidence in learned)
    decided = {(s, c): "tag" for s, c, _ in learned} | {(s, c): "reject" for s, c in cues if (s, c) not in
                                                          {(s2, c2) for s2, c2, _ in learned}}
    for (segment, code), verdict in sorted(decided.items()):
        assert cli(copy, verdict, segment, code, "--coder", "carol").exit_code == 0
    after_learning = cli(copy, "evaluate", "--format", "json").output
    assert "carol" in after_learning
    cli(copy, "code", "--no-learning")
    assert cli(copy, "evaluate", "--format", "json").output == after_learning


def test_evaluate_refuses_cue_scores_of_another_min_score(learned_demo, tmp_path):
    """The cache holds the cue scores at the min_score of the last `copcode code`: read at
    another, every segment would look as if its cues suggested nothing (cue recall 0)."""
    root, *_ = learned_demo
    copy = tmp_path / "demo"
    shutil.copytree(root, copy)
    before = cli(copy, "evaluate", "--format", "csv").output
    (copy / "copcode.yaml").write_text("min_score: 0.3\n", encoding="utf-8")
    result = cli(copy, "evaluate", "--format", "csv")
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == (
        "Error: copcode.yaml: min_score has changed since the transcripts were last coded: the cue scores at 0.3 "
        "are not in the store How to fix: run `copcode code` first (it suggests again at this min_score), then "
        "`copcode evaluate`.")
    with sqlite3.connect(copy / ".copcode" / "copcode.db") as db:
        db.execute("UPDATE runs SET spacy = '0.0'")
    assert " ".join(cli(copy, "evaluate").output.split()) == (
        "Error: copcode's engine or spaCy has changed since the transcripts were last coded: the cue scores it "
        "gives are not in the store How to fix: run `copcode code` first, then `copcode evaluate`.")
    (copy / "copcode.yaml").unlink()
    assert cli(copy, "evaluate", "--format", "csv").output == before


def test_evaluate_needs_a_coded_transcript(coded_demo):
    result = cli(coded_demo, "evaluate")
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == (
        "Error: no coded transcript to evaluate the suggestions against How to fix: code some passages "
        "first (copcode review, copcode tag), or import a coding (copcode import FILE.csv --coder NAME).")


def test_pending_suggestions_are_not_taught_as_absences(coded_small):
    """A coder who rejected one suggestion has coded the transcript for its theme, but a
    suggestion nobody has decided yet is not an absence."""
    from copcode.decisions import record
    from copcode.learn import decided_units, stored_cue_scores

    project, store, codebook = coded_small
    pairs = sorted(store.suggestion_pairs())
    (segment, code), pending = pairs[0], pairs[1:]
    record(store, codebook, segment, code, "reject", "ann")
    units = decided_units(store, codebook, stored_cue_scores(store, codebook, project.settings.min_score))
    assert units.decisions == {"ann": 1}
    assert segment in units.segments and not any(units.labels)
    for s, c in pending:
        if s in units.segments:
            assert c not in units.known[units.segments.index(s)]


def test_a_pending_learned_suggestion_is_not_taught_as_an_absence(learned_demo, tmp_path):
    """A coder who accepted one suggestion of a transcript has coded it for that theme, but a
    learned suggestion there that nobody has decided (no cue suggested it) is pending, as a
    cue one is: not a negative for learning or `evaluate`."""
    from copcode.coding import project_codebook
    from copcode.decisions import record
    from copcode.learn import decided_units, stored_cue_scores
    from copcode.project import open_project

    root = tmp_path / "demo"
    shutil.copytree(learned_demo[0], root)
    project = open_project(root)
    store = open_store(project.store_path, create=False)
    try:
        codebook = project_codebook(project)
        cues = stored_cue_scores(store, codebook, project.settings.min_score)
        with sqlite3.connect(project.store_path) as db:
            rows = db.execute("SELECT segment, code, evidence FROM suggestions WHERE segment LIKE 'P03-%' "
                              "AND code = 'practice-policy' ORDER BY segment").fetchall()
        learned_only = [s for s, _, e in rows if all(item["kind"] == "learned" for item in json.loads(e))]
        decided = [s for s, _, _ in rows if "practice-policy" in cues[s]]
        assert learned_only and decided
        record(store, codebook, decided[0], "practice-policy", "accept", "carol")
        units = decided_units(store, codebook, cues, ["carol"])
    finally:
        store.close()
    known = dict(zip(units.segments, units.known))
    assert "practice-policy" in known[decided[0]]
    assert all("practice-policy" not in known[s] for s in learned_only)
    assert all("research-collaboration" in known[s] for s in learned_only)  # the theme's other code: coded


def test_learned_suggestions_a_coder_was_shown_stay_pending_once_their_transcript_is_coded(learned_demo, tmp_path):
    """After a coder decides one learned suggestion on E03, the next run treats E03 as coded
    (its cues' suggestions, not the model's) and the learned ones it showed there, undecided,
    as pending; the runs after it, which no longer see them among the suggestions, must too,
    whether that next run learned or not: the same decisions give the same suggestions. A
    code renamed since keeps them pending under its new id."""
    from copcode.coding import project_codebook
    from copcode.learn import decided_units, stored_cue_scores
    from copcode.project import open_project

    with sqlite3.connect(learned_demo[0] / ".copcode" / "copcode.db") as db:
        rows = db.execute("SELECT segment, code, evidence FROM suggestions WHERE segment LIKE 'E03-%' "
                          "ORDER BY segment, code").fetchall()
    learned = [(s, c) for s, c, e in rows if is_learned(e)]
    learned_only = [(s, c) for s, c, e in rows if all(item["kind"] == "learned" for item in json.loads(e))]
    assert len(learned_only) > 1

    def code(root, *args):
        assert cli(root, "code", *args).exit_code == 0
        with sqlite3.connect(root / ".copcode" / "copcode.db") as db:
            return (sorted(db.execute("SELECT segment, code, score, quote_start, quote_end, evidence FROM suggestions")),
                    sorted(db.execute("SELECT segment, code FROM shown")))
    runs = {}
    for first in ([], ["--no-learning"]):
        root = tmp_path / ("demo" + "".join(first))
        shutil.copytree(learned_demo[0], root)
        assert cli(root, "reject", *learned_only[0], "--coder", "carol").exit_code == 0
        code(root, *first)
        runs[tuple(first)] = [code(root), code(root)]
    second, kept = runs[()][0]
    assert runs[()] == runs[("--no-learning",)] == [(second, kept)] * 2
    assert not any(is_learned(row[5]) for row in second if row[0].startswith("E03-"))  # coded: its cues'
    assert kept == [pair for pair in learned if pair not in {row[:2] for row in second}]
    assert set(learned_only) <= set(kept) and learned_only[0][1] == "capturing-knowledge"

    def known_where_kept(code_id):
        """Per kept pair of the rejected one's code: whether `code_id` is known there."""
        project = open_project(root)
        store = open_store(project.store_path, create=False)
        try:
            codebook = project_codebook(project)
            units = decided_units(store, codebook, stored_cue_scores(store, codebook, project.settings.min_score))
        finally:
            store.close()
        known = dict(zip(units.segments, units.known))
        return [code_id in known[segment] for segment, code in kept if code == learned_only[0][1]]
    # pending, but for the one carol rejected: an absence
    expected = [segment == learned_only[0][0] for segment, code in kept if code == learned_only[0][1]]
    assert len(expected) > 1 and known_where_kept("capturing-knowledge") == expected
    codebook = root / "codebooks" / "cop.yaml"
    codebook.write_text(codebook.read_text(encoding="utf-8").replace(
        "      - id: capturing-knowledge\n",
        "      - id: knowledge-captured\n        renamed_from: [capturing-knowledge]\n"), encoding="utf-8")
    code(root)
    assert known_where_kept("knowledge-captured") == expected


def test_a_segment_whose_every_suggestion_was_decided_is_coded_in_full(coded_small):
    """A reviewer who decided every suggestion on a passage (and tagged what was missing)
    coded it: every code is known there, not only those of the themes they touched."""
    from copcode.decisions import record
    from copcode.learn import decided_units, stored_cue_scores

    project, store, codebook = coded_small
    cues = stored_cue_scores(store, codebook, project.settings.min_score)
    segment, suggested = next((s, set(c)) for s, c in sorted(cues.items()) if c)
    for code in sorted(suggested):
        record(store, codebook, segment, code, "reject", "ann")
    units = decided_units(store, codebook, cues)
    every = {c.id for c in codebook.codes}
    assert units.known[units.segments.index(segment)] == every
    others = [k for s, k in zip(units.segments, units.known) if s != segment]
    assert others and all(k != every for k in others)  # the rest: only the themes touched


def test_a_store_from_before_shown_suggestions_were_kept_evaluates_and_migrates(learned_demo, tmp_path):
    from copcode.store import SCHEMA, SHOWN_KEPT

    root = tmp_path / "demo"
    shutil.copytree(learned_demo[0], root)
    before = cli(root, "evaluate", "--format", "csv").stdout
    store_as_of(root, SHOWN_KEPT - 1)
    assert cli(root, "evaluate", "--format", "csv").stdout == before  # read as it is
    assert cli(root, "code").exit_code == 0  # a writing command migrates it
    with sqlite3.connect(root / ".copcode" / "copcode.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA
        assert db.execute("SELECT count(*) FROM shown").fetchone()[0] == 0


def test_a_tag_on_a_passage_without_suggestions_codes_its_theme_only(coded_small):
    """A passage with no suggestion has none to decide: a tag there codes the tag's theme on
    it (and the transcript), not every theme of the codebook."""
    from copcode.decisions import record
    from copcode.learn import decided_units, stored_cue_scores

    project, store, codebook = coded_small
    cues = stored_cue_scores(store, codebook, project.settings.min_score)
    segment = next(s for s, c in sorted(cues.items()) if not c)
    record(store, codebook, segment, "learn", "tag", "ann")
    units = decided_units(store, codebook, cues)
    theme = next(t for t in codebook.themes if "learn" in {c.id for c in t.all_codes})
    assert units.known[units.segments.index(segment)] == {c.id for c in theme.all_codes}
    assert units.labels[units.segments.index(segment)] == {"learn"}


def test_review_uncertain_shows_first_what_the_suggestions_are_least_sure_of(learned_demo):
    from copcode.coding import project_codebook
    from copcode.project import open_project
    from copcode.review import review_queue
    from copcode.store import open_store

    root, *_ = learned_demo
    project = open_project(root)
    store = open_store(project.store_path, create=False, readonly=True)
    try:
        codebook = project_codebook(project)
        plain = review_queue(store, codebook, "ann")
        uncertain = review_queue(store, codebook, "ann", order="uncertain")
    finally:
        store.close()

    def margin(item):
        learned = [e for e in item.evidence if e["kind"] == "learned"]
        return abs(item.score - (learned[0]["threshold"] if learned else 0.35))

    assert sorted((i.segment, i.code) for i in uncertain) == sorted((i.segment, i.code) for i in plain)
    assert [margin(i) for i in uncertain] == sorted(margin(i) for i in plain)
    assert any(e["kind"] == "learned" for i in uncertain[:20] for e in i.evidence)
    assert cli(root, "review", "--coder", "ann", "--order", "Uncertain", "--export", str(root / "q.csv")).exit_code == 0
    result = cli(root, "review", "--coder", "ann", "--order", "random")
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == ("Error: unknown order 'random' How to fix: use one of: "
                                               "transcript, uncertain.")


def test_a_document_imported_as_coded_has_no_pending_suggestion(coded_small):
    """A table import marks its documents as coded in full: a suggestion there that the
    table does not hold is an absence, not pending."""
    from copcode.decisions import record
    from copcode.learn import decided_units, stored_cue_scores
    from copcode.store import now

    project, store, codebook = coded_small
    (segment, code), *others = sorted(store.suggestion_pairs())
    record(store, codebook, segment, code, "tag", "gold")
    with store.transaction():
        store.mark_coded("gold", ["E01", "P02"], now())
    units = decided_units(store, codebook, stored_cue_scores(store, codebook, project.settings.min_score))
    assert set(units.transcripts) == {"E01", "P02"}
    every = {c.id for c in codebook.codes}
    assert all(known == every for known in units.known)
    assert [labels for s, labels in zip(units.segments, units.labels) if labels] == [{code}]


def test_codes_tagged_in_one_transcript_only_are_not_learned(coded_demo, tmp_path):
    """Three passages of one interview share its words: a model scored on the interview it
    learned from would flood the code over the study, so nothing is learned from one."""
    root = tmp_path / "demo"
    shutil.copytree(coded_demo, root)
    (root / "pp.csv").write_text("segment,code\nE01-2e56ee,practice-policy\nE01-c978d2,practice-policy\n"
                                 "E01-27bd40,practice-policy\n", encoding="utf-8")
    assert cli(root, "import", str(root / "pp.csv"), "--coder", "gold").exit_code == 0
    said = " ".join(cli(root, "code").output.split())
    assert ("Learned from 3 decisions by gold (3) on 1 coded transcript(s), 17 passages: no code is suggested from "
            "them yet (a code needs at least 3 passages coded with it, in two transcripts or more, and the learned model "
            "must beat its cues); suggestions come from the cues alone.") in said
    assert "sklearn" not in imported_by_code(root)


def test_scikit_learn_is_imported_only_when_a_code_can_be_learned(learned_demo):
    assert "sklearn" in imported_by_code(learned_demo[0])


def test_a_run_that_changed_nothing_learns_without_loading_spacy(learned_demo, tmp_path):
    # the first run with decisions parsed the interviewer's questions (learning reads them)
    # and cached them; the next finds them in the cache, as it finds the segments
    root = tmp_path / "demo"
    shutil.copytree(learned_demo[0], root)
    assert imported_by_code(root) == {"sklearn"}
    with sqlite3.connect(root / ".copcode" / "copcode.db") as db:
        learned = sorted(db.execute("SELECT segment, code, score, evidence FROM suggestions"))
        assert round(micro_f1(db, HELD_OUT), 3) == 0.554
    with sqlite3.connect(learned_demo[0] / ".copcode" / "copcode.db") as db:
        assert learned == sorted(db.execute("SELECT segment, code, score, evidence FROM suggestions"))


def test_the_run_that_parses_the_transcripts_scores_the_codebook_definitions_too(coded_demo, tmp_path):
    """Learning reads the definitions' cue scores from the cache: the run that parsed the
    transcripts, with spaCy loaded, put them there, as the cues give them."""
    from copcode.learn import definition_texts
    from copcode.suggest import cache_key

    codebook = load_codebook(coded_demo / "codebooks" / "cop.yaml")
    texts = [text for _, text in definition_texts(codebook)]
    with sqlite3.connect(coded_demo / ".copcode" / "copcode.db") as db:
        cache = dict(db.execute("SELECT key, suggestions FROM cache"))
    keys = [cache_key(codebook, 0.35, text) for text in texts]
    assert [{e["code"]: e["score"] for e in json.loads(cache[k])} for k in keys] == cue_scores(codebook, texts)
    # a run that parses nothing keeps them
    root = tmp_path / "demo"
    shutil.copytree(coded_demo, root)
    assert cli(root, "code", "--no-learning").exit_code == 0
    with sqlite3.connect(root / ".copcode" / "copcode.db") as db:
        assert {k for k, in db.execute("SELECT key FROM cache")} >= set(keys)


def imported_by_code(root) -> set[str]:
    """Which of scikit-learn and spaCy (about 2 s and 1 s of a run on a busy machine)
    `copcode code` on `root` imported, in a fresh interpreter."""
    probe = ("import sys, runpy; sys.argv = ['copcode', '--project', sys.argv[1], 'code']\n"
             "try:\n    runpy.run_module('copcode', run_name='__main__')\n"
             "except SystemExit as exit:\n    assert not exit.code, exit.code\n"
             "print(*[m for m in ('sklearn', 'spacy') if m in sys.modules], sep=',')")
    result = subprocess.run([sys.executable, "-c", probe, str(root)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return set(filter(None, result.stdout.splitlines()[-1].split(",")))


@pytest.mark.parametrize("name", ["suggestions", "Suggestions", "copcode suggestions"])
def test_suggestions_is_not_a_coders_name(coded_demo, name):
    result = cli(coded_demo, "tag", "E01-2e56ee", "practice-policy", "--coder", name)
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == (
        f"Error: '{name}' is not a coder's name: copcode names its own suggestions so (`copcode agreement "
        "--coders X,suggestions`, a .qdpx exported with --suggestions) How to fix: give the coder another name "
        "with --coder NAME.")


def test_untag_of_a_code_the_coder_never_gave_is_refused(coded_demo):
    """It would only mark the transcript as coded by them, for agreement and learning."""
    result = cli(coded_demo, "untag", "E01-2e56ee", "practice-policy", "--coder", "eve")
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == (
        "Error: eve has not tagged or accepted practice-policy on E01-2e56ee: nothing to untag How to fix: check "
        "the ids (`copcode quotes --code practice-policy --status accepted` lists the coded passages), or use "
        "`copcode reject` to record that the code does not apply.")
    with sqlite3.connect(coded_demo / ".copcode" / "copcode.db") as db:
        assert db.execute("SELECT count(*) FROM decisions").fetchone() == (0,)


def test_undo_takes_a_rejection_back_from_the_command_line(coded_demo, tmp_path):
    root = tmp_path / "demo"
    shutil.copytree(coded_demo, root)
    with sqlite3.connect(root / ".copcode" / "copcode.db") as db:
        segment, code = db.execute("SELECT segment, code FROM suggestions ORDER BY segment, code LIMIT 1").fetchone()

    def suggested():
        rows = json.loads(cli(root, "quotes", "--code", code, "--status", "suggested", "--limit", "0",
                              "--per-participant", "0", "--format", "json").stdout)
        return segment in {row["segment"] for row in rows}

    assert suggested()
    nothing = cli(root, "undo", segment, code, "--coder", "eve")
    assert nothing.exit_code == 1
    assert " ".join(nothing.output.split()) == (
        f"Error: eve has no decision on {code} on {segment}: nothing to undo How to fix: check the ids and "
        "--coder (`copcode segments` lists the segments).")
    assert cli(root, "reject", segment, code, "--coder", "eve").exit_code == 0
    assert not suggested()
    untag = cli(root, "untag", segment, code, "--coder", "eve")
    assert untag.exit_code == 1
    assert " ".join(untag.output.split()) == (
        f"Error: eve rejected {code} on {segment}: nothing to untag How to fix: to take the rejection back, run "
        f"`copcode undo {segment} {code} --coder eve`.")
    undone = cli(root, "undo", segment, code, "--coder", "eve")
    assert " ".join(undone.output.split()) == f"eve: undo {code} on {segment} (decision 2, undoes decision 1 (reject))."
    assert suggested()
    with sqlite3.connect(root / ".copcode" / "copcode.db") as db:  # the log keeps both; refusals wrote nothing
        assert db.execute("SELECT verdict FROM decisions ORDER BY id").fetchall() == [("reject",), ("undo",)]
    # the coder's own note follows what the undo cancels, pseudonymised in the output as every note is
    (root / "copcode.yaml").write_text('privacy:\n  identifiers:\n    "Bernard Pike": "[name]"\n', encoding="utf-8")
    assert cli(root, "reject", segment, code, "--coder", "eve").exit_code == 0
    undone = cli(root, "undo", segment, code, "--coder", "eve", "--note", "Bernard Pike says it fits")
    assert " ".join(undone.output.split()) == (
        f"eve: undo {code} on {segment} (decision 4, undoes decision 3 (reject): [name] says it fits).")


def test_a_coder_who_only_tags_is_scored_like_one_whose_coding_was_imported(coded_demo, tmp_path):
    """Coding by tags alone (the NVivo way), what a coder did not tag in the themes they coded is
    absent, as for agreement: untagged suggestions count against the cues' precision, as they do
    for the same coding imported as a table."""
    from copcode.project import open_project

    from gold import gold_codes_by_segment

    root = tmp_path / "demo"
    shutil.copytree(coded_demo, root)
    project = open_project(root)
    with sqlite3.connect(project.store_path) as db:
        gold = gold_codes_by_segment(db)
        owner = dict(db.execute("SELECT id, transcript FROM segments"))
    pairs = sorted((s, c) for s, codes in gold.items() if owner[s] in ("E03", "P02", "R01") for c in codes)
    for segment, code in pairs:
        assert cli(root, "tag", segment, code, "--coder", "bob").exit_code == 0
    table = root / "carol.csv"
    table.write_text("segment,code\n" + "".join(f"{s},{c}\n" for s, c in pairs), encoding="utf-8")
    assert cli(root, "import", str(table), "--coder", "carol").exit_code == 0
    tagged = cli(root, "evaluate", "--coder", "bob", "--format", "csv")
    imported = cli(root, "evaluate", "--coder", "carol", "--format", "csv")
    assert tagged.exit_code == 0, tagged.output
    micro = dict(zip(tagged.output.splitlines()[0].split(","), tagged.output.splitlines()[-2].split(",")))
    assert float(micro["cues_precision"]) < 1
    assert tagged.output.replace(",bob,", ",carol,") == imported.output  # but for whose figures they are


def test_codebook_cues_counts_what_a_tagging_coder_left_untagged_as_rejected(coded_demo, tmp_path):
    root = tmp_path / "demo"
    shutil.copytree(coded_demo, root)
    before = cli(root, "codebook", "cues", "shared-language", "--format", "json")
    language = {r["cue"]: r for r in json.loads(before.stdout)}
    assert all(r["decided"] == 0 for r in language.values())
    # a passage the cue "acronym" matches, tagged with another code of its theme by a coder who only tags
    with sqlite3.connect(root / ".copcode" / "copcode.db") as db:
        texts = dict(db.execute("SELECT id, text FROM segments"))
    matched = sorted(s for s, text in texts.items() if "acronym" in text.lower())
    assert matched
    assert cli(root, "tag", matched[0], "prevailing-culture", "--coder", "bob").exit_code == 0
    after = {r["cue"]: r for r in json.loads(cli(root, "codebook", "cues", "shared-language", "--format",
                                                 "json").stdout)}
    same_transcript = [s for s in matched if s.split("-")[0] == matched[0].split("-")[0]]
    assert (after["acronym"]["decided"], after["acronym"]["accepted"]) == (len(same_transcript), 0)


def test_evaluate_names_the_coders_when_one_is_unknown(learned_demo):
    result = cli(learned_demo[0], "evaluate", "--coder", "nobody")
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == ("Error: no decision by 'nobody' How to fix: name a coder who has "
                                               "decided something: gold (repeat --coder for several).")


def test_evaluate_leaves_empty_what_is_undefined(coded_demo, tmp_path):
    """A code with no gold passage has no recall and no best threshold; one nothing suggested no precision."""
    root = tmp_path / "demo"
    shutil.copytree(coded_demo, root)
    assert cli(root, "tag", "E01-2e56ee", "practice-policy", "--coder", "bob").exit_code == 0
    rows = json.loads(cli(root, "evaluate", "--format", "json").stdout)
    by_code = {row["code"]: row for row in rows}
    policy, collaboration = by_code["practice-policy"], by_code["research-collaboration"]
    assert policy["gold"] == 1 and policy["cues_recall"] is not None
    assert collaboration["gold"] == 0
    # no gold: no recall and no best threshold; F1 is 0 where the cues suggested it (all wrong), else undefined
    suggested = collaboration["cues_precision"] is not None
    assert (collaboration["cues_recall"], collaboration["cues_f1"], collaboration["best_cue_threshold"]) == \
        (None, 0.0 if suggested else None, None)
    markdown = cli(root, "evaluate", "--format", "md").stdout
    assert "None" not in markdown and "| research-collaboration | 0 |" in markdown


def test_the_review_screen_says_what_a_learned_suggestion_needed(learned_demo):
    """Its score is the model's probability, set against its own threshold, not min_score."""
    root, *_ = learned_demo
    result = CliRunner().invoke(app, ["--project", str(root), "review", "--coder", "zed", "--code",
                                      "capturing-knowledge"], input="q", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert "capturing-knowledge  ·  score 0." in first and "(learned: needs 0." in first, first
