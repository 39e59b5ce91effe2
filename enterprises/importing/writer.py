"""Upsert clean credit records in chunks: insert new keys, update changed ones, count the rest.

PostgreSQL: COPY into a temporary table and one INSERT … ON CONFLICT per chunk. SQLite: look up
the chunk's keys, then executemany. Both run inside the caller's transaction, so an import is all
or nothing.
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
from enterprises.records import STORED_COLUMNS, record_content_hash

TABLE = CreditRecord._meta.db_table
INSERT_COLUMNS = list(STORED_COLUMNS)
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
        self._temp_ready = False

    def add(self, record: dict[str, Any], raw: dict[str, str]) -> None:
        record["raw"] = raw
        self.pending.append(record)
        if len(self.pending) >= self.chunk_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        chunk, self.pending = self.pending, []
        if self.postgres:
            self._flush_postgres(chunk)
        else:
            self._flush_generic(chunk)

    def _prepare(self, record: dict[str, Any], now: Any) -> dict[str, Any]:
        raw = record.pop("raw")
        minimum, maximum = publication_window(
            record["record_type"],
            record["penalty_class"],
            record["decision_date"],
            record["valid_until"],
        )
        return {
            **record,
            "publish_min_until": minimum,
            "publish_max_until": maximum,
            "status": RecordStatus.EXPIRED
            if maximum is not None and maximum < self.today
            else RecordStatus.ACTIVE,
            "raw": json.dumps(raw, ensure_ascii=False),
            "content_hash": record_content_hash(record),
            "created_at": now,
            "updated_at": now,
        }

    def _flush_postgres(self, chunk: list[dict[str, Any]]) -> None:
        """COPY into a bare temporary table, then one INSERT … ON CONFLICT that inserts new keys,
        updates changed ones and skips identical ones, resolving enterprises by USCC in SQL."""
        now = timezone.now()
        columns = [c for c in INSERT_COLUMNS if c != "enterprise_id"]
        names = ", ".join(columns)
        with connection.cursor() as cursor:
            if not self._temp_ready:
                # a second import inside one outer transaction finds the table still there
                cursor.execute("DROP TABLE IF EXISTS pg_temp.import_chunk")
                cursor.execute(
                    f"CREATE TEMP TABLE import_chunk ON COMMIT DROP AS "  # noqa: S608
                    f"SELECT {names} FROM {TABLE} WITH NO DATA"
                )
                self._temp_ready = True
            else:
                cursor.execute("TRUNCATE import_chunk")
            with cursor.cursor.copy(f"COPY import_chunk ({names}) FROM STDIN") as copy:
                for record in chunk:
                    row = self._prepare(record, now)
                    copy.write_row([row[c] for c in columns])
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in UPDATE_COLUMNS)
            cursor.execute(
                f"INSERT INTO {TABLE} (enterprise_id, {names}) "  # noqa: S608
                f"SELECT e.id, {', '.join('c.' + c for c in columns)} FROM import_chunk c "
                f"LEFT JOIN {Enterprise._meta.db_table} e ON e.uscc = c.uscc "
                "ON CONFLICT (source_department, source_record_id) DO UPDATE SET "
                f"{updates}, status = CASE WHEN {TABLE}.status IN ('active', 'expired') "
                f"THEN EXCLUDED.status ELSE {TABLE}.status END "
                f"WHERE {TABLE}.content_hash <> EXCLUDED.content_hash "
                "RETURNING (xmax = 0), enterprise_id"
            )
            written = cursor.fetchall()
        created = sum(1 for inserted, _ in written if inserted)
        self.counts.created += created
        self.counts.updated += len(written) - created
        self.counts.unchanged += len(chunk) - len(written)
        self.touched_enterprises.update(pk for _, pk in written if pk is not None)

    def _flush_generic(self, chunk: list[dict[str, Any]]) -> None:
        existing = self._existing(chunk)
        enterprise_ids = dict(
            Enterprise.objects.filter(uscc__in={r["uscc"] for r in chunk}).values_list("uscc", "id")
        )
        # SQLite keeps naive UTC text, as Django itself writes it
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        for record in chunk:
            row = self._prepare(record, now)
            found = existing.get((row["source_department"], row["source_record_id"]))
            if found is not None and found[1] == row["content_hash"]:
                self.counts.unchanged += 1
                continue
            row["enterprise_id"] = enterprise_ids.get(row["uscc"])
            if row["enterprise_id"] is not None:
                self.touched_enterprises.add(row["enterprise_id"])
            if found is None:
                inserts.append(tuple(row[c] for c in INSERT_COLUMNS))
                self.counts.created += 1
            else:
                updates.append((*(row[c] for c in UPDATE_COLUMNS), row["status"], found[0]))
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
        marks = ", ".join(["%s"] * len(INSERT_COLUMNS))
        with connection.cursor() as cursor:
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
