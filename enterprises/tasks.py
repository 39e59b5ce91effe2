from __future__ import annotations

from pathlib import Path

from celery import Task, shared_task
from django.utils import timezone

from enterprises.publication import expire_publications


@shared_task
def expire_published_records() -> int:
    """Nightly: records past their maximum publication period stop being shown and counted."""
    return expire_publications()


@shared_task(bind=True, max_retries=2, default_retry_delay=60)
def import_credit_file(self: Task, *, batch_id: int, path: str) -> dict[str, int | str]:
    """Import an uploaded file into the batch made at upload time. Safe to retry: the import is
    one transaction of upserts and starts the batch afresh."""
    from enterprises.importing.run import import_records
    from enterprises.importing.sources import Unreadable, open_source
    from enterprises.models import ImportBatch

    batch = ImportBatch.objects.get(pk=batch_id)
    try:
        result = import_records(
            open_source(Path(path)),
            source_department=batch.source_department,
            actor=batch.actor,
            channel="file",
            file_name=batch.file_name,
            batch_id=batch.pk,
        )
    except Unreadable as exc:
        ImportBatch.objects.filter(pk=batch_id).update(
            state="failed", error=str(exc)[:500], finished_at=timezone.now()
        )
        Path(path).unlink(missing_ok=True)
        return {"error": str(exc)}
    Path(path).unlink(missing_ok=True)
    return {**result.counts()}


@shared_task(bind=True, max_retries=2, default_retry_delay=300)
def regrade_enterprises(
    self: Task, enterprise_ids: list[int] | None = None, *, skip_unchanged: bool = False
) -> dict[str, object]:
    """Regrade the given enterprises (None = all) with the active scheme. Safe to run twice:
    a regrade is one transaction, and with `skip_unchanged` a repeat writes nothing."""
    from django.db import OperationalError

    from enterprises.scoring import run_regrade

    try:
        stats = run_regrade(enterprise_ids, skip_unchanged=skip_unchanged)
    except OperationalError as exc:  # lost connection, lock timeout: try again later
        raise self.retry(exc=exc) from exc
    return {
        "scheme_version": stats.scheme_version,
        "graded": stats.graded,
        "written": stats.written,
        "unchanged": stats.unchanged,
        "grades": stats.grades,
    }


@shared_task
def expire_authorizations() -> int:
    """Nightly: authorisations past their end are marked expired (reads stop at the end
    instant anyway); the expiry goes into the history and the ledger."""
    from enterprises.authorization import authorizations_expire

    return authorizations_expire()


@shared_task
def send_authorization_expiry_notices() -> int:
    """Daily: the enterprise hears about an authorisation 30 days before it ends (once)."""
    from enterprises.notices import send_expiry_notices

    return send_expiry_notices()
