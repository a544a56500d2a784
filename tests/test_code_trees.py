"""Code trees (issue 13, part 2): codes holding codes in the YAML codebook, to any depth up to
20; the flat list, parents and themes; messages with the lines of nested codes; suggestions and
tags on nested codes; `--level` roll-up in quotes, segments and matrix; the tree in REFI-QDA
export (checked against the official schemas), in import (a four-level tree written here by the
REFI-QDA 1.0 project schema) and through a round trip."""

from __future__ import annotations

import csv
import io
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import xmlschema
from typer.testing import CliRunner

from copcode.cli import app
from copcode.codebook import load_codebook

SCHEMAS = Path(__file__).parent / "refi-qda"
NS = {"q": "urn:QDA-XML:project:1.0"}

TREE = """\
name: tree
themes:
  - id: learning
    label: Learning together
    codes:
      - id: learn
        label: Learning
        definition: Members say what they learned.
        cues:
          keywords: [learn]
        codes:
          - id: peers
            label: From peers
            definition: Learning from other members.
            cues:
              keywords: [carer]
            codes:
              - id: carers-knowledge
                label: Carers' knowledge
                definition: What carers know.
                cues:
                  keywords: [nobody writes down]
                codes:
                  - id: unwritten
                    label: Unwritten knowledge
                    definition: Knowledge that is not written anywhere.
                    cues:
                      keywords: [writes down]
          - id: reading
            label: Reading
            definition: Reading about it.
            cues:
              patterns:
                - [{LOWER: read}, {LOWER: about}]
  - id: barriers
    label: Barriers to taking part
    codes:
      - id: time
        label: No time
        definition: Members say they had no time.
        cues:
          keywords: [workload, no time]
"""

E01 = """\
Interviewer: What did you learn from the group?

E01: I learnt so much from the others. Carers know things nobody writes down. Then I went home and read about it.

Interviewer: Anything else?

E01: The carers taught me what nobody writes down anywhere.
"""
P02 = """\
INT: Did you go to every meeting?
P02: No. My workload is huge, I had no time.
INT: Thanks.
"""
# the segments of E01 and P02 (ids: transcript and six hex digits of the words' SHA-1)
FIRST, SECOND, WORKLOAD = "E01-960180", "E01-96794a", "P02-848e06"


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "200"})


def rows(result, *columns) -> list[tuple]:
    assert result.exit_code == 0, result.output
    return [tuple(row[c] for c in columns) for row in csv.DictReader(io.StringIO(result.stdout))]


def make_project(root: Path, codebook: str = TREE) -> Path:
    (root / "transcripts").mkdir(parents=True)
    (root / "codebooks").mkdir()
    (root / "codebooks" / "tree.yaml").write_text(codebook, encoding="utf-8")
    (root / "transcripts" / "E01.txt").write_text(E01, encoding="utf-8")
    (root / "transcripts" / "P02.txt").write_text(P02, encoding="utf-8")
    return root


@pytest.fixture
def tree_project(tmp_path) -> Path:
    """The tree codebook over two transcripts, coded, with two tags on nested codes."""
    root = make_project(tmp_path / "tree")
    assert cli(root, "code").exit_code == 0
    for segment, code, coder in [(SECOND, "unwritten", "ann"), (WORKLOAD, "reading", "bob")]:
        result = cli(root, "tag", segment, code, "--coder", coder)
        assert result.exit_code == 0, result.output
    return root


def shape(codebook) -> list[tuple]:
    """The tree as (theme, code, parent, depth, label), in the codebook's order."""
    return [(codebook.theme_of(c.id).id, c.id, c.parent, codebook.depth(c.id), c.label) for c in codebook.codes]


# ---------------------------------------------------------------- the YAML codebook

