"""The benchmark command runs end to end (at a tiny size here: its figures are not asserted)."""

import subprocess
import sys
from pathlib import Path


def test_benchmarks_run_end_to_end_and_print_the_table():
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"
    result = subprocess.run([sys.executable, str(script), "--interviews", "6", "--comments", "60", "--repeats", "1"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert lines[0] == "| measure | result | baseline in the same run | target |"
    assert [line.split(" | ")[0] for line in lines[2:]] == [
        "| survey: peak memory of copcode code", "| code, 6 interviews, cold, 1 process",
        "| code, 6 interviews, cold, --workers 2", "| code, 6 interviews, warm (unchanged)",
        "| code, the 21-interview demo, cold", "| code, the demo, warm (parses nothing)",
        "| code, the demo, one transcript edited", "| copcode --help", "| copcode quotes --theme territory"]
