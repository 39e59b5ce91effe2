"""Benchmark the portrait API under load: gunicorn, closed-loop concurrent clients, latencies.

Run it against the 1,000,000-enterprise city of `bench/seed.py` (grades computed by
`bench/regrade.py`):

    DATABASE_URL=postgres://xinyidai:xinyidai@127.0.0.1:5432/xinyidai_bench \\
        .venv/bin/python bench/portrait_api.py [--duration 30] [--clients 8] [--workers 2] \\
        [--endpoints portrait,graph,ownership] [--profile 300]

What it does:
1. In this process (development settings): creates, if missing, a credit-office user
   `bench-portrait-api@example.com` with a TOTP authenticator (which the role needs before the
   token endpoint issues a token) and a DRF token, and draws `--usccs` (10,000) random USCCs
   from the city (seeded). Nothing else is written.
2. Starts `gunicorn xinyidai.wsgi:application --workers 2` on a free port of 127.0.0.1 with
   production settings (`DJANGO_DEBUG=false`, throw-away secret key and person-ID key, the
   Fernet key the city was written with — the development key derived from the development
   secret key unless FIELD_ENCRYPTION_KEY is set here —, `DJANGO_SECURE_SSL_REDIRECT=false` so
   that plain HTTP is served) and the cache on Redis database 14 if Redis answers on
   127.0.0.1:6379, else the local-memory cache.
3. Warms up with concurrent requests until every worker has built its graph snapshot (its CPU
   time grew by more than a second) and at least `--warmup` requests were answered, then reads
   back 50 answers of each endpoint (JSON with the documented keys).
4. For each endpoint (`/portrait/`, `/graph/?depth=1`, `/ownership/`): `--clients` processes,
   each with its own `http.client.HTTPConnection`, send requests back to back for `--duration`
   seconds (closed loop) with a random USCC each time and `Authorization: Token …`; every
   request's latency is kept. Prints requests/s, p50/p95/p99/max, errors, and the CPU time
   spent by the clients, the gunicorn workers and PostgreSQL (all `postgres` processes of the
   machine) during the run.
5. With `--profile N`: a child process with the same settings calls the WSGI application
   directly (no socket): queries per request (`CaptureQueriesContext`), in-process time per
   request, and a cProfile of N requests per endpoint (top functions and the cumulative time of
   the named steps in PROFILE_FUNCTIONS). `--profile-only` skips the server and the load.

Bounded: at most `--max-requests` per client and phase, and each phase ends after `--duration`
seconds; the server is stopped at the end. Only 127.0.0.1 is contacted. Prints one JSON line
at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import multiprocessing
import os
import pstats
import random
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _machine import TICKS, machine, proc_stat
from _machine import database as describe_database  # bench/ is sys.path[0] when run as a script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinyidai.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")

HOST = "127.0.0.1"
BENCH_EMAIL = "bench-portrait-api@example.com"
REDIS_URL = "redis://127.0.0.1:6379/14"
ENDPOINTS: dict[str, str] = {
    "portrait": "/api/v1/enterprises/{uscc}/portrait/",
    "graph": "/api/v1/enterprises/{uscc}/graph/?depth=1",
    "ownership": "/api/v1/enterprises/{uscc}/ownership/",
}


# ---------------------------------------------------------------------------------------------
# Machine and process CPU
# ---------------------------------------------------------------------------------------------
def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def children_of(pid: int) -> list[int]:
    found = []
    for child in all_pids():
        stat = proc_stat(child)
        if stat is not None and stat[1] == pid:
            found.append(child)
    return found


def cpu_of(pids: Iterable[int]) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        stat = proc_stat(pid)
        if stat is not None:
            seconds[pid] = stat[2]
    return seconds


def postgres_cpu() -> float:
    """CPU seconds of every `postgres` process, plus the reaped children of the postmaster
    (backends that ended), so that a connection closed during a phase still counts."""
    total = 0.0
    for pid in all_pids():
        stat = proc_stat(pid)
        if stat is None or stat[0] != "postgres":
            continue
        total += stat[2]
        parent = proc_stat(stat[1])
        if parent is None or parent[0] != "postgres":  # the postmaster
            total += stat[3]
    return total


def system_busy() -> float:
    """CPU seconds the whole machine spent not idle (all CPUs), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields[:8]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICKS


def percentiles(ms: list[float]) -> dict[str, float]:
    import numpy as np

    if not ms:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "mean_ms": 0.0}
    values = np.asarray(ms)
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "p50_ms": round(float(p50), 2),
        "p95_ms": round(float(p95), 2),
        "p99_ms": round(float(p99), 2),
        "max_ms": round(float(values.max()), 2),
        "mean_ms": round(float(values.mean()), 2),
    }


# ---------------------------------------------------------------------------------------------
# Set-up in this process: the user, its token, the USCCs
# ---------------------------------------------------------------------------------------------
def prepare(usccs_wanted: int, seed: int, migrate: bool) -> tuple[str, list[str], str, str]:
    import django

    django.setup()
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.core.management import call_command
    from django.db import connections
    from rest_framework.authtoken.models import Token

    from enterprises.models import Enterprise
    from xinyidai.core.models import PlatformRole, User

    if migrate:
        call_command("migrate", verbosity=0)
    user, created = User.objects.get_or_create(
        email=BENCH_EMAIL,
        defaults={"platform_role": PlatformRole.CREDIT_OFFICE, "full_name": "Benchmark"},
    )
    if created:
        user.set_unusable_password()
        user.save()
    elif user.platform_role != PlatformRole.CREDIT_OFFICE or not user.is_active:
        user.platform_role = PlatformRole.CREDIT_OFFICE
        user.is_active = True
        user.save(update_fields=["platform_role", "is_active"])
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, generate_totp_secret())
    token, _ = Token.objects.get_or_create(user=user)

    top = Enterprise.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rng = random.Random(seed)
    picked = rng.sample(range(1, top + 1), min(top, usccs_wanted * 2))
    usccs = sorted(
        Enterprise.objects.filter(pk__in=picked).values_list("uscc", flat=True)[:usccs_wanted]
    )
    rng.shuffle(usccs)
    database = describe_database()
    connections.close_all()
    # The key the city's encrypted fields were written with: FIELD_ENCRYPTION_KEY if this
    # process has one, else the development key derived from SECRET_KEY (xinyidai.core.crypto).
    from xinyidai.core.crypto import current_keys

    field_key = current_keys()
    return token.key, usccs, database, field_key


