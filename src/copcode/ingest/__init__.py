"""Read a folder of transcripts into `Transcript`s: one reader per format, then the speakers
found and their roles decided (`speakers.py`). Every file is read before any problem is
reported, so one run names every file that cannot be used."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from copcode.errors import ProjectError, TranscriptError, UnreadableFile
from copcode.ingest.speakers import (
    _TIMELINE,
    NOT_SPEAKERS,
    PARTICIPANT_ID,
    Body,
    RawTurn,
    Speaker,
    assign_roles,
    detect,
    fold,
    is_interviewer,
    is_known,
)
from copcode.model import Transcript, Turn
from copcode.project import NotAFile, Project, read_participants, read_regular_file, unmatched_participants

FORMATS = (".txt", ".md", ".docx", ".vtt", ".srt")
MAX_BYTES = 256 * 1024 * 1024  # far beyond any interview; keeps a stray disk image out of memory
NO_LABELS_FIX = ('start each turn on a new line with its speaker, e.g. "Interviewer: ..." and "{id}: ..."; '
                 "if it is a document without speakers (field notes, an answer), add `speakers: none` to "
                 "its header or to copcode.yaml.")

__all__ = ["FORMATS", "Corpus", "Reading", "find_turns", "inspect_transcript", "known_ids", "not_read",
           "read_corpus", "read_transcript", "read_transcripts", "is_interviewer", "PARTICIPANT_ID"]


@dataclass
class Corpus:
    transcripts: list[Transcript]
    warnings: list[str]  # files skipped or not read, files decoded from another encoding, participants.csv
    skipped: list[TranscriptError] = field(default_factory=list)  # why each skipped file was
    not_read: list[str] = field(default_factory=list)  # files and folders not read (also in warnings)


@dataclass
class Reading:
    """What copcode makes of one file: its format, the speakers with their roles and how each
    was decided, the text that belongs to no turn, notes for the preview, and the transcript,
    or the problem that makes the file unusable."""
    source: str
    format: str = ""
    convention: str = ""
    speakers: list[Speaker] = field(default_factory=list)
    outside: list[tuple[int, int]] = field(default_factory=list)  # text in no turn (offsets)
    notes: list[str] = field(default_factory=list)  # for the preview: one speaker only, lines joined, ...
    decisions: list[str] = field(default_factory=list)  # also said by `copcode code`: no interviewer found
    transcript: Transcript | None = None
    problem: TranscriptError | None = None


def read_transcripts(project: Project) -> list[Transcript]:
    """Every transcript in the project's transcripts folder, sorted by id; a file that cannot
    be used is an error."""
    return read_corpus(project, strict=True).transcripts


def transcript_paths(project: Project) -> list[Path]:
    """The files in the transcripts folder with a transcript's ending, sorted."""
    folder = project.transcripts_dir
    if not folder.is_dir():
        raise ProjectError(
            "the transcripts folder does not exist",
            where=project.relative(folder),
            fix=f"create it and put the interview transcripts ({', '.join(FORMATS)}) in it, "
            "or set `transcripts:` in copcode.yaml.",
        )
    # not only regular files: a folder, FIFO or dangling link named like a transcript is named
    # and skipped (or stops the run) by inspect_transcript, never left out silently
    # "~$x.docx" is the lock file Word keeps beside a document it has open: not a transcript
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in FORMATS and not p.name.startswith("~$"))
    if not paths:
        others = [f"{name}/" if path.is_dir() else name for path, name in
                  ((p, p.name) for p in sorted(folder.iterdir())) if _not_read(path) is not None]
        held = f" (it holds {', '.join(others[:5])}{' and more' if len(others) > 5 else ''})" if others else ""
        raise ProjectError(
            f"the transcripts folder holds no transcripts{held}",
            where=project.relative(folder),
            fix=f"add transcripts with one of the endings {', '.join(FORMATS)}"
            + ("; `copcode transcripts` says how to convert the files there." if others else "."),
        )
    return paths


