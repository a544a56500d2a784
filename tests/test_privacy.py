"""Pseudonymisation: listed identifiers never leave in any output; detectors; the scan."""

import csv
import io
import json
import zipfile

import docx
import openpyxl
import pytest
from typer.testing import CliRunner

from copcode.cli import app
from copcode.privacy import Redactor, nhs_number_valid

from conftest import list_identifiers

SECRET = "Margaret Okafor"
PLANTED = ("I rang Margaret Okafor about it, MARGARET OKAFOR always picks up, and margaret  okafor's "
           "team in Ashford sorted the rota. Email me at m.okafor@example.org or ring 01227 823456. ")


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def private_demo(tmp_path_factory):
    from conftest import copy_demo

    root = copy_demo(tmp_path_factory.mktemp("private"))
    path = root / "transcripts" / "P03.txt"
    text = path.read_text(encoding="utf-8")
    anchor = "Overall, it needs to be more of a culture change"
    path.write_text(text.replace(anchor, PLANTED + anchor), encoding="utf-8")
    people = root / "participants.csv"
    people.write_text(people.read_text(encoding="utf-8").replace(
        "P03,P,WF,statutory,occupational therapy team manager",
        "P03,P,WF,statutory,OT team manager (line manager: Margaret Okafor)"), encoding="utf-8")
    (root / "copcode.yaml").write_text(
        'privacy:\n  identifiers:\n    "Margaret Okafor": "[name]"\n    "Ashford": "[town]"\n', encoding="utf-8")
    assert cli(root, "code").exit_code == 0
    segment = next(line.split(",")[0] for line in (root / "out" / "coded_segments.csv").read_text().splitlines()
                   if "P03" in line and "[name]" in line)
    assert cli(root, "tag", segment, "prevailing-culture", "--coder", "ann").exit_code == 0
    return root


def _leaks(data: str) -> bool:
    folded = " ".join(data.casefold().split())
    return "okafor" in folded or "ashford" in folded or "m.okafor@example.org" in folded or "823456" in folded


def test_privacy_no_output_leaks_a_listed_identifier(private_demo, tmp_path):
    root = private_demo
    outputs = {}
    for name in ("coded_segments.csv", "quotes_territory.csv"):
        outputs[name] = (root / "out" / name).read_text(encoding="utf-8")
    for fmt in ("csv", "md", "json"):
        result = cli(root, "quotes", "--theme", "territory", "--participant", "P03", "--format", fmt, "--limit", "0")
        outputs[f"quotes.{fmt}"] = result.stdout
    outputs["quotes table"] = cli(root, "quotes", "--theme", "territory", "--participant", "P03").stdout
    for fmt in ("xlsx", "docx"):
        target = tmp_path / f"quotes.{fmt}"
        cli(root, "quotes", "--theme", "territory", "--participant", "P03", "--format", fmt, "--out", str(target))
        outputs[target.name] = _text_of(target)
    for fmt in ("csv", "xlsx", "qdpx", "html"):
        target = tmp_path / f"study.{fmt}"
        extra = ["--suggestions"] if fmt == "qdpx" else []
        assert cli(root, "export", "--format", fmt, "--out", str(target), *extra).exit_code == 0
        outputs[target.name] = _text_of(target)
    outputs["matrix"] = cli(root, "matrix", "--cells", "quotes", "--format", "json").stdout
    target = tmp_path / "review.xlsx"
    cli(root, "review", "--export", str(target), "--coder", "bob")
    outputs["review.xlsx"] = _text_of(target)
    outputs["review terminal"] = CliRunner().invoke(
        app, ["--project", str(root), "review", "--coder", "zed", "--participant", "P03"], input="q",
        env={"COLUMNS": "200"}).stdout
    assert all(outputs.values())
    assert [name for name, data in outputs.items() if _leaks(data)] == []
    assert "[name]" in outputs["study.html"] and "[town]" in outputs["quotes.csv"]
    assert "[email]" in outputs["quotes.json"] and "[phone]" in outputs["quotes.json"]


