"""`copcode import` of what other tools write (issue 13, parts 3-6): sources without speakers
come in as documents, offsets in UTF-16 code units are detected, a second import records
nothing new and says so, codings merged on one segment are listed, and a Taguette project
(.sqlite3) is read. The fixtures are built here from the REFI-QDA 1.0 schema and Taguette's
own tables (taguette/database/models.py)."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copcode.cli import app
from copcode.coding import project_codebook
from copcode.decisions import coding_state
from copcode.ingest.refi import read_qdpx
from copcode.ingest.taguette import read_taguette
from copcode.project import open_project
from copcode.store import open_store

ANN, BOB = "11111111-1111-1111-1111-111111111111", "11111111-1111-1111-1111-222222222222"
LEARN, TRUST = "22222222-2222-2222-2222-222222222222", "22222222-2222-2222-2222-333333333333"
CODES = (f'<Code guid="99999999-0000-0000-0000-000000000000" name="Community" isCodable="false">'
         f'<Code guid="{LEARN}" name="Learning" isCodable="true"/>'
         f'<Code guid="{TRUST}" name="Trust" isCodable="true"/></Code>')
NOTES = ("The group met in the library on Tuesday.\n\n"
         "Everyone brought food and the talk turned to medication.\n\n"
         "Trust grew over the weeks; people swapped phone numbers.\n")
POLICY = ("The council funds peer groups in every district.\n\n"
          "Volunteers learn to run the sessions from a short course.\n")


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "250"})


def state(root: Path) -> dict:
    """Every file of the project (bytes) outside .copcode/, and every row of every table of the
    store but `runs`, `cache` and the run's tables (None when there is no store)."""
    files = {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else "folder")
             for p in sorted(root.rglob("*")) if ".copcode" not in p.parts}
    store = root / ".copcode" / "copcode.db"
    rows = None
    if store.exists():
        db = sqlite3.connect(store)
        rows = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                for t in ("transcripts", "segments", "decisions")}
        db.close()
    return {"files": files, "store": rows}


