"""The tamper-evident ledger: an append-only SM3 hash chain of events.

Events (authorisation grants, revocations, renewals, expiries and data reads) are first written
as ordinary rows of their own tables in the transaction that causes them, with `ledger_seq`
empty. `seal()` then appends every pending event to the chain in one short transaction that
locks the single `LedgerHead` row, so concurrent sealers queue instead of forking the chain
(unique `seq` and unique `prev_hash` are the database's backstop). Each entry stores

    body = canonical JSON {"seq", "kind", "at", "ref", "data"}
    hash = SM3(bytes(prev_hash) ‖ body)
    mac  = HMAC-SM3(LEDGER_KEY, hash)

The hash chain shows any edit, deletion, insertion or reordering to anyone; the MAC means that
someone with only database access cannot recompute a rewritten chain; the daily anchor (the
head at the end of each day, with its MAC) is shown publicly so a truncated tail shows too.
`verify()` checks all of it; `manage.py verify_ledger` runs it.

Sealing happens right after the request commits (a Celery task, debounced), and a beat job
catches anything left over, e.g. after a crash between the commit and the task.
"""

from __future__ import annotations

import hmac as std_hmac
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from functools import cache
from typing import Any, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from django.conf import settings
from django.core.cache import cache as django_cache
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinyidai.core.models import (
    LEDGER_GENESIS,
    LedgerAnchor,
    LedgerCheck,
    LedgerEntry,
    LedgerHead,
)

SEAL_BATCH = 2000
SEAL_DEBOUNCE_SECONDS = 1


class LedgerEvent(Protocol):
    """What a source row gives the ledger. The model also has a nullable `ledger_seq`."""

    pk: Any
    ledger_seq: int | None

    def ledger_kind(self) -> str: ...

    def ledger_at(self) -> datetime: ...

    def ledger_data(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Source:
    model: type[models.Model]
    at_field: str
    pending: Callable[[], models.QuerySet[Any]]


_SOURCES: dict[str, Source] = {}


def register_source(
    model: type[models.Model],
    *,
    at_field: str,
    queryset: Callable[[], models.QuerySet[Any]] | None = None,
) -> None:
    """Called from an app's `ready()`: rows of `model` with `ledger_seq` empty get chained."""
    label = model._meta.label_lower

    def pending() -> models.QuerySet[Any]:
        qs = queryset() if queryset else model._default_manager.all()
        return qs.filter(ledger_seq__isnull=True).order_by(at_field, "pk")

    _SOURCES[label] = Source(model=model, at_field=at_field, pending=pending)


# ---------------------------------------------------------------------------------------------
# Hashing
# ---------------------------------------------------------------------------------------------
def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: the same event always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@cache
def _key(ledger_key: str, secret_key: str) -> bytes:
    return (ledger_key or "ledger:" + secret_key).encode()


def key() -> bytes:
    return _key(settings.LEDGER_KEY, settings.SECRET_KEY)


def mac_hex(message: str) -> str:
    signer = crypto_hmac.HMAC(key(), hashes.SM3())
    signer.update(message.encode())
    return signer.finalize().hex()


def link_hash(prev_hash: str, body: str) -> str:
    return sm3_hex(bytes.fromhex(prev_hash) + body.encode())


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


# ---------------------------------------------------------------------------------------------
# Appending
# ---------------------------------------------------------------------------------------------
def _pending(limit: int) -> list[tuple[datetime, str, Any]]:
    rows: list[tuple[datetime, str, Any]] = []
    for label, source in _SOURCES.items():
        for obj in source.pending()[:limit]:
            rows.append((obj.ledger_at(), label, obj))
    rows.sort(key=lambda r: (r[0], r[1], r[2].pk))
    return rows[:limit]


def seal(*, batch: int = SEAL_BATCH) -> int:
    """Append every pending event; returns how many were chained. Safe to run concurrently
    and to re-run: a sealed event is never chained twice (unique `ref`)."""
    total = 0
    while True:
        with transaction.atomic():
            head = LedgerHead.objects.select_for_update().filter(pk=1).first()
            if head is None:
                head = LedgerHead.objects.create(pk=1)
            pending = _pending(batch)
            if not pending:
                return total
            seq, prev = head.seq, head.hash
            entries: list[LedgerEntry] = []
            marks: dict[str, list[Any]] = {}
            now = timezone.now()
            for at, label, obj in pending:
                seq += 1
                ref = f"{label}:{obj.pk}"
                body = canonical_json(
                    {
                        "seq": seq,
                        "kind": obj.ledger_kind(),
                        "at": iso(at),
                        "ref": ref,
                        "data": obj.ledger_data(),
                    }
                )
                digest = link_hash(prev, body)
                entries.append(
                    LedgerEntry(
                        seq=seq,
                        kind=obj.ledger_kind(),
                        ref=ref,
                        body=body,
                        prev_hash=prev,
                        hash=digest,
                        mac=mac_hex(digest),
                        sealed_at=now,
                    )
                )
                obj.ledger_seq = seq
                marks.setdefault(label, []).append(obj)
                prev = digest
            LedgerEntry.objects.bulk_create(entries)
            for label, objs in marks.items():
                _SOURCES[label].model._default_manager.bulk_update(
                    objs, ["ledger_seq"], batch_size=500
                )
            head.seq, head.hash, head.updated_at = seq, prev, now
            head.save(update_fields=["seq", "hash", "updated_at"])
        total += len(pending)
        if len(pending) < batch:
            return total


def seal_soon() -> None:
    """Ask for a seal after the current transaction commits.

    With a worker, at most one task per second is queued (the task runs a second later and
    takes everything committed by then); in-process (make run, tests) the seal runs at once.
    """
    from xinyidai.core.tasks import ledger_seal

    def queue() -> None:
        from xinyidai.celery import app

        if app.conf.task_always_eager:
            ledger_seal.delay()
        elif django_cache.add("ledger:seal-queued", 1, timeout=SEAL_DEBOUNCE_SECONDS):
            ledger_seal.apply_async(countdown=SEAL_DEBOUNCE_SECONDS)

    transaction.on_commit(queue)


# ---------------------------------------------------------------------------------------------
# Anchors
# ---------------------------------------------------------------------------------------------
def anchor_message(day: date, seq: int, digest: str) -> str:
    return f"{day.isoformat()}|{seq}|{digest}"


def anchor_day(day: date) -> LedgerAnchor:
    """Record the chain's head as it stood at the end of `day` (local time). Idempotent."""
    existing = LedgerAnchor.objects.filter(day=day).first()
    if existing is not None:
        return existing
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), dtime.min))
    last = LedgerEntry.objects.filter(sealed_at__lt=end).order_by("-seq").first()
    seq, digest = (last.seq, last.hash) if last else (0, LEDGER_GENESIS)
    anchor, _created = LedgerAnchor.objects.get_or_create(
        day=day,
        defaults={"seq": seq, "hash": digest, "mac": mac_hex(anchor_message(day, seq, digest))},
    )
    return anchor