def test_privacy_qdpx_selections_still_match_the_pseudonymised_text(private_demo, tmp_path):
    import xml.etree.ElementTree as ET

    target = tmp_path / "study.qdpx"
    cli(private_demo, "export", "--format", "qdpx", "--out", str(target))
    archive = zipfile.ZipFile(target)
    ns = {"q": "urn:QDA-XML:project:1.0"}
    root = ET.fromstring(archive.read("project.qde"))
    [source] = [s for s in root.iterfind("q:Sources/q:TextSource", ns) if s.get("name") == "P03"]
    text = archive.read("sources/" + source.get("plainTextPath").removeprefix("internal://")).decode("utf-8")
    [selection] = source.findall("q:PlainTextSelection", ns)
    quote = text[int(selection.get("startPosition")):int(selection.get("endPosition"))]
    # ann tagged the whole passage: the selection is that passage, as the pseudonymised text has it
    assert quote.startswith("I think it did, for her. But it shouldn't hinge on having the right manager. I rang "
                            "[name] about it, [name] always picks up, and [name]'s team in [town]")
    assert quote.endswith("At the moment it relies on individuals sticking their necks out.")


def test_privacy_store_keeps_the_original_words_and_no_redact_warns(private_demo):
    import sqlite3

    db = sqlite3.connect(private_demo / ".copcode" / "copcode.db")
    assert db.execute("SELECT COUNT(*) FROM segments WHERE text LIKE '%Margaret Okafor%'").fetchone()[0] == 1
    result = cli(private_demo, "--no-redact", "quotes", "--theme", "territory", "--participant", "P03", "--format", "csv")
    assert result.stderr.startswith("Warning: --no-redact: the identifiers listed in copcode.yaml are NOT pseudonymised")
    assert SECRET in result.stdout


def test_privacy_scan_lists_listed_detected_and_capitalised(private_demo):
    result = cli(private_demo, "privacy", "scan", "--format", "json")
    found = [f for f in json.loads(result.stdout) if f["transcript"] == "P03"]
    kinds = {(f["text"], f["kind"]) for f in found}
    assert {("Margaret Okafor", "listed"), ("MARGARET OKAFOR", "listed"), ("margaret  okafor", "listed"),
            ("Ashford", "listed"), ("m.okafor@example.org", "email"), ("01227 823456", "phone")} <= kinds
    text = (private_demo / "transcripts" / "P03.txt").read_text(encoding="utf-8")
    body = text[text.index("---\n", 4) + 4:]
    assert all(body[f["start"]:f["end"]] == f["text"] for f in found)
    assert all(f["kind"] != "capitalised" or f["text"][0].isupper() for f in found)


@pytest.mark.parametrize("text, expected", [
    ("Call 07700 900123 or +44 1227 823456.", "Call [phone] or [phone]."),
    ("Post to CT2 7NZ, or ct27nz.", "Post to [postcode], or [postcode]."),
    ("NHS number 943 476 5919; not 943 476 5918.", "NHS number [NHS number]; not 943 476 5918."),
    ("Seen on 12/03/2024, on 3rd March 2024 and on March 3.", "Seen on [date], on [date] and on [date]."),
    ("Write to jo.bloggs+cop@kent.ac.uk today.", "Write to [email] today."),
    ("Ashfordians are not Ashford. ASHFORD'S council.", "Ashfordians are not [town]. [town]'S council."),
])
def test_privacy_detectors_and_word_boundaries(text, expected):
    assert Redactor({"Ashford": "[town]"}).redact(text) == expected


def test_privacy_nhs_check_digit_and_offset_mapping():
    assert nhs_number_valid("9434765919") and not nhs_number_valid("9434765918")
    redacted, moved = Redactor({"Margaret Okafor": "[name]"}).redact_mapped("Hi Margaret Okafor, bye.")
    assert redacted == "Hi [name], bye."
    assert redacted[moved(20):moved(24)] == "bye."


