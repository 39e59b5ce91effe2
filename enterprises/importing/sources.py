"""Turn a CSV (UTF-8 with or without BOM, or GB18030), XLSX or JSON Lines file into rows."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _

# A department once sent a 50 MB cell; let csv read it so the row gets a proper error.
csv.field_size_limit(256 * 1024 * 1024)
SNIFF_BYTES = 1024 * 1024


class Unreadable(Exception):
    """The file as a whole cannot be imported; nothing is written."""


@dataclass
class Row:
    number: int  # 1-based data row number as people count them (header is row 0)
    values: dict[str, str]
    problem: tuple[str, str] | None = None  # (code, message) when the row itself is broken


@dataclass
class Source:
    columns: list[str]
    rows: Iterator[Row]
    encoding: str = ""
    extra_columns: list[str] = field(default_factory=list)
    # share of the input consumed so far (0..1), for a progress bar; None when unknown
    done: Callable[[], float] | None = None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(Decimal(repr(value)).normalize()) if not value.is_integer() else str(int(value))
    return str(value).strip()


def _normalise_header(names: list[str]) -> list[str]:
    return [(n or "").strip().lstrip("\ufeff").strip().lower() for n in names]


def detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the sample is still UTF-8
        if exc.start >= len(head) - 3:
            return "utf-8"
    try:
        head.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise Unreadable(_("无法识别文件编码：请使用 UTF-8 或 GB18030")) from exc
    return "gb18030"


def open_csv(stream: IO[bytes]) -> Source:
    head = stream.read(SNIFF_BYTES)
    if not head.strip(b"\xef\xbb\xbf \r\n\t"):
        raise Unreadable(_("文件为空"))
    if b"\x00" in head[:4096]:
        raise Unreadable(_("文件不是文本格式（含二进制内容）"))
    encoding = detect_encoding(head)
    text = io.TextIOWrapper(
        io.BufferedReader(_Prefixed(head, stream)), encoding=encoding, errors="replace", newline=""
    )
    reader = csv.reader(text)
    try:
        header = next(reader)
    except (csv.Error, StopIteration) as exc:
        raise Unreadable(_("无法读取表头")) from exc
    columns = _normalise_header(header)

    def rows() -> Iterator[Row]:
        number = 0
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                yield Row(
                    number, {}, ("malformed_row", _("本行格式错误：%(error)s") % {"error": exc})
                )
                continue
            number += 1
            if not any(v.strip() for v in values):
                continue  # blank line
            row = Row(number, dict(zip(columns, (v.strip() for v in values), strict=False)))
            if len(values) != len(columns):
                row.problem = (
                    "column_count",
                    _("本行有 %(found)d 列，表头有 %(expected)d 列（文件可能被截断或多出分隔符）")
                    % {"found": len(values), "expected": len(columns)},
                )
            elif any("\ufffd" in v for v in values):
                row.problem = ("encoding", _("本行含有无法识别的字符（编码错误）"))
            yield row

    return Source(columns, rows(), encoding=encoding)


class _Prefixed(io.RawIOBase):
    """A byte stream that replays the sniffed head before the rest of the file."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head.nbytes:
            n = min(len(buffer), self._head.nbytes)
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_xlsx(path: Path) -> Source:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise Unreadable(_("无法打开 Excel 文件（文件损坏或不完整）")) from exc
    sheet = workbook.worksheets[0]
    iterator = sheet.iter_rows(values_only=True)
    try:
        header = next(iterator)
    except StopIteration as exc:
        raise Unreadable(_("文件为空")) from exc
    columns = _normalise_header([_cell(v) for v in header])
    while columns and not columns[-1]:
        columns.pop()
    total = max((sheet.max_row or 1) - 1, 1)
    seen = [0]

    def rows() -> Iterator[Row]:
        for number, values in enumerate(iterator, start=1):
            seen[0] = number
            cells = [_cell(v) for v in values]
            if not any(cells):
                continue
            extra = [c for c in cells[len(columns) :] if c]
            row = Row(number, dict(zip(columns, cells, strict=False)))
            if extra:
                row.problem = (
                    "column_count",
                    _("本行有 %(found)d 列，表头有 %(expected)d 列（文件可能被截断或多出分隔符）")
                    % {"found": len(columns) + len(extra), "expected": len(columns)},
                )
            yield row
        workbook.close()

    return Source(columns, rows(), encoding="xlsx", done=lambda: min(seen[0] / total, 1.0))


def open_jsonl(stream: IO[bytes]) -> Source:
    head = stream.read(SNIFF_BYTES)
    if not head.strip(b"\xef\xbb\xbf \r\n\t"):
        raise Unreadable(_("文件为空"))
    encoding = detect_encoding(head)
    text = io.TextIOWrapper(
        io.BufferedReader(_Prefixed(head, stream)), encoding=encoding, errors="replace"
    )
    lines = (line for line in text)
    first: dict[str, Any] | None = None
    first_number = 0
    for first_number, line in enumerate(lines, start=1):  # noqa: B007
        if line.strip():
            try:
                parsed = json.loads(line)
            except json.JSONDecodeError as exc:
                raise Unreadable(_("第 1 行不是有效的 JSON 对象")) from exc
            if not isinstance(parsed, dict):
                raise Unreadable(_("第 1 行不是有效的 JSON 对象"))
            first = parsed
            break
    if first is None:
        raise Unreadable(_("文件为空"))
    columns = _normalise_header(list(first))

    def to_row(number: int, obj: dict[str, Any]) -> Row:
        return Row(number, {k.strip().lower(): _cell(v) for k, v in obj.items()})

    def rows() -> Iterator[Row]:
        assert first is not None
        yield to_row(first_number, first)
        for number, line in enumerate(lines, start=first_number + 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                yield Row(number, {}, ("malformed_row", _("本行不是有效的 JSON（文件可能被截断）")))
                continue
            if not isinstance(obj, dict):
                yield Row(number, {}, ("malformed_row", _("本行不是 JSON 对象")))
                continue
            yield to_row(number, obj)

    return Source(columns, rows(), encoding=encoding)


def open_source(path: Path) -> Source:
    if not path.exists() or not path.is_file():
        raise Unreadable(_("文件不存在：%(path)s") % {"path": path})
    suffix = path.suffix.lower()
    with path.open("rb") as probe:
        magic = probe.read(4)
    if suffix in (".xlsx", ".xlsm") or magic == b"PK\x03\x04":
        return open_xlsx(path)
    stream = path.open("rb")
    source = open_jsonl(stream) if suffix in (".jsonl", ".ndjson", ".json") else open_csv(stream)
    size = max(path.stat().st_size, 1)
    source.done = lambda: min(stream.tell() / size, 1.0)
    return source


def rows_from_dicts(records: list[Any]) -> Source:
    """Rows of an API batch: a list of JSON objects, numbered from 1."""
    columns: list[str] = []

    def rows() -> Iterator[Row]:
        for number, obj in enumerate(records, start=1):
            if not isinstance(obj, dict):
                yield Row(number, {}, ("malformed_row", _("记录不是 JSON 对象")))
                continue
            yield Row(number, {str(k).strip().lower(): _cell(v) for k, v in obj.items()})

    return Source(columns, rows(), encoding="json")
