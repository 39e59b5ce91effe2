"""The national push with real processes: Celery workers on Redis reading the PostgreSQL test
database, sending over real sockets to the demo receiver's logic served by a small HTTP server
in this process — which answers 500 several times, is down (connection refused), holds its
answer past the sender's timeout, already has a chunk (duplicate receipt), and outlives a worker
killed with SIGKILL in the middle of a push. Every chunk must end delivered, each stored exactly
once on the receiving side, none lost.

Only meaningful with DATABASE_URL (PostgreSQL) and REDIS_URL set (the second pass of
`make test`); the SQLite pass deselects it with `-m "not integration"`."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

from lending import lists, national, push, tasks
from lending.models import NationalDelivery, NationalReceipt, RecommendationList
from tests.lending.listdata import criteria, firm, new_list, opt_in
from tests.test_celery_worker import Worker, _backend_problem, _database_url
from xinyidai import celery_app
from xinyidai.core.errors import DomainError

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DEADLINE = 40  # seconds for a push to settle


# ---------------------------------------------------------------------------------------------
# The receiver: the demo receiving logic behind a real socket, with faults on demand
# ---------------------------------------------------------------------------------------------
class Script:
    """What the receiver does next. `fail_500`: that many requests answered 500 (nothing
    stored); `hold`: keys whose first request is stored and then answered only after `hold_for`
    seconds (or when released); `seen`: every key received, in order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fail_500 = 0
        self.hold: set[str] = set()
        self.hold_for = 0.0
        self.release = threading.Event()
        self.seen: list[str] = []
        self.stored = threading.Event()

    def next_fault(self, key: str) -> str:
        with self.lock:
            self.seen.append(key)
            if self.fail_500:
                self.fail_500 -= 1
                return "500"
            if key in self.hold:
                self.hold.discard(key)
                return "hold"
            return ""


class Receiver:
    def __init__(self) -> None:
        self.script = Script()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port: int = sock.getsockname()[1]
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/national/receive/"

    def start(self) -> None:
        script = self.script

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k: v for k, v in self.headers.items()}
                fault = script.next_fault(headers.get("Idempotency-Key", ""))
                status, answer = 500, {"code": "test_fault"}
                try:
                    if fault != "500":
                        try:
                            answer = national.receive(headers=headers, body=body)
                            status = 200
                        except DomainError as exc:
                            status, answer = exc.status, {"code": exc.code}
                        script.stored.set()
                finally:
                    connection.close()
                if fault == "hold":
                    script.release.wait(script.hold_for)
                payload = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sender gave up (timed out) or died

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.script.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


