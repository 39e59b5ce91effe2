"""Benchmark `seed_demo --enterprises N` against the configured database.

Run it on a fresh database (the script migrates it first and refuses one that already holds a
synthetic city), e.g.

    DATABASE_URL=sqlite:////tmp/bench.db .venv/bin/python bench/seed.py --enterprises 10000

    runuser -u postgres -- psql -c "CREATE DATABASE xinyidai_bench OWNER xinyidai"
    DATABASE_URL=postgres://xinyidai:xinyidai@127.0.0.1:5432/xinyidai_bench \\
        .venv/bin/python bench/seed.py            # 1,000,000 enterprises on PostgreSQL

It prints the machine, the database, N, wall seconds, this process's CPU seconds, rows per table,
the database size and the peak RSS of this process (resource.getrusage).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

from _machine import database, machine  # bench/ is sys.path[0] when run as a script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinyidai.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")


def main() -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from enterprises.models import CreditRecord, Enterprise, Person, Shareholding

    postgres = connection.vendor == "postgresql"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=1_000_000 if postgres else 10_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    models: dict[str, Any] = {
        "enterprises": Enterprise,
        "persons": Person,
        "shareholdings": Shareholding,
        "credit records": CreditRecord,
    }
    before = {name: model.objects.count() for name, model in models.items()}
    if Shareholding.objects.exists():
        print("refusing: this database already holds a synthetic city; use a fresh one")
        return 2

    print(f"machine : {machine()}")
    print(f"database: {database()}")
    print(f"N       : {args.enterprises:,} enterprises, seed {args.seed}")

    out = StringIO()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    call_command(
        "seed_demo",
        enterprises=args.enterprises,
        seed=args.seed,
        chunk_size=args.chunk_size,
        stdout=out,
        stderr=sys.stderr,
    )
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    for line in out.getvalue().strip().splitlines():
        if line.startswith(("合成数据", "信用评价")):
            print(line)  # the synthetic city's own seconds, then the grading of every firm
    print(f"seconds : {seconds:.1f} (seed_demo: demo accounts, synthetic city, grading every firm)")
    print(f"CPU     : {cpu:.1f} s in this process ({cpu / seconds:.0%} of one core)")
    for name, model in models.items():
        rows = model.objects.count() - before[name]
        print(f"  {name:<15} {rows:>12,}")
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            size = (cursor.fetchone() or ("?",))[0]
    else:
        size = f"{Path(database).stat().st_size / 2**20:.0f} MB"
    print(f"db size : {size}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak RSS: {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
