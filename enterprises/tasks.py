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
