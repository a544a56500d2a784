"""Hostile cases 1 and 2 (hostile-cases.md): the HTML report builds no markup from data.
A project full of hostile strings is rendered and opened in headless Chromium; nothing it
holds becomes an element, an attribute or a running script, and the report still works."""

import base64
import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
from html import unescape
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
import yaml
from typer.testing import CliRunner

from copcode.cli import app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (.ci/run installs Debian's "
                                    "chromium): the HTML report was not tested in a browser")


def payload(tag: str) -> str:
    """Markup that, if it ever became markup, would mark the page: a title and an element."""
    return (f"<img src=x onerror=\"document.title='PWNED {tag}';"
            f"document.body.appendChild(document.createElement('pwned'))\">")


TITLE = "</title><script>document.title='PWNED title'</script>"
THEME_LABEL = "Learning " + payload("theme")
DESCRIPTION = "</p><script>document.title='PWNED description'</script>"
CODE_LABEL = "Learn' onmouseover='document.title=1' \"" + payload("code")
DEFINITION = "\"><svg onload=\"document.title='PWNED definition'\"></svg>"
PATTERN = "read about " + payload("pattern")
CODER = "ann " + payload("coder")
PARTICIPANT = "Z' onmouseover='document.title=\"PWNED id\"' x='"
SPEAKER = "Dr O'Hara"
GROUP = payload("group")
COP = "\"><script>document.title='PWNED attribute'</script>"
TEXT = ("I learn a lot <script>document.title='PWNED text'</script> from the training, "
        + payload("text") + " and it's ' \" </mark></p><b>bold</b> then we read about it.")

CODEBOOK = {
    "name": "hostile", "title": TITLE,
    "themes": [{
        "id": "learning", "label": THEME_LABEL, "description": DESCRIPTION,
        "codes": [{"id": "learn", "label": CODE_LABEL, "definition": DEFINITION,
                   "cues": {"keywords": ["learn", "training"],
                            "patterns": [{"name": PATTERN, "pattern": [{"LOWER": "read"}, {"LOWER": "about"}]}]}}],
    }],
}

ELEMENTS = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "p", "nav", "a",
            "svg", "text", "rect", "table", "tr", "th", "td", "tbody", "blockquote", "span", "details",
            "summary", "mark", "aside", "b", "br", "i", "script"}
ATTRIBUTES = {"lang", "charset", "http-equiv", "content", "href", "id", "style", "class", "title", "open",
              "data-segment", "type", "role", "aria-label", "width", "height", "x", "y", "font-size",
              "text-anchor", "fill", "fill-opacity"}


