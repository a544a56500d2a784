"""Learning curve of copcode's suggestions: `python benchmarks/learning.py`.

Prints figures (nothing here is a pass/fail test):
- the NHS patient comments (../shared/data/patient-feedback: `train.csv` and its
  `codebook.yaml` as it is): the comments split by document with a fixed seed into a training
  pool (80%) and a test part (20%); micro and macro F1 on the test part for the cues alone
  (copcode's own suggestions at min_score 0.35) and for cues + learning (`copcode.learn`)
  after 50, 100, 200, 500, 1000 and all documents of the pool, with the training time;
- the demo (the repository's 21 transcripts and tests/gold/): trained on the seven
  transcripts the cues were tuned on, scored on the other fourteen, unit = segment and code;
- what learning adds to `copcode code` on a survey of 50,000 comments (the patient comments
  repeated, `--comments`) of which the first 5,000 are coded (`--decisions`): the real command
  run with and without `--no-learning` on the same store and cache, alternately, medians of
  `--repeats` runs; the coding imported as a labelled table (`copcode import --coder`) or, with
  `--coded-as review`, recorded as a reviewer's accepts, tags and rejects; and before it the
  model alone in memory (training + predicting);
- with `--spacy`, the same curve for spaCy's `textcat_multilabel` (bag of words), for the
  choice between the two.
Macro F1 is the mean over the codes that the scored part holds at least once."""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

PATIENT = ROOT.parent / "shared" / "data" / "patient-feedback"
COPCODE = str(Path(sys.executable).parent / "copcode")
SIZES = [50, 100, 200, 500, 1000]
SEED = 20261130


def f1_figures(truth: list[set[str]], predicted: list[set[str]], codes: list[str]) -> tuple[float, float]:
    """Micro F1 over every (unit, code) and macro F1 over the codes the truth holds."""
    tp = fp = fn = 0
    per_code = []
    for code in codes:
        c_tp = sum(code in t and code in p for t, p in zip(truth, predicted))
        c_fp = sum(code not in t and code in p for t, p in zip(truth, predicted))
        c_fn = sum(code in t and code not in p for t, p in zip(truth, predicted))
        tp, fp, fn = tp + c_tp, fp + c_fp, fn + c_fn
        if c_tp + c_fn:
            per_code.append(2 * c_tp / (2 * c_tp + c_fp + c_fn))
    micro = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return micro, sum(per_code) / len(per_code) if per_code else 0.0


def cues_alone(scores: list[dict[str, float]], min_score: float) -> list[set[str]]:
    return [{c for c, v in s.items() if v >= min_score} for s in scores]


