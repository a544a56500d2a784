"""copcode's benchmarks: `make bench` (or `python benchmarks/run.py`).

Generates corpora from a fixed seed, runs the real command line on them, and prints one
table of medians with the baseline measured in the same run beside each figure:
- `copcode code` throughput (participant words per second, the whole command), cold (empty
  store) and warm (unchanged corpus), single process and --workers 2, against spaCy's
  tokenizer alone on the same segment texts (`nlp.pipe` over `spacy.blank("en")`);
- start-up of `copcode --help` and `copcode quotes` on a coded project, against
  `python -c "import typer, rich"`;
- peak memory of `copcode code` on a survey of 1,000,000 comments (`--comments`), as
  `/usr/bin/time -v` reports it (maximum resident set size);
- a re-run after editing one of the 21 demo transcripts.
Every corpus is written under a temporary folder and removed afterwards."""

from __future__ import annotations

import argparse
import csv
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COPCODE = [str(BIN / "copcode")]


def run(args, cwd=None) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def median_of(times: int, make_cold, args, cwd=None) -> float:
    results = []
    for _ in range(times):
        if make_cold:
            make_cold()
        results.append(run(args, cwd))
    return statistics.median(results)


def peak_memory_mb(args, cwd=None) -> float:
    """Peak resident memory of the command: /usr/bin/time -v's maximum resident set size
    where GNU time is installed, else ru_maxrss of the largest child so far (so run this
    before any bigger child)."""
    if Path("/usr/bin/time").exists():
        result = subprocess.run(["/usr/bin/time", "-v", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
        if found:
            return int(found.group(1)) / 1024
    probe = [sys.executable, "-c",
             "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
             "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)", *args]
    out = subprocess.run(probe, cwd=cwd, check=True, capture_output=True, text=True).stdout
    return int(out.strip()) / 1024


# ---------------------------------------------------------------- corpora

def demo_turns() -> tuple[list[str], list[str]]:
    """Interviewer questions and participant answers of the demo's .txt transcripts."""
    questions, answers = [], []
    for path in sorted((ROOT / "transcripts").glob("*.txt")):
        body = path.read_text(encoding="utf-8").split("---\n", 2)[-1]
        for para in re.split(r"\n\s*\n", body.strip()):
            label, _, words = para.partition(": ")
            (questions if label == "Interviewer" else answers).append(words.strip())
    return questions, answers


def vary(rng: random.Random, text: str, vocabulary: list[str]) -> str:
    """The same passage with about one word in eight swapped, so no two are alike."""
    words = text.split(" ")
    for _ in range(max(1, len(words) // 8)):
        words[rng.randrange(len(words))] = rng.choice(vocabulary)
    return " ".join(words)


def interviews(folder: Path, count: int, seed: int, codebook_from: Path) -> int:
    rng = random.Random(seed)
    questions, answers = demo_turns()
    vocabulary = sorted({w for a in answers for w in a.split() if w.isalpha()})
    (folder / "transcripts").mkdir(parents=True)
    shutil.copytree(codebook_from, folder / "codebooks")
    words = 0
    for n in range(count):
        pid = f"{'EPR'[n % 3]}{n:04d}"
        turns = []
        for _ in range(rng.randint(22, 30)):
            answer = vary(rng, rng.choice(answers), vocabulary)
            words += len(answer.split())
            turns += [f"Interviewer: {rng.choice(questions)}", f"{pid}: {answer}"]
        (folder / "transcripts" / f"{pid}.txt").write_text(
            f"---\nparticipant: {pid}\nsynthetic: true\n---\n" + "\n\n".join(turns) + "\n", encoding="utf-8")
    return words


def survey(folder: Path, count: int, seed: int, codebook_from: Path) -> tuple[Path, int]:
    rng = random.Random(seed)
    _, answers = demo_turns()
    sentences = [s for a in answers for s in re.split(r"(?<=[.!?])\s+", a) if len(s.split()) > 4]
    vocabulary = sorted({w for s in sentences for w in s.split() if w.isalpha()})
    folder.mkdir(parents=True)
    shutil.copytree(codebook_from, folder / "codebooks")
    path, words = folder / "answers.csv", 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "comment", "site", "staff_group"])
        for n in range(count):
            comment = " ".join(vary(rng, rng.choice(sentences), vocabulary) for _ in range(rng.randint(1, 3)))
            words += len(comment.split())
            writer.writerow([f"S{n:05d}", comment, rng.choice(["North", "South", "East", "West"]),
                             rng.choice(["nursing", "care", "admin", "therapy"])])
    return path, words


def tokenizer_alone(project: Path, repeats: int) -> float:
    """Seconds for spaCy's blank English tokenizer over the same segment texts (median)."""
    script = (
        "import sqlite3, sys, time, spacy\n"
        "texts = [t for (t,) in sqlite3.connect(sys.argv[1]).execute('SELECT text FROM segments')]\n"
        "nlp = spacy.blank('en')\n"
        "start = time.perf_counter()\n"
        "for doc in nlp.pipe(texts, batch_size=256): pass\n"
        "print(time.perf_counter() - start)\n")
    times = [float(subprocess.run([sys.executable, "-c", script, str(project / ".copcode" / "copcode.db")],
                                  check=True, capture_output=True, text=True).stdout) for _ in range(repeats)]
    return statistics.median(times)


def segment_words(project: Path) -> int:
    import sqlite3

    db = sqlite3.connect(project / ".copcode" / "copcode.db")
    return sum(len(t.split()) for (t,) in db.execute("SELECT text FROM segments"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interviews", type=int, default=2000)
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="copcode-bench-"))
    rows = []
    try:
        codebook = ROOT / "codebooks"
        # the survey first: ru_maxrss reports the largest child so far
        survey_dir = work / "survey"
        answers, survey_words = survey(survey_dir, options.comments, seed=7, codebook_from=codebook)
        code_survey = [*COPCODE, "code", "--input", str(answers), "--id-column", "id", "--text-column", "comment"]
        start = time.perf_counter()
        memory = peak_memory_mb(code_survey, cwd=survey_dir)
        survey_seconds = time.perf_counter() - start
        stored = (survey_dir / ".copcode" / "copcode.db").stat().st_size / 2**20
        rows.append(("survey: peak memory of copcode code", f"{memory:.0f} MB",
                     f"store {stored:.0f} MB; {options.comments:,} comments, {survey_words:,} words, {survey_seconds:.0f} s",
                     "< 1 GB"))

        big = work / "interviews"
        interviews(big, options.interviews, seed=11, codebook_from=codebook)
        store = big / ".copcode"
        cold = median_of(options.repeats, lambda: shutil.rmtree(store, ignore_errors=True), [*COPCODE, "code"], big)
        words = segment_words(big)
        tokenizer = tokenizer_alone(big, options.repeats)
        warm = median_of(options.repeats, None, [*COPCODE, "code"], big)
        parallel = median_of(options.repeats, lambda: shutil.rmtree(store, ignore_errors=True),
                             [*COPCODE, "code", "--workers", "2"], big)
        rows += [
            (f"code, {options.interviews:,} interviews, cold, 1 process", f"{words / cold:,.0f} words/s",
             f"tokenizer alone {words / tokenizer:,.0f} words/s; ratio {tokenizer / cold:.2f}", ">= 0.40"),
            (f"code, {options.interviews:,} interviews, cold, --workers 2", f"{words / parallel:,.0f} words/s",
             f"1 process {words / cold:,.0f} words/s; ratio {cold / parallel:.2f}", ">= 1.6"),
            (f"code, {options.interviews:,} interviews, warm (unchanged)", f"{words / warm:,.0f} words/s",
             f"{warm:.2f} s against {cold:.2f} s cold", ""),
        ]

        demo = work / "demo"
        for name in ("transcripts", "codebooks", "participants.csv"):
            (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, demo / name)
        demo_cold = median_of(options.repeats, lambda: shutil.rmtree(demo / ".copcode", ignore_errors=True),
                              [*COPCODE, "code"], demo)
        demo_warm = median_of(options.repeats + 2, None, [*COPCODE, "code"], demo)
        help_time = median_of(7, None, [*COPCODE, "--help"], demo)
        bare = median_of(7, None, [sys.executable, "-c", "import typer, rich"], demo)
        quotes = median_of(7, None, [*COPCODE, "quotes", "--theme", "territory"], demo)
        edited = demo / "transcripts" / "E05.txt"
        original = edited.read_text(encoding="utf-8")

        def edit_one():
            run([*COPCODE, "code"], demo)  # back to the unedited state, cached
            edited.write_text(original.replace("bag of tablets", "bag of pills"), encoding="utf-8")
        after_edit = median_of(options.repeats, edit_one, [*COPCODE, "code"], demo)
        edited.write_text(original, encoding="utf-8")
        rows += [
            ("code, the 21-interview demo, cold", f"{demo_cold:.2f} s", "", ""),
            ("code, the demo, warm (parses nothing)", f"{demo_warm:.2f} s",
             f"copcode --help {help_time:.2f} s; ratio {demo_warm / help_time:.2f}", "<= 1.5"),
            ("code, the demo, one transcript edited", f"{after_edit:.2f} s", "re-parses the edited passage only", ""),
            ("copcode --help", f"{help_time:.2f} s", f"import typer, rich {bare:.2f} s; ratio {help_time / bare:.2f}", "<= 2"),
            ("copcode quotes --theme territory", f"{quotes:.2f} s",
             f"import typer, rich {bare:.2f} s; ratio {quotes / bare:.2f}", "<= 3"),
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nMachine: {platform.machine()}, {platform.system()}, Python {platform.python_version()}, "
          f"{__import__('os').cpu_count()} cores; medians of {options.repeats} runs (start-up: of 7)\n")
    print("| measure | result | baseline in the same run | target |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
