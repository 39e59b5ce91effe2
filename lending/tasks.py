from __future__ import annotations

from celery import Task, shared_task

from lending import sla


@shared_task
def sla_sweep() -> dict[str, int]:
    """Every few minutes: escalate newly late applications to the credit office, put unclaimed
    demands back in the pool, recount weekend-only deadlines. Safe to run twice."""
    result = sla.sweep()
    return {
        "recomputed": result.recomputed,
        "escalated": result.escalated,
        "returned_to_pool": result.returned_to_pool,
    }


@shared_task
def expire_invitations() -> int:
    """Nightly: pending invitations to apply past their end are marked expired."""
    from lending.invitations import expire

    return expire()


@shared_task(bind=True, max_retries=2, default_retry_delay=60)
def refresh_match_profiles(self: Task, enterprise_ids: list[int] | None = None) -> int:
    """Bring matching profiles up to date: the given enterprises after a regrade, a `matching`
    authorisation or a financing demand changed; every enterprise nightly (None). Idempotent:
    only changed rows are written."""
    from django.db import OperationalError

    from lending.matching import refresh_profiles

    try:
        return refresh_profiles(enterprise_ids)
    except OperationalError as exc:  # lost connection, lock timeout: try again later
        raise self.retry(exc=exc) from exc


@shared_task
def push_national(list_id: int | None = None) -> dict[str, int]:
    """Send the due chunks of approved recommended lists to the national platform (beat on
    NATIONAL_PLATFORM_PUSH_CRON; queued by approval, "push now" and "re-push"). Safe to run
    twice, and in several workers at once: chunks are claimed with SKIP LOCKED under a lease."""
    from lending import push

    return push.push_due(list_id=list_id).as_dict()
