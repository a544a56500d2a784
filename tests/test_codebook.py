import pytest

from copcode.codebook import load_codebook
from copcode.errors import CodebookError, LookupFailed

from conftest import ROOT

DEMO = ROOT / "codebooks" / "cop.yaml"


def test_codebook_demo_has_the_posters_themes_and_subthemes():
    codebook = load_codebook(DEMO)
    assert [t.id for t in codebook.themes] == ["coproducing", "territory", "practice"]
    assert [c.id for c in codebook.codes] == [
        "inclusive-learning", "capturing-knowledge", "building-relationships",
        "prevailing-culture", "shared-language", "research-collaboration", "practice-policy"]
    assert codebook.theme_of("shared-language").id == "territory"
    assert len([q for c in codebook.codes for q in c.example_quotes()]) == 9


@pytest.mark.parametrize("query, theme", [
    ("territory", "territory"), ("TERRITORY", "territory"), ("defining territory", "territory"),
    ("Co-producing knowledge", "coproducing"), ("inventing new practice", "practice"),
    ("knowledge transfer", "territory"),
])
def test_codebook_find_theme_by_id_alias_or_label(query, theme):
    assert load_codebook(DEMO).find_theme(query).id == theme


def test_codebook_unknown_and_ambiguous_themes():
    codebook = load_codebook(DEMO, display="codebooks/cop.yaml")
    with pytest.raises(LookupFailed) as caught:
        codebook.find_theme("housing")
    assert caught.value.message == (
        "codebooks/cop.yaml: unknown theme 'housing'\n"
        "  How to fix: use one of coproducing, territory, practice, or an alias or label of one.")
    with pytest.raises(LookupFailed, match="theme 'social care' is ambiguous: it matches coproducing, territory, practice"):
        codebook.find_theme("social care")


def test_codebook_every_problem_with_its_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\n"                       # 1
        "themes:\n"                         # 2
        "  - id: one\n"                     # 3
        "    label: One\n"                  # 4
        "    colour: red\n"                 # 5
        "    codes:\n"                      # 6
        "      - id: Bad Id\n"              # 7
        "        label: A\n"                # 8
        "      - id: b\n"                   # 9
        "        label: B\n"                # 10
        "        definition: Bee.\n"        # 11
        "        cues:\n"                   # 12
        "          patterns:\n"             # 13
        "            - [{LOWR: x}]\n",      # 14
        encoding="utf-8")
    with pytest.raises(CodebookError) as caught:
        load_codebook(path, display="bad.yaml")
    assert caught.value.problems == [
        "line 5: themes[0].colour: unknown key (check its spelling; see README, 'The codebook')",
        "line 7: themes[0].codes[0].id: ids use lower-case letters, digits, - and _ (e.g. shared-language)",
        "line 7: themes[0].codes[0].definition: required key is missing",
        "line 14: themes[0].codes[1].cues.patterns[0].pattern: unknown token attribute(s) LOWR; use e.g. LOWER, LEMMA, TEXT, OP",
    ]
    assert caught.value.message.startswith("bad.yaml: the codebook is not valid (4 problems):\n  line 5: ")


def problems_of(tmp_path, codes: str) -> list[str]:
    """The problems load_codebook lists for a one-theme codebook holding `codes` (YAML lines)."""
    path = tmp_path / "dup.yaml"
    path.write_text("name: d\nthemes:\n  - id: t\n    label: T\n    codes:\n" + codes, encoding="utf-8")
    with pytest.raises(CodebookError) as caught:
        load_codebook(path)
    return caught.value.problems


def test_codebook_duplicate_ids_name_both_lines(tmp_path):
    assert problems_of(tmp_path, "      - {id: a, label: A, definition: x}\n"
                                 "      - {id: a, label: A2, definition: y}\n") == [
        "line 7: themes[0].codes[1].id: duplicate code a (first at line 6); ids must be unique"]


def test_codebook_duplicate_ids_are_listed_with_every_other_problem(tmp_path):
    """One round of fixes, not two: a duplicate id is found before the codebook is validated."""
    assert problems_of(tmp_path, "      - {id: a, label: A, definition: x}\n"
                                 "      - {id: b, definition: y, renamed_from: [a]}\n"
                                 "      - {id: a, label: A2, definition: z, colour: red}\n") == [
        "line 7: themes[0].codes[1].renamed_from[0]: duplicate code a (first at line 6); ids must be unique",
        "line 7: themes[0].codes[1].label: required key is missing",
        "line 8: themes[0].codes[2].id: duplicate code a (first at line 6); ids must be unique",
        "line 8: themes[0].codes[2].colour: unknown key (check its spelling; see README, 'The codebook')"]
    # ids are read with white space at their ends stripped: "a " is a again
    assert problems_of(tmp_path, "      - {id: a, label: A, definition: x}\n"
                                 "      - {id: 'a ', label: A2, definition: z}\n") == [
        "line 7: themes[0].codes[1].id: duplicate code a (first at line 6); ids must be unique"]


def test_codebook_refuses_python_object_tags(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo hi']\nthemes: []\n", encoding="utf-8")
    with pytest.raises(CodebookError) as caught:
        load_codebook(path)
    assert caught.value.problems == [
        "line 1: YAML tags that build program objects (!!python/object/apply:os.system) are not allowed"]


def test_codebook_invalid_yaml_syntax(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nthemes:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(CodebookError) as caught:
        load_codebook(path)
    assert len(caught.value.problems) == 1
    # the line the list opens on, not the end of the file where PyYAML noticed
    assert caught.value.problems == ["line 3: a list opened with [ on this line is never closed; end it with ]"]
