"""A recommended list's entries as CSV, XLSX and JSON: the same columns in the same order in
all three (add columns at the end, never rename). Rows are read in chunks, never all at once."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse

from enterprises import reference
from lending import lists
from lending.models import RecommendationEntry, RecommendationList
from xinyidai.core.csvexport import csv_response, local_iso, safe_cell

HEADER = [
    "list_number",
    "seq",
    "uscc",
    "name",
    "town",
    "town_name",
    "industry_section",
    "industry_name",
    "grade",
    "score",
    "established",
    "need",
    "opt_in",
    "reasons",
    "removed",
    "removed_reason",
    "bank",
    "feedback",
    "contacted_at",
    "granted_amount",
    "decline_reason",
    "feedback_note",
]
FORMATS = ("csv", "xlsx", "json")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def records(qs: QuerySet[RecommendationEntry]) -> Iterator[dict[str, Any]]:
    """One dict per entry with the HEADER's keys (typed: numbers stay numbers)."""
    snapshots: dict[int, dict[str, Any]] = {}
    for e in qs.select_related("list", "bank").order_by("list_id", "seq").iterator(2000):
        snapshot = snapshots.setdefault(e.list_id, e.list.criteria_snapshot)
        yield {
            "list_number": e.list.number,
            "seq": e.seq,
            "uscc": e.uscc,
            "name": e.name,
            "town": e.town,
            "town_name": reference.TOWN_NAMES.get(e.town, ""),
            "industry_section": e.industry_section,
            "industry_name": reference.INDUSTRY_SECTIONS.get(e.industry_section, ""),
            "grade": e.grade,
            "score": e.score,
            "established": e.established.isoformat() if e.established else "",
            "need": e.need,
            "opt_in": e.opt_in,
            "reasons": lists.reasons(e, snapshot),
            "removed": e.removed,
            "removed_reason": e.removed_reason,
            "bank": e.bank.name if e.bank else "",
            "feedback": e.feedback,
            "contacted_at": local_iso(e.contacted_at),
            "granted_amount": e.granted_amount,
            "decline_reason": e.decline_reason,
            "feedback_note": e.feedback_note,
        }


def _reasons_text(reasons: list[dict[str, str]]) -> str:
    return "；".join(f"{r['label']}：{r['text']}" for r in reasons)


def _flat(record: dict[str, Any]) -> list[Any]:
    row = []
    for name in HEADER:
        value = record[name]
        if name == "reasons":
            value = _reasons_text(value)
        elif name == "removed":
            value = int(value)
        elif value is None:
            value = ""
        row.append(value)
    return row


def csv_export(filename: str, qs: QuerySet[RecommendationEntry]) -> StreamingHttpResponse:
    return csv_response(f"{filename}.csv", HEADER, (_flat(r) for r in records(qs)))


def xlsx_export(filename: str, qs: QuerySet[RecommendationEntry]) -> HttpResponse:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("entries")
    sheet.append(HEADER)
    for record in records(qs):
        row = _flat(record)
        # amounts as numbers a spreadsheet can sum; text escaped like the CSV
        sheet.append(
            [
                float(v)
                if isinstance(v, Decimal)
                else v
                if isinstance(v, int | float)
                else safe_cell(v)
                for v in row
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


def _json_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def json_export(
    filename: str, qs: QuerySet[RecommendationEntry], reclist: RecommendationList | None
) -> StreamingHttpResponse:
    """`{"list": {…, "criteria", "delivery"}, "entries": [...]}` (list is null for a bank's
    export across lists), streamed."""
    head: dict[str, Any] | None = None
    if reclist is not None:
        state = lists.delivery_state(reclist)
        head = {
            "number": reclist.number,
            "title": reclist.title,
            "status": reclist.status,
            "period": {
                "from": reclist.period_start.isoformat(),
                "to": reclist.period_end.isoformat(),
            },
            "approved_at": local_iso(reclist.approved_at) or None,
            "criteria": reclist.criteria_snapshot,
            "delivery": {"state": state.code, "chunks": state.total, "by_status": state.by_status},
        }

    def stream() -> Iterator[str]:
        yield '{"list": ' + json.dumps(head, ensure_ascii=False) + ', "entries": ['
        for n, record in enumerate(records(qs)):
            item = {k: _json_value(v) for k, v in record.items()}
            yield ("," if n else "") + json.dumps(item, ensure_ascii=False)
        yield "]}"

    response = StreamingHttpResponse(stream(), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.json"'
    return response


def export(
    kind: str,
    filename: str,
    qs: QuerySet[RecommendationEntry],
    reclist: RecommendationList | None = None,
) -> HttpResponse | StreamingHttpResponse:
    if kind == "xlsx":
        return xlsx_export(filename, qs)
    if kind == "json":
        return json_export(filename, qs, reclist)
    return csv_export(filename, qs)
