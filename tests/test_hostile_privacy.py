"""Hostile cases 3-7 (hostile-cases.md): a listed identifier, in every variant, leaves in no
output of any format; a listed name as a participant id is refused."""

import json
import sqlite3
import zipfile

import docx
import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from copcode.cli import app
from copcode.privacy import Redactor, normalised

IDENTIFIERS = {"Margaret Okafor": "[name]", "Zoë": "[zname]", "O'Neill": "[oname]"}
PRIVACY = "privacy:\n  identifiers:\n" + "".join(f"    {json.dumps(k)}: {json.dumps(v)}\n" for k, v in IDENTIFIERS.items())

CODEBOOK = {
    "name": "hostile-privacy",
    "themes": [{
        "id": "learning", "label": "Learning with O’Neill",
        "description": "What members learned from Zoe\u0308.",
        "codes": [{
            "id": "learn", "label": "Learning (Margaret Okafor's idea)",
            "definition": "Members say what they learned, as Margaret Okafor put it.",
            "include": "Anything O'Neill would call learning.", "exclude": "Not what ZOË said.",
            "examples": ["I learnt it from Margaret Okafor."],
            "cues": {"keywords": ["learn", "training"],
                     "patterns": [{"name": "Margaret Okafor's pattern", "pattern": [{"LOWER": "read"}, {"LOWER": "about"}]}]},
        }],
    }, {
        "id": "barriers", "label": "Barriers",
        "codes": [{"id": "time", "label": "No time", "definition": "Members say they had no time.",
                   "cues": {"keywords": ["workload", "no time"]}}],
    }],
}

# a turn without full stops, cut at its 120th word; the name falls across the cut
_WORDS = ("we would learn things together and talk about the training and the rota and "
          "then we would go home and think it over again").split()


def _unpunctuated(total=300, at=119):
    words = [_WORDS[i % len(_WORDS)] for i in range(total)]
    words[at], words[at + 1] = "Margaret", "Okafor"
    return " ".join(words)


TRANSCRIPTS = {
    # case 4: a line break inside the name
    "P01.txt": "Interviewer: What did you learn?\n\nP01: I learnt so much from Margaret\nOkafor in the "
               "training sessions we had together, more than I can say here.\n",
    # case 4: the name at a 120-word cut of an unpunctuated turn
    "P02.txt": "Interviewer: Tell me about the group.\n\nP02: " + _unpunctuated() + "\n",
    # case 6: NFD Zoë, a curly apostrophe for listed O'Neill, a no-break space inside a name
    "P03.txt": "Interviewer: Who helped?\n\nP03: Zoe\u0308 showed me how to learn, and O’Neill would read "
               "about it with me, and so did Margaret\u00a0Okafor in the training.\n",
    # case 3: a listed name as the voice of a caption file
    "R07.vtt": "WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\n<v Interviewer>What did you learn?</v>\n\n"
               "2\n00:00:05.000 --> 00:00:12.000\n<v Margaret Okafor>I learnt a lot in the training, "
               "and I read about it at home with my sister every evening.</v>\n",
}
# case 6: UTF-8 with one stray Windows-1252 byte (0x92, a right quote)
MOJIBAKE = ("Interviewer: And then?\n\nP04: I learnt from Zoë in the training, it\x92s where "
            "we would read about the rota together.\n")
PARTICIPANTS = ("participant,group,role\nP01,P,line manager: Margaret Okafor\nP02,P,works with Zoë\n"
                "P03,P,O’Neill's deputy\nP04,P,carer\nR07,R,carer\n")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    (root / "transcripts").mkdir()
    (root / "codebooks").mkdir()
    (root / "codebooks" / "cop.yaml").write_text(yaml.safe_dump(CODEBOOK, allow_unicode=True), encoding="utf-8")
    for name, text in TRANSCRIPTS.items():
        (root / "transcripts" / name).write_text(text, encoding="utf-8")
    (root / "transcripts" / "P04.txt").write_bytes(
        MOJIBAKE.replace("\x92", "\x00").encode("utf-8").replace(b"\x00", b"\x92"))
    (root / "participants.csv").write_text(PARTICIPANTS, encoding="utf-8")
    (root / "copcode.yaml").write_text(PRIVACY, encoding="utf-8")
    result = cli(root, "code")
    assert result.exit_code == 0, result.output
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    # read them all first: an open read would hold the store's lock, and `tag` must commit
    segments = db.execute("SELECT DISTINCT segment FROM suggestions WHERE code = 'learn'").fetchall()
    db.close()
    for (segment,) in segments:
        assert cli(root, "tag", segment, "learn", "--coder", "ann").exit_code == 0
    return root


