"""Exact spans: a decision may carry the words the coder chose inside its segment (`copcode tag
--quote/--span`); quotes, tables and exports use them; a span follows its words when the
transcript changes; imported selections keep theirs, across segments too; and a span survives
copcode -> .qdpx -> copcode."""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3

import pytest
from typer.testing import CliRunner

from copcode.cli import app

from conftest import store_as_of

WIDE = {"COLUMNS": "1000"}
SEGMENT = "E01-e7f6b7"  # "Well, I've got COPD, ... Before that I drove lorries for thirty-odd years, all over. ..."
WORDS = "I drove lorries for thirty-odd years"


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env=WIDE)


def rows(output: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(output)))


def db_rows(root, sql):
    with sqlite3.connect(root / ".copcode" / "copcode.db") as db:
        return db.execute(sql).fetchall()


@pytest.fixture
def demo(coded_demo, tmp_path):
    root = tmp_path / "demo"
    shutil.copytree(coded_demo, root)
    return root


def test_tag_with_a_quote_records_the_exact_words(demo):
    result = cli(demo, "tag", SEGMENT, "inclusive-learning", "--coder", "ann", "--quote", "I drove lorries\n  for thirty-odd years")
    assert result.exit_code == 0, result.output
    text = db_rows(demo, "SELECT text FROM transcripts WHERE id = 'E01'")[0][0]
    start = text.index(WORDS)
    assert result.output == (f"ann: tag inclusive-learning on {SEGMENT} ({start}-{start + len(WORDS)}: “{WORDS}”) "
                             "(decision 1).\n")
    assert db_rows(demo, "SELECT span_start, span_end FROM decisions") == [(start, start + len(WORDS))]
    quotes = rows(cli(demo, "quotes", "--code", "inclusive-learning", "--participant", "E01", "--status", "accepted",
                      "--format", "csv").output)
    assert [(q["segment"], q["start"], q["end"], q["quote"], q["status"]) for q in quotes] == [
        (SEGMENT, str(start), str(start + len(WORDS)), WORDS, "accepted by ann")]
    assert cli(demo, "code").exit_code == 0
    with open(demo / "out" / "quotes_coproducing.csv", encoding="utf-8") as f:
        coded = [r for r in csv.DictReader(f) if r["segment"] == SEGMENT and r["code"] == "inclusive-learning"]
    assert [(r["start"], r["end"], r["quote"], r["status"]) for r in coded] == [
        (str(start), str(start + len(WORDS)), WORDS, "accepted by ann")]


def test_tag_with_a_span_counts_in_the_segments_text(demo):
    segment = rows(cli(demo, "segments", "--participant", "E01", "--format", "csv").output)[1]
    assert segment["segment"] == SEGMENT
    at = segment["text"].index(WORDS)
    result = cli(demo, "tag", SEGMENT, "inclusive-learning", "--coder", "ann", "--span", f"{at}:{at + len(WORDS)}")
    assert result.exit_code == 0, result.output
    assert f"“{WORDS}”" in result.output
    # white space at either end is left out of the quote
    result = cli(demo, "tag", SEGMENT, "capturing-knowledge", "--coder", "ann", "--span", "5:15")
    start = segment["text"].index("I've got")
    assert result.output == (f"ann: tag capturing-knowledge on {SEGMENT} ({int(segment['start']) + start}-"
                             f"{int(segment['start']) + start + 8}: “I've got”) (decision 2).\n")


@pytest.mark.parametrize("args, message", [
    (["--quote", "nothing like it"], f"Error: the quote is not in segment {SEGMENT} How to fix: "
                                     "copy the words exactly as `copcode segments` shows the segment's text."),
    (["--quote", "  "], "Error: the quote is empty How to fix: give the exact words, e.g. --quote \"in English, please\"."),
    (["--quote", "the"], f"Error: the quote is 3 times in segment {SEGMENT} (at 244:247, 255:258, 433:436) How to fix: give "
                         "more words, or the span of the one you mean with --span START:END."),
    (["--span", "5:2"], f"Error: --span '5:2' is not START:END inside segment {SEGMENT} (its text is 494 characters "
                        "long) How to fix: give offsets into the segment's text, end exclusive, e.g. --span 0:42."),
    (["--span", "0:495"], f"Error: --span '0:495' is not START:END inside segment {SEGMENT} (its text is 494 "
                          "characters long) How to fix: give offsets into the segment's text, end exclusive, e.g. "
                          "--span 0:42."),
    (["--quote", "drove", "--span", "0:3"], "Error: give --quote or --span, not both How to fix: keep one of them."),
    # the text begins "Well, I've got COPD": a fragment of a word would become the coding's quote
    (["--span", "1:9"], f"Error: --span 1:9 cuts a word of segment {SEGMENT} (at 1 and at 9) How to fix: give "
                        "offsets between words, e.g. --span 0:10 for the whole words it touches, or the words with "
                        "--quote."),
    (["--span", "5:6"], f"Error: --span 5:6 holds only white space in segment {SEGMENT} How to fix: give offsets "
                        "around words, or the words with --quote."),
])
def test_a_span_that_cannot_be_placed_records_nothing(demo, args, message):
    result = cli(demo, "tag", SEGMENT, "inclusive-learning", "--coder", "ann", *args)
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == message
    assert db_rows(demo, "SELECT count(*) FROM decisions") == [(0,)]


