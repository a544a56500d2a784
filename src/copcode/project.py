"""Find the project folder and read its settings (copcode.yaml) and participants file."""

from __future__ import annotations

import csv
import io
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from copcode import yamlsafe
from copcode.errors import ProjectError

DEFAULT_GROUPS = {
    "E": "Expert by experience",
    "P": "Practitioner / professional",
    "R": "Researcher / academic",
}
SETTINGS_KEYS = {"transcripts", "codebook", "groups", "interviewer_labels", "max_segment_words",
                 "min_score", "privacy", "speakers", "learning", "learn_from"}


class NotAFile(OSError):
    """A path that is there but is not a regular file; str() says what it is instead."""


def special_kind(path: Path) -> str | None:
    """What `path` is when it is not a regular file (or a link to one): "a folder", "a named
    pipe (FIFO)", "a device", "a socket", "a symbolic link to nothing"; None for a regular file
    or a path that does not exist at all."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "a symbolic link to nothing" if os.path.islink(path) else None
    except OSError:
        return None  # unreadable: opening it says why
    return _kind(mode)


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_regular_file(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file. Never blocks on a FIFO or reads a device: the file is
    opened without waiting and checked on the open descriptor. NotAFile says what it is
    instead; FileNotFoundError and other OSErrors pass through; more than `limit` bytes is
    NotAFile too ("larger than ...")."""
    kind = special_kind(path)
    if kind:
        raise NotAFile(kind)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)  # swapped after the first look
        if kind:
            raise NotAFile(kind)
        if limit is not None and info.st_size > limit:
            raise NotAFile(f"larger than {limit // (1024 * 1024)} MiB")
        data = handle.read() if limit is None else handle.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise NotAFile(f"larger than {limit // (1024 * 1024)} MiB")
    return data


@dataclass
class Settings:
    transcripts: str = "transcripts"
    codebook: str | None = None
    groups: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_GROUPS))
    # none configured: known words decide (ingest.speakers.INTERVIEWER_WORDS), then questions
    interviewer_labels: list[str] = field(default_factory=list)
    max_segment_words: int = 120
    min_score: float = 0.35
    privacy: dict | None = None  # see privacy.py
    speakers: str | None = None  # "none": a file without speaker labels is one participant's document
    learning: bool = True  # `copcode code` learns from the coders' decisions (learn.py)
    learn_from: list[str] = field(default_factory=list)  # the coders learned from; empty: everyone


