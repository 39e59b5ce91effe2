"""A real Celery worker on Redis, reading the PostgreSQL test database.

Only meaningful with DATABASE_URL (PostgreSQL) and REDIS_URL set, as in the second pass of
`make test`; without them the tests fail rather than skip. The SQLite pass deselects them with
`-m "not integration"`.
"""

from __future__ import annotations

import email
import email.policy
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from celery.result import EagerResult
from django.conf import settings

from enterprises import uscc
from enterprises.models import Enterprise
from xinyidai import celery_app
from xinyidai.core import tasks

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30
STOP_TIMEOUT = 10
TASK_TIMEOUT = 30


def _backend_problem() -> str | None:
    engine = settings.DATABASES["default"]["ENGINE"]
    problems = []
    if engine != "django.db.backends.postgresql":
        problems.append(f"the database is {engine}, not PostgreSQL (set DATABASE_URL)")
    if not getattr(settings, "REDIS_URL", ""):
        problems.append("REDIS_URL is not set")
    if not problems:
        return None
    return (
        "the Celery worker integration test needs PostgreSQL and Redis: "
        + "; ".join(problems)
        + ". Run it as `make test` does (its second pass), or deselect it with "
        '-m "not integration".'
    )


def _database_url() -> str:
    """URL of the database this test process uses: the test database once it is set up."""
    db = settings.DATABASES["default"]
    user = quote(str(db.get("USER") or ""), safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(str(db['NAME']), safe='')}"


class Worker:
    def __init__(self, hostname: str, log_path: Path, mail_dir: Path) -> None:
        self.hostname = hostname
        self.log_path = log_path
        self.mail_dir = mail_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.problem: str | None = None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no worker log)"

    def require(self) -> None:
        """Fail the calling test (not error, not skip) when the worker could not run."""
        if self.problem:
            pytest.fail(self.problem, pytrace=False)

    @contextmanager
    def showing_log(self) -> Iterator[None]:
        """Re-raise any failure inside the block with the worker's log attached."""
        try:
            yield
        except Exception as exc:
            pytest.fail(
                f"{type(exc).__name__}: {exc}\n\n--- celery worker log ({self.log_path}) ---\n"
                f"{self.log()}",
                pytrace=True,
            )

    def start(self, env: dict[str, str]) -> None:
        celery = REPO_ROOT / ".venv" / "bin" / "celery"
        command = [str(celery)] if celery.exists() else [sys.executable, "-m", "celery"]
        command += [
            "-A",
            "xinyidai",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            "celery",
            "--hostname",
            self.hostname,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "info",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.problem = (
                    f"the Celery worker exited with code {self.process.returncode} while "
                    f"starting:\n{self.log()}"
                )
                return
            if celery_app.control.ping(destination=[self.hostname], timeout=1):
                return
        self.problem = (
            f"the Celery worker did not answer a ping within {START_TIMEOUT}s:\n{self.log()}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def worker_process(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    """One real worker for the module, started once the test database exists."""
    tmp = tmp_path_factory.mktemp("celery-worker")
    mail_dir = tmp / "mail"
    mail_dir.mkdir()
    # A hostname of our own, so that the ping can only be answered by this worker.
    hostname = f"xinyidai-test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    w = Worker(hostname, tmp / "worker.log", mail_dir)
    problem = _backend_problem()
    if problem:
        w.problem = problem
        yield w
        return

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "xinyidai.settings",
        # django_db_setup has run: NAME is now the test database's name.
        "DATABASE_URL": _database_url(),
        # Close the worker's connection after each task so the test database can be dropped.
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_URL": f"filemail://{mail_dir}",  # mail_dir is absolute: filemail:///tmp/...
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    try:
        # Left-over messages from earlier runs (or from tests that queued tasks without a
        # worker) would otherwise run first, against this test database.
        celery_app.control.purge()
        w.start(env)
        yield w
    finally:
        w.stop()


@pytest.fixture
def worker(worker_process: Worker) -> Iterator[Worker]:
    """The worker, with this process sending tasks to it instead of running them eagerly.

    Function-scoped so that it runs after conftest's autouse fixture that makes tasks eager.
    """
    saved_eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield worker_process
    finally:
        celery_app.conf.task_always_eager = saved_eager


def test_ping_round_trip_reads_the_test_database(worker: Worker) -> None:
    worker.require()
    rng = random.Random(1)
    before = Enterprise.objects.count()
    for i in range(2):
        Enterprise.objects.create(uscc=uscc.generate(rng), name=f"集成测试企业{i + 1}有限公司")
    assert Enterprise.objects.count() == before + 2

    with worker.showing_log():
        async_result = tasks.ping.delay("hello")
        assert not isinstance(async_result, EagerResult), "the task ran in the test process"
        assert async_result.get(timeout=TASK_TIMEOUT) == {
            "echo": "hello",
            "enterprises": before + 2,
        }


def test_send_email_through_the_worker(worker: Worker) -> None:
    worker.require()
    with worker.showing_log():
        async_result = tasks.send_email.delay(subject="测试", body="正文", to=["a@example.com"])
        assert not isinstance(async_result, EagerResult), "the task ran in the test process"
        assert async_result.get(timeout=TASK_TIMEOUT) == 1

        messages = []
        for path in sorted(worker.mail_dir.iterdir()):
            # The file backend separates messages with a line of 79 dashes.
            for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                if chunk.strip():
                    messages.append(email.message_from_bytes(chunk, policy=email.policy.default))
        subjects = [str(m["Subject"]) for m in messages]
        assert "测试" in subjects, f"no message with subject 测试 in {worker.mail_dir}: {subjects}"
        message = messages[subjects.index("测试")]
        assert message["To"] == "a@example.com"
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        assert "正文" in body.get_content()


def test_reads_are_sealed_into_the_ledger_by_the_worker(worker: Worker) -> None:
    """A read commits; the on-commit hook queues `ledger_seal` (debounced, a second later) and
    the worker chains it — the request itself never waits on the ledger lock."""
    from django.db import transaction

    from enterprises.models import AccessLog
    from xinyidai.core import ledger
    from xinyidai.core.models import User

    worker.require()
    enterprise = Enterprise.objects.create(
        uscc=uscc.generate(random.Random(7)), name="集成测试账本企业有限公司"
    )
    user = User.objects.create_user("ledger-reader@example.com", "x")
    with worker.showing_log():
        with transaction.atomic():
            log = AccessLog.objects.create(
                user=user,
                role="credit_office",
                enterprise=enterprise,
                scope="summary",
                reason="集成测试",
                path="/api/v1/enterprises/x/summary/",
            )
            ledger.seal_soon()
        deadline = time.monotonic() + TASK_TIMEOUT
        while time.monotonic() < deadline:
            log.refresh_from_db()
            if log.ledger_seq is not None:
                break
            time.sleep(0.2)
        assert log.ledger_seq is not None, "the worker did not seal the read"
    result = ledger.verify()
    assert result.ok, result.problem
    assert result.entries >= 1