def patient_data(path: Path, limit: int | None):
    from copcode.codebook import load_codebook

    codebook = load_codebook(path / "codebook.yaml")
    by_label = {c.label: c.id for c in codebook.codes}
    with open(path / "train.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    texts = [row["comment"] for row in rows]
    labels = [{by_label[name] for name in row["labels"].split(";") if name} for row in rows]
    import numpy

    order = numpy.random.RandomState(SEED).permutation(len(rows)).tolist()
    if limit:
        order = order[:limit]
    cut = len(order) - len(order) // 5
    return codebook, texts, labels, order[:cut], order[cut:]


def curve(name, codebook, texts, labels, pool, test, sizes, spacy_too, out) -> list[dict[str, float]]:
    """One row per training size: cues alone, cues + learning, training time. Returns the
    cue scores of every text."""
    from copcode.learn import cue_scores, train

    codes = [c.id for c in codebook.codes]
    start = time.perf_counter()
    scores = cue_scores(codebook, texts)
    cue_seconds = time.perf_counter() - start
    definitions = scored_definitions(codebook)
    truth = [labels[i] for i in test]
    base = f1_figures(truth, cues_alone([scores[i] for i in test], 0.35), codes)
    out(f"\n{name}: {len(pool)} documents in the training pool, {len(test)} in the test part; "
        f"cue scores for all {len(texts)} in {cue_seconds:.1f} s")
    out("| trained on | cues alone micro / macro | cues + learning micro / macro | codes learned | training s |"
        + (" spaCy textcat micro / macro | spaCy training s |" if spacy_too else ""))
    out("| --- | --- | --- | --- | --- |" + (" --- | --- |" if spacy_too else ""))
    for size in [s for s in sizes if s < len(pool)] + [len(pool)]:
        rows = pool[:size]
        start = time.perf_counter()
        model = train([texts[i] for i in rows], [labels[i] for i in rows], [scores[i] for i in rows], codes,
                      definitions=definitions)
        seconds = time.perf_counter() - start
        predicted = model.decide([texts[i] for i in test], [scores[i] for i in test])
        learned = f1_figures(truth, predicted, codes)
        line = (f"| {size if size < len(pool) else f'all ({size})'} | {base[0]:.2f} / {base[1]:.2f} | "
                f"{learned[0]:.2f} / {learned[1]:.2f} | {len(model.learned_codes)} of {len(codes)} | {seconds:.1f} |")
        if spacy_too:
            spacy_f1, spacy_seconds = spacy_textcat(texts, labels, scores, rows, test, codes)
            line += f" {spacy_f1[0]:.2f} / {spacy_f1[1]:.2f} | {spacy_seconds:.1f} |"
        out(line)
    return scores


def scored_definitions(codebook):
    """The codebook's definitions with their cue scores, as `copcode code` gives them to
    `learn.train` (`learn.definitions_scored`, here without a store)."""
    from copcode.learn import cue_scores, definition_texts

    texts = definition_texts(codebook)
    return [(code, text, scores) for (code, text), scores in zip(texts, cue_scores(codebook, [t for _, t in texts]))]


def spacy_textcat(texts, labels, scores, rows, test, codes, epochs: int = 10):
    """spaCy's textcat_multilabel (bag of word unigrams and bigrams) trained on `rows`, with
    the same rule as copcode.learn for rare codes (cues alone below MIN_POSITIVES)."""
    import random

    import spacy
    from spacy.training import Example
    from spacy.util import fix_random_seed, minibatch

    from copcode.learn import MIN_POSITIVES

    fix_random_seed(0)
    start = time.perf_counter()
    nlp = spacy.blank("en")
    textcat = nlp.add_pipe("textcat_multilabel", config={"model": {
        "@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": False, "ngram_size": 2,
        "no_output_layer": False}})
    positives = {c: sum(c in labels[i] for i in rows) for c in codes}
    learned = [c for c in codes if positives[c] >= MIN_POSITIVES]
    for code in learned:
        textcat.add_label(code)
    # spaCy's bag-of-n-grams layer fails on a document without tokens: empty comments are left
    # out of training, and get no learned code
    examples = [Example.from_dict(nlp.make_doc(texts[i]), {"cats": {c: float(c in labels[i]) for c in learned}})
                for i in rows if texts[i].strip()]
    if learned:
        optimizer = nlp.initialize(lambda: examples)
        shuffled = list(examples)
        rng = random.Random(0)
        for _ in range(epochs):
            rng.shuffle(shuffled)
            for batch in minibatch(shuffled, size=32):
                nlp.update(batch, sgd=optimizer)
    seconds = time.perf_counter() - start
    predicted = []
    docs = iter(nlp.pipe([texts[i] for i in test if texts[i].strip()]) if learned else [])
    for i in test:
        doc = next(docs) if learned and texts[i].strip() else None
        found = {c for c, v in scores[i].items() if v >= 0.35 and c not in learned}
        if doc is not None:
            found |= {c for c, v in doc.cats.items() if v >= 0.5}
        predicted.append(found)
    return f1_figures([labels[i] for i in test], predicted, codes), seconds


def demo_data():
    """The demo's segments, their gold codes, the transcript of each, and the interviewer's
    turn that asks something before each ("" when none), as `copcode code` finds it
    (tables.question_spans)."""
    from copcode.codebook import load_codebook
    from copcode.ingest import read_corpus
    from copcode.project import open_project
    from copcode.segment import segment_transcript
    from copcode.tables import asks

    from gold import TUNED_ON, gold_passages

    project = open_project(ROOT)
    codebook = load_codebook(ROOT / "codebooks" / "cop.yaml")
    passages = gold_passages()
    texts, labels, owners, asked = [], [], [], []
    for transcript in read_corpus(project).transcripts:
        located = []
        for passage in passages.get(transcript.id, []):
            start = transcript.text.index(passage["text"])
            located.append((start, start + len(passage["text"]), set(passage["codes"])))
        for segment in segment_transcript(transcript):
            texts.append(segment.text)
            labels.append(set().union(*[c for s, e, c in located if s < segment.end and segment.start < e]))
            owners.append(transcript.id)
            before = [t for t in transcript.turns[:segment.turn]
                      if t.role == "interviewer" and asks(transcript.text[t.start:t.end])]
            asked.append(transcript.text[before[-1].start:before[-1].end] if before else "")
    return codebook, texts, labels, owners, asked, TUNED_ON


def demo(out, choices: int = 40, seed: int = 12345):
    from copcode.learn import cue_scores, evaluate, train

    codebook, texts, labels, owners, questions, tuned_on = demo_data()
    codes = [c.id for c in codebook.codes]
    scores = cue_scores(codebook, texts)
    asked = cue_scores(codebook, questions)
    definitions = scored_definitions(codebook)
    rows = [i for i, t in enumerate(owners) if t in tuned_on]
    test = [i for i, t in enumerate(owners) if t not in tuned_on]
    truth = [labels[i] for i in test]
    base = f1_figures(truth, cues_alone([scores[i] for i in test], 0.35), codes)
    start = time.perf_counter()
    model = train([texts[i] for i in rows], [labels[i] for i in rows], [scores[i] for i in rows], codes,
                  groups=[owners[i] for i in rows],  # as copcode code does: by transcript
                  asked=[asked[i] for i in rows], definitions=definitions)
    seconds = time.perf_counter() - start
    learned = f1_figures(truth, model.decide([texts[i] for i in test], [scores[i] for i in test],
                                             [asked[i] for i in test]), codes)
    out(f"\nDemo: trained on the 7 transcripts the cues were tuned on ({len(rows)} segments), "
        f"scored on the other 14 ({len(test)} segments)")
    out("| | micro F1 | macro F1 | codes learned | training s |")
    out("| --- | --- | --- | --- | --- |")
    out(f"| cues alone | {base[0]:.2f} | {base[1]:.2f} | | |")
    out(f"| cues + learning | {learned[0]:.2f} | {learned[1]:.2f} | {len(model.learned_codes)} of {len(codes)} "
        f"| {seconds:.1f} |")
    folds = evaluate(texts, labels, scores, owners, codes, folds=5, asked=asked, definitions=definitions)
    micro, macro = folds[-2], folds[-1]
    out("\nDemo, cross-validated by transcript (5 folds: trained on about 17 transcripts, scored on the rest)")
    out("| | micro F1 | macro F1 |")
    out("| --- | --- | --- |")
    out(f"| cues alone | {micro['cues_f1']:.2f} | {macro['cues_f1']:.2f} |")
    out(f"| cues + learning | {micro['learning_f1']:.2f} | {macro['learning_f1']:.2f} |")
    if choices:
        random_choices(codebook, texts, labels, owners, scores, asked, definitions, choices, seed, out)


def random_choices(codebook, texts, labels, owners, scores, asked, definitions, choices: int, seed: int, out):
    """The demo again over `choices` random choices of seven coded transcripts
    (`random.Random(seed)`), scored on the other fourteen: micro F1 of the cues alone, and of
    learning with and without the codebook's definitions (paired: the same choices)."""
    import random
    import statistics

    from copcode.learn import train

    codes = [c.id for c in codebook.codes]
    transcripts = sorted(set(owners))
    rng = random.Random(seed)
    figures: dict[str, list[float]] = {"cues alone": [], "cues + learning": [], "without the definitions": []}
    for _ in range(choices):
        coded = set(rng.sample(transcripts, 7))
        rows = [i for i, t in enumerate(owners) if t in coded]
        test = [i for i, t in enumerate(owners) if t not in coded]
        truth = [labels[i] for i in test]
        figures["cues alone"].append(f1_figures(truth, cues_alone([scores[i] for i in test], 0.35), codes)[0])
        for name, told in (("cues + learning", definitions), ("without the definitions", ())):
            model = train([texts[i] for i in rows], [labels[i] for i in rows], [scores[i] for i in rows], codes,
                          groups=[owners[i] for i in rows], asked=[asked[i] for i in rows], definitions=told)
            predicted = model.decide([texts[i] for i in test], [scores[i] for i in test], [asked[i] for i in test])
            figures[name].append(f1_figures(truth, predicted, codes)[0])
    gains = {name: [f - c for f, c in zip(figures[name], figures["cues alone"])]
             for name in ("cues + learning", "without the definitions")}
    better = sum(a > b for a, b in zip(figures["cues + learning"], figures["without the definitions"]))
    worse = sum(a < b for a, b in zip(figures["cues + learning"], figures["without the definitions"]))
    out(f"\nDemo, {choices} random choices of the seven coded transcripts (random.Random({seed})), "
        "scored on the other fourteen: mean micro F1")
    out("| | micro F1 | gain over the cues |")
    out("| --- | --- | --- |")
    for name, values in figures.items():
        gain = f" {statistics.mean(gains[name]):+.3f} |" if name in gains else " |"
        out(f"| {name} | {statistics.mean(values):.3f} |{gain}")
    out(f"The definitions: better in {better} choices, worse in {worse}.")


def scale_in_memory(codebook, texts, labels, scores, comments: int, decisions: int, out):
    """The model alone: train on `decisions` coded comments and predict `comments` (the
    patient comments repeated), with the cue scores already computed."""
    from copcode.learn import train

    codes = [c.id for c in codebook.codes]
    corpus = [texts[i % len(texts)] for i in range(comments)]
    repeated = [scores[i % len(texts)] for i in range(comments)]
    definitions = scored_definitions(codebook)  # copcode code reads them from its cache
    start = time.perf_counter()
    model = train(corpus[:decisions], [labels[i % len(texts)] for i in range(decisions)], repeated[:decisions], codes,
                  definitions=definitions)
    trained = time.perf_counter() - start
    model.decide(corpus, repeated)
    total = time.perf_counter() - start
    out(f"\nScale: train on {decisions:,} coded comments, then predict {comments:,}: "
        f"{trained:.1f} s training + {total - trained:.1f} s predicting = {total:.1f} s (the model alone, in memory)")


def scale(codebook_path: Path, texts, labels, comments: int, coded: int, repeats: int, coded_as: str, out):
    """What learning adds to the real `copcode code --input` on a survey of `comments`
    comments (the non-empty patient comments repeated, ids c00001...), the first `coded` of
    them coded by their labels (`coded_as`, see `CODED_AS`): the command is run once to fill
    the store and the cache (not counted), the coding is recorded, then the command is run
    `repeats` times with --no-learning and as many with learning, alternately (nothing is
    parsed again); the medians are compared."""
    kept = [i for i, text in enumerate(texts) if text.strip()]
    width = max(5, len(str(comments)))
    ids = [f"c{n:0{width}d}" for n in range(1, comments + 1)]
    with tempfile.TemporaryDirectory(prefix="copcode-learning-") as folder:
        root = Path(folder) / "survey"
        (root / "codebooks").mkdir(parents=True)
        shutil.copy(codebook_path, root / "codebooks" / codebook_path.name)
        answers = Path(folder) / "comments.csv"
        with answers.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "text"])
            writer.writerows((ids[n], texts[kept[n % len(kept)]]) for n in range(comments))
        code = ["code", "--input", str(answers)]
        first, said = copcode(root, *code, "--no-learning")
        out(f"\nScale: first run of copcode code --no-learning on {comments:,} comments "
            f"({len(set(texts[i] for i in kept)):,} different texts), filling the store and the cache: {first:.1f} s")
        out("  " + said.splitlines()[0])
        truth = {ids[n]: labels[kept[n % len(kept)]] for n in range(min(coded, comments))}
        made = record_by_import(root, truth, Path(folder), out) if coded_as == "import" else record_by_review(root, truth)
        without, with_ = [], []
        for _ in range(repeats):
            seconds, said_without = copcode(root, *code, "--no-learning")
            without.append(seconds)
            seconds, said_with = copcode(root, *code)
            with_.append(seconds)
    learned = next((line for line in said_with.splitlines() if line.startswith("Learned from")), "")
    out("  without learning: " + said_without.splitlines()[0])
    out("  with learning: " + said_with.splitlines()[0])
    out("  " + (learned[:600] + " ..." if len(learned) > 600 else learned))
    a, b = statistics.median(without), statistics.median(with_)
    out(f"Scale: {comments:,} comments, {len(truth):,} of them coded ({made:,} decisions, {CODED_AS[coded_as]}): "
        f"copcode code {a:.1f} s without learning, {b:.1f} s with: learning adds {b - a:.1f} s "
        f"(target: under 10 s; runs: {', '.join(f'{s:.1f}' for s in without)} s without, "
        f"{', '.join(f'{s:.1f}' for s in with_)} s with)")


