"""YAML from other people (codebooks, copcode.yaml, transcript headers) read without surprises.

The event stream is checked before anything is built: anchors and aliases are refused (an
alias bomb expands a few hundred bytes into gigabytes), nesting is limited (a deep `[[[...`
would overflow the recursive composer), every mapping key may appear once (YAML would keep only
the last, silently), and only YAML's plain value tags are accepted (no `!!binary`, `!custom`,
`!!python/...`). Walking the events needs no recursion and no memory beyond one path.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

MAX_DEPTH = 50
MAX_BYTES = 2 * 1024 * 1024  # a codebook or settings file; transcripts have their own limits

# libyaml's parser and loader when PyYAML has them: the same events, many times faster
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CORE = "tag:yaml.org,2002:"
# typed tags (!!int, !!timestamp) are left out too: a value that does not fit them fails
# deep in the constructor, with no line to name
_PLAIN_TAGS = {_CORE + t for t in ("str", "seq", "map")}


class YamlProblem(ValueError):
    """Why a text is refused, and at which 1-based line of it (None when YAML gives none);
    `syntax` when it is not valid YAML at all, rather than YAML that copcode does not read."""

    def __init__(self, problem: str, line: int | None, *, syntax: bool = False):
        self.problem, self.line, self.syntax = problem, line, syntax
        super().__init__(f"line {line}: {problem}" if line else problem)


# every scalar as the text it is written as: `participant: 007` is "007", `group: NO` is "NO"
_TextLoader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


def load(text: str, *, max_depth: int = MAX_DEPTH, as_text: bool = False) -> Any:
    """The text's value, built by the safe loader once `check` passed; with `as_text`, every
    scalar is a string as written (YAML 1.1 would make `007` 7, `NO` False, `0123` 83)."""
    check(text, max_depth=max_depth)
    try:
        return yaml.load(text, Loader=_TextLoader if as_text else _Loader)
    except yaml.YAMLError as exc:  # two documents in one file, an unhashable key
        raise _problem(exc, text) from None


def compose(text: str, *, max_depth: int = MAX_DEPTH) -> tuple[yaml.Node | None, Any]:
    """The text's node tree (which keeps line numbers) and its value, once `check` passed."""
    check(text, max_depth=max_depth)
    try:
        node = yaml.compose(text, Loader=_Loader)
        return node, (yaml.SafeLoader("").construct_document(node) if node is not None else None)
    except yaml.YAMLError as exc:  # two documents in one file, an unhashable key
        raise _problem(exc, text) from None