def test_a_four_level_tree_loads_as_a_flat_list_parents_first(tmp_path):
    path = tmp_path / "tree.yaml"
    path.write_text(TREE, encoding="utf-8")
    codebook = load_codebook(path)
    assert shape(codebook) == [
        ("learning", "learn", None, 1, "Learning"),
        ("learning", "peers", "learn", 2, "From peers"),
        ("learning", "carers-knowledge", "peers", 3, "Carers' knowledge"),
        ("learning", "unwritten", "carers-knowledge", 4, "Unwritten knowledge"),
        ("learning", "reading", "learn", 2, "Reading"),
        ("barriers", "time", None, 1, "No time")]
    assert [c.id for c in codebook.children("learn")] == ["peers", "reading"]
    assert codebook.children("unwritten") == []
    assert [c.id for c in codebook.ancestors("unwritten")] == ["carers-knowledge", "peers", "learn"]
    assert codebook.ancestors("learn") == []
    assert [codebook.at_level("unwritten", n) for n in (1, 2, 3, 4, 5)] == \
        ["learn", "peers", "carers-knowledge", "unwritten", "unwritten"]
    assert [c.id for c in codebook.themes[0].codes] == ["learn"]  # a theme's own codes stay its direct ones
    assert codebook.code("unwritten").cues.keywords[0].phrase == "writes down"


def test_duplicate_nested_ids_are_reported_with_their_lines(tmp_path):
    text = TREE.replace("                  - id: unwritten", "                  - id: peers") \
        .replace("      - id: time", "      - id: reading")
    path = tmp_path / "tree.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli(tmp_path, "codebook", "check", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path}: the codebook is not valid (2 problems):\n"
        "  line 24: themes[0].codes[0].codes[0].codes[0].codes[0].id: duplicate code peers (first at line 12); "
        "ids must be unique\n"
        "  line 38: themes[1].codes[0].id: duplicate code reading (first at line 29); ids must be unique\n"
        "  How to fix: correct the lines named above; `copcode codebook check` checks again.\n")


def test_a_problem_inside_a_nested_code_names_its_line(tmp_path):
    text = TREE.replace("                    definition: Knowledge that is not written anywhere.\n", "") \
        .replace("            label: Reading", "            label: Reading\n            colour: red")
    path = tmp_path / "tree.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli(tmp_path, "codebook", "check", str(path))
    assert result.stderr == (
        f"Error: {path}: the codebook is not valid (2 problems):\n"
        "  line 24: themes[0].codes[0].codes[0].codes[0].codes[0].definition: required key is missing\n"
        "  line 30: themes[0].codes[0].codes[1].colour: unknown key (check its spelling; see README, 'The codebook')\n"
        "  How to fix: correct the lines named above; `copcode codebook check` checks again.\n")


