"""Benchmark the read check: what `access.read()` (decide + log + seal request) adds to a read.

    DATABASE_URL=postgres://xinyidai:xinyidai@127.0.0.1:5432/xinyidai_bench_access \\
        .venv/bin/python bench/access_check.py [--reads 5000] [--enterprises 20] [--profile 2000]

On PostgreSQL the database is created if it does not exist (the role needs CREATEDB) and
migrated; `--drop` drops it at the end. Nothing outside it is written except, when Redis answers
on `--redis` (default redis://127.0.0.1:6379/14), the debounce key and the queued seal tasks of
that Redis database (purged at the end, with the queue's binding keys). Without Redis the cache
is local memory and the broker Celery's in-memory transport.

What it does, in one process with the project's settings (DEBUG switched off after set-up, so no
query log):
1. Creates, if missing, a bank, a bank officer (user + membership), `--enterprises` enterprises and
   for each an active authorisation of the bank (scope portrait, purpose pre_loan), with the ORM.
   The officer is loaded as the API's token authentication loads it (memberships joined), and
   before every read its per-request caches (roles, decided reads) are dropped.
2. Times `--reads` reads, each in its own `transaction.atomic()` (like ATOMIC_REQUESTS), with the
   enterprises taken in turn; baseline and checked reads alternate:
   - baseline: `selectors.enterprise_for_read(uscc=..., brief=True)` — the lookup every read
     endpoint makes — and commit;
   - checked: the same lookup, then `access.read(request, enterprise, scope="portrait")` on a
     prepared GET request (`?purpose=pre_loan`): `decide()` (the authorisation query) and
     `record()` (AccessLog insert, first-read check, `ledger.seal_soon()`), then commit, which
     runs the on-commit callback.
   Phase "deferred" is the production path (Celery not eager): the callback is a cache `add` of
   the debounce key and, at most once a second, `ledger_seal.apply_async(countdown=1)`; the seal
   itself then runs in a worker (its cost is the batch figure of step 4). Phase "eager" is
   `make run`: `app.conf.task_always_eager = True`, so the callback runs `ledger.seal()` inline.
   Each read's time is split into lookup / check+log / commit (with the callback).
3. The same deferred loop (and the eager one) in 2 processes at once (fork; 2 cores).
4. Batches: `--batches` times, writes K pending AccessLog rows (bulk_create, not timed) and times
   one `ledger.seal()` for K = 1, 100, 1,000.
5. `--profile N`: cProfile of N checked deferred reads, top functions by cumulative time.

Each phase also prints the CPU seconds the machine spent (from /proc): this benchmark, every
PostgreSQL process, and "other" — anything else running, which makes a run worthless on a shared
machine when it is more than a fraction of a second. Prints p50/p95/p99/max in ms per phase and
one JSON line at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import multiprocessing
import os
import pstats
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _machine import TICKS, drop_database, ensure_database, machine, proc_stat
from _machine import database as describe_database  # bench/ is sys.path[0] when run as a script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinyidai.settings")

BANK_FI_CODE = "BENCHACCESS001"
OFFICER_EMAIL = "bench-access-officer@example.com"
ENTERPRISE_NAME = "东莞市读取基准{n}号制造有限公司"
CACHE_PREFIX = "bench-access-check"


# ---------------------------------------------------------------------------------------------
# Database and Redis
# ---------------------------------------------------------------------------------------------
def redis_answers(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------
def cpu_now() -> dict[str, float]:
    """CPU seconds so far: the whole machine (not idle, all CPUs), this process with its
    reaped children, and every `postgres` process (ended backends through the postmaster)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return {"busy": 0.0, "own": 0.0, "postgres": 0.0}
    values = [int(v) for v in fields[:8]]
    postgres = 0.0
    for name in os.listdir("/proc"):
        stat = proc_stat(int(name)) if name.isdigit() else None
        if stat is None or stat[0] != "postgres":
            continue
        postgres += stat[2]
        parent = proc_stat(stat[1])
        if parent is None or parent[0] != "postgres":  # the postmaster
            postgres += stat[3]
    times = os.times()
    return {
        "busy": (sum(values) - values[3] - values[4]) / TICKS,
        "own": times.user + times.system + times.children_user + times.children_system,
        "postgres": postgres,
    }