CODED_AS = {
    "import": "imported with copcode import --coder, each comment marked as coded in full",
    "review": "each label accepted or tagged and every other suggestion rejected, as in copcode review",
}


def copcode(root: Path, *args: str) -> tuple[float, str]:
    """Run the real command line on the project: (seconds, what it printed)."""
    command = [COPCODE, "--project", str(root), *args]
    start = time.perf_counter()
    # wide enough that rich does not wrap the summary lines
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "COLUMNS": "10000"})
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}{done.stdout}")
    return seconds, done.stdout


def record_by_import(root: Path, labels: dict[str, set[str]], folder: Path, out) -> int:
    """The labels as a table (id, codes) imported by `copcode import --coder benchmark`, as a
    team brings a labelled data set; returns how many tags it recorded."""
    table = folder / "coded.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "codes"])
        writer.writerows((answer, ";".join(sorted(codes))) for answer, codes in labels.items())
    seconds, said = copcode(root, "import", str(table), "--coder", "benchmark")
    out(f"  copcode import of the {len(labels):,} coded comments: {seconds:.1f} s: {said.splitlines()[0]}")
    refused = [line for line in said.splitlines() if line.startswith("Not imported")]
    if refused:
        out(f"  {len(refused):,} row(s) not imported, e.g. {refused[0]}")
    return int(said.split()[1].replace(",", "")) if said.startswith("Recorded ") else 0


