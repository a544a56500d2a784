"""Read a folder of transcripts into `Transcript`s: one reader per format, one turn finder."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from dataclasses import dataclass

from copcode.errors import ProjectError, TranscriptError, UnreadableFile
from copcode.model import Transcript, Turn
from copcode.project import NotAFile, Project, read_participants, read_regular_file

FORMATS = (".txt", ".md", ".docx", ".vtt")
MAX_BYTES = 256 * 1024 * 1024  # far beyond any interview; keeps a stray disk image out of memory
PARTICIPANT_ID = re.compile(r"^[A-Za-z]{1,3}\d{1,3}$")
PARTICIPANT_WORDS = {"participant", "respondent", "interviewee"}
_LABEL = re.compile(r"^[ \t]*(?P<label>[A-Za-z][\w'.-]*(?: [\w'.-]+){0,3})[ \t]*:[ \t]*", re.M)


@dataclass
class Corpus:
    transcripts: list[Transcript]
    warnings: list[str]  # files skipped, and files decoded from another encoding


def read_transcripts(project: Project) -> list[Transcript]:
    """Every transcript in the project's transcripts folder, sorted by id; a file that cannot
    be read is an error."""
    return read_corpus(project, strict=True).transcripts


def read_corpus(project: Project, *, strict: bool = False) -> Corpus:
    """Every transcript in the project's transcripts folder, sorted by id. A file that cannot
    be read (binary, empty, a damaged document) is skipped with a warning, or, when `strict`,
    stops the run; one decoded from another encoding than UTF-8 is read, with a warning."""
    folder = project.transcripts_dir
    if not folder.is_dir():
        raise ProjectError(
            "the transcripts folder does not exist",
            where=project.relative(folder),
            fix="create it and put the interview transcripts (.txt, .md, .docx, .vtt) in it, "
            "or set `transcripts:` in copcode.yaml.",
        )
    # not only regular files: a folder, FIFO or dangling link named like a transcript is named
    # and skipped (or stops the run) by read_transcript, never left out silently
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in FORMATS)
    if not paths:
        raise ProjectError(
            "the transcripts folder holds no transcripts",
            where=project.relative(folder),
            fix=f"add transcripts with one of the endings {', '.join(FORMATS)}.",
        )
    warnings: list[str] = []
    participants = read_participants(project, warnings)
    transcripts: dict[str, Transcript] = {}
    for path in paths:
        try:
            transcript = read_transcript(path, project, participants, warnings, strict=strict)
        except UnreadableFile as exc:
            if strict:
                raise
            warnings.append(f"{exc.where}: {exc.what}; skipped. {exc.fix[:1].upper()}{exc.fix[1:]}")
            continue
        key = transcript.id.casefold()  # E05 and e05 are one person
        if key in transcripts:
            other = transcripts[key]
            same = "" if other.id == transcript.id else (
                f" (as {other.id}; ids that differ only in case are one participant)")
            raise TranscriptError(
                f"participant {transcript.id} already has a transcript, {other.source}{same}",
                where=transcript.source,
                fix="give each participant one transcript (set `participant:` in the header "
                "or rename the file).",
            )
        transcripts[key] = transcript
    if not transcripts:
        raise ProjectError("no transcript could be read", where=project.relative(folder),
                           fix="see the warnings above for each file.")
    return Corpus(sorted(transcripts.values(), key=lambda t: t.id), warnings)


def read_transcript(path: Path, project: Project, participants: dict | None = None,
                    warnings: list[str] | None = None, *, strict: bool = False) -> Transcript:
    """One transcript file, whatever its format. Notes on decoding go to `warnings`; under
    `strict`, a caption file with cues that cannot be read is an error, not a warning."""
    from copcode.ingest import docx, text, vtt

    reader = {".txt": text, ".md": text, ".docx": docx, ".vtt": vtt}[path.suffix.lower()]
    source = project.relative(path)
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
    options = {"strict": strict} if reader is vtt else {}  # a caption file may lose cues
    body, header = reader.read(raw, source, warnings if warnings is not None else [], **options)
    participant = str(header.get("participant") or path.stem).strip()
    speakers = header.pop("speakers", [])  # a caption file names its speakers itself
    attributes = {k: str(v) for k, v in header.items() if k not in ("participant", "synthetic", "note")}
    attributes.update((participants or {}).get(participant.casefold(), {}))
    attributes.setdefault("group", project.group_of(participant))
    turns = find_turns(body, project.settings.interviewer_labels, participant, speakers)
    if not turns:
        raise TranscriptError(
            "no speaker labels found, so no participant turns can be told apart",
            where=source,
            fix='start each turn on a new line with its speaker, e.g. "Interviewer: ..." and '
            f'"{participant}: ...".',
        )
    if not any(turn.role == "participant" for turn in turns):
        raise TranscriptError(
            "every turn is the interviewer's; there is nothing to code",
            where=source,
            fix=f'label the participant\'s turns, e.g. "{participant}: ...".',
        )
    return Transcript(
        id=participant,
        participant=participant,
        source=source,
        sha256=hashlib.sha256(raw).hexdigest(),
        text=body,
        turns=turns,
        attributes=attributes,
    )


def is_interviewer(label: str, interviewer_labels: list[str]) -> bool:
    """"Interviewer", and numbered variants such as "Interviewer 2" or "INT1"."""
    folded = label.casefold()
    return any(re.fullmatch(re.escape(x.casefold()) + r"\s*\d{0,2}", folded) for x in interviewer_labels)


def is_speaker_label(label: str, interviewer_labels: list[str], participant: str,
                     speakers: list[str] = ()) -> bool:
    return (
        label in speakers
        or is_interviewer(label, interviewer_labels)
        or label.casefold() in PARTICIPANT_WORDS
        or label.casefold() == participant.casefold()
        or bool(PARTICIPANT_ID.match(label))
    )


def find_turns(text: str, interviewer_labels: list[str], participant: str,
               speakers: list[str] = ()) -> list[Turn]:
    """Turns start at a line that begins with a speaker label ("Interviewer:", "E05:", or a
    name the caption file gave as a speaker) and run to the next one; lines without a label
    continue the turn. Text before the first label (a title, a note) belongs to no turn.
    Offsets cover the words after the label."""
    starts = [
        m for m in _LABEL.finditer(text)
        if is_speaker_label(m["label"], interviewer_labels, participant, speakers)
    ]
    turns = []
    for i, match in enumerate(starts):
        start = match.end()
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        while end > start and text[end - 1].isspace():
            end -= 1
        role = "interviewer" if is_interviewer(match["label"], interviewer_labels) else "participant"
        turns.append(Turn(speaker=match["label"], role=role, start=start, end=end))
    return turns
