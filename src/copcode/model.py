"""The data every stage passes on. Offsets are Python string indices into `Transcript.text`,
end-exclusive, so `text[start:end]` is always the passage, verbatim."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Turn:
    speaker: str
    role: str  # "interviewer" | "participant"
    start: int
    end: int
    # the participant who speaks ("" for an interviewer): the transcript's id when it has one
    # participant, else each speaker's own id ("FG1-P2", or as the header or participants.csv maps it)
    participant: str = ""


@dataclass
class Transcript:
    id: str
    participant: str
    source: str  # path relative to the project
    sha256: str  # of the source file's bytes
    text: str
    turns: list[Turn]
    attributes: dict[str, str] = field(default_factory=dict)
    # the attributes of each of its speakers whose id is not the transcript's (a focus group's)
    speaker_attributes: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def group(self) -> str:
        return self.attributes.get("group", "")

    def attributes_of(self, participant: str) -> dict[str, str]:
        """The attributes of one of its participants: the transcript's own for its id."""
        return self.speaker_attributes.get(participant, self.attributes)


@dataclass(frozen=True)
class Segment:
    id: str
    transcript: str
    turn: int
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]  # absolute offsets of its sentences