def selection(text: str, words: str, codings, *, unit=len, name=True, nth=0) -> str:
    """A PlainTextSelection of `words` (their `nth` occurrence) in `text`, offsets counted by
    `unit` (len: characters); codings: (guid, code guid, user guid)."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(words, at + 1)
    start, end = unit(text[:at]), unit(text[:at + len(words)])
    named = f' name="{words}"' if name else ""
    inner = "".join(f'<Coding guid="{guid}" creatingUser="{user}"><CodeRef targetGUID="{code}"/></Coding>'
                    for guid, code, user in codings)
    return (f'<PlainTextSelection guid="sel-{start}-{end}"{named} startPosition="{start}" endPosition="{end}">'
            f'{inner}</PlainTextSelection>')


def project_file(folder: Path, name: str, sources: dict[str, tuple[str, str]], *, origin="NVivo 14") -> Path:
    """A .qdpx as NVivo writes it: each source's text in sources/, then its selections.
    sources: source name -> (text, selections' XML)."""
    listed = "".join(f'<TextSource guid="src-{n}" name="{source}" plainTextPath="internal://src-{n}.txt">'
                     f"{selections}</TextSource>" for n, (source, (_, selections)) in enumerate(sources.items()))
    xml = (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="urn:QDA-XML:project:1.0" name="study" '
           f'origin="{origin}"><Users><User guid="{ANN}" name="ann"/><User guid="{BOB}" name="bob"/></Users>'
           f"<CodeBook><Codes>{CODES}</Codes></CodeBook><Sources>{listed}</Sources></Project>")
    path = folder / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", xml)
        for n, (text, _) in enumerate(sources.values()):
            zf.writestr(f"sources/src-{n}.txt", text.encode("utf-8"))
    return path


def decided(root: Path) -> dict[tuple[str, str, str], str]:
    """(segment text, code, coder) -> verdict, for every decision's state."""
    project = open_project(root)
    store = open_store(project.store_path, create=False)
    texts = dict(store.db.execute("SELECT id, text FROM segments"))
    states = {(texts[s], c, coder): v for (s, c, coder), v in coding_state(store, project_codebook(project)).states.items()}
    store.close()
    return states


def quoted(root: Path) -> set[tuple[str, str, str]]:
    """(quote, code, status) of every accepted coding: the imported selection's exact words."""
    import csv
    import io

    result = cli(root, "quotes", "--status", "accepted", "--limit", "0", "--format", "csv")
    return {(r["quote"], r["code"], r["status"]) for r in csv.DictReader(io.StringIO(result.stdout))}


def segment_of(root: Path, words: str) -> tuple[str, int, int]:
    db = sqlite3.connect(root / ".copcode" / "copcode.db")
    [row] = db.execute('SELECT id, start, "end" FROM segments WHERE instr(text, ?) > 0', (words,)).fetchall()
    db.close()
    return row


@pytest.fixture
def fresh(tmp_path) -> Path:
    root = tmp_path / "fresh"
    root.mkdir()
    return root


def documents_file(folder: Path) -> Path:
    """An NVivo project whose two sources are not interviews: field notes and a policy brief."""
    return project_file(folder, "nvivo.qdpx", {
        "Field notes": (NOTES, selection(NOTES, "talk turned to medication", [("c1", LEARN, ANN)])
                        + selection(NOTES, "Trust grew over the weeks", [("c2", TRUST, ANN)])),
        "Policy brief": (POLICY, selection(POLICY, "The council funds peer groups", [("c3", TRUST, BOB)])
                         + selection(POLICY, "Volunteers learn", [("c4", LEARN, ANN), ("c5", TRUST, ANN)])),
    })


# part 3: sources without speakers

def test_sources_without_speakers_come_in_as_documents_with_all_their_codings(fresh, tmp_path):
    result = cli(fresh, "import", str(documents_file(tmp_path)))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Wrote codebooks/nvivo.yaml and copcode.yaml",
        "Added 2 transcripts and 5 codings.",
        "TextSource 'Field notes' has no speaker labels: it comes in as a document (transcripts/Field_notes.txt, "
        "`speakers: none`), the whole text one participant's, each paragraph a segment.",
        "TextSource 'Policy brief' has no speaker labels: it comes in as a document "
        "(transcripts/Policy_brief.txt, `speakers: none`), the whole text one participant's, each paragraph a segment."]
    assert (fresh / "transcripts" / "Field_notes.txt").read_text(encoding="utf-8") == \
        "---\nspeakers: none\n---\n" + NOTES
    assert (fresh / "transcripts" / "Policy_brief.txt").read_text(encoding="utf-8") == \
        "---\nspeakers: none\n---\n" + POLICY
    # every coding is on the paragraph that holds its words
    assert decided(fresh) == {
        ("Everyone brought food and the talk turned to medication.", "learning", "ann"): "accepted",
        ("Trust grew over the weeks; people swapped phone numbers.", "trust", "ann"): "accepted",
        ("The council funds peer groups in every district.", "trust", "bob"): "accepted",
        ("Volunteers learn to run the sessions from a short course.", "learning", "ann"): "accepted",
        ("Volunteers learn to run the sessions from a short course.", "trust", "ann"): "accepted"}
    assert cli(fresh, "transcripts").exit_code == 0


def test_a_source_whose_text_starts_like_a_header_keeps_its_text(fresh, tmp_path):
    text = "---\ntitle: notes\n---\nInterviewer: Why?\nE01: We learnt a lot.\n"
    path = project_file(tmp_path, "h.qdpx", {"E01": (text, selection(text, "We learnt a lot.", [("c1", LEARN, ANN)]))})
    result = cli(fresh, "import", str(path))
    assert result.exit_code == 0, result.output
    assert (fresh / "transcripts" / "E01.txt").read_text(encoding="utf-8") == "---\n\n---\n" + text
    assert decided(fresh) == {("We learnt a lot.", "learning", "ann"): "accepted"}


# part 4: idempotent and explained