def test_codebook_check_names_the_lines_of_nested_cues(tmp_path):
    bad = TREE.replace("                - [{LOWER: read}, {LOWER: about}]", "                - [{LOWER: read, OP: '~~'}]")
    path = tmp_path / "tree.yaml"
    path.write_text(bad, encoding="utf-8")
    result = cli(tmp_path, "codebook", "check", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}: the codebook is not valid (1 problem):\n"
                                    "  line 34: themes[0].codes[0].codes[1].cues.patterns[0]: not a valid spaCy token "
                                    "pattern: token 1 OP: Input should be '+', '*', '?' or '!'\n")
    path.write_text(TREE.replace("[nobody writes down]", "[nobody writes down, studies]"), encoding="utf-8")
    result = cli(tmp_path, "codebook", "check", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"{path}: valid. 2 themes, 6 codes, 8 cues."
    assert ('line 22: code carers-knowledge: 2 keywords are matched as their lemmas, with every word of those '
            'lemmas (to match one as written use {phrase: ..., exact: true}): line 22: "nobody writes down" as '
            '"nobody write down" line 22: "studies" as "study" Warning:') in " ".join(result.stderr.split()), result.stderr


def deep_codebook(levels: int) -> str:
    lines = ["name: deep", "themes:", "  - id: t", "    label: T", "    codes:"]
    indent = "      "
    for level in range(1, levels + 1):
        lines += [f"{indent}- id: c{level}", f"{indent}  label: C{level}", f"{indent}  definition: d{level}"]
        if level < levels:
            lines.append(f"{indent}  codes:")
        indent += "    "
    return "\n".join(lines) + "\n"


def test_codes_nest_at_most_twenty_levels(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text(deep_codebook(20), encoding="utf-8")
    assert load_codebook(path).depth("c20") == 20
    path.write_text(deep_codebook(22), encoding="utf-8")
    result = cli(tmp_path, "codebook", "check", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path}: the codebook is not valid (1 problem):\n"
        "  line 86: code c21 is nested 21 levels deep under its theme; codes may nest at most 20 levels: move it up\n"
        "  How to fix: correct the lines named above; `copcode codebook check` checks again.\n")


def test_the_codebooks_hash_changes_when_the_tree_changes(tmp_path):
    from copcode.suggest import cache_key

    path = tmp_path / "tree.yaml"
    path.write_text(TREE, encoding="utf-8")
    before = load_codebook(path)
    # the same codes, `reading` moved from inside `learn` to inside `peers`
    moved = TREE.replace("          - id: reading\n            label: Reading\n            definition: Reading about it.\n"
                         "            cues:\n              patterns:\n                - [{LOWER: read}, {LOWER: about}]\n", "")
    moved = moved.replace("            codes:\n              - id: carers-knowledge",
                          "            codes:\n              - id: reading\n                label: Reading\n"
                          "                definition: Reading about it.\n              - id: carers-knowledge")
    path.write_text(moved, encoding="utf-8")
    after = load_codebook(path)
    assert after.code("reading").parent == "peers" and before.code("reading").parent == "learn"
    assert before.sha256 != after.sha256
    assert cache_key(before, 0.35, "words") != cache_key(after, 0.35, "words")


# ---------------------------------------------------------------- suggestions, tags, views

def test_nested_codes_are_suggested_and_tagged_like_any_other(tree_project):
    tagged = cli(tree_project, "tag", WORKLOAD, "peers", "--coder", "carol")  # a parent, where nothing suggested it
    assert tagged.stdout.startswith(f"carol: tag peers on {WORKLOAD} (decision 3)"), tagged.output
    result = cli(tree_project, "segments", "--format", "csv")
    assert rows(result, "segment", "codes") == [
        (FIRST, "learn: suggested; peers: suggested; carers-knowledge: suggested; unwritten: suggested; "
                "reading: suggested"),
        (SECOND, "peers: suggested; carers-knowledge: suggested; unwritten: accepted"),
        (WORKLOAD, "peers: accepted; reading: accepted; time: suggested")]
    written = list(csv.DictReader(io.StringIO((tree_project / "out" / "coded_segments.csv").read_text())))
    assert sorted({r["code"] for r in written}) == ["carers-knowledge", "learn", "peers", "reading", "time", "unwritten"]
    summary = cli(tree_project, "code").stdout  # the summary lists every code, nested ones too
    assert [line.split("│")[2].strip() for line in summary.splitlines() if line.startswith("│ learning")] == \
        ["(all)", "learn", "peers", "carers-knowledge", "unwritten", "reading"]


def test_quotes_show_each_code_with_its_parent(tree_project):
    result = cli(tree_project, "quotes", "--limit", "0", "--format", "csv")
    assert rows(result, "segment", "theme", "code", "parent", "status") == [
        (FIRST, "learning", "learn", "", "suggested"),
        (FIRST, "learning", "peers", "learn", "suggested"),
        (SECOND, "learning", "peers", "learn", "suggested"),
        (FIRST, "learning", "carers-knowledge", "peers", "suggested"),
        (SECOND, "learning", "carers-knowledge", "peers", "suggested"),
        (SECOND, "learning", "unwritten", "carers-knowledge", "accepted by ann"),
        (FIRST, "learning", "unwritten", "carers-knowledge", "suggested"),
        (WORKLOAD, "learning", "reading", "learn", "accepted by bob"),
        (FIRST, "learning", "reading", "learn", "suggested"),
        (WORKLOAD, "barriers", "time", "", "suggested")]
    table = cli(tree_project, "quotes", "--theme", "learning")
    assert "Learning › From peers › Carers' knowledge › Unwritten knowledge (unwritten)" in table.stdout


def test_quotes_level_rolls_codings_up_into_their_ancestor_once_per_segment(tree_project):
    # on SECOND ann accepted unwritten (level 4) and bob now accepts peers (level 2)
    assert cli(tree_project, "tag", SECOND, "peers", "--coder", "bob").exit_code == 0
    level1 = cli(tree_project, "quotes", "--level", "1", "--limit", "0", "--format", "csv")
    assert rows(level1, "segment", "code", "parent", "score", "status") == [
        (WORKLOAD, "learn", "", "1.0", "accepted by bob"),
        (SECOND, "learn", "", "0.625", "accepted by ann, bob"),
        (FIRST, "learn", "", "0.625", "suggested"),
        (WORKLOAD, "time", "", "0.812", "suggested")]
    level2 = cli(tree_project, "quotes", "--level", "2", "--theme", "learning", "--limit", "0", "--format", "csv")
    assert rows(level2, "segment", "code", "parent", "status") == [
        (FIRST, "learn", "", "suggested"),
        (SECOND, "peers", "learn", "accepted by ann, bob"),
        (FIRST, "peers", "learn", "suggested"),
        (WORKLOAD, "reading", "learn", "accepted by bob"),
        (FIRST, "reading", "learn", "suggested")]
    # the quote of a rolled-up coding is the best of its codings' quotes, verbatim
    quotes = rows(level2, "segment", "code", "quote")
    assert (FIRST, "peers", "I learnt so much from the others. Carers know things nobody writes down.") in quotes


def test_segments_and_matrix_take_a_level(tree_project):
    segments = cli(tree_project, "segments", "--level", "1", "--format", "csv")
    assert rows(segments, "segment", "codes") == [
        (FIRST, "learn: suggested"), (SECOND, "learn: accepted"), (WORKLOAD, "learn: accepted; time: suggested")]
    matrix = cli(tree_project, "matrix", "--level", "1", "--format", "csv")
    assert rows(matrix, "participant", "learn", "time") == [
        ("E01", "2", "0"), ("P02", "1", "1"), ("participants", "2 of 2 (E 1/1, P 1/1)", "1 of 2 (E 0/1, P 1/1)")]
    assert matrix.stdout.splitlines()[0] == "participant,group,learn,time"
    matrix2 = cli(tree_project, "matrix", "--level", "2", "--format", "csv")
    assert matrix2.stdout.splitlines()[0] == "participant,group,learn,peers,reading,time"
    assert rows(matrix2, "participant", "learn", "peers", "reading", "time")[:2] == [
        ("E01", "1", "2", "1", "0"), ("P02", "0", "0", "1", "1")]
    everything = cli(tree_project, "matrix", "--format", "csv")
    assert everything.stdout.splitlines()[0] == \
        "participant,group,learn,peers,carers-knowledge,unwritten,reading,time"
    cooccurrence = cli(tree_project, "matrix", "--cooccurrence", "--level", "1", "--format", "csv")
    assert rows(cooccurrence, "code", "learn", "time") == [("learn", "3", "1"), ("time", "1", "1")]


def test_a_level_below_one_or_a_code_below_the_level_is_refused(tree_project):
    result = cli(tree_project, "quotes", "--level", "0")
    assert (result.exit_code, result.stderr) == (1, (
        "Error: --level 0: levels count the codes below a theme, from 1\n  How to fix: use --level 1 for the codes "
        "directly under each theme, 2 for the codes inside those, and so on; --theme or --columns themes for themes.\n"))
    result = cli(tree_project, "segments", "--level", "2", "--code", "unwritten")
    assert (result.exit_code, result.stderr) == (1, (
        "Error: code unwritten is at level 4, below --level 2: its codings count under peers\n"
        "  How to fix: ask for --code peers, or give --level 4 or more.\n"))


# ---------------------------------------------------------------- REFI-QDA export

def code_tree(codes_el, ns) -> list[tuple]:
    """(depth, name, isCodable) of every Code element, depth-first."""
    found, stack = [], [(code, 0) for code in reversed(codes_el.findall("q:Code", ns))]
    while stack:
        code, depth = stack.pop()
        found.append((depth, code.get("name"), code.get("isCodable")))
        stack.extend((child, depth + 1) for child in reversed(code.findall("q:Code", ns)))
    return found


EXPORTED_TREE = [(0, "Learning together", "false"), (1, "Learning", "true"), (2, "From peers", "true"),
                 (3, "Carers' knowledge", "true"), (4, "Unwritten knowledge", "true"), (2, "Reading", "true"),
                 (0, "Barriers to taking part", "false"), (1, "No time", "true")]


def test_qdc_and_qdpx_export_write_the_tree_and_validate(tree_project, tmp_path):
    qdc, qdpx = tmp_path / "tree.qdc", tmp_path / "tree.qdpx"
    assert cli(tree_project, "export", "--format", "qdc", "--out", str(qdc)).exit_code == 0
    assert cli(tree_project, "export", "--format", "qdpx", "--out", str(qdpx)).exit_code == 0
    xmlschema.XMLSchema(SCHEMAS / "Codebook.xsd").validate(str(qdc))
    project_xml = zipfile.ZipFile(qdpx).read("project.qde").decode("utf-8")
    xmlschema.XMLSchema(SCHEMAS / "Project.xsd").validate(project_xml)
    book = ET.parse(qdc).getroot()
    assert code_tree(book.find("c:Codes", {"c": "urn:QDA-XML:codebook:1.0"}), {"q": "urn:QDA-XML:codebook:1.0"}) \
        == EXPORTED_TREE
    root = ET.fromstring(project_xml)
    assert code_tree(root.find("q:CodeBook/q:Codes", NS), NS) == EXPORTED_TREE
    # the tags on nested codes are codings of those nested Code elements
    names = {c.get("guid"): c.get("name") for c in root.iter(f"{{{NS['q']}}}Code")}
    coded = sorted(names[ref.get("targetGUID")] for ref in root.iter(f"{{{NS['q']}}}CodeRef"))
    assert coded == ["Reading", "Unwritten knowledge"]


def test_nested_labels_are_redacted_in_the_export(tmp_path):
    root = make_project(tmp_path / "private", TREE.replace("label: Carers' knowledge", "label: What Sarah Jones knows"))
    (root / "copcode.yaml").write_text('privacy:\n  identifiers:\n    "Sarah Jones": "[carer]"\n', encoding="utf-8")
    assert cli(root, "code").exit_code == 0
    qdc = tmp_path / "tree.qdc"
    assert cli(root, "export", "--format", "qdc", "--out", str(qdc)).exit_code == 0
    text = qdc.read_text(encoding="utf-8")
    assert "Sarah" not in text and 'name="What [carer] knows"' in text


# ---------------------------------------------------------------- REFI-QDA import

def gid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"copcode-test:{name}"))


