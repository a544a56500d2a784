"""`copcode codebook check` warnings (cues that may not do what was meant), YAML values that are
not text, and `copcode codebook cues`, through the command line with their exact messages."""

from __future__ import annotations

import csv
import io
import textwrap

from typer.testing import CliRunner

from copcode.cli import app

WIDE = {"COLUMNS": "1000"}  # one message, one line


def run(*args, project=None):
    argv = (["--project", str(project)] if project else []) + list(args)
    return CliRunner().invoke(app, argv, env=WIDE)


CHECKED = """\
name: check
themes:
  - id: talk
    label: Talk
    codes:
      - id: answers
        label: Answers
        definition: People say how their questions were answered.
        cues:
          keywords:
            - answered
            - teams
            - team
            - parking
            - {phrase: wording, exact: true}
            - {phrase: minor, weight: 0.5}
            - {phrase: faint, weight: 0.1}
            - reply
          patterns:
            - pattern: [{LOWER: quick}, {LOWER: reply}]
              weight: 0.3
"""


def test_check_warns_about_lemmas_repeats_and_weak_weights_and_still_passes(tmp_path):
    path = tmp_path / "check.yaml"
    path.write_text(CHECKED, encoding="utf-8")
    result = run("codebook", "check", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: valid. 1 theme, 1 code, 9 cues.\n"
    assert result.stderr.splitlines() == [
        # "teams" is in the warning that it matches what "team" does, and not again here
        'Warning: line 11: code answers: 2 keywords are matched as their lemmas, with every word of those '
        'lemmas (to match one as written use {phrase: ..., exact: true}):',
        '  line 11: "answered" as "answer"',
        '  line 14: "parking" as "park"',
        'Warning: line 13: code answers: keywords "teams" and "team" match the same words ("team"), so a '
        'passage with them counts twice; keep one',
        "Warning: line 16: code answers: keyword \"minor\" (weight 0.5) cannot suggest the code alone: it "
        "scores 0.22, below min_score 0.35, and reaches it only with another cue or in a passage like the "
        "code's description; give it weight 0.91 or more to suggest alone",
        "Warning: line 17: code answers: keyword \"faint\" (weight 0.1) never suggests the code alone, even in "
        "a passage like the code's description (at most 0.30, below min_score 0.35); only with another cue; "
        "give it weight 0.91 or more to suggest alone",
        "Warning: line 20: code answers: pattern \"quick reply\" (weight 0.3) cannot suggest the code alone: "
        "it scores 0.14, below min_score 0.35, and reaches it only with another cue or in a passage like the "
        "code's description; give it weight 0.91 or more to suggest alone",
    ]


def test_check_warns_about_shared_labels_codes_without_cues_and_function_words(tmp_path):
    path = tmp_path / "check.yaml"
    path.write_text(textwrap.dedent("""\
        name: check
        themes:
          - id: talk
            label: Talk
            codes:
              - id: learning
                label: Learning
                definition: People learn.
                cues:
                  keywords: [the, course, other side]
              - id: learning-2
                label: " learning"
                definition: People learn more.
              - id: faint
                label: Faint
                definition: A weak cue.
                cues:
                  keywords: [{phrase: hint, weight: 0.6}]
        """), encoding="utf-8")
    result = run("codebook", "check", str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        'Warning: line 12: codes learning and learning-2 have the same label "learning"; give each its own, so '
        "that coders, reports and a table imported by labels can tell them apart",
        'Warning: line 10: code learning: keyword "the" is a word like "the" or "and", which nearly every passage '
        "has; use words that say something of the code",
        "Warning: line 11: code learning-2 has no keywords or patterns, so it is never suggested from cues (only "
        "when learned from the coders' decisions); add cues, or leave it for coders to tag",
        # 0.75 * (1 - 0.5 ** 0.6) = 0.2552...; with the most a description adds, 0.5052: reaches 0.35
        "Warning: line 18: code faint: keyword \"hint\" (weight 0.6) cannot suggest the code alone: it scores 0.26, "
        "below min_score 0.35, and reaches it only with another cue or in a passage like the code's "
        "description; give it weight 0.91 or more to suggest alone",
    ]


def test_a_score_just_below_min_score_is_not_shown_as_min_score(tmp_path):
    from copcode.nlp import _below

    assert (_below(0.3499, 0.35), _below(0.3449, 0.35), _below(0.30, 0.35)) == ("0.34", "0.34", "0.30")


def test_keywords_whose_word_becomes_another_word_come_first(tmp_path):
    path = tmp_path / "check.yaml"
    one = CHECKED.split("          keywords:")[0] + "          keywords:\n            - further reading\n"
    path.write_text(one, encoding="utf-8")
    result = run("codebook", "check", str(path))
    assert result.exit_code == 0, result.output
    # writing the lemma, "far read", would be no advice: only the exact form is offered
    assert result.stderr.splitlines() == [
        'Warning: line 11: code answers: keyword "further reading" is matched as its lemma "far read", with every '
        'word of that lemma; to match it as written use {phrase: further reading, exact: true}']
    path.write_text(one + "            - teams\n            - more time\n", encoding="utf-8")
    result = run("codebook", "check", str(path))
    assert result.stderr.splitlines() == [
        'Warning: line 11: code answers: 3 keywords are matched as their lemmas, with every word of those lemmas '
        '(to match one as written use {phrase: ..., exact: true}); first those where a word becomes another word:',
        '  line 11: "further reading" as "far read"', '  line 13: "more time" as "much time"',
        '  line 12: "teams" as "team"']


def test_check_uses_the_projects_min_score(small_project):
    (small_project / "copcode.yaml").write_text("min_score: 0.5\n", encoding="utf-8")
    result = run("codebook", "check", project=small_project)
    assert result.exit_code == 0, result.output
    # at 0.5 a cue of weight 1 alone scores 0.375: every cue needs weight 1.59
    assert result.stderr.splitlines()[0] == (
        "Warning: line 11: code learn: keyword \"learn\" (weight 1) cannot suggest the code alone: it scores "
        "0.38, below min_score 0.5, and reaches it only with another cue or in a passage like the code's "
        "description; give it weight 1.59 or more to suggest alone")
    named = run("codebook", "check", str(small_project / "codebooks" / "small.yaml"), project=small_project)
    assert named.stderr == result.stderr  # the codebook named: the same project, the same min_score


def test_check_of_a_clean_codebook_warns_nothing(tmp_path):
    path = tmp_path / "clean.yaml"
    path.write_text(textwrap.dedent("""\
        name: clean
        themes:
          - id: t
            label: T
            codes:
              - id: c
                label: C
                definition: People talk about answers.
                cues:
                  keywords: [answer, {phrase: replied, exact: true}, team]
        """), encoding="utf-8")
    result = run("codebook", "check", str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_check_an_exact_keyword_and_a_lemma_keyword_of_the_same_words_count_twice(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text(textwrap.dedent("""\
        name: twice
        themes:
          - id: t
            label: T
            codes:
              - id: c
                label: C
                definition: People talk about answers.
                cues:
                  keywords: [answer, {phrase: answered, exact: true}, {phrase: Answered, exact: true}]
        """), encoding="utf-8")
    result = run("codebook", "check", str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        'Warning: line 10: code c: keywords "answer" and "answered" match the same words ("answer"), so a '
        'passage with them counts twice; keep one',
        'Warning: line 10: code c: keywords "answered" and "Answered" match the same words ("answered"), so a '
        'passage with them counts twice; keep one',
    ]


def test_values_that_yaml_reads_as_numbers_dates_or_yes_no_are_named_with_how_to_quote_them(tmp_path):
    path = tmp_path / "typed.yaml"
    path.write_text(textwrap.dedent("""\
        name: typed
        themes:
          - id: t
            label: 2020
            aliases: [1]
            codes:
              - id: c
                label: C
                definition: yes
                examples: [42]
                cues:
                  keywords: [1990, 3.5, null, 2024-01-31, {phrase: 7}, "1991", {phrase: a, weight: 2}]
                  exclude: [off]
          - 5
        """), encoding="utf-8")
    result = run("codebook", "check", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: {path}: the codebook is not valid (11 problems):",
        '  line 4: themes[0].label: 2020 is a number in YAML, not text; put it in quotes: "2020"',
        '  line 5: themes[0].aliases[0]: 1 is a number in YAML, not text; put it in quotes: "1"',
        '  line 9: themes[0].codes[0].definition: yes is a yes/no value in YAML, not text; put it in quotes: "yes"',
        '  line 10: themes[0].codes[0].examples[0]: 42 is a number in YAML, not text; put it in quotes: "42"',
        '  line 12: themes[0].codes[0].cues.keywords[0]: 1990 is a number in YAML, not text; put it in '
        'quotes: "1990"',
        '  line 12: themes[0].codes[0].cues.keywords[1]: 3.5 is a number in YAML, not text; put it in quotes: "3.5"',
        '  line 12: themes[0].codes[0].cues.keywords[2]: null is empty (null) in YAML, not text; put it in '
        'quotes: "null"',
        '  line 12: themes[0].codes[0].cues.keywords[3]: 2024-01-31 is a date in YAML, not text; put it in '
        'quotes: "2024-01-31"',
        '  line 12: themes[0].codes[0].cues.keywords[4].phrase: 7 is a number in YAML, not text; put it in '
        'quotes: "7"',
        '  line 13: themes[0].codes[0].cues.exclude[0]: off is a yes/no value in YAML, not text; put it in '
        'quotes: "off"',
        "  line 14: themes[1]: Input should be a valid dictionary or instance of Theme",
        "  How to fix: correct the lines named above; `copcode codebook check` checks again.",
    ]


def test_cues_lists_each_cue_with_its_lemma_form_passages_and_decisions(coded_small):
    from copcode.decisions import record

    project, store, codebook = coded_small
    result = run("codebook", "cues", "--format", "csv", project=project.root)
    assert result.exit_code == 0, result.output
    header = ["code", "kind", "cue", "matched_as", "weight", "passages", "decided", "accepted"]
    assert list(csv.reader(io.StringIO(result.stdout))) == [
        header,
        ["learn", "keyword", "learn", "learn", "1.0", "1", "0", "0"],
        ["learn", "exact", "training", "training (as written)", "1.0", "1", "0", "0"],
        ["learn", "pattern", "read about", "token pattern", "1.0", "1", "0", "0"],
        ["learn", "exclude", "learning disability", "learn disability", "0.0", "0", "0", "0"],
        ["time", "keyword", "workload", "workload", "1.0", "1", "0", "0"],
        ["time", "keyword", "no time", "no time", "1.0", "1", "0", "0"],
    ]
    texts = store.segment_texts()
    learnt = next(sid for sid, text in texts.items() if "learnt" in text)
    workload = next(sid for sid, text in texts.items() if "workload" in text)
    record(store, codebook, learnt, "learn", "accept", "ann")
    record(store, codebook, learnt, "learn", "reject", "bob")
    record(store, codebook, workload, "learn", "reject", "ann")  # "training" is in that passage
    record(store, codebook, workload, "time", "tag", "ann")
    result = run("codebook", "cues", "--format", "csv", project=project.root)
    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(result.stdout)))[1:] == [
        ["learn", "keyword", "learn", "learn", "1.0", "1", "2", "1"],
        ["learn", "exact", "training", "training (as written)", "1.0", "1", "1", "0"],
        ["learn", "pattern", "read about", "token pattern", "1.0", "1", "2", "1"],
        ["learn", "exclude", "learning disability", "learn disability", "0.0", "0", "0", "0"],
        ["time", "keyword", "workload", "workload", "1.0", "1", "1", "1"],
        ["time", "keyword", "no time", "no time", "1.0", "1", "1", "1"],
    ]


def test_cues_of_one_code_and_of_an_unknown_one(coded_small):
    project, store, codebook = coded_small
    result = run("codebook", "cues", "time", "--format", "csv", project=project.root)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == ["time,keyword,workload,workload,1.0,1,0,0",
                                              "time,keyword,no time,no time,1.0,1,0,0"]
    result = run("codebook", "cues", "nope", project=project.root)
    assert result.exit_code == 1
    assert result.stderr == ("Error: codebooks/small.yaml: unknown code 'nope'\n"
                             "  How to fix: use one of: learn, time.\n")


def test_cues_needs_a_coded_project(small_project):
    result = run("codebook", "cues", project=small_project)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {small_project}: this project has not been coded yet\n"
                             "  How to fix: run `copcode code` first.\n")


