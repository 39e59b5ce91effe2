"""Benchmark `import_credit_records`: throughput and peak memory, and the naive ORM baseline.

    python bench/import_records.py --rows 1000000            # against $DATABASE_URL
    DATABASE_URL=sqlite:////tmp/bench.db python bench/import_records.py --rows 200000

Generates a realistic CSV (deterministic for --seed), migrates the target database, runs the
command in a child process (so its peak RSS is measured alone), then imports the same file again
(every row unchanged), and finally saves --naive-rows rows one by one through the ORM for the
ratio. Prints one JSON line with the figures at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TYPES = [
    ("license", 30),
    ("penalty", 20),
    ("tax_grade", 15),
    ("social_insurance", 10),
    ("housing_fund", 8),
    ("inspection", 7),
    ("award", 3),
    ("utility_payment", 3),
    ("commitment", 3),
    ("abnormal_operation", 1),
]
DEPARTMENTS = {
    "license": "东莞市市场监督管理局",
    "penalty": "东莞市市场监督管理局",
    "tax_grade": "国家税务总局东莞市税务局",
    "social_insurance": "东莞市人力资源和社会保障局",
    "housing_fund": "东莞住房公积金管理中心",
    "inspection": "东莞市应急管理局",
    "award": "东莞市工业和信息化局",
    "utility_payment": "东莞市水务集团",
    "commitment": "东莞市发展和改革局",
    "abnormal_operation": "东莞市市场监督管理局",
}


def generate(path: Path, rows: int, seed: int) -> None:
    from enterprises import uscc
    from enterprises.importing.records import COLUMNS

    rng = random.Random(seed)
    codes = [uscc.generate(rng) for _ in range(max(rows // 5, 1))]
    kinds = [t for t, w in TYPES for _ in range(w)]
    start = date(2023, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for n in range(rows):
            kind = rng.choice(kinds)
            decided = start + timedelta(days=rng.randrange(1000))
            value = ""
            if kind == "tax_grade":
                value = rng.choice("AABBBMCD")
            elif kind in ("social_insurance", "housing_fund"):
                value = f"{rng.randint(1, 12)}/{rng.choice([0, 0, 0, 1, 2])}"
            elif kind == "utility_payment":
                value = str(rng.randint(1, 6))
            elif kind == "commitment":
                value = rng.choice(["pending", "fulfilled", "fulfilled", "breached"])
            penalty_class = (
                rng.choice(["minor", "general", "general", "serious"]) if kind == "penalty" else ""
            )
            has_amount = kind in ("penalty", "utility_payment")
            amount = f"{rng.randint(100, 200000)}.00" if has_amount else ""
            writer.writerow(
                [
                    f"R{n:09d}",
                    rng.choice(codes),
                    f"东莞市样本{n % 9973}有限公司",
                    kind,
                    DEPARTMENTS[kind],
                    f"东文〔{decided.year}〕{n}号",
                    decided.isoformat(),
                    penalty_class,
                    amount,
                    value,
                    "",
                    "抽样生成的记录内容，用于性能测试。",
                ]
            )


def run_import(path: Path, env: dict[str, str]) -> tuple[float, dict[str, int], int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "import_credit_records", str(path), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 2):
        sys.exit(f"import failed ({done.returncode}): {done.stderr[-2000:]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    return elapsed, counts, max(peak_kb, before)


def naive_orm(path: Path, rows: int) -> float:
    """The baseline a first attempt would write: validate, then save() each row."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinyidai.settings")
    django.setup()
    from django.db import transaction

    from enterprises.importing.records import RecordValidator
    from enterprises.models import CreditRecord
    from enterprises.publication import publication_window
    from enterprises.records import record_content_hash

    validator = RecordValidator()
    started = time.perf_counter()
    with path.open(encoding="utf-8") as stream, transaction.atomic():
        reader = csv.DictReader(stream)
        for number, raw in enumerate(reader, start=1):
            if number > rows:
                break
            record, _errors = validator.validate(number, raw)
            if record is None:
                continue
            minimum, maximum = publication_window(
                record["record_type"], record["penalty_class"], record["decision_date"]
            )
            CreditRecord.objects.create(
                **{**record, "source_record_id": "naive-" + record["source_record_id"]},
                raw=raw,
                content_hash=record_content_hash(record),
                publish_min_until=minimum,
                publish_max_until=maximum,
            )
        transaction.set_rollback(True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--naive-rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV")
    args = parser.parse_args()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "xinyidai.settings"}
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM enterprises_creditrecord")
        cursor.execute("DELETE FROM enterprises_importrejection")
        cursor.execute("DELETE FROM enterprises_importbatch")
    connection.close()
    workdir = Path(tempfile.mkdtemp(prefix="xyd-bench-"))
    path = workdir / "records.csv"
    t0 = time.perf_counter()
    generate(path, args.rows, args.seed)
    generated = time.perf_counter() - t0
    size_mb = path.stat().st_size / 1e6
    print(f"generated {args.rows:,} rows ({size_mb:.0f} MB) in {generated:.1f} s", flush=True)

    first, counts, peak_kb = run_import(path, env)
    print(f"first import: {first:.1f} s, {args.rows / first:,.0f} rows/s, {counts}", flush=True)
    second, counts2, peak_kb2 = run_import(path, env)
    print(f"re-import (unchanged): {second:.1f} s, {args.rows / second:,.0f} rows/s, {counts2}")
    naive_rows = min(args.naive_rows, args.rows)
    naive = naive_orm(path, naive_rows)
    fast_rate = args.rows / first
    naive_rate = naive_rows / naive
    print(f"naive per-row ORM save: {naive_rows:,} rows in {naive:.1f} s, {naive_rate:,.0f} rows/s")
    figures = {
        "database": connection.vendor,
        "rows": args.rows,
        "file_mb": round(size_mb, 1),
        "import_seconds": round(first, 1),
        "rows_per_second": round(fast_rate),
        "reimport_seconds": round(second, 1),
        "reimport_rows_per_second": round(args.rows / second),
        "peak_rss_mb": round(max(peak_kb, peak_kb2) / 1024),
        "naive_rows": naive_rows,
        "naive_rows_per_second": round(naive_rate),
        "speedup_vs_naive": round(fast_rate / naive_rate, 1),
    }
    print(json.dumps(figures))
    if not args.keep:
        path.unlink()


if __name__ == "__main__":
    main()