def test_tag_takes_a_quote_and_a_span_as_segments_shows_them_with_privacy_on(demo):
    """README: --quote takes the words as `copcode segments` shows them, and --span counts in
    that text: with privacy on, "[name]" where the transcript has a listed name. Before, such a
    quote was refused and the fix said to print the names (new-user trial)."""
    (demo / "copcode.yaml").write_text('privacy:\n  identifiers:\n    "COPD": "[condition]"\n', encoding="utf-8")
    [segment] = [r for r in rows(cli(demo, "segments", "--participant", "E01", "--format", "csv").output)
                 if r["segment"] == SEGMENT]
    assert segment["text"].startswith("Well, I've got [condition], ")
    text = db_rows(demo, "SELECT text FROM transcripts WHERE id = 'E01'")[0][0]
    start = text.index("I've got COPD")
    shown = segment["text"].index("got [condition]")
    for n, (option, value) in enumerate([("--quote", "I've got [condition]"), ("--quote", "I've got COPD"),
                                         ("--span", f"{shown}:{shown + len('got [condition]')}")], 1):
        result = cli(demo, "tag", SEGMENT, "inclusive-learning", "--coder", f"coder{n}", option, value)
        assert result.exit_code == 0, result.output
        words = ("I've got [condition]", start, start + 13) if n < 3 else ("got [condition]", start + 5, start + 13)
        assert result.output == (f"coder{n}: tag inclusive-learning on {SEGMENT} ({words[1]}-{words[2]}: "
                                 f"“{words[0]}”) (decision {n}).\n")
    assert db_rows(demo, "SELECT span_start, span_end FROM decisions") == [
        (start, start + 13), (start, start + 13), (start + 5, start + 13)]


@pytest.mark.parametrize("args, message", [
    (["--quote", "condition"], f"Error: the quote starts or ends inside '[condition]' in segment {SEGMENT} How to "
                               "fix: quote '[condition]' whole (it stands for words copcode does not show), or leave "
                               "it out."),
    (["--quote", "got [condition"], f"Error: the quote starts or ends inside '[condition]' in segment {SEGMENT} How "
                                    "to fix: quote '[condition]' whole (it stands for words copcode does not show), "
                                    "or leave it out."),
    (["--span", "10:20"], f"Error: --span 10:20 starts or ends inside '[condition]' in segment {SEGMENT} How to fix: "
                          "give offsets around it, e.g. --span 11:26 (it stands for words copcode does not show)."),
])
def test_a_quote_or_span_inside_a_placeholder_is_refused(demo, args, message):
    """"[condition]" stands for "COPD": a span from inside it took part of the name, or none of
    it, or failed with offsets out of order (code review)."""
    (demo / "copcode.yaml").write_text('privacy:\n  identifiers:\n    "COPD": "[condition]"\n', encoding="utf-8")
    result = cli(demo, "tag", SEGMENT, "inclusive-learning", "--coder", "ann", *args)
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == message
    assert db_rows(demo, "SELECT count(*) FROM decisions") == [(0,)]


def test_a_quote_in_the_transcripts_own_words_that_starts_inside_a_name_is_refused(demo):
    """"COPD, quite" where "got COPD" is listed: the quote would hold part of what is hidden,
    and the export showed a fragment of its placeholder (code review)."""
    (demo / "copcode.yaml").write_text('privacy:\n  identifiers:\n    "got COPD": "[condition]"\n',
                                       encoding="utf-8")
    result = cli(demo, "tag", SEGMENT, "inclusive-learning", "--coder", "ann", "--quote", "COPD, quite")
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == (
        f"Error: the quote starts or ends inside '[condition]' in segment {SEGMENT} How to fix: quote "
        "'[condition]' whole (it stands for words copcode does not show), or leave it out.")
    assert db_rows(demo, "SELECT count(*) FROM decisions") == [(0,)]


