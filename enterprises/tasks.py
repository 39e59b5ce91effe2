from __future__ import annotations

from celery import shared_task

from enterprises.publication import expire_publications


@shared_task
def expire_published_records() -> int:
    """Nightly: records past their maximum publication period stop being shown and counted."""
    return expire_publications()