def cpu_since(before: dict[str, float]) -> dict[str, float]:
    """CPU seconds spent since `before`; "other" is everything else the machine ran."""
    after = cpu_now()
    spent = {k: round(after[k] - before[k], 2) for k in after}
    spent["other"] = round(spent["busy"] - spent["own"] - spent["postgres"], 2)
    return spent


def percentiles(seconds: list[float]) -> dict[str, float]:
    import numpy as np

    if not seconds:
        return {"n": 0}
    ms = np.asarray(seconds) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {
        "n": len(seconds),
        "p50": round(float(p50), 3),
        "p95": round(float(p95), 3),
        "p99": round(float(p99), 3),
        "max": round(float(ms.max()), 3),
        "mean": round(float(ms.mean()), 3),
    }


def line(label: str, figures: dict[str, float]) -> str:
    if not figures.get("n"):
        return f"  {label:<34} (none)"
    return (
        f"  {label:<34} p50 {figures['p50']:7.3f}  p95 {figures['p95']:7.3f}  "
        f"p99 {figures['p99']:7.3f}  max {figures['max']:8.3f} ms  (n={figures['n']:,})"
    )


# ---------------------------------------------------------------------------------------------
# Set-up
# ---------------------------------------------------------------------------------------------
def prepare(enterprises: int) -> tuple[int, list[str]]:
    """The officer's user id and the USCCs of enterprises that authorised the officer's bank."""
    from django.db import transaction
    from django.utils import timezone

    from banks.models import Bank, BankMembership
    from enterprises import uscc as uscc_codes
    from enterprises.authorization import new_number, terms_digest
    from enterprises.models import Authorization, AuthorizationStatus, Enterprise
    from xinyidai.core.models import User

    rng = random.Random(5)
    with transaction.atomic():
        bank = Bank.objects.filter(fi_code=BANK_FI_CODE).first()
        if bank is None:
            bank = Bank.objects.create(
                name="读取基准银行东莞分行", fi_code=BANK_FI_CODE, uscc=uscc_codes.generate(rng)
            )
        officer = User.objects.filter(email=OFFICER_EMAIL).first()
        if officer is None:
            officer = User.objects.create_user(OFFICER_EMAIL, None, full_name="基准客户经理")
            BankMembership.objects.create(user=officer, bank=bank, role="officer")
        granter = User.objects.filter(email="bench-access-granter@example.com").first()
        if granter is None:
            granter = User.objects.create_user("bench-access-granter@example.com", None)
        usccs = []
        now = timezone.now()
        for n in range(enterprises):
            name = ENTERPRISE_NAME.format(n=n)
            enterprise = Enterprise.objects.filter(name=name).first()
            if enterprise is None:
                enterprise = Enterprise.objects.create(
                    uscc=uscc_codes.generate(rng),
                    name=name,
                    town="changan",
                    industry_section="C",
                    industry_division="35",
                    scale="small",
                    legal_rep_name="张三",
                )
            usccs.append(enterprise.uscc)
            in_force = Authorization.objects.filter(
                enterprise=enterprise,
                grantee_bank=bank,
                status=AuthorizationStatus.ACTIVE,
                valid_from__lte=now,
                valid_until__gt=now + timedelta(days=1),
            ).exists()
            if not in_force:
                authorization = Authorization(
                    number=new_number(),
                    enterprise=enterprise,
                    grantee_bank=bank,
                    scope="portrait",
                    purpose="pre_loan",
                    valid_from=now - timedelta(days=1),
                    valid_until=now + timedelta(days=365),
                    granted_by=granter,
                    granted_at=now - timedelta(days=1),
                )
                authorization.digest = terms_digest(authorization)
                authorization.save()
    return officer.pk, usccs