def cli(root, *args, **kwargs):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "250"}, **kwargs)


def _text_of(path) -> str:
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path)
        return "\n".join([sheet.title for sheet in book] +
                         [str(c) for sheet in book for row in sheet.values for c in row if c is not None])
    if path.suffix == ".docx":
        document = docx.Document(path)
        cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
        return "\n".join([p.text for p in document.paragraphs] + cells + [document.core_properties.title or ""])
    if path.suffix == ".qdpx":
        archive = zipfile.ZipFile(path)
        return "\n".join([n for n in archive.namelist()] + [archive.read(n).decode("utf-8") for n in archive.namelist()])
    return path.read_text(encoding="utf-8")


def _leaks(data: str) -> list[str]:
    """Every planted identifier (or half of one) still in `data`, in any of its variants."""
    folded = " ".join(normalised(data)[0].split())
    words = ["margaret", "okafor", "zoe", "o'neill", "zoa«", "zoã«"]
    return [w for w in words if w in folded] + [w for w in ("Ã«", "Zoë", "Zoe\u0308", "O’Neill") if w in data]


def _all_outputs(root, tmp_path) -> dict[str, str]:
    outputs = {f"out/{p.name}": p.read_text(encoding="utf-8") for p in (root / "out").glob("*.csv")}
    for fmt in ("csv", "md", "json"):
        outputs[f"quotes.{fmt}"] = cli(root, "quotes", "--limit", "0", "--per-participant", "0",
                                       "--with", "role", "--format", fmt).stdout
    outputs["quotes terminal"] = cli(root, "quotes", "--limit", "0", "--per-participant", "0", "--with", "role").stdout
    for fmt in ("xlsx", "docx"):
        target = tmp_path / f"quotes.{fmt}"
        assert cli(root, "quotes", "--theme", "learning", "--limit", "0", "--with", "role",
                   "--format", fmt, "--out", str(target)).exit_code == 0
        outputs[target.name] = _text_of(target)
    for fmt in ("csv", "xlsx", "qdpx", "qdc", "html"):
        target = tmp_path / f"study.{fmt}"
        result = cli(root, "export", "--format", fmt, "--out", str(target), *(["--suggestions"] if fmt == "qdpx" else []))
        assert result.exit_code == 0, result.output
        outputs[target.name] = _text_of(target)
    outputs["matrix terminal"] = cli(root, "matrix", "--cells", "quotes").stdout
    outputs["matrix.json"] = cli(root, "matrix", "--cells", "quotes", "--format", "json").stdout
    outputs["status terminal"] = cli(root, "status").stdout
    target = tmp_path / "review.xlsx"
    assert cli(root, "review", "--export", str(target), "--coder", "bob").exit_code == 0
    outputs["review.xlsx"] = _text_of(target)
    outputs["review terminal"] = cli(root, "review", "--coder", "zed", input="s" * 40 + "q").stdout
    outputs["disagreements"] = cli(root, "agreement", "--coders", "ann,suggestions", "--disagreements",
                                   "--format", "json").stdout
    return outputs


