"""YAML codebook -> validated `Codebook`. Every problem is reported at once, with its line."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from copcode import yamlsafe
from copcode.errors import CodebookError, CopcodeError, LookupFailed
from copcode.project import NotAFile, read_regular_file

ID = r"^[a-z0-9][a-z0-9_-]*$"
# Codes may hold codes (`codes:` under a code). A codebook comes from other people, and a tree
# deeper than this is a mistake (or a file made to be expensive), not a way of thinking.
MAX_CODE_DEPTH = 20
TOKEN_KEYS = {
    "ORTH", "TEXT", "LOWER", "LEMMA", "NORM", "POS", "TAG", "SHAPE", "LENGTH", "OP",
    "IS_ALPHA", "IS_ASCII", "IS_DIGIT", "IS_LOWER", "IS_UPPER", "IS_TITLE", "IS_PUNCT",
    "IS_SPACE", "IS_STOP", "IS_SENT_START", "LIKE_NUM", "LIKE_URL", "LIKE_EMAIL",
}
# A regular expression from a codebook could backtrack for hours on one long word ("(a+)+$"),
# and a codebook is input from other people, so spaCy's REGEX operator is refused in every
# form: {REGEX: ...} as a token key and {TEXT: {REGEX: ...}} (or LOWER, NORM, ...) inside one.
REGEX_REFUSED = ("the REGEX operator is not allowed (a regular expression can make a run "
                 "hang); use IN lists, e.g. {LOWER: {IN: [carer, carers]}}, LOWER or LEMMA, or a keyword")


def uses_regex(value: Any) -> bool:
    """Whether a token pattern (or any part of one) holds the REGEX operator, in any case."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if any(isinstance(k, str) and k.upper() == "REGEX" for k in item):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


# spaCy's Matcher tries every way a pattern's repeated tokens can share out a passage: a few
# tokens that match any word any number of times ({OP: "*"}) multiply that into minutes and
# gigabytes. So a token that can repeat without limit must say what it matches, and a pattern
# may hold at most MAX_REPEATS of them; "?" and bounded counts ("{0,3}") are always fine.
MAX_REPEATS = 2
WILDCARD_REFUSED = ("a token with only OP *, + or {n,} matches any words at all and can make a run hang; "
                    "give it an attribute or a bounded count, e.g. {OP: '{0,3}'}")
REPEATS_REFUSED = (f"more than {MAX_REPEATS} tokens that repeat without limit (OP *, + or {{n,}}) can make "
                   "a run hang; use bounded counts, e.g. {OP: '{0,3}'}")


def _unbounded(token: dict) -> bool:
    op = str(token.get("OP", "")).replace(" ", "")
    return op in ("*", "+") or (op.startswith("{") and op.endswith(",}"))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Keyword(_Model):
    phrase: str = Field(min_length=1)
    exact: bool = False  # match the words as written, not their lemmas ("training" not "train")
    weight: float = Field(1.0, gt=0)


class Pattern(_Model):
    pattern: list[dict[str, Any]] = Field(min_length=1)
    name: str | None = None
    weight: float = Field(1.0, gt=0)

    @field_validator("pattern")
    @classmethod
    def _known_keys(cls, pattern):
        if uses_regex(pattern):
            raise ValueError(REGEX_REFUSED)
        repeats = [token for token in pattern if _unbounded(token)]
        if any(set(token) <= {"OP"} for token in repeats):
            raise ValueError(WILDCARD_REFUSED)
        if len(repeats) > MAX_REPEATS:
            raise ValueError(REPEATS_REFUSED)
        for token in pattern:
            unknown = sorted(set(token) - TOKEN_KEYS)
            if unknown:
                raise ValueError(f"unknown token attribute(s) {', '.join(unknown)}; "
                                 f"use e.g. LOWER, LEMMA, TEXT, OP")
        return pattern

    @property
    def key(self) -> str:
        return self.name or " ".join(
            "|".join(map(str, v["IN"])) if isinstance(v, dict) and "IN" in v else str(v)
            for token in self.pattern for k, v in token.items() if k != "OP"
        )


