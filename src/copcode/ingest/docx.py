"""Word transcripts: one line of text per paragraph."""

from __future__ import annotations

import io
import zipfile

from copcode.errors import UnreadableFile
from copcode.ingest.zipsafe import UnsafeArchive, check_archive


def read(raw: bytes, source: str, warnings: list[str]) -> tuple[str, dict]:
    import docx

    try:
        # python-docx decompresses every member: check their sizes first (a zip bomb)
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            check_archive(archive, stream=True)
        document = docx.Document(io.BytesIO(raw))
    except UnsafeArchive as exc:
        raise UnreadableFile(f"a Word document too large to open safely: {exc}", where=source,
                             fix="check where it came from; open it in Word or LibreOffice and save it again "
                             "as .docx.") from None
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
