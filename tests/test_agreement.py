"""The statistics against values computed independently: published worked examples and
reference implementations (krippendorff, scikit-learn)."""

import random

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from copcode.agreement import cohen_kappa, krippendorff_alpha, percent_agreement

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four
# observers, twelve units, nominal values, missing values; alpha = 0.743.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def _units(by_coder):
    return [list(unit) for unit in zip(*by_coder)]


def test_agreement_alpha_matches_krippendorffs_worked_example():
    alpha = krippendorff_alpha(_units(KRIPPENDORFF_2011))
    assert round(alpha, 3) == 0.743
    reference = krippendorff.alpha(
        reliability_data=np.array([[np.nan if v is None else v for v in row] for row in KRIPPENDORFF_2011]),
        level_of_measurement="nominal")
    assert alpha == pytest.approx(reference, abs=1e-9)


def test_agreement_kappa_matches_the_textbook_example():
    # 50 proposals: both yes 20, both no 15, first yes second no 5, first no second yes 10.
    first = [1] * 20 + [0] * 15 + [1] * 5 + [0] * 10
    second = [1] * 20 + [0] * 15 + [0] * 5 + [1] * 10
    assert cohen_kappa(first, second) == pytest.approx(0.4, abs=1e-12)
    assert percent_agreement(_units([first, second])) == pytest.approx(70.0, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_agreement_matches_reference_implementations_on_random_codings(seed):
    rng = random.Random(seed)
    n = 200
    first = [rng.random() < 0.3 for _ in range(n)]
    second = [a if rng.random() < 0.8 else not a for a in first]
    first, second = [int(v) for v in first], [int(v) for v in second]
    assert cohen_kappa(first, second) == pytest.approx(cohen_kappa_score(first, second), abs=1e-9)
    third = [None if rng.random() < 0.2 else int(rng.random() < 0.35) for _ in range(n)]
    data = [first, second, third]
    reference = krippendorff.alpha(
        reliability_data=np.array([[np.nan if v is None else v for v in row] for row in data], dtype=float),
        level_of_measurement="nominal")
    assert krippendorff_alpha(_units(data)) == pytest.approx(reference, abs=1e-9)
    both = sum(a == b for a, b in zip(first, second)) / n * 100
    assert percent_agreement(_units([first, second])) == pytest.approx(both, abs=1e-9)


def test_agreement_undefined_cases_are_none():
    assert cohen_kappa([1, 1, 1], [1, 1, 1]) is None  # chance agreement is total
    assert krippendorff_alpha([[1, 1], [1, 1]]) is None
    assert krippendorff_alpha([[1, None], [None, 0]]) is None  # no unit with two values
    assert cohen_kappa([], []) is None


def _agreement_json(root, *args):
    import json

    from typer.testing import CliRunner

    from copcode.cli import app

    result = CliRunner().invoke(app, ["--project", str(root), "agreement", *args])
    assert result.exit_code == 0, result.output
    return result.stdout if "csv" in args else {row["code"]: row for row in json.loads(result.stdout)}


def test_agreement_command_on_decisions_matches_the_references(coded_small):
    from copcode.decisions import record

    project, store, codebook = coded_small
    ids = dict(store.db.execute("SELECT substr(text, 1, 7), id FROM segments"))
    e01, mm, p02 = ids["I learn"], ids["Mm-hmm."], ids["No. My "]
    for segment, code, verdict, coder in [
            (e01, "learn", "accept", "ann"), (p02, "learn", "reject", "ann"), (p02, "time", "accept", "ann"),
            (e01, "learn", "accept", "bob"), (p02, "learn", "accept", "bob"), (p02, "time", "reject", "bob"),
            (mm, "learn", "tag", "bob")]:
        record(store, codebook, segment, code, verdict, coder)
    rows = _agreement_json(project.root, "--coders", "ann,bob", "--format", "json")
    # Both coded E01 and P02 for `learning` and P02 for `barriers`, so every segment of those
    # transcripts is a unit for those themes' codes: ann never gave "Mm-hmm." `learn` (0), bob
    # tagged it (1), a disagreement. Nobody coded E01 for `barriers`: no units there.
    units = sorted([(e01, "learn"), (mm, "learn"), (p02, "learn"), (p02, "time")])
    given_ann, given_bob = {(e01, "learn"), (p02, "time")}, {(e01, "learn"), (p02, "learn"), (mm, "learn")}
    ann, bob = [int(u in given_ann) for u in units], [int(u in given_bob) for u in units]
    assert rows["ALL"]["units"] == 4 and rows["learn"]["units"] == 3 and rows["time"]["units"] == 1
    assert rows["ALL"]["percent_agreement"] == pytest.approx(25.0, abs=1e-9)
    assert rows["ALL"]["cohen_kappa"] == pytest.approx(cohen_kappa_score(ann, bob), abs=1e-9)
    assert rows["ALL"]["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=[ann, bob], level_of_measurement="nominal"), abs=1e-9)
    # without --coders: every coder there is, here ann and bob
    assert _agreement_json(project.root, "--format", "json") == rows
    disagreements = _agreement_json(project.root, "--coders", "ann,bob", "--disagreements", "--format", "csv")
    assert disagreements.splitlines()[0] == "segment,participant,code,ann,bob,text"
    expected = sorted([[mm, "E01", "learn", "0", "1"], [p02, "P02", "learn", "0", "1"]]) + [[p02, "P02", "time", "1", "0"]]
    assert [line.split(",")[:5] for line in disagreements.splitlines()[1:]] == expected


def test_agreement_two_taggers_count_passages_the_other_left_untagged(small_project):
    """Two coders tag different passages of one transcript: every segment of it is a unit,
    and the figures equal scikit-learn's and krippendorff's over all of them."""
    from copcode.coding import code_project, project_codebook
    from copcode.decisions import record
    from copcode.project import open_project
    from copcode.store import open_store

    turns = "\n\n".join(f"Interviewer: Question {i}?\n\nE07: Answer number {i} is about my week {i}."
                         for i in range(1, 9))
    (small_project / "transcripts" / "E07.txt").write_text(turns + "\n", encoding="utf-8")
    project = open_project(small_project)
    code_project(project)
    store = open_store(project.store_path, create=False)
    codebook = project_codebook(project)
    try:
        segments = sorted(s for s, t in store.segment_transcripts().items() if t == "E07")
        assert len(segments) == 8
        tagged = {"ann": segments[0:3], "bob": segments[1:5] + segments[6:7]}
        for coder, chosen in tagged.items():
            for segment in chosen:
                record(store, codebook, segment, "learn", "tag", coder)
    finally:
        store.close()
    rows = _agreement_json(small_project, "--coders", "ann,bob", "--format", "json")
    ann = [int(s in tagged["ann"]) for s in segments]
    bob = [int(s in tagged["bob"]) for s in segments]
    assert rows["learn"]["units"] == 8 and rows["time"]["units"] == 0 and rows["ALL"]["units"] == 8
    assert rows["ALL"]["percent_agreement"] == pytest.approx(100 * sum(a == b for a, b in zip(ann, bob)) / 8)
    assert rows["ALL"]["cohen_kappa"] == pytest.approx(cohen_kappa_score(ann, bob), abs=1e-9)
    assert rows["ALL"]["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=[ann, bob], level_of_measurement="nominal"), abs=1e-9)


def test_agreement_without_two_coders_names_the_coders_there_are(coded_small):
    from typer.testing import CliRunner

    from copcode.cli import app
    from copcode.decisions import record

    project, store, codebook = coded_small
    segment = store.db.execute("SELECT id FROM segments LIMIT 1").fetchone()[0]
    record(store, codebook, segment, "learn", "tag", "ann")
    result = CliRunner().invoke(app, ["--project", str(project.root), "agreement"], env={"COLUMNS": "250"})
    assert (result.exit_code, " ".join(result.output.split())) == (
        1, "Error: agreement needs two different coders or more (coders here: ann) How to fix: name them with "
           "--coders, e.g. --coders coder-a,coder-b, or `suggestions` for the suggestions.")
