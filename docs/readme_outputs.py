"""The outputs pasted in README.md, produced again from the demo by the real command line.

Each output in the README follows a marker line `<!-- output: NAME -->`; this script runs a
fresh copy of the demo through the commands a reader would type (and, for the agreement and
status examples, a scripted review session by two coders), and writes what they print
between the marker's fences. `--check` changes nothing and exits 1 when the README differs
(tests/test_readme.py runs it), so the README cannot drift from what copcode prints.

    .venv/bin/python docs/readme_outputs.py           # rewrite README.md's outputs
    .venv/bin/python docs/readme_outputs.py --check   # exit 1 if any is out of date
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
COPCODE = Path(sys.executable).parent / "copcode"
MARKER = re.compile(r"^<!-- output: (?P<name>[\w-]+) -->\n```[a-z]*\n(?P<body>.*?)^```\n", re.M | re.S)
# what changes from run to run, and is not the point of an example
VOLATILE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")
DRAFT_CODEBOOK = """\
name: draft
themes:
  - id: territory
    label: Defining territory
    codes:
      - id: shared-language
        lable: A shared 'language'
        definition: The language between research and social care.
"""


def run(project: Path, *args: str, fails: bool = False) -> str:
    """What `copcode ARGS` prints (standard output, then standard error), as a reader sees it
    in a terminal 100 columns wide; the command line shown with a `$`. A command that exits
    otherwise than `fails` says is an error of this script."""
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "COPCODE_CODER": "coder-a"}
    done = subprocess.run([str(COPCODE), *args], cwd=project, env=env, capture_output=True, text=True)
    if (done.returncode != 0) != fails:
        raise SystemExit(f"copcode {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return "$ copcode " + " ".join(_quoted(a) for a in args) + "\n" + done.stdout + done.stderr


def _quoted(arg: str) -> str:
    return arg if re.fullmatch(r"[\w./,:=-]+", arg) else f'"{arg}"'


def abridged(text: str, lines: int) -> str:
    kept = text.splitlines()
    if len(kept) <= lines:
        return text
    return "\n".join(kept[:lines]) + f"\n... ({len(kept) - lines} more lines)\n"


def review_by_sheet(project: Path, coder: str, decide) -> None:
    """`coder` reviews the territory suggestions by spreadsheet: export the queue, fill in
    `decision` with decide(row), import it."""
    sheet = project / f"review-{coder}.csv"
    run(project, "review", "--theme", "territory", "--coder", coder, "--export", sheet.name)
    with sheet.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["decision"] = decide(row)
    with sheet.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    run(project, "review", "--import", sheet.name, "--coder", coder)


def outputs() -> dict[str, str]:
    """Every named output, from one fresh copy of the demo."""
    sys.path.insert(0, str(ROOT / "tests"))
    from copcode.codebook import load_codebook

    from gold import TUNED_ON, code_from_gold, gold_codes_by_segment, precision_recall

    shown: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "demo"
        project.mkdir()
        for name in ("transcripts", "codebooks"):
            shutil.copytree(ROOT / name, project / name)
        shutil.copy(ROOT / "participants.csv", project)

        shown["make-run"] = abridged(run(project, "code") + run(project, "quotes", "--theme", "territory"), 75)
        shown["matrix"] = run(project, "matrix", "--by", "group", "--columns", "themes")
        (project / "codebooks" / "draft.yaml").write_text(DRAFT_CODEBOOK, encoding="utf-8")
        shown["codebook-check"] = run(project, "codebook", "check", "codebooks/draft.yaml", fails=True)
        (project / "codebooks" / "draft.yaml").unlink()
        shown["errors"] = run(project, "quotes", "--theme", "housing", fails=True)

        db = sqlite3.connect(project / ".copcode" / "copcode.db")
        codes = [code.id for code in load_codebook(project / "codebooks" / "cop.yaml").codes]
        held_out = [t for t, in db.execute("SELECT id FROM transcripts") if t not in TUNED_ON]
        shown["gold-all"] = precision_recall(db, codes).to_string(index=False) + "\n"
        shown["gold-held-out"] = precision_recall(db, codes, held_out).to_string(index=False) + "\n"
        gold = gold_codes_by_segment(db)
        db.close()

        # a coder codes the seven transcripts the cues were tuned on; copcode learns from them
        learning = Path(folder) / "learning"
        shutil.copytree(project, learning)
        code_from_gold(learning, TUNED_ON, "coder-a")
        shown["learning"] = "\n".join(run(learning, "code").splitlines()[:7]) + "\n...\n"
        shown["evaluate"] = run(learning, "evaluate")

        # coder-a follows the gold coding; coder-b accepts only the stronger suggestions
        review_by_sheet(project, "coder-a",
                        lambda row: "accept" if row["code"] in gold.get(row["segment"], ()) else "reject")
        review_by_sheet(project, "coder-b", lambda row: "accept" if float(row["score"]) >= 0.8 else "reject")
        shown["agreement"] = run(project, "agreement", "--coders", "coder-a,coder-b")
        shown["status"] = run(project, "status")
    return shown


def updated(readme: str, shown: dict[str, str]) -> str:
    missing = set(shown) - {m["name"] for m in MARKER.finditer(readme)}
    if missing:
        raise SystemExit(f"README.md has no marker for {', '.join(sorted(missing))}")
    return MARKER.sub(lambda m: f"<!-- output: {m['name']} -->\n```\n{shown[m['name']]}```\n", readme)


def main() -> int:
    readme = README.read_text(encoding="utf-8")
    new = updated(readme, outputs())
    if "--check" in sys.argv:
        if VOLATILE.sub("<time>", new) != VOLATILE.sub("<time>", readme):
            import difflib

            diff = difflib.unified_diff(VOLATILE.sub("<time>", readme).splitlines(),
                                        VOLATILE.sub("<time>", new).splitlines(), "README.md", "now", lineterm="")
            print("README.md's outputs are out of date: run docs/readme_outputs.py\n" + "\n".join(diff),
                  file=sys.stderr)
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
