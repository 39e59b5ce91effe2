from __future__ import annotations

from celery import shared_task

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
