"""The push of approved recommended lists to the national platform: a durable outbox.

Approving a list writes one `NationalDelivery` per chunk in the same transaction, so an approved
list always has its push and a crash loses nothing. Senders (the beat job on
`NATIONAL_PLATFORM_PUSH_CRON`, and a task queued by approval and by "push now") claim due chunks
with `SELECT … FOR UPDATE SKIP LOCKED` and a lease (`sending_until`): two workers never send the
same chunk at once, and a chunk whose worker died is picked again once its lease runs out. The
receiver stores an idempotency key once, so such a resend is harmless.

Answers: 2xx → delivered (receipt kept); 409 → delivered (the platform already has it);
408, 425, 429, 5xx, a timeout, a refused or broken connection → retried after
min(cap, base·2^(n-1))·(1 ± jitter) while within NATIONAL_PLATFORM_GIVE_UP_HOURS of approval
(or of the last manual re-push), then given up and the credit office told; any other 4xx is a
request the platform will never take (bad signature, malformed): given up at once."""

from __future__ import annotations

import http.client
import json
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from enterprises import reference
from lending import national
from lending.models import (
    DeliveryStatus,
    NationalDelivery,
    RecommendationEntry,
    RecommendationList,
)

D = DeliveryStatus
RETRY_STATUSES = frozenset({408, 425, 429})
ROW_FIELDS = (
    "seq",
    "uscc",
    "name",
    "town",
    "industry_section",
    "grade",
    "score",
    "established",
    "need",
    "opt_in",
)


# ---------------------------------------------------------------------------------------------
# Transport (HTTP POST; tests put another one in its place)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class TransportError(Exception):
    """No answer at all: connection refused, timed out, reset."""