# what copcode says of a file in the transcripts folder that it does not read, by its ending
_CONVERT = "save it as .docx or .txt and put that in the transcripts folder"
NOT_READ = {
    ".pdf": ("a PDF, which copcode does not read", "save it as .docx or .txt (or copy its text into a .txt "
             "file) and put that in the transcripts folder"),
    ".doc": ("an old Word document (.doc), which copcode does not read", "open it in Word or LibreOffice and "
             "save it as .docx"),
    ".rtf": ("a Rich Text file, which copcode does not read", _CONVERT),
    ".odt": ("an OpenDocument text, which copcode does not read", "save it as .docx (in LibreOffice: File > "
             "Save As, Word format)"),
    ".pages": ("a Pages document, which copcode does not read", "export it as .docx (File > Export To > Word)"),
    ".csv": ("a table, which copcode does not read as a transcript", "for survey answers use `copcode code "
             "--input FILE` and keep the file outside the transcripts folder"),
    ".xlsx": ("a spreadsheet, which copcode does not read as a transcript", "for survey answers use `copcode "
              "code --input FILE` and keep the file outside the transcripts folder"),
}
for _ending in (".mp3", ".m4a", ".wav", ".mp4", ".mov", ".ogg", ".webm", ".aac", ".flac", ".wma"):
    NOT_READ[_ending] = ("a recording, which copcode does not read", "transcribe it (e.g. to a .vtt, .docx "
                         "or .txt file) and put the transcript in the transcripts folder")
# the endings whose fix makes another file from this one
CONVERTED = {".pdf", ".doc", ".rtf", ".odt", ".pages", *(e for e, (what, _) in NOT_READ.items() if "recording" in what)}
# files that programs leave in folders, and the participants file: never worth a word
_QUIET = {"participants.csv", "thumbs.db", "desktop.ini"}


def _not_read(path: Path) -> tuple[str, str] | None:
    """(what it is, how to fix it) for an entry of the transcripts folder that copcode does not
    read; None for a transcript file (read, or named by its reader) and for what is ignored
    without a word: hidden files, participants.csv, Windows' Thumbs.db and desktop.ini."""
    name = path.name
    if path.suffix.lower() in FORMATS or name.startswith((".", "~$")) or name.casefold() in _QUIET:
        return None
    if path.is_dir():
        return ("a folder; copcode reads the transcripts folder itself, not folders inside it",
                "move its transcripts into the transcripts folder, or point `transcripts:` in copcode.yaml "
                "at it")
    return NOT_READ.get(path.suffix.lower(), (
        f"not a transcript format copcode reads ({', '.join(FORMATS)})",
        "save it in one of those formats, or move it out of the transcripts folder if it is not a transcript"))


def not_read(project: Project) -> list[str]:
    """A warning for each entry of the transcripts folder that copcode does not read: files of
    other formats (.pdf, .doc, ...) and folders, each with how to make it readable; so that
    "16 files, 12 read" is never said as "12 files"."""
    folder = project.transcripts_dir
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        reason = _not_read(path)
        if reason is not None:
            shown = project.relative(path) + ("/" if path.is_dir() else "")
            # a file made readable elsewhere would be named on every run while it stays here
            then = " Then move the original out of the transcripts folder." \
                if path.suffix.lower() in CONVERTED and not path.is_dir() else ""
            done = [p for p in folder.iterdir() if p.stem == path.stem and p.suffix.lower() in FORMATS] \
                if then else []
            if done:  # converted already
                found.append(f"{shown}: {reason[0]}; skipped: {project.relative(done[0])} is read. Move "
                             f"{path.name} out of the transcripts folder.")
                continue
            found.append(f"{shown}: {reason[0]}; skipped. {reason[1][:1].upper()}{reason[1][1:]}.{then}")
    return found


def not_coded(project: Project, coded: dict[str, str]) -> list[str]:
    """The transcript files (as `project.relative` names them) that are not in `coded`
    (source -> the sha256 of its bytes, as the store keeps them) as they are now: new or
    changed since the last `copcode code`, or skipped by it. None without transcript files
    (a survey's project)."""
    try:
        paths = transcript_paths(project)
    except ProjectError:  # no transcripts folder, or none in it: a survey's project
        return []
    changed = []
    for path in paths:
        source = project.relative(path)
        try:
            same = source in coded and hashlib.sha256(read_regular_file(path)).hexdigest() == coded[source]
        except OSError:  # not a regular file (a FIFO is not waited on), or unreadable: `copcode code` names it
            same = False
        if not same:
            changed.append(source)
    return changed