def test_a_quote_right_after_a_placeholder_starts_after_its_words(demo):
    """", quite bad" follows "[condition]": its start is where "COPD" ends, not one character
    into it (code review: "'s friend" after "[name]" was stored as "en Carter's friend")."""
    (demo / "copcode.yaml").write_text('privacy:\n  identifiers:\n    "COPD": "[condition]"\n', encoding="utf-8")
    result = cli(demo, "tag", SEGMENT, "inclusive-learning", "--coder", "ann", "--quote", ", quite bad")
    assert result.exit_code == 0, result.output
    text = db_rows(demo, "SELECT text FROM transcripts WHERE id = 'E01'")[0][0]
    start = text.index(", quite bad")
    assert db_rows(demo, "SELECT span_start, span_end FROM decisions") == [(start, start + len(", quite bad"))]


def quote_of(root, segment_prefix="E01-"):
    found = rows(cli(root, "quotes", "--code", "inclusive-learning", "--participant", "E01", "--status", "accepted",
                     "--format", "csv").output)
    return [(q["segment"].startswith(segment_prefix), q["quote"]) for q in found]


def test_a_span_follows_its_words_when_the_transcript_changes(demo):
    assert cli(demo, "tag", SEGMENT, "inclusive-learning", "--coder", "ann", "--quote", WORDS).exit_code == 0
    path = demo / "transcripts" / "E01.txt"
    text = path.read_text(encoding="utf-8")
    # text added before the segment: the segment keeps its id and words, at another place
    assert "\nE01: Well, I've got COPD" in text
    path.write_text(text.replace("\nE01: Well, I've got COPD", "\nE01: Hello again.\n\nE01: Well, I've got COPD", 1),
                    encoding="utf-8")
    assert cli(demo, "code").exit_code == 0
    assert quote_of(demo) == [(True, WORDS)]
    # the segment's other words edited: the segment changes id; the span's words are found in it
    path.write_text(path.read_text(encoding="utf-8").replace("quite bad now", "quite bad these days"), encoding="utf-8")
    assert cli(demo, "code").exit_code == 0
    assert quote_of(demo) == [(True, WORDS)]
    # the span's own words edited: the coding stays, on the whole segment
    path.write_text(path.read_text(encoding="utf-8").replace("thirty-odd years", "thirty years or so"), encoding="utf-8")
    assert cli(demo, "code").exit_code == 0
    [(same, quote)] = quote_of(demo)
    assert same and quote.startswith("Well, I've got COPD") and "thirty years or so" in quote
    status = cli(demo, "status").output
    assert ("1 exact span(s) lost: their words were edited in the transcript, so their codings quote the whole "
            "segment. Tag again with --quote to choose the words.") in status
    # listed on the segment that holds the coding now (SEGMENT's id went with its edited words), where a
    # coder tags again
    now = next(r["segment"] for r in rows(cli(demo, "segments", "--participant", "E01", "--format", "csv").output)
               if "thirty years or so" in r["text"])
    assert now != SEGMENT
    assert f"  #1 inclusive-learning by ann on {now}: “{WORDS}”" in status
    assert cli(demo, "tag", now, "inclusive-learning", "--coder", "ann", "--quote", "thirty years or so").exit_code == 0
    assert "span(s) lost" not in cli(demo, "status").output


def test_a_tag_without_a_quote_quotes_its_whole_passage(demo, tmp_path):
    """Not the suggestion's quote there: that is the cues' or the learned model's choice, which
    a later run may move (a .qdpx round trip's tags changed their quotes once learning ran)."""
    suggested = rows(cli(demo, "segments", "--format", "csv").output)
    quotes = rows(cli(demo, "quotes", "--code", "inclusive-learning", "--limit", "0", "--format", "csv").output)
    passage = {r["segment"]: r for r in suggested}
    shorter = next(q for q in quotes if q["quote"] != passage[q["segment"]]["text"])
    assert cli(demo, "tag", shorter["segment"], "inclusive-learning", "--coder", "ann").exit_code == 0
    [tagged] = [q for q in rows(cli(demo, "quotes", "--code", "inclusive-learning", "--status", "accepted",
                                    "--format", "csv").output)]
    assert (tagged["segment"], tagged["quote"], tagged["status"]) == (
        shorter["segment"], passage[shorter["segment"]]["text"], "accepted by ann")
    study = tmp_path / "study.qdpx"
    assert cli(demo, "export", "--out", str(study)).exit_code == 0
    (tmp_path / "empty").mkdir()
    assert cli(tmp_path / "empty", "import", str(study)).exit_code == 0
    back = rows(cli(tmp_path / "empty", "quotes", "--code", "inclusive-learning", "--status", "accepted",
                    "--format", "csv").output)
    assert [(q["quote"], q["status"]) for q in back] == [(tagged["quote"], "accepted by ann")]