@dataclass
class Project:
    root: Path
    settings: Settings

    @property
    def transcripts_dir(self) -> Path:
        return self.root / self.settings.transcripts

    @property
    def store_path(self) -> Path:
        return self.root / ".copcode" / "copcode.db"

    @property
    def out_dir(self) -> Path:
        return self.root / "out"

    def relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def check_output(self, path: Path) -> None:
        """Refuse an output file that would replace the project's own inputs or its store:
        a file in .copcode/, transcripts/ or codebooks/, copcode.yaml or participants.csv."""
        target = Path(path).resolve()
        folders = {".copcode/ (the store)": self.root / ".copcode",
                   f"{self.settings.transcripts}/ (the transcripts)": self.transcripts_dir,
                   "codebooks/": self.root / "codebooks"}
        if self.settings.codebook:
            folders["the codebook"] = self.root / self.settings.codebook
        files = {"the settings": self.root / "copcode.yaml",
                 "the participants file": self.root / "participants.csv",
                 "the participants file ": self.transcripts_dir / "participants.csv"}
        for what, place in {**folders, **files}.items():
            place = place.resolve()
            if target == place or place in target.parents:
                raise ProjectError(f"this is in {what.strip()}: copcode does not write its outputs over "
                                   "the project's own files", where=str(path),
                                   fix="write to out/ or another folder, e.g. --out out/"
                                       f"{Path(path).name}.")

    def codebook_path(self) -> Path:
        """The codebook named in copcode.yaml, else the only YAML file in codebooks/."""
        if self.settings.codebook:
            path = self.root / self.settings.codebook
            kind = special_kind(path)
            if kind:
                raise ProjectError(
                    f"the codebook named in copcode.yaml is {kind}, not a file",
                    where=self.relative(path),
                    fix="correct `codebook:` in copcode.yaml, or put the codebook file there.",
                )
            if not path.is_file():
                raise ProjectError(
                    "the codebook named in copcode.yaml does not exist",
                    where=self.relative(path),
                    fix="correct `codebook:` in copcode.yaml or create the file.",
                )
            return path
        found = sorted((self.root / "codebooks").glob("*.y*ml"))
        if len(found) == 1:
            return found[0]
        if not found and not any((self.root / name).exists() for name in ("copcode.yaml", "codebooks", "transcripts")):
            raise ProjectError(
                "no copcode project here (no copcode.yaml, codebooks/ or transcripts/)",
                where=str(self.root),
                fix="run copcode in the project's folder, or name it with --project FOLDER; "
                    "`copcode init` makes a new project.",
            )
        if not found:
            raise ProjectError(
                "no codebook found",
                where=self.relative(self.root / "codebooks"),
                fix="put a YAML codebook in codebooks/ (see README, 'The codebook').",
            )
        names = ", ".join(self.relative(p) for p in found)
        raise ProjectError(
            f"several codebooks found ({names}) and copcode.yaml does not say which to use",
            where=self.relative(self.root / "codebooks"),
            fix="add `codebook: codebooks/NAME.yaml` to copcode.yaml.",
        )

    def group_of(self, participant: str) -> str:
        """The group a participant id's prefix maps to in the settings ("E05" -> "E"). With the
        default groups (none in copcode.yaml) the prefix must be followed by no letter ("E-5"
        yes), so that a document named "Entrevista" or a participant "Paula" is in no group;
        groups a project names are its own prefixes, "PT01" under "P" as ever."""
        whole = self.settings.groups == DEFAULT_GROUPS
        for prefix in sorted(self.settings.groups, key=len, reverse=True):
            if participant.upper().startswith(prefix.upper()) and \
                    not (whole and participant[len(prefix):][:1].isalpha()):
                return prefix
        return ""


def open_project(root: str | Path = ".") -> Project:
    """The project in `root`: its settings from copcode.yaml when there is one."""
    root = Path(root)
    if not root.is_dir():
        raise ProjectError(
            "the project folder does not exist",
            where=str(root),
            fix="run copcode inside a project folder, or name one with --project DIR.",
        )
    return Project(root.resolve(), _read_settings(root / "copcode.yaml"))


def _read_settings(path: Path) -> Settings:
    if not os.path.lexists(path):
        return Settings()
    try:
        data = read_regular_file(path, limit=yamlsafe.MAX_BYTES)
        text = data.decode("utf-8-sig")
    except NotAFile as exc:
        raise ProjectError(f"is {exc}, not a settings file", where=path.name,
                           fix="replace it with a YAML file of settings, or remove it.") from None
    except OSError as exc:
        raise ProjectError(f"cannot be read ({exc.strerror})", where=path.name,
                           fix="check the file's permissions.") from None
    except UnicodeDecodeError:
        raise ProjectError("not UTF-8 text", where=path.name, fix="save it as UTF-8 text.") from None
    try:
        raw = yamlsafe.load(text) or {}
    except yamlsafe.YamlProblem as exc:
        where = f"{path.name}:{exc.line}" if exc.line else path.name
        if exc.syntax:
            raise ProjectError(f"not valid YAML ({exc.problem})", where=where,
                               fix="correct the YAML syntax at that line.") from None
        raise ProjectError(exc.problem, where=where, fix="see README, 'Project settings'.") from None
    if not isinstance(raw, dict):
        raise ProjectError("settings must be a mapping of keys to values", where=path.name,
                           fix="see README, 'Project settings'.")
    def line_of(key) -> str:
        line = next((n for n, written in enumerate(text.splitlines(), 1) if written.startswith(f"{key}:")), None)
        return f"{path.name}:{line}" if line else path.name

    unknown = sorted(set(raw) - SETTINGS_KEYS, key=str)
    if unknown:
        from difflib import get_close_matches

        meant = get_close_matches(str(unknown[0]), sorted(SETTINGS_KEYS), n=1)
        raise ProjectError(
            f"unknown setting(s): {', '.join(map(str, unknown))}" + (f" (did you mean {meant[0]}?)" if meant else ""),
            where=line_of(unknown[0]),
            fix=f"use only: {', '.join(sorted(SETTINGS_KEYS))}.",
        )
    for key, problem in _setting_problems(raw):
        raise ProjectError(f"`{key}:` {problem}", where=line_of(key), fix="see README, 'Project settings'.")
    settings = Settings(**{k: v for k, v in raw.items() if k not in ("groups", "speakers")})
    if isinstance(raw.get("privacy"), dict) and isinstance(raw["privacy"].get("identifiers"), dict):
        # identifiers as written: YAML 1.1 would read a listed `0123` as 83, `NO` as False
        written = yamlsafe.load(text, as_text=True)["privacy"]["identifiers"]
        _check_replacements(text, path.name)
        settings.privacy = {**raw["privacy"], "identifiers": written}
    if raw.get("speakers"):
        settings.speakers = "none"
    if "groups" in raw:
        settings.groups = {str(k): str(v) for k, v in (raw["groups"] or {}).items()}
    return settings