# (name, codable, children): four levels of codes below the top, as NVivo nests nodes; a
# codable top-level code with codings of its own, a folder that cannot be coded, a lone code
FILE_TREE = [
    ("Community", True, [
        ("Learning", True, [
            ("From peers", False, [
                ("Carers", True, [
                    ("Unwritten", True, [])])]),
            ("Courses", True, [])]),
        ("Trust", True, [])]),
    ("Barriers", False, [("Time", True, [])]),
    ("Loose ends", True, []),
]
SOURCES = {
    "E01": "Interviewer: What did you learn?\nE01: We learnt a lot from the carers.\n"
           "Interviewer: And then?\nE01: Nobody writes any of it down.\n"
           "Interviewer: Courses?\nE01: The online course was good.\n",
    "E02": "Interviewer: Did you trust them?\nE02: I trust the group completely.\n"
           "Interviewer: Time?\nE02: I never have time for the meetings.\n",
}
# (source, words, code, user): every coding of the file, each on its own segment and code
CODINGS = [
    ("E01", "We learnt a lot from the carers.", "Community", "ann"),
    ("E01", "We learnt a lot from the carers.", "Learning", "ann"),
    ("E01", "Nobody writes any of it down.", "Unwritten", "ann"),
    ("E01", "Nobody writes any of it down.", "Carers", "bob"),
    ("E01", "The online course was good.", "Courses", "bob"),
    ("E02", "I trust the group completely.", "Trust", "bob"),
    ("E02", "I never have time for the meetings.", "Time", "ann"),
    ("E02", "I never have time for the meetings.", "Loose ends", "ann"),
]


