"""The outputs pasted in the README are what the commands print now (docs/readme_outputs.py
makes them again from a fresh copy of the demo; only the run's timestamp may differ)."""

import subprocess
import sys

from conftest import ROOT


def test_readme_outputs_are_what_the_commands_print():
    result = subprocess.run([sys.executable, str(ROOT / "docs" / "readme_outputs.py"), "--check"],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
