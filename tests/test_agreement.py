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


def test_agreement_command_on_decisions_matches_the_references(coded_small):
    import json

    from typer.testing import CliRunner

    from copcode.cli import app
    from copcode.decisions import record

    project, store, codebook = coded_small
    ids = dict(store.db.execute("SELECT substr(text, 1, 7), id FROM segments"))
    e01, mm, p02 = ids["I learn"], ids["Mm-hmm."], ids["No. My "]
    for segment, code, verdict, coder in [
            (e01, "learn", "accept", "ann"), (p02, "learn", "reject", "ann"), (p02, "time", "accept", "ann"),
            (e01, "learn", "accept", "bob"), (p02, "learn", "accept", "bob"), (p02, "time", "reject", "bob"),
            (mm, "learn", "tag", "bob")]:  # only bob read "Mm-hmm.": one value, not a unit
        record(store, codebook, segment, code, verdict, coder)
    result = CliRunner().invoke(app, ["--project", str(project.root), "agreement", "--coders", "ann,bob", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {row["code"]: row for row in json.loads(result.stdout)}
    ann, bob = [1, 0, 1], [1, 1, 0]  # units: (E01, learn), (P02, learn), (P02, time)
    assert rows["ALL"]["units"] == 3 and rows["learn"]["units"] == 2 and rows["time"]["units"] == 1
    assert rows["ALL"]["percent_agreement"] == pytest.approx(100 / 3, abs=1e-9)
    assert rows["ALL"]["cohen_kappa"] == pytest.approx(cohen_kappa_score(ann, bob), abs=1e-9) == pytest.approx(-0.5)
    assert rows["ALL"]["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=[ann, bob], level_of_measurement="nominal"), abs=1e-9)
    disagreements = CliRunner().invoke(app, ["--project", str(project.root), "agreement", "--coders",
                                             "ann,bob", "--disagreements", "--format", "csv"]).stdout
    assert disagreements.splitlines()[0] == "segment,participant,code,ann,bob,text"
    assert [line.split(",")[:5] for line in disagreements.splitlines()[1:]] == [
        [p02, "P02", "learn", "0", "1"], [p02, "P02", "time", "1", "0"]]
