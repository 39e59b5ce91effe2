"""The push to the national platform: signing checked by the demo receiver (tampered body, old
timestamp, reused nonce refused; a key stored once), the back-off schedule and its jitter
bounds, every kind of answer (2xx, 409, 5xx, timeout, refused, other 4xx), giving up after
the window with the credit office told, the manual re-push, leases, and the HTTP transport
against a real socket. The PostgreSQL + Redis + worker version is test_push_integration.py."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from lending import lists, national, push, tasks
from lending.models import (
    NationalDelivery,
    NationalNonce,
    NationalReceipt,
    RecommendationEntry,
    RecommendationList,
)
from tests.lending.listdata import QUALIFYING, city, criteria, new_list
from xinyidai.core.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _chinese() -> Iterator[None]:
    """Messages composed outside a request are in the active language: Chinese here, whatever
    an earlier test left active."""
    with translation.override("zh-hans"):
        yield


RECEIVE = "/api/v1/national/receive/"


def post_signed(client: Client, body: bytes, headers: dict[str, str], **overrides: str) -> Any:
    sent = {**headers, **overrides}
    extra: dict[str, Any] = {
        "HTTP_" + name.upper().replace("-", "_"): value
        for name, value in sent.items()
        if name != "Content-Type"
    }
    return client.post(RECEIVE, data=body, content_type="application/json", **extra)


def chunk_body(key: str = "TJ-1-00001", rows: int = 2) -> bytes:
    return national.canonical_json(
        {
            "list": {"number": key.rsplit("-", 1)[0]},
            "chunk": 1,
            "chunks": 1,
            "rows": [{"seq": n, "uscc": f"U{n}"} for n in range(1, rows + 1)],
        }
    )


# ---------------------------------------------------------------------------------------------
# The receiver: signature, timestamp window, nonce, idempotency
# ---------------------------------------------------------------------------------------------
def test_receiver_stores_a_key_once_and_answers_the_same_receipt() -> None:
    client = Client()
    body = chunk_body()
    first = post_signed(client, body, national.signed_headers(body, key="TJ-1-00001"))
    assert first.status_code == 200, first.content
    receipt = first.json()
    assert receipt["key"] == "TJ-1-00001" and receipt["rows"] == 2
    assert receipt["duplicate"] is False
    again = post_signed(client, body, national.signed_headers(body, key="TJ-1-00001"))
    assert again.status_code == 200
    assert again.json() == {**receipt, "duplicate": True}
    stored = NationalReceipt.objects.get()
    assert (stored.rows, stored.duplicates, stored.seq_from, stored.seq_to) == (2, 1, 1, 2)
    assert stored.body_digest == national.digest(body)


def test_receiver_refuses_what_is_not_signed_right(settings: Any) -> None:
    client = Client()
    body = chunk_body()
    headers = national.signed_headers(body, key="TJ-1-00001")
    tampered = body.replace(b'"U1"', b'"U9"')
    refused = post_signed(client, tampered, headers)
    assert (refused.status_code, refused.json()["code"]) == (401, "bad_signature")
    wrong_secret = national.signed_headers(body, key="TJ-1-00001", secret="another-secret")
    assert post_signed(client, body, wrong_secret).json()["code"] == "bad_signature"
    assert post_signed(client, body, headers).status_code == 200
    old = str(int(time.time()) - settings.NATIONAL_PLATFORM_MAX_SKEW_SECONDS - 5)
    stale = {
        **headers,
        "X-Timestamp": old,
        "X-Nonce": "b" * 32,
        "X-Signature": national.signature(settings.NATIONAL_PLATFORM_SECRET, old, "b" * 32, body),
    }
    answer = post_signed(client, body, stale)
    assert (answer.status_code, answer.json()["code"]) == (401, "stale_timestamp")
    # the nonce of the request accepted above cannot be used again, even correctly signed
    replay = post_signed(client, body, headers)
    assert (replay.status_code, replay.json()["code"]) == (401, "nonce_reused")
    missing = post_signed(client, body, {k: v for k, v in headers.items() if k != "X-Nonce"})
    assert (missing.status_code, missing.json()["code"]) == (400, "missing_header")
    # a refused request leaves nothing behind
    assert NationalReceipt.objects.count() == 1
    assert set(NationalNonce.objects.values_list("nonce", flat=True)) == {headers["X-Nonce"]}


def test_a_key_sent_again_with_another_body_is_refused() -> None:
    client = Client()
    body = chunk_body()
    assert post_signed(client, body, national.signed_headers(body, key="K-1")).status_code == 200
    other = chunk_body(rows=3)
    answer = post_signed(client, other, national.signed_headers(other, key="K-1"))
    assert (answer.status_code, answer.json()["code"]) == (422, "idempotency_key_reused")
    assert NationalReceipt.objects.get().rows == 2


def test_old_nonces_are_forgotten(settings: Any) -> None:
    NationalNonce.objects.create(
        nonce="a" * 32, seen_at=timezone.now() - timedelta(seconds=3 * 300)
    )
    body = chunk_body()
    assert post_signed(Client(), body, national.signed_headers(body, key="K-2")).status_code == 200
    assert not NationalNonce.objects.filter(nonce="a" * 32).exists()


# ---------------------------------------------------------------------------------------------
# Back-off
# ---------------------------------------------------------------------------------------------
def test_backoff_doubles_up_to_the_cap_within_jitter(settings: Any) -> None:
    settings.NATIONAL_PLATFORM_RETRY_BASE_SECONDS = 30
    settings.NATIONAL_PLATFORM_RETRY_CAP_SECONDS = 3600
    settings.NATIONAL_PLATFORM_RETRY_JITTER = 0.2
    rng = random.Random(7)
    for attempts, plain in [(1, 30), (2, 60), (3, 120), (4, 240), (7, 1920), (8, 3600), (20, 3600)]:
        delays = [push.retry_delay(attempts, rng) for _ in range(400)]
        assert min(delays) >= plain * 0.8 and max(delays) <= plain * 1.2
        # jitter really spreads them (not all the same)
        assert max(delays) - min(delays) > plain * 0.3
    settings.NATIONAL_PLATFORM_RETRY_JITTER = 0
    assert [push.retry_delay(n) for n in (1, 2, 3)] == [30, 60, 120]


def test_retries_stop_within_the_give_up_window(settings: Any) -> None:
    """With the defaults a failing chunk is tried about 29 times over 24 hours."""
    settings.NATIONAL_PLATFORM_RETRY_JITTER = 0
    elapsed, attempts = 0.0, 1
    while elapsed + push.retry_delay(attempts) <= 24 * 3600:
        elapsed += push.retry_delay(attempts)
        attempts += 1
    assert 25 <= attempts <= 32
    assert elapsed > 23 * 3600


# ---------------------------------------------------------------------------------------------
# Pushing an approved list
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def approved(
    credit_office: Any, bank: Any, other_bank: Any, settings: Any, monkeypatch: Any
) -> RecommendationList:
    """An approved list of 6 enterprises in 3 chunks; nothing sent yet (no task queued)."""
    settings.NATIONAL_PLATFORM_CHUNK_SIZE = 2
    settings.NATIONAL_PLATFORM_PUSH_LINGER_SECONDS = 0
    city(bank, other_bank)
    reclist = new_list(credit_office, criteria(credit_office))
    lists.list_generate(actor=credit_office, list_id=reclist.pk)
    monkeypatch.setattr(push, "queue_push", lambda list_id=None: None)
    return lists.list_approve(actor=credit_office, list_id=reclist.pk)


class Receiver:
    """The demo receiver through the Django test client, with faults on demand: a queue of
    answers to give instead ("500", "timeout", "refused", "409", "400", "lost" = store it but
    lose the answer), then the real receiving logic."""

    def __init__(self) -> None:
        self.client = Client()
        self.faults: list[str] = []
        self.calls: list[str] = []

    def __call__(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Any:
        key = headers["Idempotency-Key"]
        self.calls.append(key)
        fault = self.faults.pop(0) if self.faults else ""
        if fault == "refused":
            raise push.TransportError("ConnectionRefusedError: [Errno 111] Connection refused")
        if fault == "timeout":
            raise push.TransportError("TimeoutError: timed out")
        if fault in {"500", "503", "400", "409"}:
            return push.Answer(int(fault), b'{"code": "test"}')
        answer = post_signed(self.client, body, headers)
        if fault == "lost":
            raise push.TransportError("TimeoutError: timed out (after the receiver stored it)")
        return push.Answer(answer.status_code, answer.content)


def received_rows() -> int:
    return sum(NationalReceipt.objects.values_list("rows", flat=True))


def test_push_delivers_every_chunk_once(approved: RecommendationList) -> None:
    receiver = Receiver()
    result = push.push_due(transport=receiver)
    assert result.as_dict() == {
        "attempts": 3,
        "delivered": 3,
        "retried": 0,
        "gave_up": 0,
        "lost_lease": 0,
    }
    deliveries = list(NationalDelivery.objects.filter(list=approved).order_by("chunk"))
    assert {d.status for d in deliveries} == {"delivered"}
    assert [d.receipt["key"] for d in deliveries if d.receipt] == [
        d.idempotency_key for d in deliveries
    ]
    assert all(d.payload_digest and d.delivered_at for d in deliveries)
    assert received_rows() == len(QUALIFYING)
    assert sorted(NationalReceipt.objects.values_list("idempotency_key", flat=True)) == [
        d.idempotency_key for d in deliveries
    ]
    assert lists.delivery_state(approved).code == "delivered"
    # nothing is due any more: a second run (the beat job) sends nothing
    assert push.push_due(transport=receiver).attempts == 0


def test_failures_are_retried_with_backoff(approved: RecommendationList, settings: Any) -> None:
    settings.NATIONAL_PLATFORM_RETRY_BASE_SECONDS = 30
    settings.NATIONAL_PLATFORM_RETRY_JITTER = 0.2
    receiver = Receiver()
    receiver.faults = ["500", "timeout", "refused"]
    before = timezone.now()
    result = push.push_due(transport=receiver)
    assert (result.retried, result.delivered) == (3, 0)
    waiting = list(NationalDelivery.objects.filter(list=approved).order_by("chunk"))
    for d in waiting:
        assert d.status == "pending" and d.attempts == 1
        wait = (d.next_attempt_at - before).total_seconds()
        assert 24 <= wait <= 37
    assert waiting[0].last_status_code == 500 and "HTTP 500" in waiting[0].last_error
    assert "timed out" in waiting[1].last_error and waiting[1].last_status_code is None
    assert "Connection refused" in waiting[2].last_error
    assert lists.delivery_state(approved).code == "pushing"
    # not due yet: nothing is sent; once due, all go through
    assert push.push_due(transport=receiver).attempts == 0
    NationalDelivery.objects.update(next_attempt_at=timezone.now())
    assert push.push_due(transport=receiver).delivered == 3
    assert received_rows() == len(QUALIFYING)
    assert NationalReceipt.objects.filter(duplicates__gt=0).count() == 0


def test_lost_answer_and_409_count_as_delivered_once(
    approved: RecommendationList, settings: Any
) -> None:
    settings.NATIONAL_PLATFORM_RETRY_BASE_SECONDS = 0.01
    settings.NATIONAL_PLATFORM_PUSH_LINGER_SECONDS = 1
    receiver = Receiver()
    # chunk 1: stored, answer lost → resent → the receiver answers "duplicate";
    # chunk 2: the platform says 409 (already has it)
    receiver.faults = ["lost", "409"]
    result = push.push_due(transport=receiver)
    assert result.delivered == 3
    first, second, third = NationalDelivery.objects.filter(list=approved).order_by("chunk")
    assert first.attempts == 2 and first.receipt and first.receipt["duplicate"] is True
    assert second.attempts == 1 and second.last_status_code == 409
    assert NationalReceipt.objects.get(idempotency_key=first.idempotency_key).duplicates == 1
    # the receiver holds each chunk it got exactly once
    assert NationalReceipt.objects.count() == 2  # chunk 2 was "had" by the 409 answer only
    assert third.status == "delivered"


def test_gives_up_after_the_window_and_tells_the_office(
    approved: RecommendationList, credit_office: Any
) -> None:
    receiver = Receiver()
    receiver.faults = ["503"] * 3
    started = timezone.now() - timedelta(hours=23, minutes=59, seconds=50)
    NationalDelivery.objects.update(window_started_at=started)
    result = push.push_due(transport=receiver)
    assert result.gave_up == 3
    assert {d.status for d in NationalDelivery.objects.all()} == {"gave_up"}
    assert lists.delivery_state(approved).code == "failed"
    notice = Notification.objects.get(user=credit_office, kind="reclist.push_failed")
    assert approved.number in notice.title and "3 个分片" in notice.title
    assert "HTTP 503" in notice.body
    # the manual re-push gives them a new window and they go through
    assert push.list_repush(actor=credit_office, list_id=approved.pk) == 3
    fresh = NationalDelivery.objects.first()
    assert fresh is not None and (fresh.status, fresh.attempts) == ("pending", 0)
    assert push.push_due(transport=receiver).delivered == 3
    assert lists.delivery_state(approved).code == "delivered"
    assert [e.move for e in approved.events.all()][-1] == "repush"


def test_a_refused_request_is_given_up_at_once(
    approved: RecommendationList, credit_office: Any
) -> None:
    receiver = Receiver()
    receiver.faults = ["400"]
    result = push.push_due(transport=receiver)
    assert (result.gave_up, result.delivered) == (1, 2)
    failed = NationalDelivery.objects.get(status="gave_up")
    assert failed.attempts == 1 and failed.last_status_code == 400
    assert Notification.objects.filter(user=credit_office, kind="reclist.push_failed").count() == 1


def test_a_live_lease_is_left_alone_and_an_expired_one_taken_over(
    approved: RecommendationList,
) -> None:
    receiver = Receiver()
    claimed = push.claim(list_id=approved.pk)
    assert claimed is not None
    delivery, token = claimed
    assert delivery.status == "sending" and delivery.sending_until is not None
    # another sender does not touch the leased chunk
    assert push.push_due(transport=receiver).delivered == 2
    assert NationalDelivery.objects.get(pk=delivery.pk).status == "sending"
    # the first sender "died"; its lease runs out and the chunk is taken over
    NationalDelivery.objects.filter(pk=delivery.pk).update(
        sending_until=timezone.now() - timedelta(seconds=1)
    )
    assert push.push_due(transport=receiver).delivered == 1
    taken = NationalDelivery.objects.get(pk=delivery.pk)
    assert (taken.status, taken.attempts) == ("delivered", 2)
    # the dead sender's late failure does not overwrite the delivered chunk
    assert push.record(delivery, token, push.Outcome("retry", 500, "late")) == ""
    assert NationalDelivery.objects.get(pk=delivery.pk).status == "delivered"
    assert received_rows() == len(QUALIFYING)


def test_a_chunk_changed_after_approval_is_never_sent_twice_differently(
    approved: RecommendationList,
) -> None:
    receiver = Receiver()
    receiver.faults = ["500"]
    push.push_due(transport=receiver)
    first = NationalDelivery.objects.get(chunk=1, list=approved)
    assert first.payload_digest
    RecommendationEntry.objects.filter(list=approved, seq=first.seq_from).update(name="改过的名字")
    NationalDelivery.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    push.push_due(transport=receiver)
    first.refresh_from_db()
    assert first.status == "gave_up" and "不一致" in first.last_error


def test_push_now_and_the_task(
    approved: RecommendationList, credit_office: Any, monkeypatch: Any
) -> None:
    receiver = Receiver()
    receiver.faults = ["500", "500", "500"]
    push.push_due(transport=receiver)
    assert NationalDelivery.objects.filter(status="pending", attempts=1).count() == 3
    monkeypatch.setattr(push, "http_post", receiver)
    monkeypatch.setattr(push, "queue_push", lambda list_id=None: tasks.push_national.delay(list_id))
    # "push now" makes them due at once and runs a sender (eagerly in tests)
    assert push.list_push_now(actor=credit_office, list_id=approved.pk) == 3
    assert lists.delivery_state(approved).code == "delivered"
    assert tasks.push_national.delay().get() == {
        "attempts": 0,
        "delivered": 0,
        "retried": 0,
        "gave_up": 0,
        "lost_lease": 0,
    }


def test_approval_queues_a_push_after_commit(
    credit_office: Any,
    bank: Any,
    other_bank: Any,
    settings: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.NATIONAL_PLATFORM_PUSH_LINGER_SECONDS = 0
    receiver = Receiver()
    monkeypatch.setattr(push, "http_post", receiver)
    city(bank, other_bank)
    reclist = new_list(credit_office, criteria(credit_office))
    lists.list_generate(actor=credit_office, list_id=reclist.pk)
    with django_capture_on_commit_callbacks(execute=True):
        lists.list_approve(actor=credit_office, list_id=reclist.pk)
    assert lists.delivery_state(reclist).code == "delivered"
    assert received_rows() == len(QUALIFYING)


# ---------------------------------------------------------------------------------------------
# The HTTP transport against real sockets (no database)
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def http_server() -> Iterator[Callable[[str], str]]:
    """A tiny server whose behaviour is set per test: "ok", "slow" (sleeps past the timeout)."""
    mode = {"value": "ok"}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            if mode["value"] == "slow":
                time.sleep(1.0)
            payload = json.dumps(
                {"got": len(body), "key": self.headers.get("Idempotency-Key")}
            ).encode()
            try:
                self.send_response(201)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout case)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def url(value: str) -> str:
        mode["value"] = value
        return f"http://127.0.0.1:{server.server_address[1]}/receive/"

    yield url
    server.shutdown()
    server.server_close()


def test_http_post_answers_times_out_and_is_refused(http_server: Callable[[str], str]) -> None:
    answer = push.http_post(http_server("ok"), b"{}", {"Idempotency-Key": "K"}, 2)
    assert answer.status == 201 and json.loads(answer.body) == {"got": 2, "key": "K"}
    with pytest.raises(push.TransportError, match="timed out"):
        push.http_post(http_server("slow"), b"{}", {}, 0.2)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(push.TransportError, match=r"Connection refused|ConnectionRefused"):
        push.http_post(f"http://127.0.0.1:{port}/", b"{}", {}, 1)


def test_beat_runs_the_push_on_the_configured_cron() -> None:
    from celery.schedules import crontab
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["national-platform-push"]
    assert entry["task"] == "lending.tasks.push_national"
    assert entry["schedule"] == crontab(minute="*/5")
    assert tasks.push_national.name == entry["task"]