# ---------------------------------------------------------------------------------------------
# Verifying
# ---------------------------------------------------------------------------------------------
@dataclass
class Verification:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str = ""
    anchors: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "anchors": self.anchors,
            "seconds": round(self.seconds, 3),
        }


def _rows(chunk: int) -> Iterable[tuple[int, str, str, str, str]]:
    qs = LedgerEntry.objects.order_by("seq").values_list("seq", "body", "prev_hash", "hash", "mac")
    return qs.iterator(chunk_size=chunk)


def verify(*, chunk: int = 20000) -> Verification:
    """Walk the whole chain once. The first problem found is reported with its entry.

    The head row stays locked meanwhile, so sealers wait instead of appending under the walk
    (which would look like a tail that does not match the head). Sealing is deferred to the
    worker, so requests do not wait on it."""
    with transaction.atomic():
        head = LedgerHead.objects.select_for_update().filter(pk=1).first()
        head_state = (head.seq, head.hash) if head else (0, LEDGER_GENESIS)
        return _verify(head_state, chunk)


def _verify(head_state: tuple[int, str], chunk: int) -> Verification:
    started = time.perf_counter()
    anchors = {a.seq: a for a in LedgerAnchor.objects.all()}
    anchor_hashes: dict[int, str] = {0: LEDGER_GENESIS}
    expected, prev, count = 1, LEDGER_GENESIS, 0

    def fail(seq: int | None, problem: str) -> Verification:
        return Verification(
            ok=False,
            entries=count,
            first_bad_seq=seq,
            problem=problem,
            anchors=len(anchors),
            seconds=time.perf_counter() - started,
        )

    for seq, body, prev_hash, digest, mac in _rows(chunk):
        if seq != expected:
            if seq > expected:
                return fail(expected, _("第 %(seq)d 条缺失（被删除）") % {"seq": expected})
            return fail(seq, _("第 %(seq)d 条序号重复或错位") % {"seq": seq})
        if prev_hash != prev:
            return fail(seq, _("第 %(seq)d 条的前一哈希与链不符（被插入或重排）") % {"seq": seq})
        if link_hash(prev, body) != digest:
            return fail(seq, _("第 %(seq)d 条内容与哈希不符（被修改）") % {"seq": seq})
        if not std_hmac.compare_digest(mac_hex(digest), mac):
            return fail(seq, _("第 %(seq)d 条校验码无效（链被重算）") % {"seq": seq})
        try:
            body_seq = json.loads(body).get("seq")
        except ValueError:
            body_seq = None
        if body_seq != seq:
            return fail(seq, _("第 %(seq)d 条内容中的序号不符（被移动）") % {"seq": seq})
        if seq in anchors:
            anchor_hashes[seq] = digest
        prev, expected, count = digest, expected + 1, count + 1

    head_seq, head_hash = head_state
    if head_seq != count or head_hash != prev:
        return fail(
            count + 1 if head_seq > count else head_seq,
            _("链头（第 %(head)d 条）与账本末尾（第 %(last)d 条）不符（末尾被删除或追加）")
            % {"head": head_seq, "last": count},
        )
    for seq, anchor in sorted(anchors.items()):
        message = anchor_message(anchor.day, anchor.seq, anchor.hash)
        if not std_hmac.compare_digest(mac_hex(message), anchor.mac):
            return fail(seq, _("%(day)s 的锚点校验码无效") % {"day": anchor.day})
        if anchor_hashes.get(seq) != anchor.hash:
            return fail(
                seq,
                _("%(day)s 的锚点（第 %(seq)d 条）与账本不符（锚点之前的记录被改写或删除）")
                % {"day": anchor.day, "seq": seq},
            )
    return Verification(
        ok=True, entries=count, anchors=len(anchors), seconds=time.perf_counter() - started
    )


def record_check(result: Verification) -> LedgerCheck:
    return LedgerCheck.objects.create(
        ok=result.ok,
        entries=result.entries,
        first_bad_seq=result.first_bad_seq,
        problem=result.problem[:300],
        seconds=result.seconds,
    )


def verify_and_record() -> LedgerCheck:
    return record_check(verify())
