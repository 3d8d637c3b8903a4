"""CSV and XLSX files as sheets of rows. XLSX is read with openpyxl in read-only mode (rows
stream; a 100,000-row workbook never sits in memory as cells). CSV exports from Chinese
systems are often GB18030 rather than UTF-8; both are read."""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

XLSX_MAGIC = b"PK\x03\x04"


class UnreadableFile(ValueError):
    pass


@dataclass
class Sheet:
    name: str
    headers: list[Any]
    rows: Iterator[tuple[int, list[Any]]]  # (row number as the user sees it, cells)
    row_count: int | None = None  # data rows, when known up front


def detect_format(content: bytes, filename: str | None = None, declared: str | None = None) -> str:
    if declared in ("csv", "xlsx"):
        return declared
    if content.startswith(XLSX_MAGIC) or (filename or "").lower().endswith(".xlsx"):
        return "xlsx"
    return "csv"


def read_sheets(content: bytes, fmt: str, name: str = "csv") -> list[Sheet]:
    return _xlsx_sheets(content) if fmt == "xlsx" else [_csv_sheet(content, name)]


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile("the CSV is neither UTF-8 nor GB18030 text")


def _csv_sheet(content: bytes, name: str) -> Sheet:
    text = _decode(content)
    first_line = text.split("\n", 1)[0]
    # The header line decides the delimiter: data cells may hold ";" inside lists.
    delimiter = max((",", ";", "\t"), key=first_line.count)
    _check_parses(text, delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers = next(reader)
    except StopIteration as exc:
        raise UnreadableFile("the file is empty") from exc

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for number, cells in enumerate(reader, start=2):  # row 1 is the header, as in a spreadsheet
            if "".join(cells).strip():  # not a blank row
                yield number, cells

    return Sheet(name=name, headers=headers, rows=rows(), row_count=max(text.count("\n") - 1, 0))


def _check_parses(text: str, delimiter: str) -> None:
    """Refuse, before any row is imported, a CSV the csv module cannot read to the end (a cell
    over its field limit) or with a NUL character (PostgreSQL text cannot hold one); a file
    shorter than the limit without NULs needs no second pass."""
    limit = csv.field_size_limit()
    if "\x00" not in text:
        if len(text) <= limit:
            return
        try:  # the whole file read once in C; a failure is found again below, with its row
            deque(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), maxlen=0)
            return
        except csv.Error:
            pass
    row = 0
    try:
        for row, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            if any("\x00" in cell for cell in cells):
                raise UnreadableFile(f"row {row}: a cell contains a NUL character")
    except csv.Error as exc:
        what = f"a cell is longer than {limit:,} characters" if "field limit" in str(exc) else str(exc)
        raise UnreadableFile(f"row {row + 1}: {what}") from exc


def _xlsx_sheets(content: bytes) -> list[Sheet]:
    from openpyxl import load_workbook  # imported here: only imports need it

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a corrupt zip
        raise UnreadableFile(f"not a readable XLSX workbook: {exc}") from exc
    sheets = []
    for worksheet in workbook.worksheets:
        iterator = worksheet.iter_rows(values_only=True)
        headers: list[Any] | None = None
        header_row = 0
        for number, cells in enumerate(iterator, start=1):
            if any(c is not None and str(c).strip() for c in cells):
                headers, header_row = list(cells), number
                break
        if headers is None:
            continue

        def rows(it: Iterator[Any] = iterator, first: int = header_row + 1) -> Iterator[tuple[int, list[Any]]]:
            for number, cells in enumerate(it, start=first):
                if any(c is not None and str(c).strip() for c in cells):
                    yield number, list(cells)

        known = worksheet.max_row if isinstance(worksheet.max_row, int) else None
        sheets.append(Sheet(name=worksheet.title, headers=headers, rows=rows(),
                            row_count=known - header_row if known else None))
    return sheets