class Cues(_Model):
    keywords: list[Keyword] = []  # in YAML a plain string is a keyword with the defaults
    patterns: list[Pattern] = []  # in YAML a plain token list is a pattern with the defaults
    exclude: list[str] = []  # phrases that veto the code for a passage

    @field_validator("keywords", mode="before")
    @classmethod
    def _plain_keywords(cls, value):
        return [{"phrase": k} if isinstance(k, str) else k for k in value] if isinstance(value, list) else value

    @field_validator("patterns", mode="before")
    @classmethod
    def _plain_patterns(cls, value):
        return [{"pattern": p} if isinstance(p, list) else p for p in value] if isinstance(value, list) else value


class Example(_Model):
    quote: str = Field(min_length=1)
    participant: str | None = None


class Code(_Model):
    id: str = Field(pattern=ID)
    label: str = Field(min_length=1)
    definition: str = Field(min_length=1)
    include: str = ""
    exclude: str = ""
    examples: list[Example] = []  # in YAML a plain string is a quote
    cues: Cues = Cues()
    renamed_from: list[str] = []  # earlier ids of this code: their decisions count under this one
    codes: list[Code] = []  # the codes it holds: the same schema, to MAX_CODE_DEPTH levels
    _parent: str | None = PrivateAttr(None)

    @property
    def parent(self) -> str | None:
        """The id of the code that holds this one; None for a code directly under a theme."""
        return self._parent

    @field_validator("examples", mode="before")
    @classmethod
    def _plain_examples(cls, value):
        return [{"quote": e} if isinstance(e, str) else e for e in value] if isinstance(value, list) else value

    def example_quotes(self) -> list[str]:
        return [e.quote for e in self.examples]


class Theme(_Model):
    id: str = Field(pattern=ID)
    label: str = Field(min_length=1)
    aliases: list[str] = []
    description: str = ""
    codes: list[Code] = Field(min_length=1)  # the codes directly under the theme

    @property
    def all_codes(self) -> list[Code]:
        """Every code under the theme at any depth, parents before their children, in
        document order."""
        return [code for _, code, _, _ in walk(self.codes)]


def walk(codes: list[Code], where: tuple = ()):
    """(place, code, depth, parent id) for every code of `codes` and below, parents before
    their children, in document order; `place` continues `where` (["themes", 0] gives
    ["themes", 0, "codes", 1, "codes", 0], a code's place in the YAML), depth 1 is `codes`
    themselves. Iterative: no recursion, whatever the depth."""
    stack: list[tuple[list, Code, int, str | None]] = [
        ([*where, "codes", i], code, 1, None) for i, code in reversed(list(enumerate(codes)))]
    while stack:
        place, code, depth, parent = stack.pop()
        yield place, code, depth, parent
        stack.extend(([*place, "codes", i], child, depth + 1, code.id)
                     for i, child in reversed(list(enumerate(code.codes))))


@dataclass(frozen=True)
class _Tree:
    """The codebook's codes indexed once: the flat list and, per id, its theme, parent, depth
    and children."""
    codes: list[Code]
    places: list[tuple[list, Code]]
    theme: dict[str, Theme]
    parent: dict[str, str | None]
    depth: dict[str, int]
    children: dict[str, list[Code]]
    by_id: dict[str, Code]