def refi_project() -> str:
    """project.qde by the REFI-QDA 1.0 project schema: users, the code tree, text sources
    (their text in sources/) with plain-text selections and their codings."""
    def code_xml(name, codable, children):
        inner = f"<Description>About {name.lower()}.</Description>" + "".join(code_xml(*c) for c in children)
        return f'<Code guid="{gid(name)}" name="{name}" isCodable="{str(codable).lower()}">{inner}</Code>'

    sources = ""
    for source, text in SOURCES.items():
        selections = ""
        for number, (where, words, code, user) in enumerate(CODINGS):
            if where == source:
                start = text.index(words)
                selections += (f'<PlainTextSelection guid="{gid(f"selection {number}")}" startPosition="{start}" '
                               f'endPosition="{start + len(words)}"><Coding guid="{gid(f"coding {number}")}" '
                               f'creatingUser="{gid(user)}"><CodeRef targetGUID="{gid(code)}"/></Coding>'
                               '</PlainTextSelection>')
        sources += (f'<TextSource guid="{gid(source)}" name="{source}" plainTextPath="internal://{gid(source)}.txt">'
                    f"{selections}</TextSource>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            f'<Project xmlns="urn:QDA-XML:project:1.0" name="nested" origin="test" creatingUserGUID="{gid("ann")}">'
            f'<Users><User guid="{gid("ann")}" name="ann"/><User guid="{gid("bob")}" name="bob"/></Users>'
            f'<CodeBook><Codes>{"".join(code_xml(*c) for c in FILE_TREE)}</Codes></CodeBook>'
            f"<Sources>{sources}</Sources></Project>")