def test_a_second_import_of_the_same_file_records_nothing_new_and_says_so(fresh, tmp_path):
    path = documents_file(tmp_path)
    assert cli(fresh, "import", str(path)).exit_code == 0
    before = state(fresh)
    result = cli(fresh, "import", str(path))
    assert (result.exit_code, result.stdout) == (0, "Added 0 transcripts and 0 codings.\n"
                                                    "Nothing new: 5 codings already recorded.\n")
    assert state(fresh) == before


def test_codings_merged_on_one_segment_and_code_are_listed_with_where(fresh, tmp_path):
    path = project_file(tmp_path, "merged.qdpx", {"Field notes": (NOTES, (
        selection(NOTES, "Trust grew", [("c1", TRUST, ANN)])
        + selection(NOTES, "people swapped phone numbers", [("c2", TRUST, ANN), ("c3", LEARN, ANN)])
        + selection(NOTES, "over the weeks", [("c4", TRUST, ANN), ("c5", TRUST, BOB)])))})
    result = cli(fresh, "import", str(path))
    assert result.exit_code == 0, result.output
    segment, start, end = segment_of(fresh, "Trust grew")
    at = {w: (NOTES.index(w), NOTES.index(w) + len(w)) for w in ("Trust grew", "people swapped phone numbers",
                                                                  "over the weeks")}
    spans = sorted(at[w] for w in at)
    assert result.stdout.splitlines()[1:] == [
        "Added 1 transcript and 3 codings.",
        "TextSource 'Field notes' has no speaker labels: it comes in as a document (transcripts/Field_notes.txt, "
        "`speakers: none`), the whole text one participant's, each paragraph a segment.",
        f"Merged: source 'Field notes': 3 codings of 'trust' by ann fall on one segment, {segment} (characters "
        f"{start}-{end}), at {spans[0][0]}-{spans[0][1]}, {spans[1][0]}-{spans[1][1]} and "
        f"{spans[2][0]}-{spans[2][1]}: recorded once."]
    assert sorted(decided(fresh)) == [(NOTES[start:end], "learning", "ann"), (NOTES[start:end], "trust", "ann"),
                                      (NOTES[start:end], "trust", "bob")]
    # every one of the five codings is accounted for the second time too
    again = cli(fresh, "import", str(path))
    assert again.stdout == "Added 0 transcripts and 0 codings.\nNothing new: 5 codings already recorded.\n"


def test_a_selection_outside_its_text_is_listed_with_its_codings(fresh, tmp_path):
    text = "Interviewer: Why?\nE01: We learnt a lot.\n"
    outside = (f'<PlainTextSelection guid="s" startPosition="30" endPosition="90"><Coding guid="c" creatingUser="{ANN}">'
               f'<CodeRef targetGUID="{LEARN}"/></Coding></PlainTextSelection>')
    path = project_file(tmp_path, "out.qdpx", {"E01": (text, outside + selection(text, "We learnt", [("c1", LEARN, ANN)]))})
    result = cli(fresh, "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "Added 1 transcript and 1 coding.",
        "Not imported: source 'E01' 30-90: a selection outside its text (40 UTF-16 code units); left out "
        "with "
        "its 1 coding"]


# part 5: UTF-16 offsets, with CRLF counted as two

E01 = ("Interviewer: How was it? \U0001F600\r\n"
       "E01: It was great \U0001F600\U0001F600 we learnt a lot from the carers.\r\n"
       "Interviewer: And the \U0001F44D group?\r\n"
       "E01: I trust the group completely \U0001F642 now.\r\n")
TURN = "It was great \U0001F600\U0001F600 we learnt a lot from the carers."


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def nvivo_file(folder: Path, *, unit=utf16, name=True, origin="NVivo 14") -> Path:
    selections = (selection(E01, TURN, [("c1", LEARN, ANN)], unit=unit, name=name)
                  + selection(E01, "trust the group completely", [("c2", TRUST, ANN)], unit=unit, name=name))
    return project_file(folder, "nvivo.qdpx", {"E01": (E01, selections)}, origin=origin)