class Codebook(_Model):
    name: str = Field(min_length=1)
    title: str = ""
    description: str = ""
    themes: list[Theme] = Field(min_length=1)
    path: str = ""  # where it was read from, as shown to the user; set by load_codebook
    file: str = ""  # the same file's absolute path
    sha256: str = ""
    _tree: tuple | None = PrivateAttr(None)  # (the themes list it was built from, _Tree)

    @model_validator(mode="after")
    def _link(self):
        self._index()  # sets every code's parent
        return self

    def _index(self) -> _Tree:
        # Kept until `themes` is another list: a copy made with model_copy(update={"themes":
        # ...}) (privacy.redact_codebook) indexes its own codes, never the original's.
        if self._tree is not None and self._tree[0] is self.themes:
            return self._tree[1]
        tree = _Tree([], [], {}, {}, {}, {}, {})
        for t, theme in enumerate(self.themes):
            for place, code, depth, parent in walk(theme.codes, ("themes", t)):
                code._parent = parent
                tree.codes.append(code)
                tree.places.append((place, code))
                if code.id in tree.by_id:
                    continue  # a duplicate id: load_codebook reports it; the first one counts
                tree.by_id[code.id] = code
                tree.theme[code.id] = theme
                tree.parent[code.id] = parent
                tree.depth[code.id] = depth
                tree.children[code.id] = list(code.codes)
        self._tree = (self.themes, tree)
        return tree

    @property
    def codes(self) -> list[Code]:
        """Every code at every depth, parents before their children, in document order."""
        return list(self._index().codes)

    def places(self) -> list[tuple[list, Code]]:
        """Every code with its place in the YAML (["themes", 0, "codes", 2, "codes", 0]), in
        the order of `codes`, for messages that name a line."""
        return list(self._index().places)

    @property
    def nested(self) -> bool:
        """Whether any code holds codes."""
        return any(self._index().children.values())

    def children(self, code_id: str) -> list[Code]:
        """The codes directly inside the code, in document order."""
        return list(self._index().children[self.code(code_id).id])

    def ancestors(self, code_id: str) -> list[Code]:
        """The codes that hold the code, its parent first, up to the one directly under its theme."""
        tree = self._index()
        found, parent = [], tree.parent[self.code(code_id).id]
        while parent is not None:
            found.append(tree.by_id[parent])
            parent = tree.parent[parent]
        return found

    def depth(self, code_id: str) -> int:
        """1 for a code directly under its theme, 2 for a code inside such a code, and so on."""
        return self._index().depth[self.code(code_id).id]

    def at_level(self, code_id: str, level: int) -> str:
        """The code's id, or, when it is deeper than `level`, the id of its ancestor at that
        depth: where `--level` counts its codings."""
        tree = self._index()
        found = self.code(code_id).id
        parent = tree.parent[found]
        while tree.depth[found] > level and parent is not None:
            found, parent = parent, tree.parent[parent]
        return found

    @property
    def renamed(self) -> dict[str, str]:
        """Earlier code ids (`renamed_from`) -> the code's id now."""
        return {old: code.id for code in self.codes for old in code.renamed_from}

    def code(self, code_id: str) -> Code:
        found = self._index().by_id.get(code_id)
        if found is not None:
            return found
        raise LookupFailed(
            f"unknown code {code_id!r}",
            where=self.path,
            fix=f"use one of: {', '.join(c.id for c in self.codes)}.",
        )

    def theme_of(self, code_id: str) -> Theme:
        """The theme the code is under, at whatever depth."""
        return self._index().theme[self.code(code_id).id]

    def find_theme(self, query: str) -> Theme:
        """A theme by its id, an alias, its label, or a word of its label that names it alone."""
        q = _fold(query)
        for theme in self.themes:
            if q in {_fold(theme.id), _fold(theme.label), *map(_fold, theme.aliases)}:
                return theme
        partial = [t for t in self.themes if q and (q in _fold(t.label) or
                   any(q in _fold(a) for a in t.aliases))]
        if len(partial) == 1:
            return partial[0]
        ids = ", ".join(t.id for t in self.themes)
        if partial:
            raise LookupFailed(
                f"theme {query!r} is ambiguous: it matches {', '.join(t.id for t in partial)}",
                where=self.path, fix=f"name the theme by its id: one of {ids}.")
        raise LookupFailed(f"unknown theme {query!r}", where=self.path,
                           fix=f"use one of {ids}, or an alias or label of one.")


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def load_codebook(path: str | Path, display: str | None = None) -> Codebook:
    """Read, parse and validate a codebook; raise CodebookError listing every problem."""
    path = Path(path)
    display = display or str(path)
    try:
        raw_bytes = read_regular_file(path, limit=yamlsafe.MAX_BYTES)
    except FileNotFoundError:
        raise CopcodeError("the codebook file does not exist", where=display,
                           fix="check the path (`copcode init` writes a starter codebook to codebooks/).") from None
    except NotAFile as exc:
        raise CodebookError(display, [f"the file is {exc}, not a codebook"]) from None
    except OSError as exc:
        raise CodebookError(display, [f"the file cannot be read ({exc.strerror})"]) from None
    text = raw_bytes.decode("utf-8-sig", errors="replace")
    try:
        node, data = yamlsafe.compose(text)
    except yamlsafe.YamlProblem as exc:
        raise CodebookError(display, [str(exc)]) from None
    if not isinstance(data, dict):
        raise CodebookError(display, ["line 1: a codebook is a mapping with `name` and `themes`"])
    problems: list[str] = _depth_problems(data, node) + _duplicate_problems(data, node)
    try:
        codebook = Codebook.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = list(error["loc"])
            wanted_text = error["type"] == "string_type" or (  # a plain string is a keyword or example
                error["type"] in ("model_type", "dict_type") and len(loc) > 1 and loc[-2] in ("keywords", "examples"))
            problems.append(f"line {_line_of(node, loc)}: {_dotted(loc)}: "
                            f"{wanted_text and not_text(_node_at(node, loc)) or _msg(error)}")
        problems.sort(key=lambda p: int(p.split(":")[0].removeprefix("line ")))
        raise CodebookError(display, _unique(problems)) from None
    problems += _semantic_problems(codebook, node)
    if problems:
        raise CodebookError(display, problems)
    codebook.path = display
    codebook.file = str(path.resolve())
    codebook.sha256 = hashlib.sha256(raw_bytes).hexdigest()
    return codebook