# ---------------------------------------------------------------------------------------------
# Workers
# ---------------------------------------------------------------------------------------------
def worker_env(receiver: Receiver, mail_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "xinyidai.settings",
        "DATABASE_URL": _database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": django_settings.REDIS_URL,
        "EMAIL_URL": f"filemail://{mail_dir}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "NATIONAL_PLATFORM_URL": receiver.url,
        "NATIONAL_PLATFORM_SECRET": django_settings.NATIONAL_PLATFORM_SECRET,
        "NATIONAL_PLATFORM_TIMEOUT_SECONDS": "1",
        "NATIONAL_PLATFORM_RETRY_BASE_SECONDS": "0.2",
        "NATIONAL_PLATFORM_RETRY_CAP_SECONDS": "1",
        "NATIONAL_PLATFORM_RETRY_JITTER": "0.2",
        "NATIONAL_PLATFORM_LEASE_SECONDS": "3",
        "NATIONAL_PLATFORM_PUSH_LINGER_SECONDS": "5",
        "NATIONAL_PLATFORM_PUSH_BUDGET_SECONDS": "60",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def start_worker(
    django_db_setup: None, tmp_path: Path, receiver: Receiver
) -> Iterator[Callable[..., Worker]]:
    problem = _backend_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    started: list[Worker] = []
    saved_eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()

    def start(queue: str = "celery") -> Worker:
        name = f"push-{uuid.uuid4().hex[:8]}"
        (tmp_path / name).mkdir()
        w = Worker(f"{name}@{socket.gethostname()}", tmp_path / f"{name}.log", tmp_path / name)
        env = worker_env(receiver, tmp_path / name)
        # the Worker class listens on "celery"; a killed worker gets a queue of its own so that
        # its unacknowledged message can never reach another test's worker
        original = Worker.start

        def start_on_queue(self: Worker, env: dict[str, str]) -> None:
            import subprocess

            real_popen = subprocess.Popen

            def popen(command: list[str], *args: Any, **kwargs: Any) -> Any:
                if queue != "celery":
                    command = [queue if part == "celery" else part for part in command]
                return real_popen(command, *args, **kwargs)

            subprocess.Popen = popen  # type: ignore[assignment,misc]
            try:
                original(self, env)
            finally:
                subprocess.Popen = real_popen  # type: ignore[misc]

        start_on_queue(w, env)
        started.append(w)
        w.require()
        return w

    try:
        yield start
    finally:
        for w in started:
            w.stop()
        celery_app.conf.task_always_eager = saved_eager


def approved_list(
    office: Any, n: int, chunk_size: int, settings: Any, *, queue: bool = True
) -> RecommendationList:
    settings.NATIONAL_PLATFORM_CHUNK_SIZE = chunk_size
    for i in range(n):
        opt_in(firm(f"推送测试企业{i}", score=900 - i))
    reclist = new_list(office, criteria(office))
    lists.list_generate(actor=office, list_id=reclist.pk)
    if not queue:
        original = push.queue_push
        push.queue_push = lambda list_id=None: None
        try:
            return lists.list_approve(actor=office, list_id=reclist.pk)
        finally:
            push.queue_push = original
    return lists.list_approve(actor=office, list_id=reclist.pk)


def wait_until(condition: Callable[[], bool], worker: Worker, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} within {DEADLINE}s\n--- worker log ---\n{worker.log()}")


def all_delivered(reclist: RecommendationList) -> bool:
    return not NationalDelivery.objects.filter(list=reclist).exclude(status="delivered").exists()


def assert_exactly_once(reclist: RecommendationList) -> list[NationalDelivery]:
    deliveries = list(NationalDelivery.objects.filter(list=reclist).order_by("chunk"))
    receipts = {r.idempotency_key: r for r in NationalReceipt.objects.all()}
    assert sorted(receipts) == [d.idempotency_key for d in deliveries]  # none lost, none extra
    for d in deliveries:
        receipt = receipts[d.idempotency_key]
        assert d.status == "delivered"
        assert receipt.rows == d.rows and receipt.body_digest == d.payload_digest
        assert (receipt.seq_from, receipt.seq_to) == (d.seq_from, d.seq_to)
        assert d.receipt is not None and d.receipt["receipt_id"] == receipt.pk
    listed = reclist.entries.filter(removed=False).count()
    assert sum(r.rows for r in receipts.values()) == listed
    return deliveries


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------
def test_faults_end_with_each_chunk_delivered_once(
    receiver: Receiver, start_worker: Callable[..., Worker], credit_office: Any, settings: Any
) -> None:
    worker = start_worker()
    script = receiver.script
    script.fail_500 = 4
    script.hold_for = 2.5  # past the sender's 1 s timeout: stored, but the answer comes late
    # the receiver is down when the list is approved: connections are refused at first
    reclist = approved_list(credit_office, 8, 2, settings)
    keys = list(
        NationalDelivery.objects.filter(list=reclist)
        .order_by("chunk")
        .values_list("idempotency_key", flat=True)
    )
    script.hold.add(keys[2])
    # the platform already has chunk 4 (a duplicate receipt): store it as it will be sent
    fourth = NationalDelivery.objects.get(idempotency_key=keys[3])
    body = push.body_of(fourth)
    national.receive(headers=national.signed_headers(body, key=keys[3]), body=body)
    wait_until(
        lambda: NationalDelivery.objects.filter(
            list=reclist, last_error__contains="refused"
        ).exists(),
        worker,
        "no connection was refused",
    )
    receiver.start()
    wait_until(lambda: all_delivered(reclist), worker, "not every chunk was delivered")

    deliveries = assert_exactly_once(reclist)
    by_key = {d.idempotency_key: d for d in deliveries}
    assert any("HTTP 500" in d.last_error for d in deliveries), [d.last_error for d in deliveries]
    held = NationalReceipt.objects.get(idempotency_key=keys[2])
    assert held.duplicates >= 1  # stored at the first send, its resend was a duplicate
    assert by_key[keys[2]].receipt["duplicate"] is True  # type: ignore[index]
    assert "timed out" in by_key[keys[2]].last_error
    assert by_key[keys[3]].receipt["duplicate"] is True  # type: ignore[index]
    assert NationalReceipt.objects.get(idempotency_key=keys[3]).duplicates == 1
    assert lists.delivery_state(reclist).code == "delivered"


def test_worker_killed_mid_push_leaves_nothing_lost_or_doubled(
    receiver: Receiver, start_worker: Callable[..., Worker], credit_office: Any, settings: Any
) -> None:
    receiver.start()
    script = receiver.script
    script.hold_for = 30  # until released: the first worker will be killed while it waits
    reclist = approved_list(credit_office, 6, 2, settings, queue=False)
    first = NationalDelivery.objects.filter(list=reclist).order_by("chunk").first()
    assert first is not None
    script.hold.add(first.idempotency_key)
    doomed_queue = f"push-kill-{uuid.uuid4().hex[:8]}"
    doomed = start_worker(queue=doomed_queue)
    tasks.push_national.apply_async(kwargs={"list_id": reclist.pk}, queue=doomed_queue)
    wait_until(script.stored.is_set, doomed, "the first chunk never reached the receiver")
    first.refresh_from_db()
    assert first.status == "sending"
    assert doomed.process is not None
    doomed.process.kill()  # SIGKILL: no clean-up, no acknowledgement, the lease stays
    doomed.process.wait()
    first.refresh_from_db()
    assert first.status == "sending" and first.attempts == 1
    script.release.set()

    rescuer = start_worker()
    tasks.push_national.delay(list_id=reclist.pk)
    wait_until(lambda: all_delivered(reclist), rescuer, "not every chunk was delivered")
    deliveries = assert_exactly_once(reclist)
    taken_over = deliveries[0]
    assert taken_over.attempts == 2  # once by the killed worker, once after its lease ran out
    assert taken_over.receipt["duplicate"] is True  # type: ignore[index]
    assert NationalReceipt.objects.get(idempotency_key=taken_over.idempotency_key).duplicates == 1
    assert all(d.attempts == 1 for d in deliveries[1:])


def test_two_senders_never_send_the_same_chunk(
    receiver: Receiver, credit_office: Any, settings: Any
) -> None:
    """SELECT … FOR UPDATE SKIP LOCKED: two senders at once share the chunks between them."""
    problem = _backend_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    receiver.start()
    settings.NATIONAL_PLATFORM_URL = receiver.url
    reclist = approved_list(credit_office, 24, 1, settings, queue=False)
    results: list[push.PushResult] = []

    def sender() -> None:
        try:
            results.append(push.push_due(list_id=reclist.pk, linger_seconds=0))
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE)
    assert sum(r.delivered for r in results) == 24
    assert sum(r.attempts for r in results) == 24  # no chunk sent twice
    assert_exactly_once(reclist)
    assert not NationalReceipt.objects.filter(duplicates__gt=0).exists()
    assert len(receiver.script.seen) == 24