def test_utf16_offsets_with_crlf_are_detected_from_the_selection_text(fresh, tmp_path):
    path = nvivo_file(tmp_path, origin="some program")
    imported = read_qdpx(path)
    text = imported.sources["E01"]
    assert text == E01.replace("\r\n", "\n")
    assert [text[start:end] for _, start, end, _, _, _ in imported.codings] == [TURN, "trust the group completely"]
    result = cli(fresh, "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Wrote codebooks/nvivo.yaml and copcode.yaml", "Added 1 transcript and 2 codings.",
        "Offsets read as UTF-16 code units (detected from the selection text)."]
    # the segment holds exactly the selected words
    assert decided(fresh) == {(TURN, "learning", "ann"): "accepted",
                              ("I trust the group completely \U0001F642 now.", "trust", "ann"): "accepted"}
    # and each coding keeps exactly the selected words as its span
    assert quoted(fresh) == {(TURN, "learning", "accepted by ann"),
                             ("trust the group completely", "trust", "accepted by ann")}


def test_utf16_offsets_are_detected_from_the_exporting_software_when_selections_have_no_text(fresh, tmp_path):
    path = nvivo_file(tmp_path, name=False, origin="NVivo 12 (12.6.1)")
    imported = read_qdpx(path)
    assert [imported.sources["E01"][s:e] for _, s, e, _, _, _ in imported.codings] == [TURN, "trust the group completely"]
    result = cli(fresh, "import", str(path))
    assert result.stdout.splitlines()[2:] == [
        "Offsets read as UTF-16 code units (detected from the exporting software, NVivo 12 (12.6.1))."]


def test_character_offsets_are_detected_even_from_nvivo_when_the_selection_text_says_so(fresh, tmp_path):
    path = nvivo_file(tmp_path, unit=len)  # origin NVivo, offsets in characters
    imported = read_qdpx(path)
    assert [imported.sources["E01"][s:e] for _, s, e, _, _, _ in imported.codings] == [TURN, "trust the group completely"]
    assert imported.notes == ["offsets read as Unicode characters (detected from the selection text)"]


def test_utf16_can_be_overridden(tmp_path):
    assert read_qdpx(nvivo_file(tmp_path), utf16=False).notes == ["offsets read as Unicode characters (--no-utf16)"]
    assert read_qdpx(nvivo_file(tmp_path, unit=len), utf16=True).notes == [
        "offsets read as UTF-16 code units (--utf16)"]


def test_text_without_characters_outside_the_bmp_says_nothing_about_offsets(tmp_path):
    text = "Interviewer: Why?\r\nE01: We learnt a lot, caf\u00e9 and all.\r\n"
    path = project_file(tmp_path, "bmp.qdpx", {"E01": (text, selection(text, "We learnt", [("c1", LEARN, ANN)]))})
    imported = read_qdpx(path)
    assert imported.notes == []
    [(_, start, end, _, _, _)] = imported.codings
    assert imported.sources["E01"][start:end] == "We learnt"


# part 6: Taguette