def _depth_problems(data: dict, node) -> list[str]:
    """A code deeper than MAX_CODE_DEPTH levels below its theme, the first of each branch,
    found in the YAML's data before it is validated (and without recursion)."""
    problems = []
    themes = data.get("themes")
    stack = [(["themes", t], theme, 0) for t, theme in enumerate(themes)] if isinstance(themes, list) else []
    stack.reverse()
    while stack:
        place, item, depth = stack.pop()
        if not isinstance(item, dict):
            continue
        if depth > MAX_CODE_DEPTH:
            name = f"code {item['id']}" if isinstance(item.get("id"), str) else "a code"
            problems.append(f"line {_line_of(node, place)}: {name} is nested {depth} levels deep under its theme; "
                            f"codes may nest at most {MAX_CODE_DEPTH} levels: move it up")
            continue
        codes = item.get("codes")
        if isinstance(codes, list):
            stack.extend(([*place, "codes", i], child, depth + 1) for i, child in reversed(list(enumerate(codes))))
    return problems


def _duplicate_problems(data: dict, node) -> list[str]:
    """Ids (of themes, codes, and codes' `renamed_from`) given twice, found in the YAML's data
    before it is validated, so that they are listed with every other problem at once (ids
    that are not text are the validation's to report). Codes in document order, parents
    first, without recursion."""
    seen: dict[str, list] = {}

    def note(what: str, value, loc: list) -> None:
        if isinstance(value, str):  # as the model reads it: white space at either end stripped
            seen.setdefault(f"{what} {value.strip()}", []).append(loc)

    themes = data.get("themes")
    for t, theme in enumerate(themes if isinstance(themes, list) else []):
        if not isinstance(theme, dict):
            continue
        note("theme", theme.get("id"), ["themes", t, "id"])
        codes = theme.get("codes")
        stack = [(["themes", t, "codes", i], code) for i, code in reversed(list(enumerate(codes)))] \
            if isinstance(codes, list) else []
        while stack:
            place, code = stack.pop()
            if not isinstance(code, dict):
                continue
            note("code", code.get("id"), [*place, "id"])
            renamed = code.get("renamed_from")
            for r, old in enumerate(renamed if isinstance(renamed, list) else []):
                note("code", old, [*place, "renamed_from", r])
            children = code.get("codes")
            if isinstance(children, list):
                stack.extend(([*place, "codes", i], child) for i, child in reversed(list(enumerate(children))))
    return [f"line {_line_of(node, loc)}: {_dotted(loc)}: duplicate {what} (first at line {_line_of(node, locs[0])}); "
            "ids must be unique" for what, locs in seen.items() for loc in locs[1:]]