@pytest.fixture
def nested_qdpx(tmp_path) -> Path:
    xml = refi_project()
    xmlschema.XMLSchema(SCHEMAS / "Project.xsd").validate(xml)  # the fixture is what the standard says
    path = tmp_path / "nested.qdpx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", xml)
        for source, text in SOURCES.items():
            zf.writestr(f"sources/{gid(source)}.txt", text)
    return path


def opened(root: Path):
    from copcode.coding import project_codebook
    from copcode.decisions import coding_state
    from copcode.project import open_project
    from copcode.store import open_store

    project = open_project(root)
    codebook = project_codebook(project)
    store = open_store(project.store_path, create=False)
    try:
        words = dict(store.db.execute("SELECT id, text FROM segments"))
        accepted = sorted((words[s], code, coder) for (s, code, coder), verdict in
                          coding_state(store, codebook).states.items() if verdict == "accepted")
    finally:
        store.close()
    return codebook, accepted


IMPORTED_TREE = [
    ("community", "community", None, 1, "Community"),
    ("community", "learning", None, 1, "Learning"),
    ("community", "from-peers", "learning", 2, "From peers"),
    ("community", "carers", "from-peers", 3, "Carers"),
    ("community", "unwritten", "carers", 4, "Unwritten"),
    ("community", "courses", "learning", 2, "Courses"),
    ("community", "trust", None, 1, "Trust"),
    ("barriers", "time", None, 1, "Time"),
    ("imported", "loose-ends", None, 1, "Loose ends")]
