"""One import of credit records, from a file or an API batch, as a single transaction."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enterprises.importing.records import COLUMNS, REQUIRED, RecordValidator, RowError
from enterprises.importing.sources import Source, Unreadable
from enterprises.importing.writer import RecordWriter
from enterprises.models import ImportBatch, ImportRejection
from enterprises.scoring import records_changed
from xinyidai.core.csvexport import safe_cell
from xinyidai.core.models import User

ERROR_COLUMNS = ["row", "field", "code", "message"]


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    batch_id: int | None = None
    touched_enterprises: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


def check_header(source: Source, *, required: list[str], known: list[str]) -> list[str]:
    """Refuse a file whose header lacks required columns; return warnings for unknown ones."""
    if not source.columns:  # API batches carry no header
        return []
    missing = [c for c in required if c not in source.columns]
    if missing:
        raise Unreadable(
            _("缺少必需的列：%(columns)s（表头为：%(header)s）")
            % {"columns": ", ".join(missing), "header": ", ".join(source.columns)[:300]}
        )
    extra = [c for c in source.columns if c and c not in known]
    return [_("已忽略未知的列：%(columns)s") % {"columns": ", ".join(extra)}] if extra else []


def check_columns(source: Source, *, department_given: bool) -> list[str]:
    required = [c for c in REQUIRED if not (c == "source_department" and department_given)]
    return check_header(source, required=required, known=COLUMNS)


def import_records(
    source: Source,
    *,
    source_department: str = "",
    dry_run: bool = False,
    actor: User | None = None,
    channel: str = "file",
    file_name: str = "",
    progress: Callable[[int], None] | None = None,
    batch_id: int | None = None,
) -> ImportResult:
    """Import `source`. `batch_id` names a batch made at upload time (pages); else one is made."""
    result = ImportResult(warnings=check_columns(source, department_given=bool(source_department)))
    validator = RecordValidator(source_department=source_department)
    writer = RecordWriter()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # one import at a time: concurrent uploads of the same keys would otherwise collide
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('xinyidai-credit-import'))")
        batch = (
            ImportBatch.objects.select_for_update().get(pk=batch_id)
            if batch_id is not None
            else ImportBatch(
                source_department=source_department,
                channel=channel,
                file_name=file_name[:300],
                actor=actor,
                dry_run=dry_run,
            )
        )
        batch.started_at = timezone.now()
        batch.save()
        batch.rejections.all().delete()  # a retried task starts the batch afresh
        departments: list[str] = []  # per error, for the data-quality report
        seen = 0
        for row in source.rows:
            seen += 1
            if progress and seen % 1000 == 0:
                progress(seen)
            department = source_department or row.values.get("source_department", "")[:100]
            if row.problem is not None:
                result.errors.append(RowError(row.number, "", *row.problem))
                departments.append(department)
                result.rejected += 1
                continue
            record, errors = validator.validate(row.number, row.values)
            if record is None:
                result.errors.extend(errors)
                departments.extend([department] * len(errors))
                result.rejected += 1
                continue
            writer.add(record, row.values)
        writer.flush()
        if progress:
            progress(seen)
        result.created, result.updated, result.unchanged = (
            writer.counts.created,
            writer.counts.updated,
            writer.counts.unchanged,
        )
        result.touched_enterprises = writer.touched_enterprises
        if not dry_run:
            records_changed(result.touched_enterprises)
        ImportRejection.objects.bulk_create(
            (
                ImportRejection(
                    batch=batch,
                    source_department=department,
                    row=e.row,
                    field=e.field,
                    code=e.code,
                    message=e.message[:500],
                )
                for e, department in zip(result.errors, departments, strict=True)
            ),
            batch_size=2000,
        )
        for name, value in result.counts().items():
            setattr(batch, name, value)
        batch.finished_at = timezone.now()
        batch.state = "done"
        batch.save()
        result.batch_id = batch.pk
        if dry_run:
            transaction.set_rollback(True)
    return result


def write_errors(errors: list[RowError], stream: IO[str]) -> None:
    """The errors file: row,field,code,message — cells escaped against spreadsheet formulas."""
    writer = csv.writer(stream)
    writer.writerow(ERROR_COLUMNS)
    for e in errors:
        writer.writerow([e.row, safe_cell(e.field), safe_cell(e.code), safe_cell(e.message)])


def result_payload(result: ImportResult) -> dict[str, Any]:
    return {**result.counts(), "errors": [e.as_dict() for e in result.errors]}