def _semantic_problems(codebook: Codebook, node) -> list[str]:
    problems = []
    names: dict[str, str] = {}
    for t, theme in enumerate(codebook.themes):
        for a, alias in enumerate(theme.aliases):
            owner = names.setdefault(_fold(alias), theme.id)
            if owner != theme.id:
                loc = ["themes", t, "aliases", a]
                problems.append(f"line {_line_of(node, loc)}: {_dotted(loc)}: alias {alias!r} "
                                f"already names theme {owner}")
    return problems


def _msg(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key (check its spelling; see README, 'The codebook')"
    if error["type"] == "missing":
        return "required key is missing"
    if error["type"] == "string_pattern_mismatch":
        return "ids use lower-case letters, digits, - and _ (e.g. shared-language)"
    if error["type"] == "list_type":
        value = error.get("input")
        if isinstance(value, str) and error["loc"][-1:] == ("examples",):  # a quote may hold commas
            return 'must be a list: write each quote on a line of its own, after "- "'
        if isinstance(value, str) and value.strip():  # `keywords: pay, paid`
            first = value.split(",")[0].strip()
            return f'must be a list: write [{value.strip()}] or one "- {first}" per line'
        return 'must be a list: one "- item" per line, or [item, item]'
    return error["msg"].removeprefix("Value error, ")


_NOT_TEXT = {"int": "a number", "float": "a number", "bool": "a yes/no value", "null": "empty (null)",
             "timestamp": "a date"}


def not_text(node) -> str | None:
    """For a plain YAML value that YAML reads as something other than text (1990, 3.5, yes,
    off, null, 2024-01-31) where text belongs: what it is read as and how to quote it."""
    if not isinstance(node, yaml.ScalarNode) or node.style or not node.tag.startswith("tag:yaml.org,2002:"):
        return None
    kind = _NOT_TEXT.get(node.tag.rsplit(":", 1)[1])
    if kind is None:
        return None
    shown = node.value or "~"
    return f"{shown} is {kind} in YAML, not text; put it in quotes: \"{shown}\""


def _node_at(node, loc):
    """The YAML node that `loc` names exactly, or None."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((value for key, value in node.value if key.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return None
    return node


def locator(codebook: Codebook):
    """A function from a place in the codebook (["themes", 0, "codes", 1, ...]) to its line
    number, reading the codebook's file once."""
    try:
        node, _ = yamlsafe.compose(read_regular_file(Path(codebook.file), limit=yamlsafe.MAX_BYTES)
                                   .decode("utf-8-sig", errors="replace"))
    except (OSError, yamlsafe.YamlProblem):
        node = None
    return lambda loc: _line_of(node, loc)


def _dotted(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def _line_of(node, loc) -> int:
    """The 1-based YAML line of the deepest node that `loc` reaches."""
    line = node.start_mark.line if node is not None else 0
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    node = key if value is None else value
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line
    return line + 1


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def locate(path: str, loc: list) -> str:
    """"line N: themes[0].codes[1]..." for a place in the codebook file at `path`."""
    try:
        node, _ = yamlsafe.compose(read_regular_file(Path(path), limit=yamlsafe.MAX_BYTES)
                                   .decode("utf-8-sig", errors="replace"))
    except (OSError, yamlsafe.YamlProblem):
        node = None
    return f"line {_line_of(node, loc)}: {_dotted(loc)}"