def test_case_04_06_07_no_output_of_any_format_holds_a_listed_identifier(planted, tmp_path):
    outputs = _all_outputs(planted, tmp_path)
    assert all(outputs.values()), [name for name, data in outputs.items() if not data]
    assert {name: _leaks(data) for name, data in outputs.items() if _leaks(data)} == {}
    # the passages are there, pseudonymised, not left out
    for name in ("study.html", "study.qdpx", "quotes.json", "study.xlsx", "out/coded_segments.csv"):
        assert "[name]" in outputs[name] and "[zname]" in outputs[name] and "[oname]" in outputs[name], name
    assert "[name]" in outputs["quotes.docx"] and "[name]" in outputs["study.qdc"]


def test_case_04_a_name_cut_at_a_segment_boundary_is_replaced_on_both_sides(planted):
    db = sqlite3.connect(planted / ".copcode" / "copcode.db")
    texts = [t for (t,) in db.execute("SELECT text FROM segments WHERE transcript = 'P02' ORDER BY start")]
    assert texts[0].endswith(" Margaret") and texts[1].startswith("Okafor ")  # the cut is where we meant
    rows = json.loads(cli(planted, "quotes", "--participant", "P02", "--limit", "0", "--per-participant", "0",
                          "--format", "json").stdout)
    quotes = [r["quote"] for r in rows]
    assert any(q.startswith("[name] ") for q in quotes)  # the segment that starts with "Okafor"
    assert any(q.endswith(" [name]") for q in quotes)  # the segment that ends with "Margaret"


def test_case_04_a_name_split_by_a_line_break_is_replaced(planted):
    rows = json.loads(cli(planted, "quotes", "--participant", "P01", "--format", "json").stdout)
    assert rows and all("from [name] in the" in r["quote"] for r in rows)


def test_case_03_a_listed_voice_name_is_replaced_as_a_speaker_label(planted, tmp_path):
    target = tmp_path / "report.html"
    assert cli(planted, "export", "--format", "html", "--out", str(target)).exit_code == 0
    html = target.read_text(encoding="utf-8")
    # shown as the participant's id: "[name]" for every named speaker loses who spoke
    assert '<span class="speaker">R07:</span>' in html and "Okafor" not in html


def test_case_05_a_listed_name_as_participant_id_is_refused_at_code(tmp_path):
    root = tmp_path / "p"
    (root / "transcripts").mkdir(parents=True)
    (root / "codebooks").mkdir()
    (root / "codebooks" / "cop.yaml").write_text(yaml.safe_dump(CODEBOOK, allow_unicode=True), encoding="utf-8")
    (root / "copcode.yaml").write_text(PRIVACY, encoding="utf-8")
    (root / "transcripts" / "P01.txt").write_text(TRANSCRIPTS["P01.txt"], encoding="utf-8")
    (root / "transcripts" / "Margaret_Okafor.txt").write_text(
        "Interviewer: Hello?\n\nMargaret_Okafor: I learnt a lot in the training.\n", encoding="utf-8")
    result = cli(root, "code")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: transcripts/Margaret_Okafor.txt: the participant id 'Margaret_Okafor' is a listed identifier "
        "(Margaret Okafor)\n  How to fix: rename the file to a code such as P07.txt, or set `participant: P07` "
        "in its header; ids are shown unredacted in every output.\n")
    assert not (root / "out").exists()
    store = root / ".copcode" / "copcode.db"
    assert not store.exists() or sqlite3.connect(store).execute("SELECT COUNT(*) FROM transcripts").fetchone() == (0,)
    (root / "transcripts" / "Margaret_Okafor.txt").rename(root / "transcripts" / "P09.txt")
    (root / "transcripts" / "P09.txt").write_text(
        "---\nparticipant: ZOË\n---\nInterviewer: Hello?\n\nZOË: I learnt a lot in the training.\n", encoding="utf-8")
    result = cli(root, "code")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: transcripts/P09.txt: the participant id 'ZOË' is a listed identifier (ZOË)")
    (root / "transcripts" / "P09.txt").write_text(
        "---\nparticipant: P09\n---\nInterviewer: Hello?\n\nP09: I learnt a lot in the training.\n", encoding="utf-8")
    assert cli(root, "code").exit_code == 0