def check(text: str, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise YamlProblem for invalid YAML, an anchor or alias, nesting deeper than
    `max_depth`, a repeated mapping key or a tag other than YAML's plain ones."""
    try:
        _check(text, _Loader, max_depth)
    except yaml.YAMLError:
        # libyaml stops at its own nesting limit (1000) while scanning ahead, and its wording
        # of syntax errors is the less clear: the pure-Python parser says what and where
        try:
            _check(text, yaml.SafeLoader, max_depth)
        except yaml.YAMLError as exc:
            raise _problem(exc, text) from None
        raise YamlProblem("not valid YAML", None, syntax=True) from None


def _check(text: str, loader, max_depth: int) -> None:
    # one frame per open collection: [is_mapping, next node is a key, {key: line}]
    frames: list[list] = []
    for event in yaml.parse(text, Loader=loader):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise YamlProblem(f"the alias *{event.anchor} is not allowed; write the value out "
                              "in full (anchors and aliases are not read)", line)
        if not isinstance(event, yaml.NodeEvent):
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frames.pop()
            continue
        if event.anchor is not None:
            raise YamlProblem(f"the anchor &{event.anchor} is not allowed; write the value out "
                              "in full (anchors and aliases are not read)", line)
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in _PLAIN_TAGS and tag != "!":
            raise YamlProblem(_tag_problem(tag), line)
        if frames and frames[-1][0]:
            frame = frames[-1]
            if frame[1] and isinstance(event, yaml.ScalarEvent):
                if event.value in frame[2]:
                    raise YamlProblem(f"`{event.value}` appears twice in one mapping (first at line "
                                      f"{frame[2][event.value]}); YAML would keep only the last: "
                                      "merge the two", line)
                frame[2][event.value] = line
            frame[1] = not frame[1]
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(frames) >= max_depth:
                raise YamlProblem(f"nested more than {max_depth} levels deep", line)
            frames.append([isinstance(event, yaml.MappingStartEvent), True, {}])


def _tag_problem(tag: str) -> str:
    shown = "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag
    if shown.startswith("!!python/"):
        return f"YAML tags that build program objects ({shown}) are not allowed"
    return f"the YAML tag {shown} is not allowed; write the value as plain text"


def _problem(exc: yaml.YAMLError, text: str = "") -> YamlProblem:
    """PyYAML's problem and line, said in plain words for the mistakes people make by hand
    (see `_plain`); else PyYAML's own, with its context when the problem alone reads as half
    a sentence ("but found another document")."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    plain = _plain(exc, text.splitlines())
    if plain is not None:
        return YamlProblem(plain[0], plain[1], syntax=True)
    if context and problem.startswith("but "):
        problem = f"{context}, {problem}"
    return YamlProblem(problem, mark.line + 1 if mark else None, syntax=True)


_INDENTATION = ('the indentation does not line up with the lines above: the keys of one block, and the '
                '"- " items of one list, start in the same column')


def _plain(exc: yaml.YAMLError, lines: list[str]) -> tuple[str, int] | None:
    """(what is wrong in plain words, its 1-based line) for PyYAML's errors that hand-written
    files meet most: a value holding ": ", lines indented out of step, a quote never closed,
    text after a quoted value, a tab, a key without its ":"; None for the others."""
    problem = getattr(exc, "problem", None) or ""
    context = getattr(exc, "context", None) or ""
    mark, opened = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    if mark is None:
        return None
    line = lines[mark.line] if mark.line < len(lines) else ""
    before = line[:mark.column]
    if problem.startswith(("expected ',' or ']'", "expected ',' or '}'")) and opened is not None \
            and (opened.line < mark.line or problem.endswith("'<stream end>'")):
        # PyYAML stumbles lines later (on a key's ":", a comment's "?", the end): if nothing
        # closed the bracket before, it is never closed
        closer = "]" if problem.startswith("expected ',' or ']'") else "}"
        if not _closed(lines, opened.line, opened.column, closer):
            what = "list opened with [" if closer == "]" else "mapping opened with {"
            return f"a {what} on this line is never closed; end it with {closer}", opened.line + 1
    if problem == "mapping values are not allowed here":
        key = re.match(r"^(\s*(?:-\s+)?)([^\s#'\"][^:#]*?):\s+(\S.*)$", line)
        if key and ": " in before + " ":
            value = key.group(3).rstrip()
            return (f'a value holds ": "; put it in quotes: {key.group(2)}: "{_quoted(value)}"', mark.line + 1)
        return ("the indentation does not line up with the lines above: this line is indented further "
                "than the key before it; start it in the same column as that key", mark.line + 1)
    if problem.startswith("expected ',' or '}', but got ':'") or problem.startswith("expected ',' or ']', but got ':'"):
        return ('a value holds ": "; put it in quotes, e.g. {label: "Pay: wages"}', mark.line + 1)
    unclosed = _unclosed_quote(lines, mark.line)
    if unclosed is not None and problem.startswith(("expected <block end>", "did not find expected")):
        # a quote left open runs on to the next quote mark, and PyYAML stumbles lines later
        return ("a quoted value opened on this line is never closed; end it with the same quote mark "
                "(\" or ') it starts with", unclosed + 1)
    ended = re.search(r"[\"']\s*$", before) or \
        (not before.strip() and mark.line > 0 and lines[mark.line - 1].rstrip().endswith(("'", '"')))
    if problem.startswith("expected ',' or") and "'<scalar>'" in problem and ended and \
            line[mark.column:].lstrip().startswith(("'", '"')):
        return "two items in quotes have no comma between them; put a comma after the first", mark.line + 1
    if (problem.startswith("expected <block end>") or problem.startswith("expected ',' or")) and \
            "'<scalar>'" in problem and re.search(r"[\"']\s*\S", before):
        return ("text follows a value in quotes; put the whole value in quotes "
                "(quotes inside it doubled or of the other kind, e.g. '\"Pay\" wages')", mark.line + 1)
    if problem.startswith("expected <block end>") or problem == "did not find expected key" or \
            problem == "did not find expected '-' indicator":
        return _INDENTATION, mark.line + 1
    if context == "while scanning a quoted scalar" and opened is not None:
        return ("a quoted value opened on this line is never closed; end it with the same quote mark "
                "(\" or ') it starts with", opened.line + 1)
    if "'\\t' that cannot start any token" in problem or "found character '\t'" in problem:
        return "a tab is used to indent; YAML indents with spaces only: replace the tab with spaces", mark.line + 1
    if problem == "could not find expected ':'" and opened is not None:
        return ('a key has no ":" after it; write "key: value" (or join this line to the one above if it '
                "continues it)", opened.line + 1)
    return None


def _closed(lines: list[str], line: int, column: int, closer: str) -> bool:
    """Whether the bracket opened at `line`, `column` is closed in its block: brackets of its
    kind counted from it on (`[x]` opens and closes a list of its own), on its line and the
    following ones until one that starts no deeper than its own and does not close it (the
    next key), comment lines left out. A line at its depth may close it (`P: y}` under
    `groups: {E: x,`): flow content may go on at any indentation."""
    opener = "[" if closer == "]" else "{"

    def code(text: str) -> str:  # without quoted items ("[laughs]" is no closer) and comments
        return re.sub(r"(^|\s)#.*", "", re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\']|\'\')*\'', '""', text))

    def closes(text: str, open_: int) -> int:  # the brackets still open after `text`; 0: closed
        for character in code(text):
            open_ += (character == opener) - (character == closer)
            if not open_:
                return 0
        return open_

    depth = len(lines[line]) - len(lines[line].lstrip())
    still_open = closes(lines[line][column + 1:], 1)
    for text in lines[line + 1:]:
        if not still_open:
            return True
        if not code(text).strip():
            continue
        shallow = len(text) - len(text.lstrip()) <= depth
        still_open = closes(text, still_open)
        if shallow and still_open:
            return False  # the next key ("patterns: [x]" closes a list of its own)
    return not still_open


_OPENS_QUOTE = re.compile(r"""^\s*(?:-\s+)?(?:[^\s#'"][^:#]*:\s+)?(["'])""")  # a value that starts with a quote
_BLOCK = re.compile(r"""^(\s*)(?:-\s+)?(?:[^\s#'"][^:#]*:\s*)?[|>][-+0-9]*\s*(?:#.*)?$""")  # "key: |", "- >-"


def _unclosed_quote(lines: list[str], upto: int) -> int | None:
    """The 0-based index of a line before `upto` whose value opens a quote that it does not
    close (`label: "What works well`) when the next quote mark is the one that opens a value
    on line `upto` (`- "The staff...`): PyYAML ran the quote on to there. None otherwise: a
    quoted value may rightly run over lines, and block scalars (`|`, `>`) hold any text."""
    number, block = 0, None  # block: the indentation of the key whose block scalar we are in
    while number < upto:
        line = lines[number]
        indent = len(line) - len(line.lstrip())
        if block is not None and (not line.strip() or indent > block):
            number += 1
            continue
        block = None
        scalar = _BLOCK.match(line)
        if scalar:
            block = len(scalar.group(1))
            number += 1
            continue
        opened = _OPENS_QUOTE.match(line)
        rest = line[opened.end():] if opened else ""
        quote = opened.group(1) if opened else ""
        rest = rest.replace('\\"', "") if quote == '"' else rest.replace("''", "")
        if not opened or quote in rest:
            number += 1
            continue
        closing = next((n for n in range(number + 1, len(lines)) if quote in lines[n]), None)
        if closing == upto:
            at = _OPENS_QUOTE.match(lines[upto])
            return number if at and at.group(1) == quote and quote not in lines[upto][:at.start(1)] else None
        if closing is None or closing > upto:
            return None
        number = closing + 1  # a value rightly over several lines: go on after it
    return None


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