def redis_answers() -> bool:
    try:
        with socket.create_connection((HOST, 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def server_env(cache: str, field_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "xinyidai.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),  # 64 characters
            "DJANGO_ALLOWED_HOSTS": HOST,
            # enterprises are loaded whole: the legal representative's resident ID is decrypted
            "FIELD_ENCRYPTION_KEY": field_key,
            # only hashes resident IDs on import; these endpoints only read
            "PERSON_ID_KEY": secrets.token_urlsafe(32),
            # reads are chained into the ledger with this key (a throw-away one here)
            "LEDGER_KEY": secrets.token_urlsafe(32),
            # required in production; nothing is pushed from these read-only endpoints
            "NATIONAL_PLATFORM_URL": f"http://{HOST}/api/v1/national/receive/",
            "NATIONAL_PLATFORM_SECRET": secrets.token_urlsafe(32),
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    if cache == "redis":
        env["REDIS_URL"] = REDIS_URL
        env["CACHE_KEY_PREFIX"] = "bench-portrait-api"
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------------
@dataclass
class ClientResult:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    first_error: str = ""
    body_bytes: int = 0
    cpu_seconds: float = 0.0
    finished_at: float = 0.0


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def client(
    port: int,
    token: str,
    template: str,
    usccs: list[str],
    seed: int,
    start_at: float,
    duration: float,
    max_requests: int,
) -> ClientResult:
    """One closed-loop client: a request, its answer, the next request."""
    rng = random.Random(seed)
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    result = ClientResult()
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    time.sleep(max(0.0, start_at - time.time()))
    cpu_before = self_cpu()
    deadline = time.perf_counter() + duration
    for _ in range(max_requests):
        if time.perf_counter() >= deadline:
            break
        path = template.format(uscc=rng.choice(usccs))
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            result.failures[type(exc).__name__] += 1
            result.first_error = result.first_error or f"{path}: {exc!r}"
            continue
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        result.statuses[status] += 1
        result.body_bytes += len(body)
        if status != 200 and not result.first_error:
            result.first_error = f"{path}: {status} {body[:300]!r}"
    conn.close()
    result.cpu_seconds = self_cpu() - cpu_before
    result.finished_at = time.time()
    return result


def run_clients(
    *,
    port: int,
    token: str,
    template: str,
    usccs: list[str],
    clients: int,
    duration: float,
    max_requests: int,
    seed: int,
) -> tuple[list[ClientResult], float, float]:
    """Runs `clients` processes at once; returns their results, the start time and wall time."""
    context = multiprocessing.get_context("fork")
    start_at = time.time() + 0.5
    with context.Pool(clients) as pool:
        pending = [
            pool.apply_async(
                client,
                (port, token, template, usccs, seed * 1000 + i, start_at, duration, max_requests),
            )
            for i in range(clients)
        ]
        results = [p.get(timeout=duration + 120) for p in pending]
    wall = max(r.finished_at for r in results) - start_at
    return results, start_at, wall


# ---------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------
class Server:
    def __init__(self, workers: int, env: dict[str, str], worker_class: str) -> None:
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="bench-portrait-api-", suffix=".log", delete=False
        )
        command = [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "xinyidai.wsgi:application",
            "--workers",
            str(workers),
            "--bind",
            f"{HOST}:{self.port}",
        ]
        if worker_class != "sync":
            command += ["--worker-class", worker_class]
        self.command = " ".join(command[1:])
        self.process = subprocess.Popen(  # noqa: S603 - fixed command, our own venv
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.workers = workers

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_tail()}")
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                if len(self.worker_pids()) >= self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not start:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        return children_of(self.process.pid)

    def cpu(self) -> dict[int, float]:
        return cpu_of([self.process.pid, *self.worker_pids()])

    def log_tail(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()

    def stop_and_report(self) -> None:
        """Stop, then print the log if something went wrong in gunicorn, else delete it."""
        self.stop()
        log = Path(self.log.name)
        text = log.read_text(errors="replace")
        if "Traceback" in text or "ERROR" in text:
            print(f"gunicorn log ({log}):\n{text[-3000:]}", file=sys.stderr)
        else:
            log.unlink()


def warm_up(
    server: Server, token: str, usccs: list[str], minimum: int, clients: int
) -> dict[str, Any]:
    """Concurrent requests over every endpoint until each worker has spent a second of CPU
    (its graph snapshot is built) and at least `minimum` requests were answered."""
    before = server.cpu()
    started = time.perf_counter()
    answered = 0
    statuses: Counter[int] = Counter()
    rounds = 0
    while True:
        rounds += 1
        for index, template in enumerate(ENDPOINTS.values()):
            results, _, _ = run_clients(
                port=server.port,
                token=token,
                template=template,
                usccs=usccs,
                clients=clients,
                duration=60,
                max_requests=max(1, minimum // (clients * len(ENDPOINTS))),
                seed=900 + rounds * 10 + index,
            )
            for result in results:
                answered += len(result.latencies_ms)
                statuses.update(result.statuses)
                if result.first_error and result.statuses.get(200, 0) == 0:
                    raise RuntimeError(f"warm-up failed: {result.first_error}")
        spent = server.cpu()
        workers = server.worker_pids()
        ready = all(spent.get(pid, 0) - before.get(pid, 0) > 1.0 for pid in workers)
        if (ready and answered >= minimum) or time.perf_counter() - started > 120 or rounds >= 20:
            return {
                "requests": answered,
                "seconds": round(time.perf_counter() - started, 1),
                "statuses": dict(statuses),
                "worker_cpu_s": {
                    str(pid): round(spent.get(pid, 0) - before.get(pid, 0), 2) for pid in workers
                },
                "all_workers_warm": ready,
            }


EXPECTED_KEYS = {
    "portrait": {"grade", "score", "scheme_version", "dimensions", "reasons", "risk_tags"},
    "graph": {"nodes", "edges", "capped"},
    "ownership": {"holders", "beneficial_owners", "controller", "method"},
}


def check_answers(server: Server, token: str, usccs: list[str], sample: int = 50) -> dict[str, Any]:
    """A few answers of each endpoint read back: JSON with the documented keys; how many
    portraits carry a grade, graphs more than the firm itself, firms an ultimate holder."""
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    seen: dict[str, int] = {}
    for name, template in ENDPOINTS.items():
        filled = 0
        for uscc in usccs[:sample]:
            conn = http.client.HTTPConnection(HOST, server.port, timeout=30)
            conn.request("GET", template.format(uscc=uscc), headers=headers)
            response = conn.getresponse()
            body = response.read()
            conn.close()
            if response.status != 200:
                raise RuntimeError(f"{name} {uscc}: {response.status} {body[:300]!r}")
            data = json.loads(body)
            missing = EXPECTED_KEYS[name] - set(data)
            if missing:
                raise RuntimeError(f"{name} {uscc}: keys {sorted(missing)} missing")
            filled += bool(
                data["grade"]
                if name == "portrait"
                else len(data["nodes"]) > 1
                if name == "graph"
                else data["holders"]
            )
        seen[name] = filled
    return {
        "sample": sample,
        "portraits_with_grade": seen["portrait"],
        "graphs_with_neighbours": seen["graph"],
        "ownership_with_holders": seen["ownership"],
    }


def load_phase(
    server: Server,
    token: str,
    usccs: list[str],
    name: str,
    clients: int,
    duration: float,
    max_requests: int,
    seed: int,
) -> dict[str, Any]:
    server_before, pg_before, busy_before = server.cpu(), postgres_cpu(), system_busy()
    results, _, wall = run_clients(
        port=server.port,
        token=token,
        template=ENDPOINTS[name],
        usccs=usccs,
        clients=clients,
        duration=duration,
        max_requests=max_requests,
        seed=seed,
    )
    server_after, pg_after, busy_after = server.cpu(), postgres_cpu(), system_busy()
    latencies = [ms for r in results for ms in r.latencies_ms]
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    for r in results:
        statuses.update(r.statuses)
        failures.update(r.failures)
    ok = statuses.get(200, 0)
    errors = sum(n for status, n in statuses.items() if status != 200) + sum(failures.values())
    client_cpu = sum(r.cpu_seconds for r in results)
    gunicorn_cpu = sum(server_after[pid] - server_before.get(pid, 0.0) for pid in server_after)
    pg_cpu = pg_after - pg_before
    busy = busy_after - busy_before
    return {
        "endpoint": ENDPOINTS[name].format(uscc="<uscc>"),
        "clients": clients,
        "seconds": round(wall, 2),
        "requests": len(latencies) + sum(failures.values()),
        "ok": ok,
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "failures": dict(failures),
        "first_error": next((r.first_error for r in results if r.first_error), ""),
        "requests_per_s": round(len(latencies) / wall, 1) if wall > 0 else 0.0,
        **percentiles(latencies),
        "mean_body_bytes": round(sum(r.body_bytes for r in results) / max(1, len(latencies))),
        "cpu_s": {
            "clients": round(client_cpu, 1),
            "gunicorn": round(gunicorn_cpu, 1),
            "postgres": round(pg_cpu, 1),
            "other": round(busy - client_cpu - gunicorn_cpu - pg_cpu, 1),
            "machine_busy": round(busy, 1),
            "machine_capacity": round(wall * (os.cpu_count() or 1), 1),
        },
        "gunicorn_cpu_ms_per_request": round(gunicorn_cpu * 1000 / max(1, len(latencies)), 2),
        "postgres_cpu_ms_per_request": round(pg_cpu * 1000 / max(1, len(latencies)), 2),
        "client_cpu_ms_per_request": round(client_cpu * 1000 / max(1, len(latencies)), 2),
    }


# ---------------------------------------------------------------------------------------------
# Profile (child process with the server's settings, WSGI application called directly)
# ---------------------------------------------------------------------------------------------
# Functions whose cumulative time the profile reports by name ("folder/file.py:function").
PROFILE_FUNCTIONS = {
    "handlers/base.py:get_response",
    "core/middleware.py:__call__",
    "rest_framework/views.py:dispatch",
    "rest_framework/views.py:initial",
    "rest_framework/authentication.py:authenticate_credentials",
    "rest_framework/response.py:rendered_content",
    "api/portrait.py:_enterprise",
    "enterprises/selectors.py:enterprise_get",
    "xinyidai/permissions.py:roles_of",
    "enterprises/portrait.py:portrait",
    "enterprises/portrait.py:current_grade",
    "enterprises/portrait.py:record_summary",
    "enterprises/portrait.py:risk_tags",
    "enterprises/portrait.py:graph_json",
    "enterprises/portrait.py:ownership_json",
    "enterprises/graph.py:related_risk_for",
    "enterprises/graph.py:neighbourhood",
    "enterprises/graph.py:ownership",
    "enterprises/graph.py:snapshot",
    "core/crypto.py:decrypt",
    "db/transaction.py:__exit__",
    "rest_framework/renderers.py:render",
    "postgresql/base.py:is_usable",
    "sql/compiler.py:execute_sql",
    "psycopg/connection.py:wait",
}


def profile_child(requests: int, top: int) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from xinyidai.wsgi import application

    token = os.environ["BENCH_TOKEN"]
    usccs: list[str] = json.loads(Path(os.environ["BENCH_USCCS"]).read_text())
    rng = random.Random(7)

    def call(template: str) -> int:
        path, _, query = template.format(uscc=rng.choice(usccs)).partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SCRIPT_NAME": "",
            "SERVER_NAME": HOST,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": HOST,
            "HTTP_HOST": HOST,
            "HTTP_ACCEPT": "application/json",
            "HTTP_AUTHORIZATION": f"Token {token}",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        status: list[str] = []

        def start_response(line: str, headers: Any, exc_info: Any = None) -> Callable[..., Any]:
            status.append(line)
            return lambda data: None

        body = application(environ, start_response)
        try:
            for _chunk in body:
                pass
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()  # request_finished: what gunicorn does after each response
        return int(status[0].split()[0])

    report: dict[str, Any] = {}
    for name, template in ENDPOINTS.items():
        for _ in range(30):  # snapshot, risky set, dimension names, first queries
            if call(template) != 200:
                raise SystemExit(f"profile: {name} did not answer 200")
        # Statements per request: CaptureQueriesContext around each request (Django empties
        # its query log when a request starts), plus the connection health check, which runs
        # on the raw psycopg connection and is therefore counted apart (`is_usable` calls).
        sample = 200
        counts: list[int] = []
        shapes: Counter[str] = Counter()
        for _ in range(sample):
            with CaptureQueriesContext(connection) as captured:
                call(template)
            counts.append(len(captured.captured_queries))
            shapes.update(q["sql"][:100] for q in captured.captured_queries)
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            call(template)
            times.append((time.perf_counter() - started) * 1000)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            call(template)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        print(f"\n===== {name}: cProfile of {requests} in-process requests =====")
        print(out.getvalue())
        raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
        total = max(ct for (_cc, _nc, _tt, ct, _callers) in raw.values())
        named = {}
        for (filename, _line, function), (_cc, ncalls, _tt, ct, _callers) in raw.items():
            label = f"{Path(filename).parent.name}/{Path(filename).name}:{function}"
            if label in PROFILE_FUNCTIONS:
                named[label] = {
                    "calls_per_request": round(ncalls / requests, 2),
                    "ms_per_request": round(ct * 1000 / requests, 3),
                    "share": round(ct / total, 3),
                }
        report[name] = {
            "statements_per_request": round(sum(counts) / sample, 2),
            "statements_min_max": [min(counts), max(counts)],
            "statement_shapes_per_request": {
                sql: round(n / sample, 2) for sql, n in shapes.most_common(12)
            },
            "in_process": percentiles(times),
            "profiled_ms_per_request": round(total * 1000 / requests, 3),
            "functions": dict(sorted(named.items(), key=lambda kv: -kv[1]["ms_per_request"])),
        }
    print("PROFILE-JSON " + json.dumps(report, ensure_ascii=False))


def run_profile(env: dict[str, str], token: str, usccs: list[str], requests: int) -> Any:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(usccs, handle)
    try:
        child_env = {**env, "BENCH_TOKEN": token, "BENCH_USCCS": handle.name}
        completed = subprocess.run(  # noqa: S603 - this script, our own interpreter
            [sys.executable, __file__, "--profile-child", str(requests)],
            env=child_env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    finally:
        os.unlink(handle.name)
    print(completed.stdout[-60000:])
    if completed.returncode != 0:
        print(completed.stderr[-3000:], file=sys.stderr)
        return None
    line = next((x for x in completed.stdout.splitlines() if x.startswith("PROFILE-JSON ")), None)
    return json.loads(line.removeprefix("PROFILE-JSON ")) if line else None


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------
def print_table(phases: dict[str, dict[str, Any]]) -> None:
    head = (
        f"{'endpoint':<45} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>8} "
        f"{'errors':>6}  cpu s (clients / gunicorn / postgres / other of capacity)"
    )
    print(head)
    for phase in phases.values():
        cpu = phase["cpu_s"]
        print(
            f"{phase['endpoint']:<45} {phase['requests_per_s']:>7} {phase['p50_ms']:>7} "
            f"{phase['p95_ms']:>7} {phase['p99_ms']:>7} {phase['max_ms']:>8} "
            f"{phase['errors']:>6}  {cpu['clients']} / {cpu['gunicorn']} / {cpu['postgres']} / "
            f"{cpu['other']} of {cpu['machine_capacity']}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per endpoint")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--usccs", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--max-requests", type=int, default=200_000, help="per client, phase")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", choices=["auto", "redis", "locmem"], default="auto")
    parser.add_argument("--profile", type=int, default=0, help="profile N requests/endpoint")
    parser.add_argument("--profile-only", action="store_true", help="no server, no load")
    parser.add_argument("--no-migrate", action="store_true")
    parser.add_argument("--profile-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.profile_child:
        profile_child(args.profile_child, top=25)
        return 0
    if not os.environ.get("DATABASE_URL"):
        parser.error("set DATABASE_URL to the synthetic city (PostgreSQL)")
    names = [n.strip() for n in args.endpoints.split(",") if n.strip()]
    unknown = [n for n in names if n not in ENDPOINTS]
    if unknown:
        parser.error(f"unknown endpoints: {unknown}")
    if not 1 <= args.clients <= 64 or not 1 <= args.workers <= 16 or args.duration > 600:
        parser.error("clients 1..64, workers 1..16, duration at most 600 s")

    token, usccs, database, field_key = prepare(args.usccs, args.seed, not args.no_migrate)
    cache = args.cache
    if cache == "auto":
        cache = "redis" if redis_answers() else "locmem"
    env = server_env(cache, field_key)
    print(f"machine: {machine()}")
    print(f"database: {database}; {len(usccs)} USCCs drawn (seed {args.seed}); cache: {cache}")
    print(f"load average before: {os.getloadavg()}")

    if args.profile_only:
        profile = run_profile(env, token, usccs, args.profile or 300)
        print(json.dumps({"database": database, "cache": cache, "profile": profile}))
        return 0 if profile else 1

    server = Server(args.workers, env, args.worker_class)
    phases: dict[str, dict[str, Any]] = {}
    warm: dict[str, Any] = {}
    checked: dict[str, Any] = {}
    try:
        server.wait_ready()
        print(f"server: {server.command} (DJANGO_DEBUG=false)")
        warm = warm_up(server, token, usccs, args.warmup, args.clients)
        print(f"warm-up: {warm}")
        checked = check_answers(server, token, usccs)
        print(f"answers checked: {checked}")
        for index, name in enumerate(names):
            phases[name] = load_phase(
                server,
                token,
                usccs,
                name,
                args.clients,
                args.duration,
                args.max_requests,
                seed=args.seed * 100 + index,
            )
            print(f"{name}: {json.dumps(phases[name], ensure_ascii=False)}", flush=True)
        if server.process.poll() is not None:
            print(f"gunicorn stopped during the run:\n{server.log_tail()}", file=sys.stderr)
    finally:
        server.stop_and_report()

    print()
    print_table(phases)
    target = phases.get("portrait")
    met = bool(
        target
        and target["requests_per_s"] >= 300
        and target["p99_ms"] < 50
        and not target["errors"]
    )
    print(
        f"\ntarget (portrait ≥ 300 req/s, p99 < 50 ms, {args.clients} clients, "
        f"{args.workers} workers): {'met' if met else 'missed'}"
    )

    profile = run_profile(env, token, usccs, args.profile) if args.profile else None
    summary = {
        "machine": machine(),
        "database": database,
        "date": time.strftime("%Y-%m-%d"),
        "server": server.command,
        "settings": "DJANGO_DEBUG=false",
        "cache": cache,
        "usccs": len(usccs),
        "warmup": warm,
        "answers_checked": checked,
        "phases": phases,
        "target_met": met,
        "profile": profile,
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