def _text_of(path) -> str:
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path)
        return "\n".join(str(c) for sheet in book for row in sheet.values for c in row if c is not None)
    if path.suffix == ".docx":
        return "\n".join(p.text for p in docx.Document(path).paragraphs)
    if path.suffix == ".qdpx":
        archive = zipfile.ZipFile(path)
        return "\n".join(archive.read(n).decode("utf-8") for n in archive.namelist())
    return path.read_text(encoding="utf-8")


def test_a_learned_suggestion_never_shows_a_word_of_an_identifier_alone():
    """"Harvey" alone is not "William Harvey Hospital", nor "gmail" an e-mail address: redacting
    the evidence's text cannot catch them. Words of the passage outside identifiers stay."""
    from copcode.tables import evidence_shown

    redactor = Redactor({"William Harvey Hospital": "[hospital]", "Zoë Ångström": "[name]"}, ("email",))
    passage = "At William Harvey Hospital the ward staff wrote to zanele.mbeki@gmail.com; Zoe Angstrom too."
    evidence = [{"cue": "ward", "kind": "keyword"},
                {"kind": "learned", "words": ["harvey", "ward", "zoe", "gmail", "mbeki", "angstrom", "staff"],
                 "passages": 30, "positives": 6, "threshold": 0.4}]
    assert evidence_shown(evidence, redactor.hider(passage)) == [
        "ward", "learned: ward, staff (from 30 coded passages, 6 with the code)"]
    # only the identifiers within the passage's own part of the text count
    assert evidence_shown(evidence, redactor.hider(passage, 0, 30))[1] == (
        "learned: ward, zoe, gmail, mbeki, angstrom, staff (from 30 coded passages, 6 with the code)")
    assert evidence_shown(evidence)[1] == ("learned: harvey, ward, zoe, gmail, mbeki, angstrom, staff (from 30 "
                                           "coded passages, 6 with the code)")


@pytest.mark.parametrize("written", ["Anne-Marie Smith", "Anne Marie Smith", "Anne–Marie Smith", "Anne-\nMarie Smith",
                                     "ANNE - MARIE SMITH"])
def test_a_listed_hyphenated_name_matches_its_other_forms(written):
    redactor = Redactor({"Anne-Marie Smith": "[name]"}, ())
    assert redactor.redact(f"I met {written} there.") == "I met [name] there."


def test_privacy_scan_names_the_transcripts_it_has_not_seen(coded_demo, tmp_path):
    """It scans the transcripts as the last `copcode code` read them: a file added or changed
    since is named, not passed over in silence (its names would look like nothing to list)."""
    import shutil

    root = tmp_path / "demo"
    shutil.copytree(coded_demo, root)
    assert cli(root, "privacy", "scan", "--format", "csv").stderr.count("Warning") == 0
    (root / "transcripts" / "A08.txt").write_text("Interviewer: Hello.\n\nA08: I am Bernard Pike.\n", encoding="utf-8")
    with (root / "transcripts" / "E02.txt").open("a", encoding="utf-8") as handle:
        handle.write("\nE02: Ask Gwendolyn Marsh.\n")
    result = cli(root, "privacy", "scan", "--format", "csv")
    assert result.exit_code == 0
    assert "Warning: not scanned, new or changed since the last `copcode code` (or skipped by it): " \
           "transcripts/A08.txt, transcripts/E02.txt. Run `copcode code` (it says why it skips a file), then scan " \
           "again." in \
           " ".join(result.stderr.split())
    assert "Bernard" not in result.stdout and "Gwendolyn" not in result.stdout
    assert cli(root, "code").exit_code == 0
    result = cli(root, "privacy", "scan", "--format", "csv")
    assert "Warning" not in result.stderr
    assert "Bernard Pike" in result.stdout and "Gwendolyn Marsh" in result.stdout


