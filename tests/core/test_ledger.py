"""The tamper-evident ledger: chaining, verification and every kind of tampering, on SQLite and
PostgreSQL; concurrent sealing on PostgreSQL never forks the chain."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from enterprises.models import AccessLog, Enterprise
from tests.factories import EnterpriseFactory, UserFactory
from xinyidai.core import ledger
from xinyidai.core.models import LEDGER_GENESIS, LedgerAnchor, LedgerEntry, LedgerHead

pytestmark = pytest.mark.django_db


def reads(n: int, *, enterprise: Enterprise | None = None, user: Any = None) -> list[AccessLog]:
    enterprise = enterprise or EnterpriseFactory.create()
    user = user or UserFactory.create()
    start = timezone.now()
    return [
        AccessLog.objects.create(
            at=start + timedelta(microseconds=i),
            user=user,
            role="credit_office",
            enterprise=enterprise,
            scope="portrait",
            reason=f"核查 {i}",
            path=f"/api/v1/enterprises/{enterprise.uscc}/portrait/",
            client_ip="10.0.0.1",
        )
        for i in range(n)
    ]


def run_verify(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_ledger", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_seal_chains_pending_events_once_and_in_order() -> None:
    logs = reads(5)
    assert ledger.seal() == 5
    assert ledger.seal() == 0  # nothing left: never chained twice
    entries = list(LedgerEntry.objects.order_by("seq"))
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == LEDGER_GENESIS
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    assert [e.ref for e in entries] == [f"enterprises.accesslog:{log.pk}" for log in logs]
    body = json.loads(entries[2].body)
    assert body["seq"] == 3 and body["kind"] == "read"
    assert body["data"]["reason"] == "核查 2" and body["data"]["ip"] == "10.0.0.1"
    # hash = SM3(prev ‖ body); the canonical body is what is hashed, byte for byte
    assert entries[2].hash == ledger.sm3_hex(
        bytes.fromhex(entries[1].hash) + entries[2].body.encode()
    )
    assert entries[2].body == ledger.canonical_json(body)
    assert [log.ledger_seq for log in AccessLog.objects.order_by("pk")] == [1, 2, 3, 4, 5]
    head = LedgerHead.objects.get()
    assert (head.seq, head.hash) == (5, entries[-1].hash)


def test_seal_works_in_batches() -> None:
    reads(7)
    assert ledger.seal(batch=3) == 7
    assert LedgerEntry.objects.count() == 7
    assert ledger.verify().ok


def test_sm3_matches_the_standard_test_vector() -> None:
    # GB/T 32905-2016 example 1: SM3("abc")
    assert ledger.sm3_hex(b"abc") == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )


def test_intact_ledger_verifies_and_the_command_exits_zero() -> None:
    reads(4)
    ledger.seal()
    ledger.anchor_day(timezone.localdate())
    result = ledger.verify()
    assert (result.ok, result.entries, result.anchors) == (True, 4, 1)
    code, out, _err = run_verify("--json")
    assert code == 0
    assert "ledger intact: 4 entries" in out
    assert json.loads(out.strip().splitlines()[-1])["ok"] is True


def test_empty_ledger_is_intact() -> None:
    assert ledger.verify().ok
    assert run_verify()[0] == 0


def _tamper(kind: str) -> int:
    """Damage the chain one way; returns the entry the verifier must name."""
    entries = {e.seq: e for e in LedgerEntry.objects.all()}
    if kind == "modified_body":
        e = entries[3]
        LedgerEntry.objects.filter(seq=3).update(body=e.body.replace("核查 2", "核查 X"))
        return 3
    if kind == "modified_hash":
        LedgerEntry.objects.filter(seq=4).update(hash="f" * 64)
        return 4
    if kind == "deleted_middle":
        LedgerEntry.objects.filter(seq=3).delete()
        return 3
    if kind == "deleted_tail":
        LedgerEntry.objects.filter(seq=6).delete()
        return 6
    if kind == "inserted":
        # make room at 3 by moving 3..6 up, then put a forged entry at 3
        for seq in range(6, 2, -1):
            LedgerEntry.objects.filter(seq=seq).update(seq=seq + 100)
        for seq in range(6, 2, -1):
            LedgerEntry.objects.filter(seq=seq + 100).update(seq=seq + 1)
        forged = ledger.canonical_json({"seq": 3, "kind": "read", "data": {}})
        prev = entries[2].hash
        digest = ledger.link_hash(prev, forged)
        LedgerEntry.objects.create(
            seq=3,
            kind="read",
            ref="forged:1",
            body=forged,
            prev_hash="e" * 64,
            hash=digest,
            mac="0" * 64,
        )
        return 3
    if kind == "reordered":
        # swap entries 2 and 5 (rows keep their own hashes)
        LedgerEntry.objects.filter(seq=2).update(seq=102)
        LedgerEntry.objects.filter(seq=5).update(seq=2)
        LedgerEntry.objects.filter(seq=102).update(seq=5)
        return 2
    if kind == "recomputed_without_key":
        # rewrite entry 4 and recompute every hash after it, as someone with only the
        # database could: the MACs give it away
        prev = entries[3].hash
        for seq in range(4, 7):
            body = entries[seq].body
            if seq == 4:
                body = body.replace("核查 3", "核查 Z")
            digest = ledger.link_hash(prev, body)
            LedgerEntry.objects.filter(seq=seq).update(body=body, prev_hash=prev, hash=digest)
            prev = digest
        LedgerHead.objects.filter(pk=1).update(hash=prev)
        return 4
    raise AssertionError(kind)


TAMPERING = [
    "modified_body",
    "modified_hash",
    "deleted_middle",
    "deleted_tail",
    "inserted",
    "reordered",
    "recomputed_without_key",
]


@pytest.mark.parametrize("kind", TAMPERING)
def test_every_kind_of_tampering_is_detected_and_named(kind: str) -> None:
    reads(6)
    ledger.seal()
    assert ledger.verify().ok
    bad = _tamper(kind)
    result = ledger.verify()
    assert result.ok is False
    assert result.first_bad_seq == bad, result.problem
    code, _out, err = run_verify()
    assert code == 1
    assert f"entry {bad}" in err


def test_truncating_the_tail_and_fixing_the_head_is_caught_by_the_anchor() -> None:
    """Someone deletes yesterday's last entries and resets the head to match: the public
    anchor for that day no longer matches."""
    reads(6)
    ledger.seal()
    yesterday = timezone.localdate() - timedelta(days=1)
    LedgerEntry.objects.update(sealed_at=timezone.now() - timedelta(days=1))
    anchor = ledger.anchor_day(yesterday)
    assert anchor.seq == 6
    LedgerEntry.objects.filter(seq__gte=5).delete()
    LedgerHead.objects.filter(pk=1).update(seq=4, hash=LedgerEntry.objects.get(seq=4).hash)
    result = ledger.verify()
    assert result.ok is False
    assert result.first_bad_seq == 6
    assert str(yesterday) in result.problem


def test_a_forged_anchor_is_detected() -> None:
    reads(2)
    ledger.seal()
    anchor = ledger.anchor_day(timezone.localdate())
    LedgerAnchor.objects.filter(pk=anchor.pk).update(hash="a" * 64)
    result = ledger.verify()
    assert result.ok is False and "锚点" in result.problem


def test_anchor_is_idempotent_and_keyed(settings: Any) -> None:
    reads(3)
    ledger.seal()
    day = timezone.localdate()
    first = ledger.anchor_day(day)
    reads(2)
    ledger.seal()
    assert ledger.anchor_day(day).pk == first.pk  # a day is anchored once
    assert first.mac == ledger.mac_hex(ledger.anchor_message(day, first.seq, first.hash))
    ledger._key.cache_clear()
    settings.LEDGER_KEY = "another-key-entirely-0123456789abcdef"
    try:
        assert ledger.verify().ok is False  # entries' MACs were made with the old key
    finally:
        ledger._key.cache_clear()


def test_anchor_of_a_day_without_entries_points_at_the_genesis() -> None:
    anchor = ledger.anchor_day(date(2026, 1, 1))
    assert (anchor.seq, anchor.hash) == (0, LEDGER_GENESIS)
    assert ledger.verify().ok


def test_verify_command_can_seal_first_and_record_the_result() -> None:
    from xinyidai.core.models import LedgerCheck

    reads(3)
    code, out, _ = run_verify("--seal", "--record")
    assert code == 0 and "3 entries" in out
    check = LedgerCheck.objects.get()
    assert (check.ok, check.entries) == (True, 3)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_sealers_never_fork_the_chain() -> None:
    """Eight threads each write events and seal at once, over and over: one chain, every event
    on it exactly once."""
    enterprise = EnterpriseFactory.create()
    user = UserFactory.create()
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for _round in range(5):
                reads(3, enterprise=enterprise, user=user)
                ledger.seal(batch=4)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ledger.seal()
    assert AccessLog.objects.count() == 8 * 5 * 3
    assert LedgerEntry.objects.count() == 120
    assert not AccessLog.objects.filter(ledger_seq__isnull=True).exists()
    seqs = sorted(s for s in AccessLog.objects.values_list("ledger_seq", flat=True) if s)
    assert seqs == list(range(1, 121))
    result = ledger.verify()
    assert (result.ok, result.entries) == (True, 120)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_sealing_waits_while_the_chain_is_verified(monkeypatch: Any) -> None:
    """A nightly verification while reads keep coming: the sealer waits for the walk instead
    of appending under it (which would look like a tail that does not match the head)."""
    reads(3)
    ledger.seal()
    reads(2)  # pending while the walk runs
    walk = ledger._verify
    sealer: list[threading.Thread] = []

    def walk_while_someone_seals(head_state: tuple[int, str], chunk: int) -> Any:
        def seal() -> None:
            try:
                ledger.seal()
            finally:
                connections.close_all()

        thread = threading.Thread(target=seal)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive()  # blocked on the head row
        sealer.append(thread)
        return walk(head_state, chunk)

    monkeypatch.setattr(ledger, "_verify", walk_while_someone_seals)
    result = ledger.verify()
    sealer[0].join(timeout=10)
    assert (result.ok, result.entries) == (True, 3)
    assert LedgerEntry.objects.count() == 5
    monkeypatch.setattr(ledger, "_verify", walk)
    assert ledger.verify().entries == 5
