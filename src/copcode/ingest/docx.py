"""Word transcripts: one line of text per paragraph."""

from __future__ import annotations

import io

from copcode.errors import UnreadableFile


def read(raw: bytes, source: str, warnings: list[str]) -> tuple[str, dict]:
    import docx

    try:
        document = docx.Document(io.BytesIO(raw))
    except KeyError:
        raise UnreadableFile("a zip archive without a Word document inside, not a .docx", where=source,
                             fix="check that it is the transcript, or save the transcript again as .docx.") from None
    except Exception as exc:  # python-docx raises many kinds (BadZipFile, XMLSyntaxError, ...)
        raise UnreadableFile(
            f"not a readable Word document ({type(exc).__name__})",
            where=source,
            fix="open it in Word or LibreOffice and save it again as .docx.",
        ) from None
    return "\n".join(paragraph.text for paragraph in document.paragraphs), {}
