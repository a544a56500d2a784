"""`copcode init`: a new project folder with commented settings, a transcripts folder, a small
starter codebook and a participants.csv header. A file that is already there is never
overwritten: it is left alone, and said so."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from copcode.errors import ProjectError

SETTINGS = """\
# copcode settings. Every setting is optional: remove the "# " before one to use it.
# See README, 'Project settings' and 'Transcripts'.

# The folder of transcripts (.txt, .md, .docx, .vtt, .srt).
# transcripts: transcripts

# The codebook to use; without it, the only YAML file in codebooks/.
# codebook: codebooks/starter.yaml

# Participant groups by the first letters of the participant id (E05 is in group E); the
# tables then count each group. None here: replace the {} with your own, e.g.
# groups:
#   E: Expert by experience
#   P: Practitioner / professional
groups: {}

# The interviewer's speaker labels. Without this, copcode takes Interviewer, Q, INT, I, IV,
# Facilitator and Moderator (also numbered: "Interviewer 2"), or else the speaker who asks
# the questions. `copcode transcripts` shows what it decided for each file.
# interviewer_labels: [Interviewer, Dr Sam Lee]

# Files without any speaker labels (field notes, written answers, documents): read each as
# one participant's text, a paragraph a turn. Without this, such a file is not coded and
# `copcode code` says why. One file alone can say it in its header instead.
# speakers: none

# Passages longer than this many words are cut at sentence ends.
# max_segment_words: 120

# Cue suggestions scoring below this are not stored (0 to 1). A learned suggestion's score is
# its model's probability, with a threshold of its own (shown with its evidence).
# min_score: 0.35

# Suggestions also learn from the coders' decisions (README, 'Learning from decisions');
# `learning: false` keeps to the codebook's cues, `learn_from:` names the coders learned from
# (default: every coder).
# learning: true
# learn_from: [coder-a, coder-b]

# Pseudonymised outputs: each listed identifier is replaced in every output; detectors find
# e-mail addresses, phone numbers, postcodes, NHS numbers and dates. On from the start: delete
# this section only for material that identifies nobody. `copcode privacy scan` lists what to
# add. See README, 'Privacy'.
privacy:
  identifiers:
    # "Firstname Surname": "[name]"
    # "Ashford": "[town]"
  detect: [email, phone, postcode, nhs_number, date]
"""

CODEBOOK = """\
# A starter codebook: replace these themes and codes with your own.
# `copcode codebook check` checks it and names the line of every problem.
#
# Each code has an id (lower case, digits and hyphens), a label and a definition; include
# and exclude notes and examples help a coder (and the suggestions). Its cues are what
# copcode looks for in a passage:
#   keywords  words and phrases matched on their lemmas ("learn" finds "learnt", "learning");
#             write {phrase: ..., exact: true} where only the written form will do
#   patterns  spaCy token patterns for looser phrasing, e.g. [{LOWER: read}, {LOWER: about}]
#   exclude   phrases that, when present, veto the code for that passage
name: starter
title: My study
themes:
  - id: experience
    label: Experiences of the service
    aliases: [experience]
    codes:
      - id: positive
        label: What works well
        definition: >
          The participant describes something about the service that helps them or that
          they value.
        include: Praise, gratitude, something that made a difference.
        exclude: Wishes for the future (see barriers).
        examples:
          - "The staff really listened to me."
        cues:
          keywords: [helpful, listen, value, make a difference, support]   # matched on lemmas: "listened" too
      - id: barriers
        label: What gets in the way
        definition: >
          The participant describes something that makes the service hard to use or less
          useful.
        cues:
          keywords: [wait list, no time, hard to get, difficult, barrier]
          exclude: [not difficult]
"""

PARTICIPANTS = "participant,group\n"


@dataclass
class InitResult:
    root: Path
    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # already there: left alone
    next_commands: list[str] = field(default_factory=list)


def init_project(folder: Path, *, given: str | None = None) -> InitResult:
    """Make `folder` a copcode project: copcode.yaml, transcripts/, codebooks/starter.yaml
    (unless codebooks/ already holds a codebook) and participants.csv. Nothing that exists is
    changed. `given` is the folder as the user wrote it, for the next commands."""
    if folder.exists() and not folder.is_dir():
        raise ProjectError("is a file, not a folder", where=str(folder),
                           fix="name a new or existing folder for the project.")
    result = InitResult(folder)
    try:
        for sub in ("", "transcripts", "codebooks"):
            path = folder / sub if sub else folder
            if path.is_dir():
                if sub:
                    result.kept.append(path)
                continue
            if os.path.lexists(path):
                raise ProjectError("is there and is not a folder", where=str(path),
                                   fix="move it away, or run copcode init in another folder.")
            path.mkdir(parents=not sub)
            if sub:
                result.created.append(path)
        codebooks = sorted((folder / "codebooks").glob("*.y*ml"))
        files = [("copcode.yaml", SETTINGS), ("participants.csv", PARTICIPANTS)]
        if not codebooks:
            files.insert(1, ("codebooks/starter.yaml", CODEBOOK))
        else:
            result.kept += codebooks
        for name, text in files:
            path = folder / name
            try:
                with open(path, "x", encoding="utf-8", newline="\n") as handle:  # "x": never overwrite
                    handle.write(text)
                result.created.append(path)
            except FileExistsError:
                result.kept.append(path)
    except PermissionError as exc:
        raise ProjectError(f"cannot be written ({exc.strerror})", where=str(exc.filename or folder),
                           fix="choose a folder you can write to.") from None
    option = "" if given in (None, ".", "./") else f" --project {_quoted(given)}"
    result.next_commands = [f"copcode{option} transcripts", f"copcode{option} codebook check",
                            f"copcode{option} code"]
    return result


def _quoted(text: str) -> str:
    import shlex

    return shlex.quote(text)