# Taguette's tables as SQLAlchemy creates them in SQLite (taguette/database/models.py)
TAGUETTE_SCHEMA = """
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
CREATE TABLE users (login VARCHAR(30) NOT NULL, created DATETIME NOT NULL, hashed_password VARCHAR(192),
    password_set_date DATETIME, language VARCHAR(10), email VARCHAR(256), email_sent DATETIME,
    CONSTRAINT pk_users PRIMARY KEY (login), CONSTRAINT uq_users_email UNIQUE (email));
CREATE TABLE projects (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, name VARCHAR(200) NOT NULL,
    description TEXT NOT NULL, created DATETIME NOT NULL);
CREATE TABLE project_members (project_id INTEGER NOT NULL, user_login VARCHAR(30) NOT NULL,
    privileges VARCHAR(9) NOT NULL, CONSTRAINT pk_project_members PRIMARY KEY (project_id, user_login),
    CONSTRAINT fk_project_members_project_id_projects FOREIGN KEY(project_id) REFERENCES projects (id) ON DELETE CASCADE,
    CONSTRAINT fk_project_members_user_login_users FOREIGN KEY(user_login) REFERENCES users (login)
        ON DELETE CASCADE ON UPDATE CASCADE);
CREATE TABLE documents (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, name VARCHAR(200) NOT NULL,
    description TEXT NOT NULL, filename VARCHAR(200) NOT NULL, created DATETIME NOT NULL,
    project_id INTEGER NOT NULL, text_direction VARCHAR(13) NOT NULL, contents TEXT NOT NULL,
    CONSTRAINT fk_documents_project_id_projects FOREIGN KEY(project_id) REFERENCES projects (id) ON DELETE CASCADE);
CREATE INDEX ix_documents_project_id ON documents (project_id);
CREATE TABLE commands (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, date DATETIME NOT NULL,
    user_login VARCHAR(30) NOT NULL, project_id INTEGER NOT NULL, document_id INTEGER, payload TEXT NOT NULL,
    CONSTRAINT fk_commands_user_login_users FOREIGN KEY(user_login) REFERENCES users (login) ON UPDATE CASCADE,
    CONSTRAINT fk_commands_project_id_projects FOREIGN KEY(project_id) REFERENCES projects (id) ON DELETE CASCADE);
CREATE TABLE highlights (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, document_id INTEGER NOT NULL,
    start_offset INTEGER NOT NULL, end_offset INTEGER NOT NULL, snippet TEXT NOT NULL,
    CONSTRAINT fk_highlights_document_id_documents FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE);
CREATE TABLE tags (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, project_id INTEGER NOT NULL,
    path VARCHAR(200) NOT NULL, description TEXT NOT NULL, CONSTRAINT uq_tags_project_id UNIQUE (project_id, path),
    CONSTRAINT fk_tags_project_id_projects FOREIGN KEY(project_id) REFERENCES projects (id) ON DELETE CASCADE);
CREATE TABLE highlight_tags (highlight_id INTEGER NOT NULL, tag_id INTEGER NOT NULL,
    CONSTRAINT pk_highlight_tags PRIMARY KEY (highlight_id, tag_id),
    CONSTRAINT fk_highlight_tags_highlight_id_highlights FOREIGN KEY(highlight_id) REFERENCES highlights (id) ON DELETE CASCADE,
    CONSTRAINT fk_highlight_tags_tag_id_tags FOREIGN KEY(tag_id) REFERENCES tags (id) ON DELETE CASCADE);
"""
# each document: its HTML as Taguette stores it, and its text nodes joined (what offsets count)
INTERVIEW_HTML = ("<p>Interviewer: How did the group help you?</p>\n"
                  "<p>P1: The caf\u00e9 &amp; the peer group \U0001F600 helped me learn about my condition.</p>\n"
                  "<p>Interviewer: And trust?</p>\n"
                  "<p>P1: I trust the other members <strong>completely</strong> now.<br />We share everything.</p>")
INTERVIEW_NODES = ("Interviewer: How did the group help you?\n"
                   "P1: The caf\u00e9 & the peer group \U0001F600 helped me learn about my condition.\n"
                   "Interviewer: And trust?\n"
                   "P1: I trust the other members completely now.We share everything.")
NOTES_HTML = ("<h1>Field notes</h1><p>The group met in the library. Everyone brought food.</p>"
              "<p>Trust grew over the weeks; people swapped phone numbers.</p>")
NOTES_NODES = ("Field notesThe group met in the library. Everyone brought food."
               "Trust grew over the weeks; people swapped phone numbers.")
# (document, words, tag ids, user): the highlights
HIGHLIGHTS = [
    (1, "The caf\u00e9 & the peer group \U0001F600 helped me learn", [1], "ann"),
    (1, "I trust the other members completely now.", [2], "bob"),
    (2, "Trust grew over the weeks", [2], "ann"),
    (2, "Everyone brought food.", [], "ann"),  # a highlight without a tag
]


