"""Tables as Excel workbooks (openpyxl): one sheet per table, a bold header, wrapped text."""

from __future__ import annotations

import io
from typing import Any

from copcode.safetext import visible

CELL_LIMIT = 32_767  # the most characters an Excel cell holds


def workbook_bytes(sheets: dict[str, Any], warnings: list[str] | None = None) -> bytes:
    """{sheet name: DataFrame} -> .xlsx bytes. Every text cell, the header's too, is stored as
    text, never as a formula, whatever it starts with; control characters are shown as
    symbols (XML cannot hold them). A text longer than a cell holds is cut and ends with
    "… [cut: N characters; see the CSV]"; a line naming the cell is added to `warnings`."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        sheet = book.create_sheet(title=name[:31])
        rows = [[str(c) for c in frame.columns], *frame.itertuples(index=False)]
        for number, values in enumerate(rows, start=1):
            for column, value in enumerate(values, start=1):
                cell = sheet.cell(row=number, column=column)
                cell.value = _value(value)
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # openpyxl would store "=..." as a formula
                    if len(value) > CELL_LIMIT:
                        _cut(cell, value, warnings)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for index, column in enumerate(frame.columns, start=1):
            longest = max([len(str(column))] + [len(str(v)) for v in list(frame[column])[:200]])
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
    if value is None or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, str):  # XML 1.0, so xlsx, cannot hold most control characters
        value = visible(value, keep="\t\n\r")
    return value


def _cut(cell, value: str, warnings: list[str] | None) -> None:
    # openpyxl cuts a long text to the limit without a word: the reader must see it is cut.
    # The decision log (a coder's note) is in no CSV: the store keeps it whole
    log = cell.parent.title == "decisions"
    marker = f"… [cut: {len(value):,} characters; " + ("kept whole in copcode's store]" if log else "see the CSV]")
    cell.value = visible(value[:CELL_LIMIT - len(marker)], keep="\t\n\r") + marker
    cell.data_type = "s"
    if warnings is not None:
        warnings.append(f"sheet {cell.parent.title!r}, cell {cell.coordinate}: a text of {len(value):,} "
                        f"characters is cut to the {CELL_LIMIT:,} an Excel cell holds; "
                        + ("copcode's store keeps it whole." if log else "the CSV export has it whole."))
