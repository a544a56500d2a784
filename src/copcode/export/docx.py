"""Quote tables as a Word document that reads like a paper's table: a section per theme and
code, each quote in quotation marks followed by its participant's label, "(P03)"."""

from __future__ import annotations

import io

from copcode.safetext import visible


def quotes_docx(frame, codebook, title: str, attributes: list[str] | None = None) -> bytes:
    """The quotes (a tables.Table from `exemplar_quotes`, or a DataFrame) as .docx bytes, a
    heading per theme and per code, the quotes in the order given (the order `copcode quotes`
    prints them). Every text is shown as written, its control characters as
    symbols (XML cannot hold them, and Word would not show them)."""
    import docx
    from docx.shared import Pt

    def text(value) -> str:
        return visible(str(value), keep="")

    document = docx.Document()
    document.core_properties.title = text(title)[:255]  # the most the property holds
    document.add_heading(text(title), level=0)
    rows = frame.to_dict("records")
    for theme in codebook.themes:
        in_theme = [row for row in rows if row["theme"] == theme.id]
        if not in_theme:
            continue
        document.add_heading(text(theme.label), level=1)
        for code in theme.all_codes:
            quotes = [row for row in in_theme if row["code"] == code.id]
            if not quotes:
                continue
            # a code inside a code gets the next heading level (Word has nine)
            document.add_heading(text(code.label), level=min(1 + codebook.depth(code.id), 9))
            for row in quotes:
                if row.get("question"):  # --with question: the question the quote answers, above it
                    document.add_paragraph().add_run(text(" ".join(row["question"].split()))).italic = True
                paragraph = document.add_paragraph()
                paragraph.add_run(f"“{text(' '.join(row['quote'].split()))}”")
                label = ", ".join([row["participant"], *[str(row[a]) for a in attributes or []
                                                         if row.get(a) and a != "question"]])
                paragraph.add_run(f" ({text(label)})").bold = True
                status = paragraph.add_run(f"  [{text(row['status'])}, {text(row['segment'])}]")
                status.font.size = Pt(8)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