def taguette_file(path: Path, *, projects=("Peer support",), highlights=HIGHLIGHTS) -> Path:
    """A Taguette project file: Taguette's schema, two documents, two tags (one a dotted path),
    highlights with their UTF-8 byte offsets into the documents' text nodes, and the
    `highlight_add` commands that say who made them."""
    db = sqlite3.connect(path)
    db.executescript(TAGUETTE_SCHEMA)
    now = "2024-05-01 10:00:00.000000"
    db.execute("INSERT INTO alembic_version VALUES ('63d7ca28fc0c')")
    for login in ("ann", "bob"):
        db.execute("INSERT INTO users (login, created) VALUES (?, ?)", (login, now))
    for name in projects:
        db.execute("INSERT INTO projects (name, description, created) VALUES (?, '', ?)", (name, now))
    db.execute("INSERT INTO project_members VALUES (1, 'ann', 'ADMIN')")
    for name, html in (("Interview 1", INTERVIEW_HTML), ("Field notes", NOTES_HTML)):
        db.execute("INSERT INTO documents (name, description, filename, created, project_id, text_direction, contents) "
                   "VALUES (?, '', ?, ?, 1, 'LEFT_TO_RIGHT', ?)", (name, name + ".docx", now, html))
    db.execute("INSERT INTO tags (project_id, path, description) VALUES (1, 'learning', 'Learning from peers')")
    db.execute("INSERT INTO tags (project_id, path, description) VALUES (1, 'community.trust', 'Trust in the group')")
    nodes = {1: INTERVIEW_NODES, 2: NOTES_NODES}
    for number, (document, words, tags, user) in enumerate(highlights, start=1):
        at = nodes[document].index(words)
        start, end = len(nodes[document][:at].encode()), len(nodes[document][:at + len(words)].encode())
        db.execute("INSERT INTO highlights (document_id, start_offset, end_offset, snippet) VALUES (?, ?, ?, ?)",
                   (document, start, end, f"<p>{words}</p>"))
        db.executemany("INSERT INTO highlight_tags VALUES (?, ?)", [(number, t) for t in tags])
        payload = {"type": "highlight_add", "highlight_id": number, "start_offset": start, "end_offset": end,
                   "tags": tags}
        db.execute("INSERT INTO commands (date, user_login, project_id, document_id, payload) VALUES (?, ?, 1, ?, ?)",
                   (now, user, document, json.dumps(payload, sort_keys=True)))
    db.commit()
    db.close()
    return path


def test_a_taguette_project_is_imported_with_every_highlight_exact(fresh, tmp_path):
    path = taguette_file(tmp_path / "project.sqlite3")
    imported = read_taguette(path)
    assert [(c.id, c.label, c.description) for c in imported.codes] == [
        ("learning", "learning", "Learning from peers"), ("community-trust", "community.trust", "Trust in the group")]
    # a line break where a paragraph ends, besides the text's own between the paragraphs
    assert imported.sources["Interview 1"] == (
        "Interviewer: How did the group help you?\n\n"
        "P1: The caf\u00e9 & the peer group \U0001F600 helped me learn about my condition.\n\n"
        "Interviewer: And trust?\n\n"
        "P1: I trust the other members completely now.\nWe share everything.\n")
    assert imported.sources["Field notes"] == ("Field notes\nThe group met in the library. Everyone brought food.\n"
                                               "Trust grew over the weeks; people swapped phone numbers.\n")
    # each highlight's text comes back exact
    assert [(source, imported.sources[source][start:end], code, user)
            for source, start, end, code, user, _ in imported.codings] == [
        ("Interview 1", "The caf\u00e9 & the peer group \U0001F600 helped me learn", "tag-1", "ann"),
        ("Interview 1", "I trust the other members completely now.", "tag-2", "bob"),
        ("Field notes", "Trust grew over the weeks", "tag-2", "ann")]

    result = cli(fresh, "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Wrote codebooks/project.yaml and copcode.yaml",
        "Added 2 transcripts and 3 codings.",
        "Document 'Field notes' has no speaker labels: it comes in as a document (transcripts/Field_notes.txt, "
        "`speakers: none`), the whole text one participant's, each paragraph a segment.",
        "Not imported: 1 highlight without a tag: nothing to import"]
    assert decided(fresh) == {
        ("The caf\u00e9 & the peer group \U0001F600 helped me learn about my condition.", "learning", "ann"): "accepted",
        ("I trust the other members completely now.\nWe share everything.", "community-trust", "bob"): "accepted",
        ("Trust grew over the weeks; people swapped phone numbers.", "community-trust", "ann"): "accepted"}
    assert quoted(fresh) == {
        ("The caf\u00e9 & the peer group \U0001F600 helped me learn", "learning", "accepted by ann"),
        ("I trust the other members completely now.", "community-trust", "accepted by bob"),
        ("Trust grew over the weeks", "community-trust", "accepted by ann")}
    codebook = (fresh / "codebooks" / "project.yaml").read_text(encoding="utf-8")
    assert "label: community.trust\n" in codebook and "definition: Trust in the group\n" in codebook
    # and again: nothing new
    assert cli(fresh, "import", str(path)).stdout == ("Added 0 transcripts and 0 codings.\n"
                                                      "Nothing new: 3 codings already recorded.\n"
                                                      "Not imported: 1 highlight without a tag: nothing to import\n")