def read_corpus(project: Project, *, strict: bool = False) -> Corpus:
    """Every transcript in the project's transcripts folder, sorted by id. Every file is read
    first; each one that cannot be used (binary, empty, a damaged document, no speaker labels,
    a bad header) is then skipped with a warning naming its reason and fix, or, when
    `strict`, they stop the run together in one error (a single file: its own error). Two
    files for one participant always stop it. A file decoded from another encoding than
    UTF-8 is read, with a warning."""
    paths = transcript_paths(project)
    skipped_entries = not_read(project)
    warnings: list[str] = list(skipped_entries)
    ids: dict[str, str] = {}
    participants = read_participants(project, warnings, ids)
    problems: list[TranscriptError] = []
    transcripts: dict[str, Transcript] = {}
    duplicates: list[TranscriptError] = []
    for path in paths:
        reading = inspect_transcript(path, project, participants, warnings, strict=strict, ids=ids)
        if reading.problem is not None:
            problems.append(reading.problem)
            if not strict:
                warnings.append(_skipped(reading.problem))
            continue
        transcript = reading.transcript
        assert transcript is not None  # a reading without a problem has its transcript
        warnings.extend(f"{reading.source}: {d}." for d in reading.decisions)
        key = transcript.id.casefold()  # E05 and e05 are one person
        if key in transcripts:
            other = transcripts[key]
            same = "" if other.id == transcript.id else (
                f" (as {other.id}; ids that differ only in case are one participant)")
            duplicates.append(TranscriptError(
                f"participant {transcript.id} already has a transcript, {other.source}{same}",
                where=transcript.source,
                fix="give each participant one transcript (set `participant:` in the header "
                "or rename the file).",
            ))
            continue
        transcripts[key] = transcript
    stopping = (problems if strict else []) + duplicates
    if stopping:
        raise stopping[0] if len(stopping) == 1 else _all_problems(project, stopping, strict)
    if not transcripts:
        if len(problems) == 1:
            raise problems[0]
        raise _all_problems(project, problems, strict, none_left=True)
    if participants:
        warnings += unmatched_participants(project, known_ids(transcripts.values(), paths))
    return Corpus(sorted(transcripts.values(), key=lambda t: t.id), warnings, problems, skipped_entries)


def known_ids(transcripts, paths) -> set[str]:
    """Every participant id a participants.csv row may name: each transcript's id and
    participant, each speaker's own id (a focus group's), and the names of the transcript
    files (a file that could not be read still has its participant)."""
    known = {path.stem for path in paths}
    for t in transcripts:
        known |= {t.id, t.participant, *(turn.participant for turn in t.turns if turn.participant)}
    return known


def _skipped(problem: TranscriptError) -> str:
    fix = problem.fix
    assert fix is not None  # every problem of a transcript file is raised with its fix
    return f"{problem.where}: {problem.what}; skipped. {fix[:1].upper()}{fix[1:]}"


def _all_problems(project: Project, problems: list[TranscriptError], strict: bool, *,
                  none_left: bool = False) -> TranscriptError:
    """One error naming every file's problem with its own fix."""
    listed = "\n".join(f"  {p.where}: {p.what}\n    How to fix: {p.fix}" for p in problems)
    what = f"{len(problems)} transcript files cannot be used" + (", so none is left to code" if none_left else "")
    fix = ("correct each file as said above; `copcode transcripts` shows how copcode reads them"
           + (", and `copcode code` without --strict codes the others." if strict and not none_left else "."))
    return TranscriptError(f"{what}:\n{listed}", where=project.relative(project.transcripts_dir), fix=fix)


def read_transcript(path: Path, project: Project, participants: dict | None = None,
                    warnings: list[str] | None = None, *, strict: bool = False) -> Transcript:
    """One transcript file, whatever its format; its problem, if it has one, is raised."""
    reading = inspect_transcript(path, project, participants, warnings, strict=strict)
    if reading.problem is not None:
        raise reading.problem
    assert reading.transcript is not None  # a reading without a problem has its transcript
    return reading.transcript


def _reader(suffix: str):
    from copcode.ingest import docx, srt, text, vtt

    return {".txt": text, ".md": text, ".docx": docx, ".vtt": vtt, ".srt": srt}[suffix]


