"""`copcode transcripts`: what copcode reads in each transcript file, before any coding. Needs
no store and no spaCy: per file the format and convention, the speakers with their roles and
how each was decided, turns and words per speaker, the text in no turn, notes, and the
problem of a file that cannot be used; for one file, its turns as copcode reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from copcode.errors import ProjectError
from copcode.project import Project, read_participants


@dataclass
class Preview:
    files: list[dict]
    warnings: list[str] = field(default_factory=list)  # decoding, participants.csv, files not read
    not_read: int = 0  # entries of the transcripts folder that are not transcripts (in warnings)

    def as_dict(self) -> dict:
        return {"files": self.files, "warnings": self.warnings}

    def redacted(self, redactor) -> Preview:
        """The preview with every text in it (speakers, excerpts, ids, notes) pseudonymised:
        it is an output like any other."""
        def clean(value):
            if isinstance(value, str):
                return redactor.redact(value)
            if isinstance(value, list):
                return [clean(v) for v in value]
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            return value
        return Preview(clean(self.files), clean(self.warnings), self.not_read)


def preview_transcripts(project: Project, file: Path | None = None) -> Preview:
    """Every transcript file of the project (or the one `file`, with its turns) as copcode
    reads it. A file's problem is part of its entry; only a missing transcripts folder, a bad
    participants.csv or an unknown `file` raise."""
    from copcode.ingest import FORMATS, inspect_transcript, known_ids, not_read, transcript_paths
    from copcode.project import unmatched_participants

    ids: dict[str, str] = {}
    skipped = not_read(project) if file is None else []
    warnings: list[str] = list(skipped)
    participants = read_participants(project, warnings, ids)
    if file is None:
        paths = transcript_paths(project)
    else:
        path = _find(project, file)
        if path.suffix.lower() not in FORMATS:
            raise ProjectError(f"not a transcript file (copcode reads {', '.join(FORMATS)})",
                               where=str(file), fix="name a transcript file, e.g. transcripts/E01.txt.")
        paths = [path]
    files: list[dict] = []
    seen: dict[str, str] = {}  # folded participant id -> the file that has its transcript
    transcripts = []
    for path in paths:
        reading = inspect_transcript(path, project, participants, warnings, ids=ids)
        transcripts += [reading.transcript] if reading.transcript is not None else []
        entry = _entry(reading, with_turns=file is not None)
        transcript = reading.transcript
        if transcript is not None:
            other = seen.setdefault(transcript.id.casefold(), reading.source)
            if other != reading.source:
                entry["notes"].append(f"participant {transcript.id} already has a transcript, {other}; "
                                      "`copcode code` stops until each participant has one")
        files.append(entry)
    if file is None and participants:
        warnings += unmatched_participants(project, known_ids(transcripts, paths))
    return Preview(files, warnings, len(skipped))


def _find(project: Project, file: Path) -> Path:
    for candidate in (file, project.root / file, project.transcripts_dir / file):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    raise ProjectError("no such file", where=str(file),
                       fix="name a file in the transcripts folder, e.g. transcripts/E01.txt.")


def _entry(reading, *, with_turns: bool) -> dict:
    transcript = reading.transcript
    entry: dict = {
        "file": reading.source,
        "format": reading.format,
        "convention": reading.convention,
        "transcript": transcript.id if transcript else None,
        "usable": reading.problem is None,
        "problem": None,
        "speakers": [
            {"label": s.label, "role": s.role, "decided": s.decided, "participant": s.participant or None,
             "turns": s.turns, "words": s.words}
            for s in reading.speakers
        ],
        "outside": None,
        "notes": list(dict.fromkeys([*reading.decisions, *reading.notes])),
    }
    if reading.problem is not None:
        p = reading.problem
        entry["problem"] = {"what": p.what, "where": p.where, "fix": p.fix}
    if transcript is not None and reading.outside:
        start, end = reading.outside[0]
        words = transcript.text[start:end]
        entry["outside"] = {"words": len(words.split()), "start": start, "end": end,
                            "first_line": words.strip().split("\n", 1)[0][:80]}
    if with_turns and transcript is not None:
        entry["turns"] = [
            {"speaker": t.speaker, "role": t.role, "participant": t.participant or None,
             "start": t.start, "end": t.end, "text": transcript.text[t.start:t.end]}
            for t in transcript.turns
        ]
    return entry


def preview_lines(preview: Preview) -> list[str]:
    """The preview as plain lines for the terminal."""
    lines = []
    for f in preview.files:
        if not f["usable"]:
            p = f["problem"]
            at = p["where"] if (p["where"] or "").startswith(f"{f['file']}:") else f["file"]  # with its line
            lines.append(f"{at}: cannot be used: {p['what']}")
            lines.append(f"  How to fix: {p['fix']}")
            lines.append("")
            continue
        convention = f", {f['convention']}" if f["convention"] else ""
        lines.append(f"{f['file']} ({f['format']}{convention}) -> transcript {f['transcript']}")
        width = max(len(s["label"]) for s in f["speakers"])
        for s in f["speakers"]:
            who = s["role"] + (f" {s['participant']}" if s["participant"] and s["role"] == "participant" else "")
            lines.append(f"  {s['label']:<{width}}  {who} ({s['decided']}): "
                         f"{s['turns']} turn{'s' * (s['turns'] != 1)}, {s['words']:,} word{'s' * (s['words'] != 1)}")
        if f["outside"]:
            o = f["outside"]
            lines.append(f"  in no turn: {o['words']} word{'s' * (o['words'] != 1)} before the first turn "
                         f"(\"{o['first_line']}\")")
        for note in f["notes"]:
            lines.append(f"  warning: {note}")
        for n, t in enumerate(f.get("turns", []), 1):
            who = t["speaker"] + (f" [{t['participant']}]" if t["participant"] and t["participant"] != t["speaker"] else "")
            lines.append(f"  {n:>3} {who} ({t['role']}, {t['start']}-{t['end']}): {' '.join(t['text'].split())}")
        lines.append("")
    usable = sum(f["usable"] for f in preview.files)
    unusable = len(preview.files) - usable
    lines.append(f"{len(preview.files)} file{'s' * (len(preview.files) != 1)}: {usable} read"
                 + (f", {unusable} cannot be used (`copcode code` skips {'it' if unusable == 1 else 'them'}"
                    ", or stops with --strict)." if unusable else ".")
                 + (f" {preview.not_read} other file{'s' * (preview.not_read != 1)} or folder"
                    f"{'s' * (preview.not_read != 1)} not read (see the warnings)." if preview.not_read else ""))
    return lines