def test_a_span_follows_its_words_as_whole_words_only(demo):
    """"thirty-odd years" is not found inside "thirty-odd yearslong": the span is lost, and the
    coding quotes its whole segment."""
    assert cli(demo, "tag", SEGMENT, "inclusive-learning", "--coder", "ann", "--quote", "thirty-odd years").exit_code == 0
    path = demo / "transcripts" / "E01.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("thirty-odd years", "thirty-odd yearslong", 1),
                    encoding="utf-8")
    assert cli(demo, "code").exit_code == 0
    [(same, quote)] = quote_of(demo)
    assert same and quote.startswith("Well, I've got COPD") and "thirty-odd yearslong" in quote
    assert "1 exact span(s) lost" in cli(demo, "status").output


def test_a_quoted_tag_comes_back_from_a_qdpx_with_the_same_words(demo, tmp_path):
    assert cli(demo, "tag", SEGMENT, "inclusive-learning", "--coder", "ann", "--quote", WORDS).exit_code == 0
    study = tmp_path / "study.qdpx"
    assert cli(demo, "export", "--format", "qdpx", "--out", str(study)).exit_code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli(empty, "import", str(study))
    assert result.exit_code == 0, result.output
    quotes = rows(cli(empty, "quotes", "--code", "inclusive-learning", "--status", "accepted", "--format",
                      "csv").output)
    assert [(q["participant"], q["quote"], q["status"]) for q in quotes] == [("E01", WORDS, "accepted by ann")]


def test_an_imported_selection_across_segments_is_kept_on_each_with_its_part(small_project, tmp_path):
    """A selection from the middle of one segment to the middle of the next is recorded on
    both, each with the words of its part."""
    import zipfile

    text = ("Interviewer: What did you learn?\nE09: We learnt a lot from the carers. Nobody writes it down.\n"
            "Interviewer: And then?\nE09: Then the training started. It was poor.\n")
    selected = "Nobody writes it down.\nInterviewer: And then?\nE09: Then the training"
    start = text.index(selected)
    ns = "urn:QDA-XML:project:1.0"
    xml = (f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="{ns}" name="x" origin="test">'
           '<Users><User guid="00000000-0000-0000-0000-0000000000a1" name="ann"/></Users>'
           '<CodeBook><Codes><Code guid="00000000-0000-0000-0000-0000000000c1" name="Learning" isCodable="false">'
           '<Description>copcode id: learning</Description>'
           '<Code guid="00000000-0000-0000-0000-0000000000c2" name="Learning" isCodable="true">'
           '<Description>Members say what they learned.\n\ncopcode id: learn</Description></Code></Code></Codes>'
           '</CodeBook><Sources><TextSource guid="00000000-0000-0000-0000-0000000000d1" name="E09" '
           'plainTextPath="internal://00000000-0000-0000-0000-0000000000d1.txt">'
           f'<PlainTextSelection guid="00000000-0000-0000-0000-0000000000e1" startPosition="{start}" '
           f'endPosition="{start + len(selected)}"><Coding guid="00000000-0000-0000-0000-0000000000f1" '
           'creatingUser="00000000-0000-0000-0000-0000000000a1"><CodeRef targetGUID="00000000-0000-0000-0000-'
           '0000000000c2"/></Coding></PlainTextSelection></TextSource></Sources></Project>')
    path = tmp_path / "across.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", xml)
        zf.writestr("sources/00000000-0000-0000-0000-0000000000d1.txt", text)
    result = cli(small_project, "import", str(path))
    assert result.exit_code == 0, result.output
    assert ("1 coding(s) cover several segments: each is kept on every segment it covers, with its part as the "
            "exact span.") in result.output
    quotes = rows(cli(small_project, "quotes", "--code", "learn", "--participant", "E09", "--status", "accepted",
                      "--format", "csv").output)
    assert [q["quote"] for q in quotes] == ["Nobody writes it down.", "Then the training"]