def cli(root, *args):
    return CliRunner().invoke(app, ["--project", str(root), *args], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A coded project whose every string is hostile, and its report."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "transcripts").mkdir()
    (root / "codebooks").mkdir()
    (root / "codebooks" / "cop.yaml").write_text(yaml.safe_dump(CODEBOOK), encoding="utf-8")
    header = {"participant": PARTICIPANT, "group": GROUP, "cop": COP, "speakers": [SPEAKER]}
    (root / "transcripts" / "Z01.txt").write_text(
        f"---\n{yaml.safe_dump(header)}---\nInterviewer: What did you learn?\n\n{SPEAKER}: {TEXT}\n", encoding="utf-8")
    result = cli(root, "code")
    assert result.exit_code == 0, result.output
    [segment] = [s for (s,) in sqlite3.connect(root / ".copcode" / "copcode.db").execute("SELECT id FROM segments")]
    assert segment.startswith(PARTICIPANT)
    result = cli(root, "tag", segment, "learn", "--coder", CODER)
    assert result.exit_code == 0, result.output
    report = root / "report.html"
    assert cli(root, "export", "--format", "html", "--out", str(report)).exit_code == 0
    return root, report, segment


class _Dom(HTMLParser):
    """Every element with its attributes, and the text inside <title> and <aside>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.inside: list[str] = []
        self.title = ""
        self.aside: list[tuple[str, str]] = []  # (innermost tag, text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag not in ("br", "meta", "i"):
            self.inside.append(tag)

    def handle_endtag(self, tag):
        if tag in self.inside:
            while self.inside.pop() != tag:
                pass

    def handle_data(self, data):
        if self.inside[-1:] == ["title"] and "svg" not in self.inside and "rect" not in self.inside:
            self.title += data
        if "aside" in self.inside:
            self.aside.append((self.inside[-1], data))


def _chromium(report, fragment, tmp_path) -> _Dom:
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=3000",
         "--dump-dom", f"{report.as_uri()}#{fragment}"], capture_output=True, text=True, timeout=120)
    dom = _Dom()
    dom.feed(result.stdout)
    assert dom.elements, result.stderr
    return dom


def _assert_nothing_injected(dom: _Dom):
    tags = {tag for tag, _ in dom.elements}
    assert tags <= ELEMENTS, tags - ELEMENTS
    names = {name for _, attrs in dom.elements for name in attrs}
    assert names <= ATTRIBUTES, names - ATTRIBUTES
    scripts = [attrs for tag, attrs in dom.elements if tag == "script"]
    assert scripts == [{"type": "application/json", "id": "report-data"}, {}]
    assert dom.title == TITLE  # no payload set the title: no script of theirs ran
    assert not any(tag == "b" and "bold" in str(attrs) for tag, attrs in dom.elements)


@needs_chromium
def test_case_01_hostile_strings_are_text_and_no_script_runs(hostile, tmp_path):
    _, report, segment = hostile
    dom = _chromium(report, quote(f"transcript-{PARTICIPANT}", safe=""), tmp_path)
    _assert_nothing_injected(dom)
    # the report still works: the transcript opened at its fragment, and its passage's codes,
    # theme, status and evidence are in the side panel, every hostile string as plain text
    panel = dom.aside
    assert panel[0] == ("h3", segment)
    assert ("b", CODE_LABEL) in panel
    text = "".join(t for _, t in panel)
    assert f"(learning, accepted by {CODER}, score " in text
    assert f"evidence: learn, {PATTERN}, training" in text
    [mark] = [attrs for tag, attrs in dom.elements if tag == "mark"]
    assert mark["data-segment"] == segment and mark["class"] == "on"
    assert [attrs.get("open") for tag, attrs in dom.elements if tag == "details"] == [""]


@needs_chromium
def test_case_01_the_page_without_a_fragment_is_as_safe(hostile, tmp_path):
    _, report, _ = hostile
    dom = _chromium(report, "", tmp_path)
    _assert_nothing_injected(dom)
    assert dom.aside == [("p", "Click a highlighted passage to see its codes and the evidence for them.")]


@needs_chromium
def test_case_02_a_hostile_participant_id_stays_inside_its_attribute(hostile, tmp_path):
    _, report, segment = hostile
    html = report.read_text(encoding="utf-8")
    assert "data-segment='" not in html and PARTICIPANT not in html  # every quote escaped
    dom = _chromium(report, quote(f"transcript-{PARTICIPANT}", safe=""), tmp_path)
    marks = [attrs for tag, attrs in dom.elements if tag == "mark"]
    assert [m["data-segment"] for m in marks] == [segment]
    assert set(marks[0]) == {"style", "title", "data-segment", "class"}  # no onmouseover, no x
    [details] = [attrs for tag, attrs in dom.elements if tag == "details"]
    assert details["id"] == f"transcript-{PARTICIPANT}"


def test_case_01_the_report_allows_only_its_own_script(hostile):
    _, report, _ = hostile
    html = report.read_text(encoding="utf-8")
    [policy] = [unescape(p) for p in re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)]
    [script] = re.findall(r"<script>(.*?)</script>", html, re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    assert policy.startswith(f"default-src 'none'; script-src 'sha256-{digest}';")
    assert "innerHTML" not in script and "http://" not in html and "https://" not in html
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S).group(1)
    assert "<" not in data and ">" not in data  # JSON escaped for a script block
    assert json.loads(data)[next(iter(json.loads(data)))]["codes"][0]["label"] == CODE_LABEL