def test_privacy_scan_says_when_nothing_is_pseudonymised(coded_demo):
    """The demo's copcode.yaml has no `privacy:` section: what the scan finds is not replaced."""
    result = cli(coded_demo, "privacy", "scan", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert " ".join(result.stderr.split()) == ("Possible identifiers: NOTHING is pseudonymised in outputs: copcode.yaml "
                                               "lists no identifier and detects nothing (README, 'Privacy')")
    assert result.stdout.startswith("transcript,start,end,text,kind,replacement\n")


def test_privacy_scan_does_not_list_again_a_name_listed_after_its_title(tmp_path):
    """"Dr Hannah Whitfield" with "Hannah Whitfield" listed: the title alone is nothing to
    add; a name beside it that is not listed still is. Labels that name a role ("Receptionist",
    "Social Worker") are no possible names."""
    root = tmp_path / "study"
    (root / "transcripts").mkdir(parents=True)
    assert cli(root, "init").exit_code == 0
    list_identifiers(root, {"Hannah Whitfield": "[doctor]"})
    (root / "transcripts" / "A01.txt").write_text(
        "Interviewer: Who helped you?\n\nA01: I saw Dr Hannah Whitfield at the clinic, and Dr. Hannah Whitfield "
        "again. Mr Albert Finch came too, with Dr Hannah Whitfield Jones. Sir Hannah Whitfield-Jones wrote.\n\n"
        "Receptionist: They rang.\n\nA01: Good.\n\nSocial Worker: Me too.\n\nA01: Yes.\n\nReceptionist: Again.\n\n"
        "Social Worker: Fine.\n", encoding="utf-8")
    assert cli(root, "code").exit_code == 0
    scanned = [(r["text"], r["kind"]) for r in csv.DictReader(io.StringIO(
        cli(root, "privacy", "scan", "--format", "csv").stdout))]
    # "Whitfield-Jones" is one word that the listed name covers only in part: "Sir [doctor]-Jones" names someone
    assert scanned == [("Hannah Whitfield", "listed")] * 4 + [
        ("Mr Albert Finch", "capitalised"), ("Dr Hannah Whitfield Jones", "capitalised"),
        ("Sir Hannah Whitfield-Jones", "capitalised")]


def test_privacy_scan_says_when_a_word_alone_is_part_of_a_listed_name(tmp_path):
    """"Margaret Okafor" listed does not replace "Okafor" alone: the scan says the word is part
    of a listed name, so a researcher lists it too; a listed name with a possessive ("Kerry's")
    is not reported, as it is replaced (new-user trial)."""
    root = tmp_path / "study"
    (root / "transcripts").mkdir(parents=True)
    assert cli(root, "init").exit_code == 0
    list_identifiers(root, {"Margaret Okafor": "[name]", "Kerry": "[name]", "Ashford Road": "[street]"})
    (root / "transcripts" / "A02.txt").write_text(
        "Interviewer: Who helped you?\n\nA02: Through Mrs Okafor at church. Okafor's husband rang, and "
        "Margaret Okafor came. Then Kerry's friend Albert Finch, of London Road.\n", encoding="utf-8")
    assert cli(root, "code").exit_code == 0
    scanned = [(r["text"], r["kind"]) for r in csv.DictReader(io.StringIO(
        cli(root, "privacy", "scan", "--format", "csv").stdout))]
    assert scanned == [("Margaret Okafor", "listed"), ("Kerry", "listed"), ("Mrs Okafor", "part of a listed name"),
                       ("Okafor's", "part of a listed name"), ("Albert Finch", "capitalised"),
                       ("London Road", "part of a listed name")]  # "Road" of "Ashford Road": a word alone
    assert "Okafor's husband" in cli(root, "segments", "--format", "csv").stdout  # not replaced: listed whole


def test_privacy_scan_of_a_survey_in_a_project_made_by_init(tmp_path):
    """`copcode init` makes an empty transcripts folder; the answers come from --input. The
    scan has no transcript file to name, and scans the answers."""
    root = tmp_path / "survey"
    root.mkdir()
    assert cli(root, "init").exit_code == 0
    (root / "answers.csv").write_text("id,text\nr1,The nurse Mary Jones helped a lot.\nr2,Fine.\n", encoding="utf-8")
    assert cli(root, "code", "--input", str(root / "answers.csv"), "--text-column", "text").exit_code == 0
    result = cli(root, "privacy", "scan", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.stderr
    assert [(r["transcript"], r["text"]) for r in csv.DictReader(io.StringIO(result.stdout))] == [("r1", "Mary Jones")]