def test_taguette_offsets_count_text_nodes_not_tags_or_entities():
    from copcode.ingest.taguette import _html_text

    html = "\n <p>a &amp; b</p><!-- note --><ul><li>caf\u00e9</li><li>x<br>y</li></ul>tail"
    text_map = _html_text(html)
    # html5lib drops the white space before the first tag; a comment's text counts, and is not shown
    assert text_map.text == "a & b\ncaf\u00e9\nx\ny\ntail"
    assert text_map.size == len("a & b note caf\u00e9xytail".encode())
    nodes = "a & b note caf\u00e9xytail"
    for words in ("a & b", "caf\u00e9", "\u00e9xy", "ytail", "b note caf"):
        at = nodes.index(words)
        start, end = len(nodes[:at].encode()), len(nodes[:at + len(words)].encode())
        shown = text_map.text[text_map.index(start, end=False):text_map.index(end, end=True)]
        assert shown.replace("\n", "") == words.replace(" note ", "")


def refused(root: Path, path: Path, message: str, *args) -> None:
    before = state(root)
    result = cli(root, "import", str(path), *args)
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert result.stderr == f"Error: {message}\n"
    assert state(root) == before


EXPORT_FIX = "  How to fix: export the project from Taguette (Project > Export project > SQLite3), and import that file."


def test_an_sqlite_file_that_is_not_taguette_is_refused(fresh, tmp_path):
    path = tmp_path / "other.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER, body TEXT)")
    db.commit()
    db.close()
    refused(fresh, path, f"{path}: not a Taguette project: the database has no table projects, documents, tags, "
            "highlights, highlight_tags\n  How to fix: give the .sqlite3 file Taguette exports (Project > Export "
            "project > SQLite3).")


def test_a_file_named_sqlite3_that_is_not_sqlite_is_refused(fresh, tmp_path):
    path = tmp_path / "project.sqlite3"
    path.write_text("hello", encoding="utf-8")
    refused(fresh, path, f"{path}: not an SQLite database, so not a Taguette project\n  How to fix: give the "
            ".sqlite3 file Taguette exports (Project > Export project > SQLite3), or a .qdpx file.")


def test_a_taguette_database_of_several_projects_is_refused(fresh, tmp_path):
    path = taguette_file(tmp_path / "taguette.sqlite3", projects=("Peer support", "Pilot"))
    refused(fresh, path, f"{path}: the Taguette database holds 2 projects ('Peer support', 'Pilot'); copcode "
            "imports one at a time\n  How to fix: export the project you want from Taguette (Project > Export "
            "project > SQLite3), and import that file.")