def load_officer(user_id: int) -> Any:
    """As `TokenWithRoles` loads the user: memberships joined, so roles cost no query."""
    from xinyidai.core.models import User

    return User.objects.select_related("enterprise_membership", "bank_membership").get(pk=user_id)


def fresh(user: Any) -> None:
    """Drop what a request caches on its user object (each request has a new one)."""
    for attr in ("_xyd_reads", "_xyd_roles", "_xyd_has_mfa"):
        if hasattr(user, attr):
            delattr(user, attr)


def make_requests(user: Any, usccs: list[str]) -> list[Any]:
    from django.test import RequestFactory

    factory = RequestFactory()
    requests = []
    for code in usccs:
        request = factory.get(
            f"/api/v1/enterprises/{code}/portrait/",
            {"purpose": "pre_loan"},
            REMOTE_ADDR="10.20.30.40",
        )
        request.user = user
        requests.append(request)
    return requests


def seal_all() -> int:
    from xinyidai.core import ledger

    return ledger.seal()


# ---------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------
def baseline_read(code: str) -> float:
    from django.db import transaction

    from enterprises import selectors

    started = time.perf_counter()
    with transaction.atomic():
        enterprise = selectors.enterprise_for_read(uscc=code, brief=True)
        assert enterprise is not None
    return time.perf_counter() - started


def checked_read(code: str, request: Any) -> tuple[float, float, float, float]:
    """(total, lookup, check+log, commit with the on-commit callback) in seconds."""
    from django.db import transaction

    from enterprises import access, selectors

    started = time.perf_counter()
    with transaction.atomic():
        enterprise = selectors.enterprise_for_read(uscc=code, brief=True)
        assert enterprise is not None
        looked_up = time.perf_counter()
        access.read(request, enterprise, scope="portrait")
        checked = time.perf_counter()
    done = time.perf_counter()
    return done - started, looked_up - started, checked - looked_up, done - checked


def run_loop(user_id: int, usccs: list[str], reads: int, warmup: int) -> dict[str, list[float]]:
    """Alternating baseline and checked reads; the order flips every read."""
    user = load_officer(user_id)
    requests = make_requests(user, usccs)
    out: dict[str, list[float]] = {
        "baseline": [],
        "checked": [],
        "lookup": [],
        "check_log": [],
        "commit": [],
    }
    for i in range(warmup + reads):
        k = i % len(usccs)
        fresh(user)
        if i % 2:
            base = baseline_read(usccs[k])
            fresh(user)
            total, lookup, check, commit = checked_read(usccs[k], requests[k])
        else:
            total, lookup, check, commit = checked_read(usccs[k], requests[k])
            fresh(user)
            base = baseline_read(usccs[k])
        if i >= warmup:
            out["baseline"].append(base)
            out["checked"].append(total)
            out["lookup"].append(lookup)
            out["check_log"].append(check)
            out["commit"].append(commit)
    return out


def _child(
    user_id: int,
    usccs: list[str],
    reads: int,
    warmup: int,
    eager: bool,
    barrier: Any,
    results: Any,
) -> None:
    from django.db import connections

    from xinyidai.celery import app

    connections.close_all()
    app.conf.task_always_eager = eager
    barrier.wait()
    started = time.perf_counter()
    out = run_loop(user_id, usccs, reads, warmup)
    results.put((os.getpid(), time.perf_counter() - started, out))
    connections.close_all()


def run_parallel(
    user_id: int, usccs: list[str], reads: int, warmup: int, eager: bool, processes: int = 2
) -> tuple[dict[str, list[float]], float]:
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes)
    results = context.Queue()
    # Each process takes its own half of the enterprises, as two officers reading different
    # firms would; the authorisation and log tables are shared.
    children = [
        context.Process(
            target=_child,
            args=(user_id, usccs[p::processes], reads, warmup, eager, barrier, results),
        )
        for p in range(processes)
    ]
    for child in children:
        child.start()
    merged: dict[str, list[float]] = {}
    wall = 0.0
    for _ in children:
        _pid, seconds, out = results.get()
        wall = max(wall, seconds)
        for key, values in out.items():
            merged.setdefault(key, []).extend(values)
    for child in children:
        child.join()
    return merged, wall