def inspect_transcript(path: Path, project: Project, participants: dict | None = None,
                       warnings: list[str] | None = None, *, strict: bool = False,
                       ids: dict[str, str] | None = None) -> Reading:
    """What copcode makes of one file (see `Reading`); never raises for a problem of the file
    itself. Notes on decoding go to `warnings`; under `strict`, a caption file with cues that
    cannot be read is a problem, not a warning."""
    source = project.relative(path)
    reading = Reading(source)
    try:
        _read_into(reading, path, project, participants, [] if warnings is None else warnings, strict, ids or {})
    except TranscriptError as exc:
        reading.problem = exc
        reading.transcript = None
    return reading


def _read_into(reading: Reading, path: Path, project: Project, participants: dict | None,
               warnings: list[str], strict: bool, ids: dict[str, str]) -> None:
    reader = _reader(path.suffix.lower())
    source = reading.source
    try:
        raw = read_regular_file(path, limit=MAX_BYTES)
    except NotAFile as exc:
        raise UnreadableFile(f"{exc}, not a transcript file", where=source,
                             fix="remove it, or put the transcript file in its place.") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot be read ({exc.strerror})", where=source,
                             fix="check the file's permissions.") from None
    if not raw.strip():
        raise UnreadableFile("the file is empty", where=source, fix="remove it or put the transcript in it.")
    options = {"strict": strict} if path.suffix.lower() in (".vtt", ".srt") else {}  # a caption file may lose cues
    body: Body = reader.read(raw, source, warnings, **options)
    reading.format = body.format
    header = body.header
    participant = str(header.get("participant") or path.stem).strip()
    speakers_setting = header.pop("speakers", None)
    attributes = {k: str(v) for k, v in header.items() if k not in ("participant", "synthetic", "note")}
    rows = participants or {}
    attributes.update({k: v for k, v in rows.get(participant.casefold(), {}).items()
                       if k not in ("transcript", "speaker")})
    attributes.setdefault("group", project.group_of(participant))
    mapping = speakers_setting if isinstance(speakers_setting, dict) else {}
    listed = speakers_setting if isinstance(speakers_setting, list) else []
    document = speakers_setting == "none"
    configured = project.settings.interviewer_labels
    text = body.text
    raw_turns: list[RawTurn]
    said: list[str] = []  # notes on how the file was read that `copcode code` repeats
    if document:
        raw_turns, reading.convention = [], ""
    elif body.turns is not None:
        raw_turns, line, at = [], 0, 0
        for speaker, start, end in body.turns:  # in order: count the lines once
            line, at = line + text.count("\n", at, start), start
            raw_turns.append(RawTurn(speaker, start, end, line))
        reading.convention = ("a speaker for each cue" if body.format.endswith("captions")
                              else "a table: speaker | words")
    else:
        found = detect(text, participant, [*listed, *mapping], configured, body.label_lines)
        raw_turns, reading.convention = found.turns, found.convention
        reading.notes += _joined_notes(found.joined, text)
        # a name joined to a turn may be a speaker's words filed under another's: `code` says it too
        said = _joined_notes([j for j in found.joined if fold(j[1]) not in NOT_SPEAKERS], text)
    if not raw_turns:
        if not (document or project.settings.speakers == "none"):
            raise TranscriptError("no speaker labels found, so no participant turns can be told apart",
                                  where=source, fix=NO_LABELS_FIX.format(id=participant))
        turns = paragraphs(text, participant)
        reading.convention = "no speakers (speakers: none): each paragraph a turn"
        reading.speakers = [Speaker(participant, "participant", "speakers: none", participant, len(turns),
                                    sum(len(text[t.start:t.end].split()) for t in turns))]
    else:
        csv_ids = {row["speaker"].casefold(): original for original, row in _rows_with_ids(rows, ids)
                   if row.get("transcript", "").casefold() == participant.casefold() and row.get("speaker")}
        turns, reading.speakers, decided = assign_roles(
            raw_turns, text, participant, configured=configured, mapping=mapping, csv_ids=csv_ids)
        reading.decisions = decided + said
        reading.notes += _speaker_notes(reading.speakers)
    reading.outside = _outside(text, turns, raw_turns[0].line if raw_turns else None)
    if not any(turn.role == "participant" for turn in turns):
        raise TranscriptError(
            "every turn is the interviewer's; there is nothing to code",
            where=source,
            fix=f'label the participant\'s turns, e.g. "{participant}: ...", or name their speaker in the '
            "header: `speakers: {Name: participant}`.",
        )
    reading.transcript = Transcript(
        id=participant,
        participant=participant,
        source=source,
        sha256=hashlib.sha256(raw).hexdigest(),
        text=text,
        turns=turns,
        attributes=attributes,
        speaker_attributes=_speaker_attributes(project, turns, participant, attributes, rows),
    )


