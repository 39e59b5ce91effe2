"""Upsert clean credit records in chunks: insert new keys, update changed ones, count the rest.

PostgreSQL gets new rows through COPY; SQLite through executemany. Both run inside the caller's
transaction, so an import is all or nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from enterprises.models import CreditRecord, Enterprise, RecordStatus
from enterprises.publication import publication_window
from enterprises.records import record_content_hash

TABLE = CreditRecord._meta.db_table
INSERT_COLUMNS = [
    "enterprise_id",
    "uscc",
    "enterprise_name",
    "record_type",
    "source_department",
    "source_record_id",
    "document_number",
    "decision_date",
    "penalty_class",
    "amount",
    "value",
    "year",
    "months_paid",
    "months_arrears",
    "fulfilment",
    "valid_until",
    "content",
    "publish_min_until",
    "publish_max_until",
    "status",
    "raw",
    "content_hash",
    "created_at",
    "updated_at",
]
# On update the creation time stays; status is recomputed only while the record is merely
# active or expired (a repaired record or one under objection keeps its state).
_KEPT = ("source_department", "source_record_id", "created_at", "status")
UPDATE_COLUMNS = [c for c in INSERT_COLUMNS if c not in _KEPT]


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


class RecordWriter:
    def __init__(self, *, chunk_size: int = 5000, today: date | None = None):
        self.chunk_size = chunk_size
        self.today = today or timezone.localdate()
        self.pending: list[dict[str, Any]] = []
        self.counts = Counts()
        self.touched_enterprises: set[int] = set()
        self.postgres = connection.vendor == "postgresql"

    def add(self, record: dict[str, Any], raw: dict[str, str]) -> None:
        record["raw"] = raw
        self.pending.append(record)
        if len(self.pending) >= self.chunk_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        chunk, self.pending = self.pending, []
        existing = self._existing(chunk)
        enterprise_ids = dict(
            Enterprise.objects.filter(uscc__in={r["uscc"] for r in chunk}).values_list("uscc", "id")
        )
        now: Any = timezone.now()
        if not self.postgres:  # SQLite keeps naive UTC text, as Django itself writes it
            now = connection.ops.adapt_datetimefield_value(now)
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        for record in chunk:
            raw = record.pop("raw")
            content_hash = record_content_hash(record)
            key = (record["source_department"], record["source_record_id"])
            found = existing.get(key)
            if found is not None and found[1] == content_hash:
                self.counts.unchanged += 1
                continue
            minimum, maximum = publication_window(
                record["record_type"],
                record["penalty_class"],
                record["decision_date"],
                record["valid_until"],
            )
            status = (
                RecordStatus.EXPIRED
                if maximum is not None and maximum < self.today
                else RecordStatus.ACTIVE
            )
            enterprise_id = enterprise_ids.get(record["uscc"])
            if enterprise_id is not None:
                self.touched_enterprises.add(enterprise_id)
            row = {
                **record,
                "enterprise_id": enterprise_id,
                "publish_min_until": minimum,
                "publish_max_until": maximum,
                "status": status,
                "raw": json.dumps(raw, ensure_ascii=False),
                "content_hash": content_hash,
                "created_at": now,
                "updated_at": now,
            }
            if found is None:
                inserts.append(tuple(row[c] for c in INSERT_COLUMNS))
                self.counts.created += 1
            else:
                updates.append((*(row[c] for c in UPDATE_COLUMNS), status, found[0]))
                self.counts.updated += 1
        self._insert(inserts)
        self._update(updates)

    def _existing(self, chunk: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, str]]:
        by_department: dict[str, list[str]] = defaultdict(list)
        for record in chunk:
            by_department[record["source_department"]].append(record["source_record_id"])
        found: dict[tuple[str, str], tuple[int, str]] = {}
        for department, ids in by_department.items():
            for start in range(0, len(ids), 900):  # SQLite's variable limit
                rows = CreditRecord.objects.filter(
                    source_department=department, source_record_id__in=ids[start : start + 900]
                ).values_list("source_record_id", "id", "content_hash")
                for source_id, pk, content_hash in rows:
                    found[(department, source_id)] = (pk, content_hash)
        return found

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        columns = ", ".join(INSERT_COLUMNS)
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(f"COPY {TABLE} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(INSERT_COLUMNS))
                cursor.executemany(
                    f"INSERT INTO {TABLE} ({columns}) VALUES ({marks})",  # noqa: S608
                    rows,
                )

    def _update(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        assignments = ", ".join(f"{c} = %s" for c in UPDATE_COLUMNS)
        sql = (
            f"UPDATE {TABLE} SET {assignments}, "  # noqa: S608
            "status = CASE WHEN status IN ('active', 'expired') THEN %s ELSE status END "
            "WHERE id = %s"
        )
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def link_orphan_records(usccs: list[str] | None = None) -> int:
    """Attach records that arrived before their enterprise was registered."""
    orphans = CreditRecord.objects.filter(enterprise__isnull=True)
    if usccs is not None:
        orphans = orphans.filter(uscc__in=usccs)
    return orphans.update(
        enterprise=Subquery(Enterprise.objects.filter(uscc=OuterRef("uscc")).values("id")[:1])
    )
