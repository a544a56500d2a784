"""Hostile REFI-QDA files (hostile cases 8-13 and 35): each gets one clear message or the
right result, and a failed import leaves transcripts/, codebooks/, participants.csv, out/ and
the store exactly as they were."""

from __future__ import annotations

import sqlite3
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copcode.cli import app
from copcode.project import open_project, read_participants

from conftest import list_identifiers

LEARN, TRUST = "22222222-2222-2222-2222-222222222222", "22222222-2222-2222-2222-333333333333"
USER = "11111111-1111-1111-1111-111111111111"
E01_TEXT = "Interviewer: What did you learn?\nE01: We learnt a lot from the carers.\n"
E02_TEXT = "Interviewer: Did you trust them?\nE02: I trust the group completely.\n"


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "250"})


def state(root: Path) -> dict:
    """Every file of the project (bytes) outside .copcode/, and every row of every table of the
    store (None when there is no store)."""
    files = {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else "folder")
             for p in sorted(root.rglob("*")) if ".copcode" not in p.parts}
    store = root / ".copcode" / "copcode.db"
    rows = None
    if store.exists():
        db = sqlite3.connect(store)
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in sorted(tables)}
        db.close()
    return {"files": files, "store": rows, "copcode folder": (root / ".copcode").exists()}


def project_xml(*, sources=None, codes=None, users=None, cases="", variables="") -> str:
    users = users if users is not None else f'<User guid="{USER}" name="ann"/>'
    codes = codes if codes is not None else (
        f'<Code guid="99999999-0000-0000-0000-000000000000" name="Community" isCodable="false">'
        f'<Code guid="{LEARN}" name="Learning" isCodable="true"/>'
        f'<Code guid="{TRUST}" name="Trust" isCodable="true"/></Code>')
    sources = sources if sources is not None else text_source("E01", E01_TEXT, "We learnt", LEARN) + \
        text_source("E02", E02_TEXT, "I trust", TRUST)
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="urn:QDA-XML:project:1.0" name="x">'
            f'<Users>{users}</Users><CodeBook><Codes>{codes}</Codes></CodeBook>{variables}{cases}'
            f'<Sources>{sources}</Sources></Project>')


def text_source(name, text, words, code, guid=None, user=USER) -> str:
    start = text.index(words)
    end = text.index("\n", start)
    name_attr = f' name="{name}"' if name is not None else ""
    return (f'<TextSource guid="{guid or "source-" + name}"{name_attr}><PlainTextContent>{text}</PlainTextContent>'
            f'<PlainTextSelection guid="selection-{name}-{start}" '
            f'startPosition="{start}" endPosition="{end}"><Coding guid="55555555-5555-5555-5555-555555555555" '
            f'creatingUser="{user}"><CodeRef targetGUID="{code}"/></Coding></PlainTextSelection></TextSource>')


def qdpx(folder: Path, xml: str, name="study.qdpx", **files) -> Path:
    path = folder / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", xml)
        for member, data in files.items():
            zf.writestr(member.replace("__", "/"), data)
    return path


def raw_zip(path: Path, members) -> Path:
    """A zip written byte by byte, for what zipfile will not write: a member's method, flags,
    declared sizes and already-compressed data. members: (name, method, flags, crc, size, data)."""
    local, central = b"", b""
    for name, method, flags, crc, size, data in members:
        name_bytes = name.encode()
        offset = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0x21, crc, len(data), size,
                             len(name_bytes), 0) + name_bytes + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, 0, 0x21, crc, len(data),
                               size, len(name_bytes), 0, 0, 0, 0, 0, offset) + name_bytes
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0)
    path.write_bytes(local + central + end)
    return path