IMPORTED_CODINGS = sorted([
    ("We learnt a lot from the carers.", "community", "ann"),
    ("We learnt a lot from the carers.", "learning", "ann"),
    ("Nobody writes any of it down.", "unwritten", "ann"),
    ("Nobody writes any of it down.", "carers", "bob"),
    ("The online course was good.", "courses", "bob"),
    ("I trust the group completely.", "trust", "bob"),
    ("I never have time for the meetings.", "time", "ann"),
    ("I never have time for the meetings.", "loose-ends", "ann")])


def test_a_four_level_tree_imports_with_every_coding(nested_qdpx, tmp_path):
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    result = cli(fresh, "import", str(nested_qdpx))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == ["Wrote codebooks/nested.yaml and copcode.yaml", "Added 2 transcripts and 8 codings."], result.stdout
    assert not [line for line in lines if line.startswith("Not imported")], result.stdout
    codebook, accepted = opened(fresh)
    assert shape(codebook) == IMPORTED_TREE
    assert [t.id for t in codebook.themes] == ["community", "barriers", "imported"]
    assert codebook.themes[0].description == "About community." and codebook.code("community").definition == \
        "About community."
    assert accepted == IMPORTED_CODINGS
    check = cli(fresh, "codebook", "check")
    assert check.stdout.startswith("codebooks/nested.yaml: valid. 3 themes, 9 codes, 0 cues."), check.output
    again = cli(fresh, "import", str(nested_qdpx))  # the parents copcode wrote are in the codebook now
    assert again.exit_code == 0 and "Not imported" not in again.stdout, again.output


def test_the_tree_survives_an_export_and_import_round_trip(nested_qdpx, tmp_path):
    first = tmp_path / "first"
    first.mkdir()
    assert cli(first, "import", str(nested_qdpx)).exit_code == 0
    exported = tmp_path / "again.qdpx"
    assert cli(first, "export", "--format", "qdpx", "--out", str(exported)).exit_code == 0
    root = ET.fromstring(zipfile.ZipFile(exported).read("project.qde"))
    # the codable top-level code is one codable Code again, holding its codes, as in the file
    assert code_tree(root.find("q:CodeBook/q:Codes", NS), NS)[:3] == [
        (0, "Community", "true"), (1, "Learning", "true"), (2, "From peers", "true")]
    second = tmp_path / "second"
    second.mkdir()
    result = cli(second, "import", str(exported))
    assert result.exit_code == 0, result.output
    assert "Added 2 transcripts and 8 codings." in result.stdout and "Not imported" not in result.stdout
    (book1, codings1), (book2, codings2) = opened(first), opened(second)
    assert shape(book2) == shape(book1) == IMPORTED_TREE
    assert [(t.id, t.label, t.description) for t in book2.themes] == [(t.id, t.label, t.description) for t in book1.themes]
    assert [(c.id, c.definition) for c in book2.codes] == [(c.id, c.definition) for c in book1.codes]
    assert codings2 == codings1 == IMPORTED_CODINGS