Transport = Callable[[str, bytes, dict[str, str], float], Answer]


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST without proxies and without following redirects (a redirected POST would lose its
    body); `timeout` bounds the connection and every read."""
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = connection_class(parts.hostname or "", parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return Answer(response.status, response.read())
    except (OSError, http.client.HTTPException) as exc:
        raise TransportError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# The outbox
# ---------------------------------------------------------------------------------------------
def idempotency_key(reclist: RecommendationList, chunk: int) -> str:
    return f"{reclist.number}-{chunk:05d}"


def create_deliveries(reclist: RecommendationList, seqs: list[int], *, now: datetime) -> int:
    """One outbox row per chunk of `seqs` (the listed entries' numbers, ascending); called in the
    transaction that approves the list."""
    size = max(1, settings.NATIONAL_PLATFORM_CHUNK_SIZE)
    parts = [seqs[i : i + size] for i in range(0, len(seqs), size)]
    NationalDelivery.objects.bulk_create(
        NationalDelivery(
            list=reclist,
            chunk=n,
            chunks=len(parts),
            idempotency_key=idempotency_key(reclist, n),
            seq_from=part[0],
            seq_to=part[-1],
            rows=len(part),
            next_attempt_at=now,
            window_started_at=now,
            created_at=now,
        )
        for n, part in enumerate(parts, start=1)
    )
    return len(parts)


def queue_push(list_id: int | None = None) -> None:
    """Run a sender after the commit (the beat job would find the chunks anyway)."""
    from lending import tasks

    transaction.on_commit(lambda: tasks.push_national.delay(list_id=list_id))


def body_of(delivery: NationalDelivery) -> bytes:
    """The chunk's JSON, byte for byte the same on every attempt: the list's header, the
    criteria it was generated with, and its rows."""
    reclist = delivery.list
    rows = []
    for row in (
        RecommendationEntry.objects.filter(
            list_id=reclist.pk,
            removed=False,
            seq__gte=delivery.seq_from,
            seq__lte=delivery.seq_to,
        )
        .order_by("seq")
        .values_list(*ROW_FIELDS)
    ):
        item = dict(zip(ROW_FIELDS, row, strict=True))
        item["established"] = item["established"].isoformat() if item["established"] else None
        item["town_name"] = reference.TOWN_NAMES.get(item["town"], "")
        item["industry_name"] = reference.INDUSTRY_SECTIONS.get(item["industry_section"], "")
        rows.append(item)
    return national.canonical_json(
        {
            "list": {
                "number": reclist.number,
                "title": reclist.title,
                "region_code": reference.DONGGUAN_REGION_CODE,
                "period": {
                    "from": reclist.period_start.isoformat(),
                    "to": reclist.period_end.isoformat(),
                },
                "approved_at": reclist.approved_at.isoformat() if reclist.approved_at else None,
                "criteria": {k: v for k, v in reclist.criteria_snapshot.items() if k != "as_of"},
            },
            "chunk": delivery.chunk,
            "chunks": delivery.chunks,
            "rows": rows,
        }
    )


def retry_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before the next try after `attempts` failed ones: min(cap, base·2^(n-1)),
    spread by ±jitter so that many chunks failing together do not come back together."""
    base = settings.NATIONAL_PLATFORM_RETRY_BASE_SECONDS
    cap = settings.NATIONAL_PLATFORM_RETRY_CAP_SECONDS
    jitter = settings.NATIONAL_PLATFORM_RETRY_JITTER
    plain = min(cap, base * 2 ** max(0, attempts - 1))
    return float(plain * (1 + jitter * (rng or random).uniform(-1.0, 1.0)))


def give_up_at(delivery: NationalDelivery) -> datetime:
    return delivery.window_started_at + timedelta(hours=settings.NATIONAL_PLATFORM_GIVE_UP_HOURS)


def _due_q(now: datetime) -> Q:
    return Q(status=D.PENDING, next_attempt_at__lte=now) | Q(
        status=D.SENDING, sending_until__lte=now
    )


def claim(*, list_id: int | None = None) -> tuple[NationalDelivery, str] | None:
    """Take the next due chunk (pending and due, or sending with its lease run out) under a new
    lease; other senders skip the locked row instead of waiting for it."""
    now = timezone.now()
    lease = timedelta(seconds=settings.NATIONAL_PLATFORM_LEASE_SECONDS)
    with transaction.atomic():
        qs = NationalDelivery.objects.select_for_update(skip_locked=True).filter(_due_q(now))
        if list_id is not None:
            qs = qs.filter(list_id=list_id)
        delivery = qs.order_by("next_attempt_at", "id").first()
        if delivery is None:
            return None
        token = secrets.token_hex(8)
        delivery.status = D.SENDING
        delivery.lease_token = token
        delivery.sending_until = delivery.next_attempt_at = now + lease
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.save(
            update_fields=[
                "status",
                "lease_token",
                "sending_until",
                "next_attempt_at",
                "attempts",
                "last_attempt_at",
            ]
        )
    return delivery, token


@dataclass(frozen=True)
class Outcome:
    kind: str  # delivered, retry, permanent
    status_code: int | None = None
    error: str = ""
    receipt: dict[str, Any] | None = None


def _receipt(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return {"raw": body[:500].decode("utf-8", "replace")}
    return data if isinstance(data, dict) else {"raw": data}


def send(
    delivery: NationalDelivery, *, transport: Transport | None = None, body: bytes | None = None
) -> Outcome:
    """One signed POST of one chunk; what it means for the chunk."""
    body = body if body is not None else body_of(delivery)
    headers = national.signed_headers(body, key=delivery.idempotency_key)
    try:
        answer = (transport or http_post)(
            settings.NATIONAL_PLATFORM_URL,
            body,
            headers,
            settings.NATIONAL_PLATFORM_TIMEOUT_SECONDS,
        )
    except TransportError as exc:
        return Outcome("retry", error=str(exc)[:500])
    if 200 <= answer.status < 300 or answer.status == 409:
        return Outcome("delivered", answer.status, receipt=_receipt(answer.body))
    text = answer.body[:300].decode("utf-8", "replace")
    error = f"HTTP {answer.status}: {text}"
    if answer.status >= 500 or answer.status in RETRY_STATUSES:
        return Outcome("retry", answer.status, error=error)
    return Outcome("permanent", answer.status, error=error)


def record(delivery: NationalDelivery, token: str, outcome: Outcome) -> str:
    """Write what one attempt came to; returns the chunk's new status ("" when another sender
    had taken the chunk over meanwhile and the failure is theirs to record)."""
    now = timezone.now()
    if outcome.kind == "delivered":
        # whoever holds the lease: the platform has the chunk, that is what counts
        updated = NationalDelivery.objects.filter(pk=delivery.pk).exclude(status=D.DELIVERED)
        changed = updated.update(
            status=D.DELIVERED,
            delivered_at=now,
            receipt=outcome.receipt,
            last_status_code=outcome.status_code,
            sending_until=None,
            lease_token="",
        )
        return D.DELIVERED if changed else ""
    mine = NationalDelivery.objects.filter(pk=delivery.pk, status=D.SENDING, lease_token=token)
    fields: dict[str, Any] = {
        "last_error": outcome.error[:500],
        "last_status_code": outcome.status_code,
        "sending_until": None,
        "lease_token": "",
    }
    next_at = now + timedelta(seconds=retry_delay(delivery.attempts))
    if outcome.kind == "permanent" or next_at > give_up_at(delivery):
        changed = mine.update(status=D.GAVE_UP, next_attempt_at=now, **fields)
        return D.GAVE_UP if changed else ""
    changed = mine.update(status=D.PENDING, next_attempt_at=next_at, **fields)
    return D.PENDING if changed else ""


@dataclass
class PushResult:
    attempts: int = 0
    delivered: int = 0
    retried: int = 0
    gave_up: int = 0
    lost_lease: int = 0
    gave_up_ids: dict[int, list[int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {
            "attempts": self.attempts,
            "delivered": self.delivered,
            "retried": self.retried,
            "gave_up": self.gave_up,
            "lost_lease": self.lost_lease,
        }


def push_one(
    *, list_id: int | None = None, transport: Transport | None = None
) -> tuple[int, str] | None:
    """Claim, send and record one chunk: (delivery id, new status), or None if nothing is due."""
    claimed = claim(list_id=list_id)
    if claimed is None:
        return None
    delivery, token = claimed
    try:
        body = body_of(delivery)
    except Exception as exc:  # a bug or a database hiccup: keep the chunk, retry later
        outcome = Outcome("retry", error=f"{type(exc).__name__}: {exc}"[:500])
        return delivery.pk, record(delivery, token, outcome)
    body_digest = national.digest(body)
    if not delivery.payload_digest:
        NationalDelivery.objects.filter(pk=delivery.pk, payload_digest="").update(
            payload_digest=body_digest
        )
    elif delivery.payload_digest != body_digest:
        # the rows changed after approval: never send the platform two versions of one key
        outcome = Outcome("permanent", error=_("分片内容与首次推送不一致，已停止推送"))
        return delivery.pk, record(delivery, token, outcome)
    return delivery.pk, record(delivery, token, send(delivery, transport=transport, body=body))


def _soonest(list_id: int | None) -> datetime | None:
    qs = NationalDelivery.objects.filter(status__in=[D.PENDING, D.SENDING])
    if list_id is not None:
        qs = qs.filter(list_id=list_id)
    soonest: datetime | None = qs.aggregate(at=Min("next_attempt_at"))["at"]
    return soonest


def push_due(
    *,
    list_id: int | None = None,
    transport: Transport | None = None,
    budget_seconds: float | None = None,
    linger_seconds: float | None = None,
) -> PushResult:
    """Send every due chunk (of one list, or of all), until none is due; wait for a retry or an
    expired lease coming due within `linger_seconds`; stop after `budget_seconds`. Chunks given
    up are reported to the credit office, once per list."""
    budget = (
        settings.NATIONAL_PLATFORM_PUSH_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    )
    linger = (
        settings.NATIONAL_PLATFORM_PUSH_LINGER_SECONDS if linger_seconds is None else linger_seconds
    )
    deadline = time.monotonic() + budget
    result = PushResult()
    try:
        while time.monotonic() < deadline:
            done = push_one(list_id=list_id, transport=transport)
            if done is not None:
                delivery_id, status = done
                result.attempts += 1
                if status == D.DELIVERED:
                    result.delivered += 1
                elif status == D.PENDING:
                    result.retried += 1
                elif status == D.GAVE_UP:
                    result.gave_up += 1
                    owner = NationalDelivery.objects.values_list("list_id", flat=True).get(
                        pk=delivery_id
                    )
                    result.gave_up_ids.setdefault(owner, []).append(delivery_id)
                else:
                    result.lost_lease += 1
                continue
            soonest = _soonest(list_id)
            if soonest is None:
                break
            wait = (soonest - timezone.now()).total_seconds()
            if wait > linger:
                break
            time.sleep(min(max(wait, 0.01), max(0.0, deadline - time.monotonic())))
    finally:
        _report_given_up(result)
    return result


def _report_given_up(result: PushResult) -> None:
    from lending import list_notices

    for list_id, ids in result.gave_up_ids.items():
        reclist = RecommendationList.objects.get(pk=list_id)
        list_notices.gave_up(
            reclist, list(NationalDelivery.objects.filter(pk__in=ids).order_by("chunk"))
        )


# ---------------------------------------------------------------------------------------------
# By hand: push now, re-push what was given up
# ---------------------------------------------------------------------------------------------
def _approved(actor: Any, list_id: int, move: str) -> RecommendationList:
    from lending import lists

    lists._require_office(actor)
    reclist = lists._locked(list_id)
    lists._require_move(reclist, move)
    return reclist


@transaction.atomic
def list_push_now(*, actor: Any, list_id: int) -> int:
    """Make the list's waiting chunks due now and queue a sender; returns how many."""
    from lending import lists

    reclist = _approved(actor, list_id, "push")
    n = NationalDelivery.objects.filter(list=reclist, status=D.PENDING).update(
        next_attempt_at=timezone.now()
    )
    lists._event(reclist, "push", actor=actor, reason=_("立即推送 %(n)d 个分片") % {"n": n})
    queue_push(reclist.pk)
    return n


@transaction.atomic
def list_repush(*, actor: Any, list_id: int) -> int:
    """Give the chunks that were given up a new 24-hour window, due now; returns how many."""
    from lending import lists

    reclist = _approved(actor, list_id, "repush")
    now = timezone.now()
    n = NationalDelivery.objects.filter(list=reclist, status=D.GAVE_UP).update(
        status=D.PENDING,
        attempts=0,
        next_attempt_at=now,
        window_started_at=now,
        sending_until=None,
        lease_token="",
    )
    lists._event(reclist, "repush", actor=actor, reason=_("重新推送 %(n)d 个失败分片") % {"n": n})
    queue_push(reclist.pk)
    return n
