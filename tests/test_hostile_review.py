"""Hostile inputs found by a review after the first list: variants of its entries."""

import io
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copcode.cli import app


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "250"})


def _workbook_bomb(path):
    """An .xlsx whose sheet expands about a thousand times: 10 MiB of one repeated letter in an
    inline string, packed into some 10 KB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(b"<worksheet><sheetData><row r='1'><c t='inlineStr'><is><t>")
            for _ in range(10):
                sheet.write(b"a" * (1024 * 1024))
            sheet.write(b"</t></is></c></row></sheetData></worksheet>")
    path.write_bytes(out.getvalue())
    return path


def _ratio(path):
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    return f"{info.file_size / info.compress_size:.0f}"


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_case_36_a_survey_workbook_that_expands_a_thousand_times_is_refused_unread(small_project, tmp_path):
    before = _files(small_project)
    bomb = _workbook_bomb(tmp_path / "answers.xlsx")
    result = cli(small_project, "code", "--input", str(bomb))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {bomb}: a workbook too large to open safely: xl/worksheets/sheet1.xml expands {_ratio(bomb)} times "
        "(at most 100 times): a zip bomb\n"
        "  How to fix: check where it came from; save the answers as .csv (CSV UTF-8).\n")
    assert _files(small_project) == before


def test_case_26_a_review_sheet_that_expands_a_thousand_times_is_refused_unread(coded_small, tmp_path):
    project, store, codebook = coded_small
    before = _files(project.root)
    bomb = _workbook_bomb(tmp_path / "review.xlsx")
    result = cli(project.root, "review", "--import", str(bomb), "--coder", "ann")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {bomb}: a sheet too large to open safely: xl/worksheets/sheet1.xml expands {_ratio(bomb)} times "
        "(at most 100 times): a zip bomb\n"
        "  How to fix: check where it came from; export the queue again with `copcode review --export`.\n")
    assert _files(project.root) == before


LISTED = "privacy:\n  identifiers:\n    Kwame Mensah: \"[name]\"\n    Kwame: \"[name]\"\n"


def test_case_07_a_listed_name_in_a_code_id_is_refused(small_project):
    (small_project / "copcode.yaml").write_text(LISTED, encoding="utf-8")
    book = small_project / "codebooks" / "small.yaml"
    book.write_text(book.read_text(encoding="utf-8").replace("id: time", "id: kwame-time"), encoding="utf-8")
    result = cli(small_project, "code")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: codebooks/small.yaml: the code id 'kwame-time' holds a listed identifier (kwame)\n"
        "  How to fix: give the code another id (its label may name anyone: labels are pseudonymised, "
        "ids are not).\n")
    assert not (small_project / ".copcode").exists() and not (small_project / "out").exists()


def test_case_29_a_listed_coder_name_is_pseudonymised_in_status_and_agreement(coded_small):
    project, store, codebook = coded_small
    (project.root / "copcode.yaml").write_text(LISTED, encoding="utf-8")
    segment = store.segment_transcripts()
    e01 = sorted(s for s, t in segment.items() if t == "E01")[0]
    for coder in ("Kwame Mensah", "ann"):
        assert cli(project.root, "tag", e01, "learn", "--coder", coder).exit_code == 0
    outputs = [cli(project.root, "status").stdout]
    for args in ([], ["--format", "csv"], ["--format", "json"], ["--disagreements", "--format", "csv"]):
        result = cli(project.root, "agreement", "--coders", "Kwame Mensah,ann", *args)
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert "[name] (1)" in outputs[0] and "Agreement between [name], ann" in outputs[1]
    assert not any("Kwame" in text for text in outputs)


@pytest.mark.parametrize("args, target, what", [
    (["export", "--format", "csv"], "transcripts/E01.txt", "transcripts/ (the transcripts)"),
    (["quotes", "--theme", "learning", "--format", "csv"], "codebooks/small.yaml", "codebooks/"),
    (["export", "--format", "xlsx"], ".copcode/copcode.db", ".copcode/ (the store)"),
    (["matrix", "--format", "csv"], "participants.csv", "the participants file"),
])
def test_case_28_out_never_replaces_the_projects_own_files(coded_small, args, target, what):
    project, store, codebook = coded_small
    (project.root / "participants.csv").write_text("participant,cop\nE01,CC\n", encoding="utf-8")
    before = _files(project.root)
    result = cli(project.root, *args, "--out", str(project.root / target))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {project.root / target}: this is in {what}: copcode does not write its outputs over the "
        f"project's own files\n  How to fix: write to out/ or another folder, e.g. --out out/{Path(target).name}.\n")
    assert _files(project.root) == before


def test_case_20_header_values_are_the_text_as_written(small_project):
    from copcode.ingest import read_transcript
    from copcode.project import open_project

    path = small_project / "transcripts" / "x.txt"
    path.write_text("---\nparticipant: 007\ngroup: NO\nsite: 0x1F\nwave: 1.50\nnote: ~\n---\n"
                    "Interviewer: Why?\nParticipant: Because I learnt.\n", encoding="utf-8")
    transcript = read_transcript(path, open_project(small_project))
    assert transcript.id == "007"
    assert {k: transcript.attributes[k] for k in ("group", "site", "wave")} == {"group": "NO", "site": "0x1F", "wave": "1.50"}


def test_case_06_a_listed_identifier_is_the_text_as_written(small_project):
    from copcode.privacy import redactor_for
    from copcode.project import open_project

    (small_project / "copcode.yaml").write_text(
        'privacy:\n  identifiers:\n    0123: "[id]"\n    NO: "[word]"\nmin_score: 0.4\n', encoding="utf-8")
    project = open_project(small_project)
    assert project.settings.min_score == 0.4
    assert redactor_for(project).redact("Room 0123, not 83; NO.") == "Room [id], not 83; [word]."


@pytest.mark.parametrize("tokens, problem", [
    ("[{OP: '*'}, {OP: '*'}, {LOWER: zzzz}]",
     "a token with only OP *, + or {n,} matches any words at all and can make a run hang; give it an "
     "attribute or a bounded count, e.g. {OP: '{0,3}'}"),
    ("[{LOWER: a}, {OP: '{2,}'}]",
     "a token with only OP *, + or {n,} matches any words at all and can make a run hang; give it an "
     "attribute or a bounded count, e.g. {OP: '{0,3}'}"),
    ("[{IS_ALPHA: true, OP: '+'}, {IS_ALPHA: true, OP: '*'}, {IS_ALPHA: true, OP: '+'}, {LOWER: zzzz}]",
     "more than 2 tokens that repeat without limit (OP *, + or {n,}) can make a run hang; use bounded "
     "counts, e.g. {OP: '{0,3}'}"),
])
def test_case_16_patterns_whose_matching_can_explode_are_refused(small_project, tokens, problem):
    book = small_project / "codebooks" / "small.yaml"
    text = book.read_text(encoding="utf-8").replace(
        "            - [{LOWER: read}, {LOWER: about}]", f"            - {tokens}")
    book.write_text(text, encoding="utf-8")
    for args in (["codebook", "check"], ["code"]):
        result = cli(small_project, *args)
        assert result.exit_code == 1
        assert result.stderr == (
            "Error: codebooks/small.yaml: the codebook is not valid (1 problem):\n"
            f"  line 13: themes[0].codes[0].cues.patterns[0].pattern: {problem}\n"
            "  How to fix: correct the lines named above; `copcode codebook check` checks again.\n")
    assert not (small_project / ".copcode").exists()


def test_case_16_bounded_patterns_still_match(small_project):
    book = small_project / "codebooks" / "small.yaml"
    book.write_text(book.read_text(encoding="utf-8").replace(
        "            - [{LOWER: read}, {LOWER: about}]",
        "            - [{LOWER: read}, {OP: '{0,2}'}, {LOWER: about}]"), encoding="utf-8")
    (small_project / "transcripts" / "P02.txt").write_text(
        "INT: And then?\nP02: I read a lot about it.\n", encoding="utf-8")
    assert cli(small_project, "code").exit_code == 0
    result = cli(small_project, "quotes", "--code", "learn", "--participant", "P02", "--format", "csv")
    assert "I read a lot about it." in result.stdout


def test_case_37_a_coder_with_a_comma_can_be_named_in_agreement(coded_small):
    import json

    project, store, codebook = coded_small
    e01 = sorted(s for s, t in store.segment_transcripts().items() if t == "E01")[0]
    for coder in ("Smith, Jane", "ann"):
        assert cli(project.root, "tag", e01, "learn", "--coder", coder).exit_code == 0
    result = cli(project.root, "agreement", "--coder", "Smith, Jane", "--coder", "ann", "--format", "json")
    assert result.exit_code == 0, result.output
    assert {row["code"]: row["units"] for row in json.loads(result.stdout)}["learn"] == 2


def test_case_03_the_transcripts_preview_is_pseudonymised(small_project):
    (small_project / "copcode.yaml").write_text(
        'privacy:\n  identifiers:\n    Margaret Okafor: "[name]"\n    Ashford: "[town]"\n', encoding="utf-8")
    (small_project / "transcripts" / "P05.txt").write_text(
        "Margaret Okafor: How did it start?\nP05: I came from Ashford to see Margaret Okafor.\n"
        "Margaret Okafor: And then?\nP05: Then I stayed.\n", encoding="utf-8")
    for args in (["transcripts"], ["transcripts", "--format", "json"],
                 ["transcripts", str(small_project / "transcripts" / "P05.txt")]):
        result = cli(small_project, *args)
        assert result.exit_code == 0, result.output
        assert "[name]" in result.stdout and "Okafor" not in result.stdout and "Ashford" not in result.stdout


def test_caption_speakers_who_speak_once_are_speakers(small_project):
    from copcode.ingest import read_transcript
    from copcode.project import open_project

    path = small_project / "transcripts" / "C01.vtt"
    path.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nChris Ray: How was it?\n\n"
                    "00:00:05.000 --> 00:00:09.000\nPat Lo: It was helpful to meet the others.\n", encoding="utf-8")
    transcript = read_transcript(path, open_project(small_project))
    assert [(t.speaker, t.role, transcript.text[t.start:t.end]) for t in transcript.turns] == [
        ("Chris Ray", "interviewer", "How was it?"), ("Pat Lo", "participant", "It was helpful to meet the others.")]


def test_a_misspelt_interviewer_label_is_the_interviewer_and_said(small_project):
    (small_project / "transcripts" / "T01.txt").write_text(
        "Interviewer: How did it start?\nParticipant: A friend said it was helpful.\n"
        "Interveiwer: And what was difficult about it?\nParticipant: The waiting list.\n"
        "Interviewer: Anything else?\nParticipant: No.\n", encoding="utf-8")
    result = cli(small_project, "code")
    assert result.exit_code == 0, result.output
    assert ("Warning: transcripts/T01.txt: 'Interveiwer' is read as the interviewer: it looks like a misspelling "
            "of 'Interviewer'; correct it, or map it in the header's `speakers:`.") in " ".join(result.stderr.split())
    segments = cli(small_project, "segments", "--participant", "T01", "--format", "csv").stdout
    assert "waiting list" in segments and "difficult" not in segments


def test_a_line_joined_to_the_turn_before_is_said_by_code(small_project):
    (small_project / "transcripts" / "FG2.txt").write_text(
        "Moderator: What do you think?\nAnna: It has been helpful.\nBen: I found it difficult.\n"
        "Dan: I only want to say one thing.\nModerator: Ben, what would help?\nBen: More staff.\n"
        "Anna: I agree with Ben.\n", encoding="utf-8")
    result = cli(small_project, "code")
    assert result.exit_code == 0, result.output
    assert ("Warning: transcripts/FG2.txt: line 4 (Dan:) joined to the turn before: the label opens only one turn; "
            "if it is a speaker, check its spelling.") in " ".join(result.stderr.split())