def _check_replacements(text: str, name: str) -> None:
    """Refuse a listed identifier whose replacement is not text: `Nurse Kelly: [nurse]`
    unquoted is a YAML list (shown as "['nurse']"), `Pat Brown:` with nothing after it would
    replace the name with nothing."""
    node, _ = yamlsafe.compose(text)
    identifiers = _value_node(_value_node(node, "privacy"), "identifiers")
    for key, value in identifiers.value if isinstance(identifiers, yaml.MappingNode) else ():
        shown = key.value if isinstance(key, yaml.ScalarNode) else "?"
        example = ""
        if isinstance(value, yaml.SequenceNode) and all(isinstance(v, yaml.ScalarNode) for v in value.value):
            example = "[" + ", ".join(v.value for v in value.value) + "]"
        if isinstance(value, yaml.ScalarNode):
            if value.value.strip():
                continue  # 007 or NO too: identifiers are read as written
            what = f"the identifier {shown!r} has no replacement, so it would be replaced by nothing"
            fix = f'give it a replacement, in quotes: "{shown}": "[name]".'
        else:
            kind = "a list" if isinstance(value, yaml.SequenceNode) else "a mapping"
            what = f"the replacement for {shown!r} is not text: YAML reads {example or 'it'} as {kind}"
            fix = f'put the replacement in quotes: "{shown}": "{example or "[name]"}".'
        raise ProjectError(what, where=f"{name}:{value.start_mark.line + 1}", fix=fix)


def _value_node(node, key: str):
    """The value node of `key` in a YAML mapping node, or None."""
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)


def _setting_problems(raw: dict):
    """(key, what is wrong) for each setting of the wrong type or out of range."""
    def is_number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    checks = {
        "transcripts": (lambda v: isinstance(v, str) and v.strip(), "must be a folder name"),
        "codebook": (lambda v: isinstance(v, str) and v.strip(), "must be a file name, e.g. codebooks/cop.yaml"),
        "groups": (lambda v: isinstance(v, dict), "must map id prefixes to group names, e.g. {E: Expert by experience}"),
        "interviewer_labels": (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
                               "must be a list of labels, e.g. [Interviewer, INT]"),
        "max_segment_words": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 10,
                              "must be a whole number of words, 10 or more"),
        "min_score": (lambda v: is_number(v) and 0 < v <= 1, "must be a number above 0 and at most 1"),
        "privacy": (lambda v: isinstance(v, dict) and isinstance(v.get("detect", []), list),
                    "must hold `identifiers:` and, optionally, a list `detect:`"),
        "learning": (lambda v: isinstance(v, bool), "must be true or false, without quotes"),
        "learn_from": (lambda v: isinstance(v, list) and v and all(isinstance(x, str) and x.strip() for x in v),
                       "must be a list of coders' names, e.g. [ann, ben]; leave it out to learn from every "
                       "coder, or write `learning: false` to learn from none"),
        "speakers": (lambda v: isinstance(v, str) and v.strip().casefold() == "none",
                     "must be `none` (files without speaker labels are documents) or left out"),
    }
    for key, (valid, problem) in checks.items():
        if key in raw and not valid(raw[key]):
            yield key, problem