def test_case_06_unicode_variants_are_flagged_by_privacy_scan(planted):
    found = json.loads(cli(planted, "privacy", "scan", "--format", "json").stdout)
    listed = {(f["transcript"], f["text"]) for f in found if f["kind"] == "listed"}
    assert {("P01", "Margaret\nOkafor"), ("P03", "Zoe\u0308"), ("P03", "O’Neill"), ("P03", "Margaret\u00a0Okafor"),
            ("R07", "Margaret Okafor")} <= listed
    assert any(t == "P04" and text in ("Zoë", "ZoÃ«") for t, text in listed)


def test_case_06_mojibake_file_is_redacted_in_outputs(planted):
    # ingest.text.decode keeps the valid UTF-8 and reads only the stray byte as Windows-1252
    # (another change); the redactor also matches a listed name's mojibake form, so either way
    # the name leaves in no output
    rows = json.loads(cli(planted, "quotes", "--participant", "P04", "--limit", "0", "--format", "json").stdout)
    assert rows and all("from [zname] in the training" in r["quote"] for r in rows)
    assert not any(_leaks(r["quote"]) for r in rows)


def test_case_07_codebook_text_and_attribute_values_are_redacted(planted, tmp_path):
    qdc = tmp_path / "book.qdc"
    assert cli(planted, "export", "--format", "qdc", "--out", str(qdc)).exit_code == 0
    text = qdc.read_text(encoding="utf-8")
    assert 'name="Learning ([name]\'s idea)"' in text and "as [name] put it" in text and not _leaks(text)
    qdpx = tmp_path / "study.qdpx"
    assert cli(planted, "export", "--format", "qdpx", "--out", str(qdpx)).exit_code == 0
    project = zipfile.ZipFile(qdpx).read("project.qde").decode("utf-8")
    assert "<TextValue>line manager: [name]</TextValue>" in project and not _leaks(project)


def test_no_redact_keeps_the_names_and_warns(planted):
    result = cli(planted, "--no-redact", "quotes", "--participant", "P01", "--format", "json")
    assert result.stderr.startswith("Warning: --no-redact")
    assert "Margaret\\nOkafor" in result.stdout


def test_slices_of_one_transcript_show_the_replacement_for_the_part_they_hold():
    redactor = Redactor(IDENTIFIERS)
    text = "I met Margaret\nOkafor and Zoe\u0308 there."
    cut = text.index("Okafor")
    assert redactor.redact_slice(text, 0, cut) == "I met [name]"
    assert redactor.redact_slice(text, cut, len(text)) == "[name] and [zname] there."
    assert redactor.redact(text[cut:]) == "Okafor and [zname] there."  # why slices need the whole text
    words, moved = redactor.redact_slice_mapped(text, 0, len(text))
    assert words[moved(text.index(" and")):moved(len(text))] == " and [zname] there."


def test_case_04_an_orphaned_decision_in_status_is_redacted(tmp_path):
    root = tmp_path / "orphan"
    (root / "transcripts").mkdir(parents=True)
    (root / "codebooks").mkdir()
    (root / "codebooks" / "cop.yaml").write_text(yaml.safe_dump(CODEBOOK, allow_unicode=True), encoding="utf-8")
    (root / "copcode.yaml").write_text(PRIVACY, encoding="utf-8")
    transcript = root / "transcripts" / "P01.txt"
    transcript.write_text(TRANSCRIPTS["P01.txt"], encoding="utf-8")
    assert cli(root, "code").exit_code == 0
    [(segment,)] = sqlite3.connect(root / ".copcode" / "copcode.db").execute("SELECT id FROM segments").fetchall()
    assert cli(root, "tag", segment, "learn", "--coder", "ann").exit_code == 0
    transcript.write_text("Interviewer: What did you learn?\n\nP01: Nothing at all about the rota, "
                          "I had no time for the training.\n", encoding="utf-8")
    assert cli(root, "code").exit_code == 0
    status = cli(root, "status").stdout
    assert "1 orphaned decision(s)" in status and "from [name] in the training" in status
    assert not _leaks(status)
