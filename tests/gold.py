"""Suggestions against the demo corpus's gold coding: precision and recall per code.

The gold files (tests/gold/<participant>.yaml) were written with the transcripts, by people who
did not see the codebook's cues: each lists the passages a careful coder would code, verbatim,
and their codes. The unit is a segment and a code: a segment carries a gold code when a gold
passage with that code overlaps it. Run `python tests/gold.py PROJECT` (after `copcode code`)
to print the table in the README."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import yaml

GOLD = Path(__file__).parent / "gold"


def gold_passages() -> dict[str, list[dict]]:
    return {path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))["passages"]
            for path in sorted(GOLD.glob("*.yaml"))}


def gold_codes_by_segment(db) -> dict[str, set[str]]:
    """Segment id -> the gold codes of the passages that overlap it."""
    texts = dict(db.execute("SELECT id, text FROM transcripts"))
    segments = db.execute('SELECT id, transcript, start, "end" FROM segments').fetchall()
    found: dict[str, set[str]] = defaultdict(set)
    for participant, passages in gold_passages().items():
        text = texts[participant]
        for passage in passages:
            start = text.index(passage["text"])
            end = start + len(passage["text"])
            for sid, transcript, s_start, s_end in segments:
                if transcript == participant and s_start < end and start < s_end:
                    found[sid].update(passage["codes"])
    return found


# The transcripts the codebook's cues were tuned on; the other fourteen were held out.
TUNED_ON = ["E05", "E06", "E07", "R01", "R02", "R03", "R04"]


def precision_recall(db, code_ids: list[str], transcripts: list[str] | None = None):
    """Per code and overall (micro): true/false positives, misses, precision, recall, F1,
    over all segments or those of the given transcripts."""
    import pandas as pd

    gold = gold_codes_by_segment(db)
    suggested = defaultdict(set)
    for segment, code in db.execute("SELECT segment, code FROM suggestions"):
        suggested[segment].add(code)
    all_segments = [sid for sid, transcript in db.execute("SELECT id, transcript FROM segments")
                    if transcripts is None or transcript in transcripts]
    rows = []
    for code in code_ids + ["ALL"]:
        codes = code_ids if code == "ALL" else [code]
        tp = sum(c in suggested[s] and c in gold[s] for s in all_segments for c in codes)
        fp = sum(c in suggested[s] and c not in gold[s] for s in all_segments for c in codes)
        fn = sum(c not in suggested[s] and c in gold[s] for s in all_segments for c in codes)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"code": code, "gold": tp + fn, "suggested": tp + fp, "correct": tp,
                     "precision": round(precision, 2), "recall": round(recall, 2), "f1": round(f1, 2)})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    import sqlite3

    from copcode.codebook import load_codebook

    project = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    db = sqlite3.connect(project / ".copcode" / "copcode.db")
    codes = [c.id for c in load_codebook(project / "codebooks" / "cop.yaml").codes]
    held_out = [t for t, in db.execute("SELECT id FROM transcripts") if t not in TUNED_ON]
    for title, subset in [("All 21 transcripts", None), ("Held out (14)", held_out),
                          ("Tuned on (7)", TUNED_ON)]:
        print(f"{title}\n{precision_recall(db, codes, subset).to_string(index=False)}\n")


def code_from_gold(root: Path, transcripts: list[str], coder: str = "gold") -> int:
    """As a coder who codes `transcripts` by the gold (see `review_by`)."""
    import sqlite3

    from copcode.project import open_project

    with sqlite3.connect(open_project(root).store_path) as db:
        gold = gold_codes_by_segment(db)
    return review_by(root, lambda segment, transcript: gold[segment] if transcript in transcripts else None, coder)


def review_by(root: Path, truth_of, coder: str) -> int:
    """As a coder who reviews a project's segments: where `truth_of(segment id, transcript id)`
    gives a set of codes, each of them accepted (when suggested) or tagged and every other
    suggestion there rejected (None: the segment is left alone); all recorded in one
    transaction. How many decisions were made."""
    import sqlite3

    from copcode.coding import project_codebook
    from copcode.decisions import record_many
    from copcode.project import open_project
    from copcode.store import open_store

    project = open_project(root)
    with sqlite3.connect(project.store_path) as db:
        segments = db.execute("SELECT id, transcript FROM segments ORDER BY rowid").fetchall()
        suggested: dict[str, set[str]] = defaultdict(set)
        for segment, code in db.execute("SELECT segment, code FROM suggestions"):
            suggested[segment].add(code)
    rows = []
    for segment, transcript in segments:
        truth = truth_of(segment, transcript)
        if truth is not None:
            rows += [(segment, c, "accept" if c in suggested[segment] else "tag", "") for c in sorted(truth)]
            rows += [(segment, c, "reject", "") for c in sorted(suggested[segment] - truth)]
    store = open_store(project.store_path, create=False)
    try:
        with store.transaction():
            record_many(store, project_codebook(project), rows, coder)
    finally:
        store.close()
    return len(rows)


def micro_f1(db, transcripts: list[str]) -> float:
    """Micro F1 of the stored suggestions against the gold on `transcripts` (unit: a segment
    and a code)."""
    gold = gold_codes_by_segment(db)
    tp = fp = fn = 0
    suggested: dict[str, set[str]] = defaultdict(set)
    for segment, code in db.execute("SELECT segment, code FROM suggestions"):
        suggested[segment].add(code)
    for segment, transcript in db.execute("SELECT id, transcript FROM segments"):
        if transcript in transcripts:
            tp += len(gold[segment] & suggested[segment])
            fp += len(suggested[segment] - gold[segment])
            fn += len(gold[segment] - suggested[segment])
    return 2 * tp / (2 * tp + fp + fn)