def test_a_taguette_table_replaced_by_a_view_is_refused_unread(fresh, tmp_path):
    """A view could run any query (a recursive one that never ends): only real tables are read."""
    path = taguette_file(tmp_path / "project.sqlite3")
    db = sqlite3.connect(path)
    db.executescript("ALTER TABLE highlights RENAME TO real_highlights;"
                     "CREATE VIEW highlights AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                     "SELECT i AS id, 1 AS document_id, 0 AS start_offset, 1 AS end_offset, '' AS snippet FROM n;")
    db.close()
    refused(fresh, path, f"{path}: not a Taguette project: highlights is a view, not a table\n  How to fix: check "
            "where the file came from; export the project from Taguette (Project > Export project > SQLite3), "
            "and import that file.")


def test_taguette_offsets_are_utf8_bytes_so_utf16_is_refused(fresh, tmp_path):
    path = taguette_file(tmp_path / "project.sqlite3")
    refused(fresh, path, f"{path}: --utf16 is for REFI-QDA files; a Taguette project's offsets are always UTF-8 "
            "bytes\n  How to fix: leave out --utf16.", "--utf16")


def test_a_taguette_file_is_read_without_writing_to_it(fresh, tmp_path):
    path = taguette_file(tmp_path / "project.sqlite3")
    before = path.read_bytes()
    path.chmod(0o444)
    result = cli(fresh, "import", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("project")) == ["project.sqlite3"]


def test_a_taguette_highlight_outside_its_text_is_listed(fresh, tmp_path):
    path = taguette_file(tmp_path / "project.sqlite3")
    db = sqlite3.connect(path)
    db.execute("UPDATE highlights SET start_offset = 5000, end_offset = 5010 WHERE id = 1")
    db.commit()
    db.close()
    imported = read_taguette(path)
    assert imported.problems[0] == (
        f"document 'Interview 1', highlight 1 (bytes 5000 to 5010): not a span of its text "
        f"({len(INTERVIEW_NODES.encode())} bytes); left out with its 1 coding")


def test_taguette_documents_that_are_not_utf8_text_are_left_out_and_said(tmp_path):
    path = taguette_file(tmp_path / "project.sqlite3")
    db = sqlite3.connect(path)
    db.execute("UPDATE documents SET contents = CAST(X'3C703EFF3C2F703E' AS TEXT) WHERE id = 1")  # <p>\xff</p>
    db.execute("UPDATE documents SET contents = X'3C703E783C2F703E' WHERE id = 2")  # a BLOB
    db.commit()
    db.close()
    imported = read_taguette(path)
    assert (imported.sources, imported.codings) == ({}, [])
    assert imported.problems == [
        "document 'Interview 1': its contents are not UTF-8 text; left out with its 2 codings",
        "document 'Field notes': its contents are not text; left out with its 1 coding",
        "1 highlight without a tag: nothing to import"]


def test_reading_a_taguette_file_is_bounded_in_work(tmp_path):
    """However the file is made, its queries together stop after a bounded number of steps."""
    from copcode.store import TaguetteFile

    path = taguette_file(tmp_path / "project.sqlite3")
    db = sqlite3.connect(path)
    db.executemany("INSERT INTO highlights (document_id, start_offset, end_offset, snippet) VALUES (1, 0, 1, '')",
                   [()] * 20_000)
    db.commit()
    db.close()
    bounded = TaguetteFile(path, max_length=1 << 20, max_steps=3)
    try:
        with pytest.raises(sqlite3.OperationalError, match="interrupted"):
            bounded.highlights(1).fetchall()
        assert bounded.exhausted
    finally:
        bounded.close()
    assert len(read_taguette(path).problems) == 1  # the real bound is far above a project's needs


def test_codings_of_a_code_the_codebook_lacks_are_counted(fresh, tmp_path):
    (fresh / "codebooks").mkdir()
    (fresh / "codebooks" / "mine.yaml").write_text(
        "name: mine\nthemes:\n  - id: community\n    label: Community\n    codes:\n      - id: learning\n"
        "        label: Learning\n        definition: Members say what they learned.\n", encoding="utf-8")
    path = project_file(tmp_path, "study.qdpx", {"Field notes": (NOTES, (
        selection(NOTES, "Trust grew", [("c1", TRUST, ANN)]) + selection(NOTES, "people swapped", [("c2", TRUST, BOB)])
        + selection(NOTES, "Everyone brought food", [("c3", LEARN, ANN)])))})
    result = cli(fresh, "import", str(path))
    assert result.exit_code == 0, result.output
    assert f"Not imported: Code 'Trust' (guid {TRUST}) (trust) is not in codebooks/mine.yaml; its 2 coding(s) are " \
           "left out" in result.stdout.splitlines()
    assert "Added 1 transcript and 1 coding." in result.stdout.splitlines()