def count_queries(user_id: int, code: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = load_officer(user_id)
    request = make_requests(user, [code])[0]
    with CaptureQueriesContext(connection) as ctx:
        checked_read(code, request)
    return [q["sql"][:110] for q in ctx.captured_queries]


def pending_reads(user_id: int, usccs: list[str], count: int) -> None:
    from django.utils import timezone

    from banks.models import Bank
    from enterprises.models import AccessLog, Enterprise

    bank = Bank.objects.get(fi_code=BANK_FI_CODE)
    enterprises = list(Enterprise.objects.filter(uscc__in=usccs))
    now = timezone.now()
    AccessLog.objects.bulk_create(
        [
            AccessLog(
                at=now + timedelta(microseconds=i),
                user_id=user_id,
                role="bank_officer",
                bank=bank,
                enterprise=enterprises[i % len(enterprises)],
                scope="portrait",
                purpose="pre_loan",
                path=f"/api/v1/enterprises/{enterprises[i % len(enterprises)].uscc}/portrait/"
                "?purpose=pre_loan",
                client_ip="10.20.30.40",
            )
            for i in range(count)
        ],
        batch_size=1000,
    )


def seal_batches(user_id: int, usccs: list[str], sizes: list[int], repeats: int) -> dict[str, Any]:
    from xinyidai.core import ledger

    out: dict[str, Any] = {}
    for size in sizes:
        times = []
        for _ in range(repeats):
            pending_reads(user_id, usccs, size)
            started = time.perf_counter()
            sealed = ledger.seal()
            times.append(time.perf_counter() - started)
            assert sealed == size, (sealed, size)
        figures = percentiles(times)
        figures["per_row_us"] = round(figures["p50"] * 1000 / size, 1)
        out[str(size)] = figures
    return out


def profile(user_id: int, usccs: list[str], reads: int) -> str:
    user = load_officer(user_id)
    requests = make_requests(user, usccs)
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(reads):
        k = i % len(usccs)
        fresh(user)
        checked_read(usccs[k], requests[k])
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(40)
    return stream.getvalue()


# ---------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--enterprises", type=int, default=20)
    parser.add_argument("--batches", type=int, default=10, help="repeats per seal batch size")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--no-parallel", action="store_true")
    parser.add_argument("--profile", type=int, default=0, help="cProfile N checked reads")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    created = False
    if url.startswith(("postgres://", "postgresql://")):
        created = ensure_database(url)
    broker = "memory"
    if args.redis and redis_answers(args.redis):
        os.environ["REDIS_URL"] = args.redis
        os.environ["CACHE_KEY_PREFIX"] = CACHE_PREFIX
        broker = "redis"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from enterprises.models import AccessLog
    from xinyidai.celery import app

    call_command("migrate", verbosity=0)
    settings.DEBUG = False  # no query log, as in production
    logging.getLogger("celery").setLevel(logging.WARNING)  # one INFO line per eager task

    engine = describe_database()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            engine += f" (synchronous_commit {(cursor.fetchone() or ('?',))[0]})"
    print(f"machine : {machine()}")
    print(
        f"database: {engine}, {connection.settings_dict['NAME']}{' (created)' if created else ''}"
    )
    print(f"celery  : broker {broker}, cache {settings.CACHES['default']['BACKEND']}")

    user_id, usccs = prepare(args.enterprises)
    app.conf.task_always_eager = False
    # the first read of each enterprise by the bank (BankFirstRead + notice) happens here
    run_loop(user_id, usccs, 0, len(usccs))
    seal_all()
    print(f"data    : {len(usccs)} enterprises authorised to one bank; reads {args.reads:,}")
    queries = count_queries(user_id, usccs[0])
    print(f"queries in one checked read ({len(queries)}):")
    for q in queries:
        print(f"    {q}")
    seal_all()

    report: dict[str, Any] = {"engine": engine, "broker": broker, "reads": args.reads}

    def show(
        title: str, out: dict[str, list[float]], wall: float, cpu: dict[str, float]
    ) -> dict[str, Any]:
        figures: dict[str, Any] = {key: percentiles(values) for key, values in out.items()}
        cpus = os.cpu_count() or 1
        print(
            f"{title}: wall {wall:.1f} s; CPU-s: machine {cpu['busy']:.1f} "
            f"({100 * cpu['busy'] / (wall * cpus):.0f} % of {cpus} CPUs) = benchmark "
            f"{cpu['own']:.1f} + PostgreSQL {cpu['postgres']:.1f} + other {cpu['other']:.1f}"
        )
        print(line("baseline (lookup + commit)", figures["baseline"]))
        print(line("checked read", figures["checked"]))
        print(line("  of which lookup", figures["lookup"]))
        print(line("  of which access.read", figures["check_log"]))
        print(line("  of which commit + callback", figures["commit"]))
        added = {
            k: round(figures["checked"][k] - figures["baseline"][k], 3)
            for k in ("p50", "p95", "p99")
        }
        print(
            f"  added (checked − baseline):         p50 {added['p50']:7.3f}  "
            f"p95 {added['p95']:7.3f}  p99 {added['p99']:7.3f} ms"
        )
        figures["added"] = added
        figures["wall_s"], figures["cpu_s"] = round(wall, 2), cpu
        return figures

    # 1. deferred seal (production)
    app.conf.task_always_eager = False
    started, cpu = time.perf_counter(), cpu_now()
    out = run_loop(user_id, usccs, args.reads, args.warmup)
    report["deferred"] = show(
        "deferred seal, 1 process", out, time.perf_counter() - started, cpu_since(cpu)
    )
    pending = AccessLog.objects.filter(ledger_seq__isnull=True).count()
    started = time.perf_counter()
    sealed = seal_all()
    seconds = time.perf_counter() - started
    print(
        f"  worker's catch-up: seal() of {sealed:,} pending reads {seconds:.2f} s "
        f"({sealed / seconds:,.0f} rows/s); pending before {pending:,}"
    )
    report["deferred_catch_up"] = {"rows": sealed, "seconds": round(seconds, 3)}

    # 2. eager seal (make run)
    app.conf.task_always_eager = True
    started, cpu = time.perf_counter(), cpu_now()
    out = run_loop(user_id, usccs, args.reads, args.warmup)
    report["eager"] = show(
        "eager seal (inline), 1 process", out, time.perf_counter() - started, cpu_since(cpu)
    )
    app.conf.task_always_eager = False

    # 3. two processes
    if not args.no_parallel:
        cpu = cpu_now()
        out, wall = run_parallel(user_id, usccs, args.reads, args.warmup, eager=False)
        report["deferred_2p"] = show("deferred seal, 2 processes", out, wall, cpu_since(cpu))
        seal_all()
        cpu = cpu_now()
        out, wall = run_parallel(user_id, usccs, args.reads, args.warmup, eager=True)
        report["eager_2p"] = show("eager seal (inline), 2 processes", out, wall, cpu_since(cpu))

    # 4. seal batches
    seal_all()
    batches = seal_batches(user_id, usccs, [1, 100, 1000], args.batches)
    print(f"ledger.seal() of K pending reads ({args.batches} runs each):")
    for size, figures in batches.items():
        print(line(f"K = {int(size):,}", figures) + f"  → {figures['per_row_us']} µs/row (p50)")
    report["seal_batches"] = batches

    if args.profile:
        print(profile(user_id, usccs, args.profile))
        seal_all()

    if broker == "redis":
        import redis

        purged = app.control.purge()
        # the queue's bindings that publishing declared; the debounce key expires by itself
        redis.Redis.from_url(args.redis).delete(
            "_kombu.binding.celery", "_kombu.binding_permanent.celery"
        )
        print(f"purged {purged} queued seal tasks from {args.redis}")
    connection.close()
    if args.drop and url.startswith(("postgres://", "postgresql://")):
        drop_database(url)
        print(f"dropped {urlsplit(url).path.lstrip('/')}")
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