def test_codes_deeper_than_a_codebook_nests_come_in_beside_their_ancestor(tmp_path):
    from conftest import write

    depth = 25
    codes = "".join(f'<Code guid="{gid(f"level {i}")}" name="Level {i}" isCodable="true">' for i in range(depth))
    codes += "</Code>" * depth
    text = "Interviewer: Hi?\nE01: We learnt a lot.\n"
    start = text.index("We learnt")
    xml = (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="urn:QDA-XML:project:1.0" name="deep">'
           f'<Users><User guid="{gid("ann")}" name="ann"/></Users><CodeBook><Codes>{codes}</Codes></CodeBook>'
           f'<Sources><TextSource guid="{gid("E01")}" name="E01"><PlainTextContent>{text}</PlainTextContent>'
           f'<PlainTextSelection guid="{gid("s")}" startPosition="{start}" endPosition="{len(text) - 1}">'
           f'<Coding guid="{gid("c")}" creatingUser="{gid("ann")}"><CodeRef targetGUID="{gid(f"level {depth - 1}")}"/>'
           "</Coding></PlainTextSelection></TextSource></Sources></Project>")
    xmlschema.XMLSchema(SCHEMAS / "Project.xsd").validate(xml)
    path = write(tmp_path / "deep.qde", xml)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    result = cli(fresh, "import", str(path))
    assert result.exit_code == 0, result.output
    assert f"Not imported: Code 'Level 20' (guid {gid('level 20')}): the 4 codes inside it would be nested deeper " \
        "than 20 levels; they are put beside it, at level 20" in result.stdout.replace("\n", " ")
    codebook, accepted = opened(fresh)
    assert [codebook.depth(f"level-{i}") for i in (1, 19, 20, 21, 24)] == [1, 19, 20, 20, 20]
    assert codebook.code("level-24").parent == "level-19"
    assert accepted == [("We learnt a lot.", "level-24", "ann")]


def test_a_codebook_written_by_hand_with_a_tree_is_read_by_import_into_it(tree_project, tmp_path):
    """Importing into a project whose codebook has the tree: codings of nested codes find them."""
    qdpx = tmp_path / "tree.qdpx"
    assert cli(tree_project, "export", "--format", "qdpx", "--out", str(qdpx)).exit_code == 0
    other = make_project(tmp_path / "other")
    result = cli(other, "import", str(qdpx))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "Added 0 transcripts and 2 codings.", result.stdout
    assert "Not imported" not in result.stdout
    _, accepted = opened(other)
    assert accepted == [("No. My workload is huge, I had no time.", "reading", "bob"),
                        ("The carers taught me what nobody writes down anywhere.", "unwritten", "ann")]


def test_quotes_of_nested_codes_in_word_are_headed_one_level_down(tree_project, tmp_path):
    import docx

    target = tmp_path / "quotes.docx"
    result = cli(tree_project, "quotes", "--theme", "learning", "--limit", "0", "--out", str(target))
    assert result.exit_code == 0, result.output
    headings = [(p.style.name, p.text) for p in docx.Document(target).paragraphs if p.style.name.startswith("Heading")]
    assert headings == [("Heading 1", "Learning together"), ("Heading 2", "Learning"), ("Heading 3", "From peers"),
                        ("Heading 4", "Carers' knowledge"), ("Heading 5", "Unwritten knowledge"),
                        ("Heading 3", "Reading")]


def test_a_nested_code_that_is_not_valid_is_named_itself(tmp_path):
    """The message names the nested code at fault, not its ancestor directly under the theme."""
    xml = ('<?xml version="1.0" encoding="utf-8"?>\n<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="test">'
           f'<Codes><Code guid="{gid("Top")}" name="Top" isCodable="false">'
           f'<Code guid="{gid("Middle")}" name="Middle" isCodable="true">'
           f'<Code guid="{gid("blank")}" name=" " isCodable="true"/></Code></Code></Codes></CodeBook>')
    path = tmp_path / "blank.qdc"
    path.write_text(xml, encoding="utf-8")
    root = tmp_path / "project"
    root.mkdir()
    result = cli(root, "import", str(path))
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert f"its codes do not make a valid codebook (2 problems): Code ' ' (guid {gid('blank')}): its name is " \
           f"empty Code ' ' (guid {gid('blank')}): its description is empty How to fix:" in said
    assert "Middle" not in said
