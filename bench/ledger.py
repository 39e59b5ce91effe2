"""Benchmark the tamper-evident ledger at scale: `verify_ledger` over 1,000,000 entries, `seal()`.

    DATABASE_URL=postgres://xinyidai:xinyidai@127.0.0.1:5432/xinyidai_bench_ledger \\
        .venv/bin/python bench/ledger.py --fresh [--entries 1000000] [--pending 100000] [--drop]
    DATABASE_URL=sqlite:////tmp/bench_ledger.db .venv/bin/python bench/ledger.py --fresh \\
        --entries 200000 --pending 20000

`--fresh` drops and re-creates the database (PostgreSQL; the role needs CREATEDB) or deletes the
SQLite file first; without it the ledger must be empty. `--drop` drops it at the end.

What it does:
1. Migrates, then creates with the ORM the parties the reads refer to: `--enterprises`
   enterprises, 5 banks with an officer each, a credit-office user, an authorisation of every
   bank by every enterprise and its grant event (chained first, with the model's own
   `ledger_data()`).
2. Generates `--entries` chained read entries in Python exactly as `ledger.seal()` builds them —
   body = `canonical_json({"seq", "kind": "read", "at", "ref", "data"})` with the
   `AccessLog.ledger_data()` keys (about 300 bytes: officers' reads with a purpose, one in ten a
   credit-office read with a reason), hash = `link_hash(prev, body)`, mac = `mac_hex(hash)` —
   spread over `--days` days ending yesterday, and writes them together with their AccessLog
   rows (ledger_seq set) by COPY on PostgreSQL, `executemany` on SQLite. Sets the LedgerHead and
   one LedgerAnchor per day (the head at the end of the local day, MAC as `anchor_day` makes it;
   one of them is checked against `ledger.anchor_day`).
3. Times `manage.py verify_ledger` in a child process (wall clock; peak RSS via
   `/usr/bin/time -v`, else the children's `ru_maxrss`), then `ledger.verify()` in this process.
4. Writes `--pending` AccessLog rows with no ledger_seq (COPY / executemany) and times one
   `ledger.seal()` that chains them all (rows/s), then verifies the longer chain in-process.
5. Changes the body of one entry near the end, runs `verify_ledger` again (must exit 1 naming
   that entry; its output line is printed) and restores the entry.
6. `--profile`: cProfile of `ledger.verify()` and of a `seal()` of `--profile-pending` rows.

Prints the figures and one JSON line at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _machine import database as describe_database
from _machine import machine  # bench/ is sys.path[0] when run as a script
from access_check import cpu_now, cpu_since

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinyidai.settings")

ACCESSLOG_LABEL = "enterprises.accesslog"
REASONS = [
    "核查企业信用修复申请材料",
    "办理守信激励名单复核",
    "处理银行对授权争议的投诉",
    "年度信用监管抽查",
]
PURPOSES = ["pre_loan", "post_loan", "loan_application", "guarantee"]
PAGES = ["portrait/", "summary/", "graph/?depth=1", "ownership/"]


# ---------------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------------
def _admin(url: str) -> Any:
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    )


def recreate_database(url: str, *, drop: bool) -> None:
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    with _admin(url) as admin:
        if drop:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    with _admin(url) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    return Path("/" + url[len("sqlite:///") :].lstrip("/"))


# ---------------------------------------------------------------------------------------------
# Bulk writing: COPY on PostgreSQL, executemany on SQLite
# ---------------------------------------------------------------------------------------------
class Writer:
    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.postgres = connection.vendor == "postgresql"
        self.cursor = connection.cursor().cursor  # the driver's cursor: no debug wrapper

    def value(self, v: Any) -> Any:
        if isinstance(v, datetime):
            if self.postgres:
                return v.isoformat()
            return self.connection.ops.adapt_datetimefield_value(v)
        return v

    def write(self, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> int:
        from enterprises.synthetic import copy_line

        quote = self.connection.ops.quote_name
        cols = ", ".join(quote(c) for c in columns)
        count = 0
        if self.postgres:
            with self.cursor.copy(f"COPY {quote(table)} ({cols}) FROM STDIN") as copy:
                buffer: list[str] = []
                for row in rows:
                    buffer.append(copy_line(tuple(self.value(v) for v in row)))
                    count += 1
                    if len(buffer) >= 5000:
                        copy.write("".join(buffer))
                        buffer.clear()
                if buffer:
                    copy.write("".join(buffer))
            return count
        marks = ", ".join("%s" for _ in columns)
        sql = f"INSERT INTO {quote(table)} ({cols}) VALUES ({marks})"  # noqa: S608
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(tuple(self.value(v) for v in row))
            count += 1
            if len(batch) >= 5000:
                self.cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            self.cursor.executemany(sql, batch)
        return count

    def reset_sequence(self, table: str) -> None:
        if not self.postgres:
            return  # SQLite's AUTOINCREMENT follows max(rowid)
        quote = self.connection.ops.quote_name
        self.cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), "  # noqa: S608
            f"COALESCE((SELECT MAX(id) FROM {quote(table)}), 1))",
            [table],
        )


# ---------------------------------------------------------------------------------------------
# The parties
# ---------------------------------------------------------------------------------------------
class Parties:
    def __init__(self, enterprises: list[tuple[int, str]], officers: list[tuple[int, int]]):
        self.enterprises = enterprises  # (id, uscc)
        self.officers = officers  # (user id, bank id)
        self.credit_office = 0
        self.authorizations: dict[tuple[int, int], tuple[int, str]] = {}  # → (id, purpose)


def create_parties(count: int, start: datetime) -> Parties:
    from django.db import transaction

    from banks.models import Bank, BankMembership
    from enterprises import uscc as uscc_codes
    from enterprises.authorization import new_number, terms_digest
    from enterprises.models import Authorization, AuthorizationEvent, Enterprise
    from xinyidai.core.models import PlatformRole, User

    rng = random.Random(11)
    with transaction.atomic():
        enterprises = Enterprise.objects.bulk_create(
            [
                Enterprise(
                    uscc=uscc_codes.generate(rng),
                    name=f"东莞市账本基准{n}号电子科技有限公司",
                    town="songshanhu",
                    industry_section="C",
                    industry_division="39",
                    scale="small",
                    legal_rep_name="李四",
                )
                for n in range(count)
            ]
        )
        officers: list[tuple[int, int]] = []
        banks = []
        for b in range(5):
            bank = Bank.objects.create(
                name=f"账本基准银行{b}东莞分行",
                fi_code=f"BENCHLEDGER{b:03d}",
                uscc=uscc_codes.generate(rng),
            )
            banks.append(bank)
            officer = User.objects.create_user(f"bench-ledger-officer{b}@example.com", None)
            BankMembership.objects.create(user=officer, bank=bank, role="officer")
            officers.append((officer.pk, bank.pk))
        office = User.objects.create_user(
            "bench-ledger-office@example.com", None, platform_role=PlatformRole.CREDIT_OFFICE
        )
        granter = User.objects.create_user("bench-ledger-granter@example.com", None)
        parties = Parties([(e.pk, e.uscc) for e in enterprises], officers)
        parties.credit_office = office.pk
        for k, enterprise in enumerate(enterprises):
            for b, bank in enumerate(banks):
                authorization = Authorization(
                    number=new_number(),
                    enterprise=enterprise,
                    grantee_bank=bank,
                    scope="records" if (k + b) % 3 == 0 else "portrait",
                    purpose=PURPOSES[(k + b) % len(PURPOSES)],
                    valid_from=start - timedelta(days=1),
                    valid_until=start + timedelta(days=730),
                    granted_by=granter,
                    granted_at=start - timedelta(days=1),
                )
                authorization.digest = terms_digest(authorization)
                authorization.save()
                AuthorizationEvent.objects.create(
                    authorization=authorization,
                    kind="grant",
                    actor=granter,
                    at=start - timedelta(days=1),
                    new_status="active",
                )
                parties.authorizations[(enterprise.pk, bank.pk)] = (
                    authorization.pk,
                    authorization.purpose,
                )
    return parties


# ---------------------------------------------------------------------------------------------
# Generating the chain
# ---------------------------------------------------------------------------------------------
def read_rows(
    parties: Parties, *, first_id: int, count: int, start: datetime, step: timedelta, seed: int
) -> Iterator[tuple[Any, ...]]:
    """AccessLog rows (id, at, user, role, bank, enterprise, scope, purpose, reason,
    authorization, path, ip) as the check writes them."""
    rng = random.Random(seed)
    for n in range(count):
        enterprise_id, code = rng.choice(parties.enterprises)
        page = rng.choice(PAGES)
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        at = start + step * n
        if rng.random() < 0.1:
            reason = rng.choice(REASONS)
            yield (
                first_id + n,
                at,
                parties.credit_office,
                "credit_office",
                None,
                enterprise_id,
                "records",
                "",
                reason,
                None,
                f"/api/v1/enterprises/{code}/{page}",  # the reason comes in a header
                ip,
            )
            continue
        user_id, bank_id = rng.choice(parties.officers)
        authorization_id, purpose = parties.authorizations[(enterprise_id, bank_id)]
        query = f"{'&' if '?' in page else '?'}purpose={purpose}"
        yield (
            first_id + n,
            at,
            user_id,
            "bank_officer",
            bank_id,
            enterprise_id,
            "summary" if page == "summary/" else "portrait",
            purpose,
            "",
            authorization_id,
            f"/api/v1/enterprises/{code}/{page}{query}",
            ip,
        )


ACCESSLOG_COLUMNS = [
    "id",
    "at",
    "user_id",
    "role",
    "bank_id",
    "enterprise_id",
    "scope",
    "purpose",
    "reason",
    "authorization_id",
    "path",
    "client_ip",
    "ledger_seq",
]
ENTRY_COLUMNS = ["seq", "kind", "ref", "body", "prev_hash", "hash", "mac", "sealed_at"]


class Chain:
    """Builds entries as `seal()` does and remembers the head at each local midnight."""

    def __init__(self, seq: int, prev: str) -> None:
        from django.utils import timezone

        self.seq, self.prev = seq, prev
        self.tz = timezone.get_current_timezone()
        self.day: Any = None
        self.anchors: list[tuple[Any, int, str]] = []  # (day, seq, hash) at each day's end
        self.body_bytes = 0

    def link(self, kind: str, ref: str, at: datetime, data: dict[str, Any], sealed: datetime):
        from xinyidai.core import ledger

        day = sealed.astimezone(self.tz).date()
        if self.day is not None and day != self.day:
            self.anchors.append((self.day, self.seq, self.prev))
        self.day = day
        self.seq += 1
        body = ledger.canonical_json(
            {"seq": self.seq, "kind": kind, "at": ledger.iso(at), "ref": ref, "data": data}
        )
        self.body_bytes += len(body.encode())
        digest = ledger.link_hash(self.prev, body)
        entry = (self.seq, kind, ref, body, self.prev, digest, ledger.mac_hex(digest), sealed)
        self.prev = digest
        return entry


def write_chain(parties: Parties, *, entries: int, days: int, end: datetime) -> dict[str, Any]:
    from django.db import transaction

    from enterprises.models import AccessLog, AuthorizationEvent
    from xinyidai.core import ledger
    from xinyidai.core.models import LEDGER_GENESIS, LedgerAnchor, LedgerEntry, LedgerHead

    start = end - timedelta(days=days)
    step = timedelta(days=days) / entries
    chain = Chain(0, LEDGER_GENESIS)
    writer = Writer()
    log_table = AccessLog._meta.db_table
    entry_table = LedgerEntry._meta.db_table
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with transaction.atomic():
        # 1. the grant events, with the model's own ledger_data()
        events = list(
            AuthorizationEvent.objects.select_related(
                "authorization__enterprise",
                "authorization__grantee_bank",
                "authorization__renewed_from",
            ).order_by("at", "pk")
        )
        grant_entries = []
        for event in events:
            label = AuthorizationEvent._meta.label_lower
            grant_entries.append(
                chain.link(
                    event.ledger_kind(),
                    f"{label}:{event.pk}",
                    event.at,
                    event.ledger_data(),
                    start - timedelta(hours=23),
                )
            )
            event.ledger_seq = chain.seq
        AuthorizationEvent.objects.bulk_update(events, ["ledger_seq"], batch_size=500)
        writer.write(entry_table, ENTRY_COLUMNS, iter(grant_entries))
        # 2. the reads: AccessLog rows and their entries, in blocks
        block = 50_000
        first_seq = chain.seq
        for offset in range(0, entries, block):
            n = min(block, entries - offset)
            rows = list(
                read_rows(
                    parties,
                    first_id=offset + 1,
                    count=n,
                    start=start + step * offset,
                    step=step,
                    seed=offset,
                )
            )
            logs, chained = [], []
            for row in rows:
                at = row[1]
                data = {
                    "user": row[2],
                    "role": row[3],
                    "bank": row[4],
                    "enterprise": row[5],
                    "scope": row[6],
                    "purpose": row[7],
                    "reason": row[8],
                    "authorization": row[9],
                    "path": row[10],
                    "ip": row[11],
                }
                entry = chain.link(
                    "read", f"{ACCESSLOG_LABEL}:{row[0]}", at, data, at + timedelta(seconds=1)
                )
                logs.append((*row, entry[0]))
                chained.append(entry)
            t0 = time.perf_counter()
            writer.write(log_table, ACCESSLOG_COLUMNS, iter(logs))
            writer.write(entry_table, ENTRY_COLUMNS, iter(chained))
            timings["write"] = timings.get("write", 0.0) + time.perf_counter() - t0
        writer.reset_sequence(log_table)
        chain.anchors.append((chain.day, chain.seq, chain.prev))  # the last day is over too
        LedgerHead.objects.update_or_create(
            pk=1, defaults={"seq": chain.seq, "hash": chain.prev, "updated_at": end}
        )
        LedgerAnchor.objects.bulk_create(
            [
                LedgerAnchor(
                    day=day,
                    seq=seq,
                    hash=digest,
                    mac=ledger.mac_hex(ledger.anchor_message(day, seq, digest)),
                )
                for day, seq, digest in chain.anchors
            ]
        )
    total = time.perf_counter() - started
    # one anchor recomputed the way the daily job does it must match
    day, seq, digest = chain.anchors[-1]
    LedgerAnchor.objects.filter(day=day).delete()
    again = ledger.anchor_day(day)
    assert (again.seq, again.hash) == (seq, digest), (again.seq, seq)
    return {
        "entries": chain.seq,
        "reads": entries,
        "grant_events": len(events),
        "anchors": len(chain.anchors),
        "first_read_seq": first_seq + 1,
        "avg_body_bytes": round(chain.body_bytes / chain.seq),
        "seconds": round(total, 1),
        "write_seconds": round(timings.get("write", 0.0), 1),
    }


def write_pending(parties: Parties, *, count: int, start: datetime) -> None:
    from django.db import transaction

    from enterprises.models import AccessLog

    writer = Writer()
    first_id = (AccessLog.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    with transaction.atomic():
        rows = (
            (*row, None)
            for row in read_rows(
                parties,
                first_id=first_id,
                count=count,
                start=start,
                step=timedelta(milliseconds=5),
                seed=first_id,
            )
        )
        writer.write(AccessLog._meta.db_table, ACCESSLOG_COLUMNS, rows)
        writer.reset_sequence(AccessLog._meta.db_table)


# ---------------------------------------------------------------------------------------------
# Running verify_ledger
# ---------------------------------------------------------------------------------------------
def run_command(*args: str) -> dict[str, Any]:
    """`manage.py verify_ledger` in a child: exit code, output, wall seconds, peak RSS."""
    command = [sys.executable, str(ROOT / "manage.py"), "verify_ledger", *args]
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        if timer:
            command = [timer, "-v", "-o", report.name, *command]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 — our own interpreter and manage.py
            command, capture_output=True, text=True, cwd=ROOT, check=False
        )
        wall = time.perf_counter() - started
        peak_kib = 0
        if timer:
            for text in report.read().splitlines():
                if "Maximum resident set size" in text:
                    peak_kib = int(text.rsplit(":", 1)[1])
        else:
            peak_kib = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    return {
        "exit": done.returncode,
        "stdout": done.stdout.strip(),
        "stderr": done.stderr.strip(),
        "wall": round(wall, 2),
        "peak_rss_mib": round(peak_kib / 1024),
    }


def profiled(call: Any, top: int = 25) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    call()
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return stream.getvalue()


# ---------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--enterprises", type=int, default=200)
    parser.add_argument("--fresh", action="store_true", help="drop and re-create the database")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-pending", type=int, default=20_000)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    postgres = url.startswith(("postgres://", "postgresql://"))
    if postgres:
        recreate_database(url, drop=args.fresh)
    elif args.fresh and (path := sqlite_path(url)) is not None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from enterprises.models import AccessLog
    from xinyidai.core import ledger
    from xinyidai.core.models import LedgerEntry

    call_command("migrate", verbosity=0)
    settings.DEBUG = False  # no query log in this process, as in production
    if LedgerEntry.objects.exists():
        print("the ledger is not empty: run with --fresh (drops this database)", file=sys.stderr)
        return 2

    engine = describe_database()
    print(f"machine : {machine()}")
    print(f"database: {engine}")
    report: dict[str, Any] = {"engine": engine}

    # 1-2. parties and the chain
    today = timezone.localdate()
    end = timezone.make_aware(datetime.combine(today, datetime.min.time())) - timedelta(hours=2)
    parties = create_parties(args.enterprises, end - timedelta(days=args.days))
    generated = write_chain(parties, entries=args.entries, days=args.days, end=end)
    report["generated"] = generated
    size = ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
            cursor.execute(
                "SELECT pg_total_relation_size(%s), pg_database_size(current_database())",
                [LedgerEntry._meta.db_table],
            )
            table_bytes, db_bytes = cursor.fetchone() or (0, 0)
        size = (
            f"; ledger table with indexes {table_bytes / 2**20:,.0f} MiB, "
            f"database {db_bytes / 2**20:,.0f} MiB"
        )
        report["ledger_table_mib"] = round(table_bytes / 2**20)
    elif (path := sqlite_path(url)) is not None:
        size = f"; database file {path.stat().st_size / 2**20:,.0f} MiB"
    print(
        f"chain   : {generated['entries']:,} entries ({generated['grant_events']} grant events, "
        f"{generated['reads']:,} reads, body {generated['avg_body_bytes']} bytes on average), "
        f"{generated['anchors']} daily anchors; generated and written in "
        f"{generated['seconds']} s (of which writing {generated['write_seconds']} s){size}"
    )

    def cpu_line(cpu: dict[str, float]) -> str:
        return (
            f"    CPU-s: benchmark (and its children) {cpu['own']:.1f}, PostgreSQL "
            f"{cpu['postgres']:.1f}, other processes {cpu['other']:.1f}"
        )

    # 3. verify: the command, then in-process
    cpu = cpu_now()
    result = run_command()
    result["cpu_s"] = cpu_since(cpu)
    print(
        f"verify_ledger (child process): exit {result['exit']}, wall {result['wall']:.2f} s, "
        f"peak RSS {result['peak_rss_mib']} MiB"
    )
    print(f"    {result['stdout'] or result['stderr']}")
    print(cpu_line(result["cpu_s"]))
    report["command"] = result
    cpu = cpu_now()
    check = ledger.verify()
    spent = cpu_since(cpu)
    print(
        f"ledger.verify() in-process: ok={check.ok}, {check.entries:,} entries, "
        f"{check.seconds:.2f} s ({check.entries / check.seconds:,.0f} entries/s)"
    )
    print(cpu_line(spent))
    report["verify"] = {**check.as_dict(), "cpu_s": spent}

    # 4. seal at scale
    write_pending(parties, count=args.pending, start=end + timedelta(minutes=1))
    pending = AccessLog.objects.filter(ledger_seq__isnull=True).count()
    started, cpu = time.perf_counter(), cpu_now()
    sealed = ledger.seal()
    seconds = time.perf_counter() - started
    spent = cpu_since(cpu)
    print(
        f"ledger.seal() of {pending:,} pending reads: {sealed:,} chained in {seconds:.2f} s "
        f"({sealed / seconds:,.0f} rows/s, batches of {ledger.SEAL_BATCH})"
    )
    print(cpu_line(spent))
    report["seal"] = {
        "rows": sealed,
        "seconds": round(seconds, 2),
        "rows_per_s": round(sealed / seconds),
        "cpu_s": spent,
    }
    check = ledger.verify()
    print(
        f"ledger.verify() after sealing: ok={check.ok}, {check.entries:,} entries, "
        f"{check.seconds:.2f} s"
    )
    report["verify_after_seal"] = check.as_dict()

    # 5. tamper with one entry near the end
    target = check.entries - 7
    entry = LedgerEntry.objects.get(seq=target)
    LedgerEntry.objects.filter(seq=target).update(body=entry.body.replace('"ip":"10.', '"ip":"11.'))
    tampered = run_command()
    print(
        f"after editing entry {target:,}: verify_ledger exit {tampered['exit']}, wall "
        f"{tampered['wall']:.2f} s"
    )
    print(f"    {tampered['stderr'] or tampered['stdout']}")
    report["tampered"] = {"seq": target, **tampered}
    LedgerEntry.objects.filter(seq=target).update(body=entry.body)
    restored = ledger.verify()
    print(f"restored: ok={restored.ok}")

    # 6. profiles
    if args.profile:
        print("cProfile of ledger.verify():")
        print(profiled(ledger.verify))
        write_pending(parties, count=args.profile_pending, start=end + timedelta(hours=1))
        print(f"cProfile of ledger.seal() of {args.profile_pending:,} pending reads:")
        print(profiled(ledger.seal))

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:,.0f} MiB")
    report["peak_rss_mib"] = round(peak)
    connection.close()
    if args.drop:
        if postgres:
            drop_database(url)
        elif (path := sqlite_path(url)) is not None:
            path.unlink(missing_ok=True)
        print("dropped the database")
    print(json.dumps(report, ensure_ascii=False, default=str))
    return 0 if restored.ok and tampered["exit"] == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
