"""Quote tables as a Word document that reads like a paper's table: a section per theme and
code, each quote in quotation marks followed by its participant's label, "(P03)"."""

from __future__ import annotations

import io

from copcode.safetext import visible


def quotes_docx(frame, codebook, title: str, attributes: list[str] | None = None) -> bytes:
    """The quotes as .docx bytes. Every text is shown as written, its control characters as
    symbols (XML cannot hold them, and Word would not show them)."""
    import docx
    from docx.shared import Pt

    def text(value) -> str:
        return visible(str(value), keep="")

    document = docx.Document()
    document.core_properties.title = text(title)[:255]  # the most the property holds
    document.add_heading(text(title), level=0)
    for theme in codebook.themes:
        in_theme = frame[frame["theme"] == theme.id]
        if in_theme.empty:
            continue
        document.add_heading(text(theme.label), level=1)
        for code in theme.codes:
            rows = in_theme[in_theme["code"] == code.id]
            if rows.empty:
                continue
            document.add_heading(text(code.label), level=2)
            for row in rows.to_dict("records"):
                paragraph = document.add_paragraph()
                paragraph.add_run(f"“{text(' '.join(row['quote'].split()))}”")
                label = ", ".join([row["participant"], *[str(row[a]) for a in attributes or [] if row.get(a)]])
                paragraph.add_run(f" ({text(label)})").bold = True
                status = paragraph.add_run(f"  [{text(row['status'])}, {text(row['segment'])}]")
                status.font.size = Pt(8)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
