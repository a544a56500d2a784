"""Tables as Excel workbooks (openpyxl): one sheet per table, a bold header, wrapped text."""

from __future__ import annotations

import io

def workbook_bytes(sheets: dict[str, object]) -> bytes:
    """{sheet name: DataFrame} -> .xlsx bytes. Every text cell is stored as text, never as a
    formula, whatever it starts with."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        sheet = book.create_sheet(title=name[:31])
        sheet.append([str(c) for c in frame.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False):
            sheet.append([_value(v) for v in row])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # openpyxl would store "=..." as a formula
        for index, column in enumerate(frame.columns, start=1):
            longest = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200)])
            letter = sheet.cell(row=1, column=index).column_letter
            sheet.column_dimensions[letter].width = min(80, max(8, longest + 2))
            if longest > 80:
                for cell in sheet[letter][1:]:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _value(value):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, str):  # control characters (a form feed from a PDF) are not allowed in xlsx
        value = ILLEGAL_CHARACTERS_RE.sub(" ", value)
    return value