def deflated_zeros(mebibytes: int) -> tuple[bytes, int]:
    """A raw deflate stream of `mebibytes` MiB of zero bytes (about 1 KiB per MiB), and its CRC,
    made without compressing a GiB: one fully flushed block, repeated."""
    zero = bytes(1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(zero) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(zero, crc)
    return block * mebibytes + b"\x03\x00", crc  # b"\x03\x00": an empty final block


@pytest.fixture
def fresh(tmp_path) -> Path:
    root = tmp_path / "fresh"
    root.mkdir()
    return root


@pytest.fixture
def imported(tmp_path) -> Path:
    """A project made by importing a small .qdpx: a codebook, two transcripts, a store, out/."""
    root = tmp_path / "imported"
    root.mkdir()
    result = cli(root, "import", str(qdpx(tmp_path, project_xml(), "first.qdpx")))
    assert result.exit_code == 0, result.output
    assert (root / "out" / "coded_segments.csv").is_file()
    return root


def refused(root: Path, path: Path, message: str) -> None:
    """The import stops with exactly `message` and changes nothing."""
    before = state(root)
    result = cli(root, "import", str(path))
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert result.stderr == f"Error: {message}\n"
    assert state(root) == before


# 8: zip bombs, encrypted members, compression methods Python cannot read

BOMB_FIX = ("  How to fix: check where the file came from; a REFI-QDA project's text is far smaller. "
            "If it is genuine, import its parts separately.")

def test_case_08_a_source_that_expands_to_a_gib_is_refused_unread(imported, tmp_path):
    data, crc = deflated_zeros(1024)
    assert len(data) < 1.1 * 1024 * 1024
    xml = project_xml(sources='<TextSource guid="1" name="E09" plainTextPath="internal://e09.txt"/>')
    bomb = raw_zip(tmp_path / "bomb.qdpx", [
        ("project.qde", 0, 0, zlib.crc32(xml.encode()), len(xml), xml.encode()),
        ("sources/e09.txt", 8, 0, crc, 1 << 30, data)])
    ratio = f"{(1 << 30) / len(data):.0f}"
    refused(imported, bomb, f"{bomb}: sources/e09.txt in the archive expands {ratio} times (at most 100 times): "
            f"refused as a zip bomb\n{BOMB_FIX}")


def test_case_08_a_project_qde_over_the_limit_is_refused_unread(imported, tmp_path):
    data, crc = deflated_zeros(1024)
    bomb = raw_zip(tmp_path / "bomb.qdpx", [("project.qde", 8, 0, crc, 1 << 30, data)])
    ratio = f"{(1 << 30) / len(data):.0f}"
    refused(imported, bomb, f"{bomb}: project.qde in the archive expands {ratio} times (at most 100 times): "
            f"refused as a zip bomb\n{BOMB_FIX}")
    # packed loosely enough to pass the ratio check, it is still refused by its size
    big = tmp_path / "big.qdpx"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("project.qde", b"<Project>" + b" " * (65 << 20) + b"</Project>")
    refused(imported, big, f"{big}: project.qde expands to 65 MiB (at most 64 MiB): too large to import\n{BOMB_FIX}")


def test_case_08_an_encrypted_member_is_refused(imported, tmp_path):
    xml = project_xml().encode()
    locked = raw_zip(tmp_path / "locked.qdpx", [("project.qde", 0, 1, zlib.crc32(xml), len(xml), xml)])
    refused(imported, locked, f"{locked}: project.qde in the archive is encrypted\n"
            "  How to fix: export the project again without a password.")


def test_case_08_a_deflate64_member_is_refused(imported, tmp_path):
    xml = project_xml().encode()
    odd = raw_zip(tmp_path / "deflate64.qdpx", [("project.qde", 9, 0, zlib.crc32(xml), len(xml), xml)])
    refused(imported, odd, f"{odd}: project.qde in the archive is compressed with Deflate64, which copcode "
            "cannot read\n  How to fix: export the project again; or unzip it and zip it again with ordinary "
            "(Deflate) compression, keeping the .qdpx ending.")


def test_import_refuses_xml_entities_billion_laughs(imported, tmp_path):
    laughs = ('<?xml version="1.0"?><!DOCTYPE Project [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
              '<!ENTITY c "&b;&b;&b;&b;&b;&b;">]><Project xmlns="urn:QDA-XML:project:1.0" name="&c;"/>')
    path = qdpx(tmp_path, laughs)
    refused(imported, path, f"{path}: project XML declares entities or external references (EntitiesForbidden), "
            "which copcode does not expand\n  How to fix: export it again from the other program as .qdpx or .qdc.")


# 9: ambiguous elements

def test_case_09_two_text_sources_with_one_name(imported, tmp_path):
    sources = text_source("E03", E01_TEXT, "We learnt", LEARN, guid="a1") + \
        text_source("E03", E02_TEXT, "I trust", TRUST, guid="a2")
    refused(imported, qdpx(tmp_path, project_xml(sources=sources)),
            f"{tmp_path / 'study.qdpx'}: two TextSources are named 'E03' (guids a1 and a2)\n"
            "  How to fix: give each source its own name in the other program and export again.")


def test_case_09_two_codes_sharing_a_guid(imported, tmp_path):
    codes = f'<Code guid="{LEARN}" name="Learning"/><Code guid="{LEARN}" name="Trust"/>'
    refused(imported, qdpx(tmp_path, project_xml(codes=codes)),
            f"{tmp_path / 'study.qdpx'}: two Codes have the guid {LEARN} ('Learning' and 'Trust')\n"
            "  How to fix: export the project again; each code needs its own guid.")


def test_case_09_source_names_that_become_one_file(imported, tmp_path):
    sources = text_source("E 03", E01_TEXT, "We learnt", LEARN, guid="a1") + \
        text_source("e_03", E02_TEXT, "I trust", TRUST, guid="a2")
    refused(imported, qdpx(tmp_path, project_xml(sources=sources)),
            f"{tmp_path / 'study.qdpx'}: TextSources 'E 03' and 'e_03' would both become transcripts/e_03.txt\n"
            "  How to fix: give the sources names that differ in letters or digits, not only in spaces, "
            "punctuation or case, and export again.")


# 10: deep trees, and nameless sources, cases and variables

def test_case_10_codes_nested_1000_deep_are_read_without_recursion(fresh, tmp_path):
    depth = 1000
    codes = "".join(f'<Code guid="c{i}" name="Level {i}" isCodable="{str(i > 0).lower()}">' for i in range(depth))
    codes += "</Code>" * depth
    sources = text_source("E01", E01_TEXT, "We learnt", f"c{depth - 1}")
    result = cli(fresh, "import", str(qdpx(tmp_path, project_xml(codes=codes, sources=sources))))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == ["Wrote codebooks/study.yaml and copcode.yaml", "Added 1 transcript and 1 coding."]
    check = cli(fresh, "codebook", "check")
    assert check.stdout.startswith(f"codebooks/study.yaml: valid. 1 theme, {depth - 1} codes, 0 cues."), check.output


def test_case_10_more_codes_than_a_codebook_may_hold_are_refused_before_writing(fresh, tmp_path):
    codes = "".join(f'<Code guid="c{i}" name="Code {i}"/>' for i in range(5001))
    path = qdpx(tmp_path, project_xml(codes=codes))
    refused(fresh, path, f"{path}: it holds 5001 codes, more than a codebook may hold (at most 5000 codes in 2 MiB)\n"
            "  How to fix: import the codes of one part of the project at a time, or write the codebook in "
            "codebooks/ first (then only the codes it knows are imported).")


@pytest.mark.parametrize("kind, xml, message", [
    ("TextSource", project_xml(sources=text_source(None, E01_TEXT, "We learnt", LEARN, guid="a1")),
     ("the TextSource with guid a1 has no name\n  How to fix: name the source in the other program "
      "(its name becomes the participant id) and export again.")),
    ("Case", project_xml(cases='<Cases><Case guid="c1" name=" "/></Cases>'),
     ("the Case with guid c1 has no name\n  How to fix: name the case in the other program "
      "(its name is the participant id) and export again.")),
    ("Variable", project_xml(variables='<Variables><Variable guid="v1" typeOfVariable="Text"/></Variables>'),
     "the Variable with guid v1 has no name\n  How to fix: name the variable in the other program and export again."),
], ids=["TextSource", "Case", "Variable"])
def test_case_10_elements_without_a_name(imported, tmp_path, kind, xml, message):
    path = qdpx(tmp_path, xml)
    refused(imported, path, f"{path}: {message}")


# 11: a user whose name is white space

def test_case_11_a_blank_user_name_is_refused_before_anything_is_written(imported, tmp_path):
    users = f'<User guid="{USER}" name="ann"/><User guid="u2" name="  "/>'
    sources = text_source("E03", E01_TEXT.replace("E01", "E03"), "We learnt", LEARN, user="u2")
    path = qdpx(tmp_path, project_xml(users=users, sources=sources))
    refused(imported, path, f"{path}: the User with guid u2 has a blank name ('  '); their codings would have "
            "no coder\n  How to fix: give the user a name in the other program (it becomes the coder's name) "
            "and export again.")


# 12: formulas in cases and variables

def test_case_12_formulas_in_cases_and_variables_are_escaped_and_read_back(fresh, tmp_path):
    variables = ('<Variables><Variable guid="v1" name="=HYPERLINK(1)" typeOfVariable="Text"/>'
                 '<Variable guid="v2" name="group" typeOfVariable="Text"/></Variables>')
    cases = ('<Cases><Case guid="c1" name="-E01"><VariableValue><VariableRef targetGUID="v1"/>'
             '<TextValue>=cmd|\' /C calc\'!A0</TextValue></VariableValue>'
             '<VariableValue><VariableRef targetGUID="v2"/><TextValue>@SUM(1)</TextValue></VariableValue></Case>'
             '</Cases>')
    sources = text_source("-E01", E01_TEXT.replace("E01:", "Participant:"), "We learnt", LEARN)
    result = cli(fresh, "import", str(qdpx(tmp_path, project_xml(sources=sources, cases=cases, variables=variables))))
    assert result.exit_code == 0, result.output
    assert (fresh / "participants.csv").read_text(encoding="utf-8") == (
        "participant,'=HYPERLINK(1),group\n'-E01,'=cmd|' /C calc'!A0,'@SUM(1)\n")
    assert read_participants(open_project(fresh)) == {
        "-e01": {"=HYPERLINK(1)": "=cmd|' /C calc'!A0", "group": "@SUM(1)"}}


# 13: an imported codebook that is not valid

def test_case_13_an_invalid_imported_codebook_cites_the_code_element(fresh, tmp_path):
    codes = (f'<Code guid="t1" name="Community" isCodable="false"><Code guid="{LEARN}" name=" "/>'
             f'<Code guid="{TRUST}" name="Trust"/></Code><Code guid="t2" name="Empty folder" isCodable="false">'
             '<Code guid="t3" name="Not codable" isCodable="false"/></Code>')
    path = qdpx(tmp_path, project_xml(codes=codes))
    refused(fresh, path, f"{path}: its codes do not make a valid codebook (2 problems):\n"
            f"  Code ' ' (guid {LEARN}): its name is empty\n"
            f"  Code ' ' (guid {LEARN}): its description is empty\n"
            "  How to fix: correct these codes in the other program and export again; or put a codebook "
            "in codebooks/ first (then only the codes it knows are imported).")
    assert not (fresh / "codebooks").exists()


# all or nothing

ONLY_QUESTIONS = "Interviewer: Just one question?\nInterviewer: And another one?\n"


def test_import_is_all_or_nothing_when_a_source_cannot_be_coded(imported, tmp_path):
    """The codebook, transcripts and participants.csv are written and the project is coded
    before the source whose name is a listed identifier (an id shown in every output) is
    refused: all of it is undone."""
    (imported / "codebooks" / "first.yaml").rename(tmp_path / "first.yaml")  # so a codebook is written
    list_identifiers(imported, {"Okafor": "[name]"})
    sources = text_source("E03", E01_TEXT.replace("E01", "E03"), "We learnt", LEARN) + \
        text_source("Okafor", E02_TEXT.replace("E02", "Okafor"), "I trust", TRUST)
    cases = '<Cases><Case guid="c3" name="E03"/></Cases>'
    path = qdpx(tmp_path, project_xml(sources=sources, cases=cases), "second.qdpx")
    refused(imported, path, f"{path}: TextSource 'Okafor': the participant id 'Okafor' is a listed identifier "
            "(Okafor)\n  How to fix: rename the file to a code such as P07.txt, or set `participant: P07` in its "
            "header; ids are shown unredacted in every output.")


def test_a_source_with_only_the_interviewers_labels_comes_in_as_a_document(imported, tmp_path):
    """Its file may have named the participant's label in a header, which no REFI-QDA file
    carries: it comes in as a document, and the rest of the import with it."""
    sources = text_source("E03", E01_TEXT.replace("E01", "E03"), "We learnt", LEARN) + \
        text_source("E04", ONLY_QUESTIONS, "Just", TRUST)
    path = qdpx(tmp_path, project_xml(sources=sources), "second.qdpx")
    result = cli(imported, "import", str(path))
    assert result.exit_code == 0, result.output
    assert " ".join(result.stdout.split()) == (
        "Added 2 transcripts and 2 codings. TextSource 'E04' has only the interviewer's speaker labels: it comes "
        "in as a document (transcripts/E04.txt, `speakers: none`), the whole text one participant's, each "
        "paragraph a segment.")


def test_import_is_all_or_nothing_when_out_cannot_be_written(imported, tmp_path):
    """The store is committed by `copcode code` before out/ fails: it is put back."""
    (imported / "out" / "quotes_community.csv").unlink()
    (imported / "out" / "quotes_community.csv").mkdir()  # a table that cannot be replaced
    sources = text_source("E03", E01_TEXT.replace("E01", "E03"), "We learnt", LEARN)
    path = qdpx(tmp_path, project_xml(sources=sources), "second.qdpx")
    before = state(imported)
    result = cli(imported, "import", str(path))
    assert result.exit_code == 1 and "quotes_community.csv: cannot write the file" in result.stderr, result.output
    assert state(imported) == before


def test_import_into_a_fresh_folder_that_fails_leaves_it_as_it_was(fresh, tmp_path):
    """The settings, codebook and transcripts are written and the project coded before out/
    cannot be made (a file is in its place): all of it is undone."""
    (fresh / "out").write_text("not a folder", encoding="utf-8")
    path = qdpx(tmp_path, project_xml())
    result = cli(fresh, "import", str(path))
    assert result.exit_code == 1, result.output
    assert [p.name for p in fresh.iterdir()] == ["out"]


# 35: the same file twice

def test_case_35_importing_the_same_file_twice_records_nothing_new(imported, tmp_path):
    before = state(imported)["store"]["decisions"]
    assert len(before) == 2
    result = cli(imported, "import", str(tmp_path / "first.qdpx"))
    assert result.exit_code == 0, result.output
    assert result.stdout == "Added 0 transcripts and 0 codings.\nNothing new: 2 codings already recorded.\n"
    assert state(imported)["store"]["decisions"] == before


def test_case_35_a_file_with_one_new_coding_records_only_that_one(imported, tmp_path):
    xml = project_xml(sources=text_source("E01", E01_TEXT, "We learnt", LEARN) +
                      text_source("E02", E02_TEXT, "I trust", TRUST).replace(
                          "</PlainTextSelection>", f'<Coding guid="5" creatingUser="{USER}"><CodeRef targetGUID='
                          f'"{LEARN}"/></Coding></PlainTextSelection>'))
    result = cli(imported, "import", str(qdpx(tmp_path, xml, "more.qdpx")))
    assert result.exit_code == 0, result.output
    assert result.stdout == "Added 0 transcripts and 1 coding.\nNot recorded again: 2 codings already recorded.\n"
    assert len(state(imported)["store"]["decisions"]) == 3


def test_import_says_which_codings_refer_to_no_codable_code(fresh, tmp_path):
    sources = text_source("E01", E01_TEXT, "We learnt", "99999999-0000-0000-0000-000000000000") + \
        text_source("E02", E02_TEXT, "I trust", "no-such-code")
    result = cli(fresh, "import", str(qdpx(tmp_path, project_xml(sources=sources))))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Wrote codebooks/study.yaml and copcode.yaml", "Added 2 transcripts and 0 codings.",
        ("Not imported: 1 coding(s) refer to code guid 99999999-0000-0000-0000-000000000000, not a codable code "
         "in the file; left out"),
        "Not imported: 1 coding(s) refer to code guid no-such-code, not a codable code in the file; left out"]