def _unescaped(cell: str) -> str:
    """A participants.csv cell as meant: white space trimmed, and the apostrophe that copcode
    puts before a cell a spreadsheet would run as a formula ('=..., '+..., '-..., '@...) taken off."""
    from copcode.export import from_spreadsheet_cell

    return from_spreadsheet_cell(cell).strip()


def participants_file(project: Project) -> Path | None:
    """participants.csv in the project, else in its transcripts folder; None when there is none."""
    for path in (project.root / "participants.csv", project.transcripts_dir / "participants.csv"):
        if os.path.lexists(path):
            return path
    return None


def _delimiter(header_line: str) -> str:
    """The separator of participants.csv, from its header: a comma, or, when the header holds
    none, the semicolon that Excel writes where the comma is the decimal mark (much of Europe),
    or a tab. Decided from the header alone, not guessed from the rows (csv.Sniffer can take a
    comma inside a cell for the separator): the header names the columns, so its separator is
    the file's."""
    if "," in header_line:
        return ","
    return ";" if ";" in header_line else "\t" if "\t" in header_line else ","


def unmatched_participants(project: Project, known) -> list[str]:
    """A warning for each participants.csv row whose id is no participant in `known` (ids of
    transcripts and of the speakers of focus groups, and the names of files that could not
    be read): its attributes reach nobody, which is most often a misspelt id."""
    lines: dict[str, int] = {}
    ids: dict[str, str] = {}
    rows = read_participants(project, None, ids, lines)
    if not rows:
        return []
    source = project.relative(participants_file(project))  # type: ignore[arg-type]
    known = {k.casefold() for k in known}
    return [f"{source}:{lines[key]}: participant {ids[key]} matches no transcript, so its row is not "
            "used. Correct the id to the transcript's (its file name or header `participant:`), or remove "
            "the row." for key in rows if key not in known]


def read_participants(project: Project, warnings: list[str] | None = None,
                      ids: dict[str, str] | None = None,
                      lines: dict[str, int] | None = None) -> dict[str, dict[str, str]]:
    """Attributes by participant id, case-folded ("e05" for E05), from participants.csv (in
    the project or its transcripts folder); {} when there is none. The first column is the
    participant id; ids that differ only in case are one participant, so two rows for them
    are an error. Cells are separated by commas, or by semicolons or tabs when the header
    is (Excel in much of Europe writes semicolons). A file saved by Excel in Windows-1252 is
    decoded, and said in `warnings`. `ids`, when given, gets each id as written, by its
    case-folded form; `lines` its row's line. Columns `transcript` and `speaker` give a
    speaker of a focus group their own id (see README, 'Transcripts')."""
    path = participants_file(project)
    if path is None:
        return {}
    source = project.relative(path)
    try:
        raw = read_regular_file(path)
    except NotAFile as exc:
        raise ProjectError(f"is {exc}, not a participants file", where=source,
                           fix="replace it with a .csv file (first column: participant id), or remove it.") from None
    except OSError as exc:
        raise ProjectError(f"cannot be read ({exc.strerror})", where=source,
                           fix="check the file's permissions.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
        if warnings is not None:
            warnings.append(f"{source}: not UTF-8; decoded as Windows-1252.")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.split("\n", 1)[0])))
    if not rows or not rows[0]:
        return {}
    header = [_unescaped(h) for h in rows[0]]
    participants: dict[str, dict[str, str]] = {}
    seen: dict[str, tuple[int, str]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ProjectError(
                f"row has {len(row)} cells, the header has {len(header)}",
                where=f"{source}:{line}",
                fix="give every row one cell per column.",
            )
        values = {h: _unescaped(cell) for h, cell in zip(header, row)}
        key = values[header[0]].casefold()
        if key in seen:
            first, written = seen[key]
            raise ProjectError(
                f"participant {values[header[0]]} has a row already, line {first} ({written}); "
                "ids that differ only in case are one participant",
                where=f"{source}:{line}",
                fix="keep one row per participant.",
            )
        seen[key] = (line, values[header[0]])
        if ids is not None:
            ids[key] = values[header[0]]
        if lines is not None:
            lines[key] = line
        participants[key] = {h: v for h, v in values.items() if h != header[0]}
    return participants