def _speaker_attributes(project: Project, turns: list[Turn], transcript_id: str, attributes: dict[str, str],
                        rows: dict) -> dict[str, dict[str, str]]:
    """The attributes of each speaker whose id is not the transcript's (a focus group's): the
    transcript's, with their own participants.csv row over them; their group is the row's, else
    the one their id's prefix maps to, else the transcript's."""
    found = {}
    for speaker in dict.fromkeys(t.participant for t in turns if t.role == "participant"):
        if not speaker or speaker == transcript_id:
            continue
        own = {k: v for k, v in rows.get(speaker.casefold(), {}).items() if k not in ("transcript", "speaker")}
        group = own.get("group") or project.group_of(speaker) or attributes.get("group", "")
        found[speaker] = {**attributes, **own, "group": group}
    return found


def _rows_with_ids(rows: dict, ids: dict[str, str]):
    """(participant id, attributes) of participants.csv rows that name a transcript and a speaker."""
    for key, attributes in rows.items():
        if attributes.get("transcript") and attributes.get("speaker"):
            yield ids.get(key, key), attributes


def paragraphs(text: str, participant: str) -> list[Turn]:
    """A document's paragraphs as one participant's turns: parts between empty lines, or,
    in a text without empty lines, each line."""
    splitter = r"\n[ \t]*\n" if re.search(r"\n[ \t]*\n", text.strip()) else r"\n"
    turns, at = [], 0
    for part in re.split(f"({splitter})", text):
        if not re.fullmatch(splitter, part) and part.strip():
            start = at + len(part) - len(part.lstrip())
            end = at + len(part.rstrip())
            turns.append(Turn(participant, "participant", start, end, participant))
        at += len(part)
    return turns


def _outside(text: str, turns: list[Turn], first_label_line: int | None) -> list[tuple[int, int]]:
    """The text before the first turn's label (a title, a note), when it holds any words."""
    if not turns:
        return [(0, len(text))] if text.strip() else []
    if first_label_line is None:  # a document: its paragraphs are its turns
        end = turns[0].start
    else:
        end = 0
        for _ in range(first_label_line):
            end = text.index("\n", end) + 1
    before = text[:end].rstrip()
    words = [line for line in before.split("\n") if line.strip() and not _TIMELINE.match(line)]
    return [(0, len(before))] if words else []


def _joined_notes(joined: list[tuple[int, str, str]], text: str) -> list[str]:
    if not joined:
        return []
    shown = ", ".join(f"{line + 1} ({label}:)" for line, label, _ in joined[:5])
    more = f" and {len(joined) - 5} more" if len(joined) > 5 else ""
    return [f"line{'s' * (len(joined) > 1)} {shown}{more} joined to the turn before: the label "
            "opens only one turn; if it is a speaker, check its spelling"]


def _speaker_notes(speakers: list[Speaker]) -> list[str]:
    import difflib

    notes = []
    if len(speakers) == 1:
        notes.append(f"one speaker only ({speakers[0].label}): no interviewer turns")
    most = max((s.turns for s in speakers), default=0)
    for s in speakers:
        alike = [o.label for o in speakers if o is not s and o.turns > s.turns
                 and difflib.SequenceMatcher(None, s.label.casefold(), o.label.casefold()).ratio() >= 0.8]
        if alike:
            notes.append(f"unusual label {s.label!r} ({s.turns} turn{'s' * (s.turns != 1)}) looks like "
                         f"{alike[0]!r}; correct its spelling if it is the same speaker")
        elif s.turns <= 2 and most >= 6 and not is_known(s.label, ""):
            notes.append(f"unusual label {s.label!r}: {s.turns} turn{'s' * (s.turns != 1)} only, "
                         "while others have many; check that it is a speaker")
    return notes


def find_turns(text: str, interviewer_labels: list[str], participant: str,
               speakers: Sequence[str] = ()) -> list[Turn]:
    """The turns of a transcript's text (see `speakers.detect`) with their roles and
    participants: `interviewer_labels` as configured, `participant` the transcript's id,
    `speakers` names the file lists as speakers."""
    found = detect(text, participant, speakers, interviewer_labels)
    return assign_roles(found.turns, text, participant, configured=interviewer_labels)[0]
