"""Text from transcripts, codebooks, sheets and the command line made safe to show: no control
character or direction override reaches a terminal or a document; each is shown instead."""

from __future__ import annotations

from functools import lru_cache

REPLACEMENT = "\ufffd"


def _table() -> dict[int, str]:
    # C0 controls as their Control Pictures (ESC as ␛, BEL as ␇, NUL as ␀), one character for
    # one, so offsets into the text (highlighted evidence) stay true.
    table = {c: chr(0x2400 + c) for c in range(0x20)}
    table[0x7F] = "\u2421"  # ␡
    table[0x0B] = table[0x0C] = " "  # vertical tab and form feed (a PDF's page break) are white space
    for c in range(0x80, 0xA0):  # C1 controls: 0x9b is a CSI on some terminals
        table[c] = REPLACEMENT
    # Explicit direction embeddings, overrides and isolates make text read otherwise than it is
    # stored; right-to-left scripts show correctly without them.
    for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]:
        table[c] = REPLACEMENT
    return table


_UNSAFE = _table()


def visible(text: str, keep: str = "\t\n") -> str:
    """`text` with every control character (C0 but those in `keep`, DEL, C1) and every bidi
    embedding, override or isolate replaced by one visible character: a Control Picture
    (ESC -> ␛) for C0 and DEL, U+FFFD for the others; vertical tab and form feed become a space.
    The result has as many characters as `text`, so it can neither move the cursor, colour,
    retitle or link a terminal, nor break XML (docx, xlsx)."""
    return text.translate(_table_keeping(keep))


@lru_cache(maxsize=8)
def _table_keeping(keep: str) -> dict[int, str]:
    return {c: r for c, r in _UNSAFE.items() if chr(c) not in keep}