def test_a_store_from_before_spans_reads_as_before_and_migrates(demo):
    from copcode.store import SPANS_KEPT

    assert cli(demo, "tag", SEGMENT, "inclusive-learning", "--coder", "ann").exit_code == 0
    before = cli(demo, "quotes", "--code", "inclusive-learning", "--format", "csv").output
    store_as_of(demo, SPANS_KEPT - 1)
    assert cli(demo, "quotes", "--code", "inclusive-learning", "--format", "csv").output == before
    assert db_rows(demo, "PRAGMA user_version") == [(SPANS_KEPT - 1,)]  # read as it is
    result = cli(demo, "tag", SEGMENT, "inclusive-learning", "--coder", "bob", "--quote", WORDS)
    assert result.exit_code == 0, result.output
    assert db_rows(demo, "SELECT coder, span_start IS NULL FROM decisions") == [("ann", 1), ("bob", 0)]


def test_tag_says_the_words_and_the_coder_pseudonymised(demo):
    (demo / "copcode.yaml").write_text('privacy:\n  identifiers:\n    "lorries": "[vehicle]"\n    "ann": "[coder]"\n',
                                       encoding="utf-8")
    result = cli(demo, "tag", SEGMENT, "inclusive-learning", "--coder", "ann", "--quote", WORDS)
    assert result.exit_code == 0, result.output
    text = db_rows(demo, "SELECT text FROM transcripts WHERE id = 'E01'")[0][0]
    start = text.index(WORDS)
    assert result.output == (f"[coder]: tag inclusive-learning on {SEGMENT} ({start}-{start + len(WORDS)}: "
                             "“I drove [vehicle] for thirty-odd years”) (decision 1).\n")
    wrong = cli(demo, "tag", SEGMENT, "inclusive-learning", "--coder", "ann", "--quote", "lorries galore")
    assert wrong.exit_code == 1 and "lorries" not in wrong.output


def test_tagging_again_for_other_words_keeps_the_coders_note(demo):
    from copcode.coding import project_codebook
    from copcode.decisions import coding_state
    from copcode.project import open_project
    from copcode.store import open_store

    def notes():
        store = open_store(demo / ".copcode" / "copcode.db", create=False, readonly=True)
        try:
            return coding_state(store, project_codebook(open_project(demo))).notes
        finally:
            store.close()

    key = (SEGMENT, "inclusive-learning", "ann")
    tag = ["tag", SEGMENT, "inclusive-learning", "--coder", "ann"]
    assert cli(demo, *tag, "--note", "no contact during the wait").exit_code == 0
    assert cli(demo, *tag, "--quote", WORDS).exit_code == 0
    assert notes() == {key: "no contact during the wait"}
    assert cli(demo, *tag, "--quote", "thirty-odd years", "--note", "the years matter").exit_code == 0
    assert notes() == {key: "the years matter"}
    # a reject in between ends the note: the coding given again is a new one
    assert cli(demo, "reject", SEGMENT, "inclusive-learning", "--coder", "ann").exit_code == 0
    assert notes() == {}
    assert cli(demo, *tag).exit_code == 0
    assert notes() == {}


def test_one_coders_narrow_span_neither_cuts_anothers_quote_nor_shows_in_their_review(demo):
    from copcode.coding import project_codebook
    from copcode.decisions import record_many
    from copcode.project import open_project
    from copcode.review import review_queue
    from copcode.store import open_store

    quotes = rows(cli(demo, "quotes", "--code", "inclusive-learning", "--limit", "0", "--format", "csv").output)
    suggestion = next(q for q in quotes if len(q["quote"].split()) > 4)
    assert cli(demo, "tag", suggestion["segment"], "inclusive-learning", "--coder", "bob",
               "--quote", " ".join(suggestion["quote"].split()[:2])).exit_code == 0
    codebook = project_codebook(open_project(demo))
    store = open_store(demo / ".copcode" / "copcode.db", create=False)
    try:
        # a coder who has not decided sees the suggestion's words, not bob's choice
        [item] = [i for i in review_queue(store, codebook, "cara") if
                  (i.segment, i.code) == (suggestion["segment"], "inclusive-learning")]
        assert item.text[item.quote_start - item.start:item.quote_end - item.start] == suggestion["quote"]
        with store.transaction():  # ann accepts the whole suggestion (in review, or by a sheet)
            record_many(store, codebook, [(suggestion["segment"], "inclusive-learning", "accept", "")], "ann")
    finally:
        store.close()
    [coded] = rows(cli(demo, "quotes", "--code", "inclusive-learning", "--status", "accepted", "--format",
                       "csv").output)
    # bob's two words lie inside ann's: the quote is the suggestion's, not cut down to bob's
    assert (coded["quote"], coded["status"]) == (suggestion["quote"], "accepted by ann, bob")