def test_many_warnings_show_the_first_ten_and_say_how_to_see_all(tmp_path):
    keywords = "\n".join(f"            - {{phrase: {word}, weight: 0.5}}" for word in  # each too weak alone
                         ["answer", "team", "park", "wait", "nurse", "doctor", "visit", "meal", "room", "bed",
                          "call", "letter"])
    path = tmp_path / "many.yaml"
    path.write_text(textwrap.dedent("""\
        name: many
        themes:
          - id: care
            label: Care
            codes:
              - id: words
                label: Words
                definition: Anything.
                cues:
                  keywords:
        """) + keywords + "\n", encoding="utf-8")
    shown = run("codebook", "check", str(path))
    assert shown.exit_code == 0
    lines = shown.output.splitlines()
    assert len([line for line in lines if line.startswith("Warning:")]) == 10
    assert lines[-1] == "12 warnings in all; these are the first 10. `copcode codebook check --all` lists every one."
    every = run("codebook", "check", str(path), "--all")
    assert len([line for line in every.output.splitlines() if line.startswith("Warning:")]) == 12
    assert "warnings in all" not in every.output


def test_the_demo_codebook_counts_no_cue_twice():
    """The demo's own codebook: a keyword of each lemma once per code (pairs were merged with
    their weights summed), and the lemma keywords of each code in one warning."""
    from pathlib import Path

    result = run("codebook", "check", "--all", str(Path(__file__).resolve().parent.parent / "codebooks" / "cop.yaml"))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert not [w for w in warnings if "counts twice" in w]
    assert [w.split(":")[2].strip() for w in warnings if "matched as their lemmas" in w] == [
        "code inclusive-learning", "code capturing-knowledge", "code building-relationships", "code prevailing-culture",
        "code shared-language", "code research-collaboration", "code practice-policy"]
    assert len(warnings) == 10  # and three weights too weak to suggest alone, each meant to need another cue