def record_by_review(root: Path, labels: dict[str, set[str]]) -> int:
    """As a coder who reviews the comments `labels` names: on every segment of such a comment
    each label accepted (when suggested) or tagged, every other suggestion rejected, all
    recorded in one transaction; returns how many decisions were made."""
    from gold import review_by

    return review_by(root, lambda segment, comment: labels.get(comment), "benchmark")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patient", type=Path, default=PATIENT, help="the patient-feedback folder")
    parser.add_argument("--limit", type=int, default=0, help="use only this many comments (0: all)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--spacy", action="store_true", help="also train spaCy's textcat_multilabel")
    parser.add_argument("--comments", type=int, default=50_000, help="the scale figure's corpus (0: skip)")
    parser.add_argument("--decisions", type=int, default=5_000, help="how many of them are coded")
    parser.add_argument("--repeats", type=int, default=3, help="runs of copcode code with and without learning")
    parser.add_argument("--coded-as", choices=sorted(CODED_AS), default="import",
                        help="how the coded comments are recorded: " + "; ".join(f"{k}: {v}" for k, v in CODED_AS.items()))
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--choices", type=int, default=40,
                        help="random choices of seven coded demo transcripts (0: skip)")
    parser.add_argument("--seed", type=int, default=12345, help="the seed of those choices")
    args = parser.parse_args(argv)
    out = lambda line: print(line, flush=True)  # noqa: E731
    sizes = [int(s) for s in args.sizes.split(",") if s]
    start = time.perf_counter()
    # once per process: not counted in each training time
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.model_selection  # noqa: F401

    out(f"Importing scikit-learn: {time.perf_counter() - start:.1f} s (once per run of copcode code)")
    codebook, texts, labels, pool, test = patient_data(args.patient, args.limit or None)
    if args.limit:
        texts = [texts[i] for i in pool + test]
        labels = [labels[i] for i in pool + test]
        pool, test = list(range(len(pool))), list(range(len(pool), len(pool) + len(test)))
    scores = curve("Patient comments", codebook, texts, labels, pool, test, sizes, args.spacy, out)
    if not args.no_demo:
        demo(out, args.choices, args.seed)
    if args.comments:
        decisions = min(args.decisions, args.comments)
        scale_in_memory(codebook, texts, labels, scores, args.comments, decisions, out)
        scale(args.patient / "codebook.yaml", texts, labels, args.comments, decisions, max(1, args.repeats),
              args.coded_as, out)


if __name__ == "__main__":
    main()
