"""Benchmark matching (融资对接): top-100 enterprises for a product over 1,000,000 enterprises.

Issue 7 asks for p95 < 50 ms to compute the top 100 for a product, and HTTP p99 < 150 ms for
`GET /api/v1/products/{id}/matches/?limit=100`. Run it against the city of `bench/seed.py`
(grades from `bench/regrade.py`):

    DATABASE_URL=postgres://xinyidai:xinyidai@127.0.0.1:5432/xinyidai_bench \\
        .venv/bin/python bench/matching.py [--share 0.2,1.0] [--runs 200] [--duration 20] \\
        [--clients 2,4] [--explain] [--keep] [--no-http]

What it does:
1. Migrates the database (the city may predate the lending tables).
2. Creates, once, a bench bank (`基准对接银行`) with an officer (TOTP authenticator and a DRF
   token, as the role needs), five published products with different conditions (PRODUCTS),
   1 % of the active enterprises with an open financing demand, 3,000 decided applications to
   the bank (its approval history by industry and grade), and per-bank authorisations: 1 % of
   the enterprises opted in to this bank only (`matching`), 0.5 % with a `loan_application`
   authorisation to it (shown unmasked). All rows are marked (numbers BENCH-…) and removed at
   the end unless `--keep`.
3. For each share in `--share`: opts in that share of the active enterprises by real
   `matching` authorisations to all banks (rows in `enterprises_authorization`, inserted with
   COPY; ranking reads them again for the rows it returns), then times `refresh_profiles()`
   over the whole city — profiles are built the way the nightly job builds them — and a second
   run that finds nothing changed. Then `VACUUM FULL ANALYZE` of the profiles (switching
   shares rewrites most rows; the figures are for the table as a fresh build leaves it).
4. The partial indexes of `MatchProfile` (migrations 0003 and 0005) are what the figures use.
5. Compute: `rank_enterprises(version, bank_id=…, limit=100)` in this process, `--runs` times
   per case (each product without filters, and the broad product with each filter), after 5
   warm-up calls: p50/p95/p99/max. `--explain` prints EXPLAIN (ANALYZE, BUFFERS) of the
   profile queries of one call per case.
6. HTTP: gunicorn (2 sync workers, production settings, the harness of
   `bench/portrait_api.py`), closed-loop clients `GET /api/v1/products/{id}/matches/?limit=100`
   for `--duration` seconds per client count, in two mixes: the five products without
   filters, and the broad product with the five filter sets: p50/p95/p99/max, requests/s,
   errors, CPU per request of gunicorn and PostgreSQL.

Prints the machine, the date, the figures per share and whether the targets are met, and one
JSON line at the end. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from _machine import database, machine
from portrait_api import (
    Server,
    percentiles,
    postgres_cpu,
    redis_answers,
    run_clients,
    server_env,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinyidai.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")

BANK_NAME = "基准对接银行"
OFFICER_EMAIL = "bench-matching@example.com"
MARK = "BENCH-M"
PRODUCTS: dict[str, dict[str, Any]] = {
    # 10万–300万, 6–36 months; only "no serious record" (the default)
    "broad": {},
    "manufacturing_A": {"min_grade": "A", "industries": ["C"]},
    "tech_park": {"industries": ["I", "M"], "towns": ["songshanhu"], "min_years": 2},
    "tax_B": {
        "min_tax_grade": "B",
        "min_years": 3,
        "min_registered_capital": Decimal("1000000"),
        "scales": ["micro", "small"],
        "amount_max": Decimal("10000000"),
    },
    # a rare combination: few enterprises qualify, the scan has to go deep
    "rare": {"industries": ["H"], "towns": ["qishi"]},
}
FILTERS: list[dict[str, Any]] = [
    {"town": "changan"},
    {"industry": "F"},
    {"grade": "B"},
    {"has_demand": True},
    {"town": "songshanhu", "grade": "A"},
]
TERMS: dict[str, Any] = {
    "name": "基准信用贷",
    "kind": "credit",
    "guarantee_methods": ["credit"],
    "amount_min": Decimal("100000"),
    "amount_max": Decimal("3000000"),
    "rate_min": Decimal("3.6"),
    "rate_max": Decimal("4.8"),
    "term_min": 6,
    "term_max": 36,
    "repayment_methods": ["interest_first"],
    "required_scope": "portrait",
}


# ---------------------------------------------------------------------------------------------
# Set-up
# ---------------------------------------------------------------------------------------------
def copy_rows(table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)


def authorization_rows(
    enterprise_ids: list[int], *, bank_id: int | None, purpose: str, user_id: int, tag: str
) -> list[tuple[Any, ...]]:
    from django.utils import timezone

    now = timezone.now()
    start, end = now - timedelta(days=30), now + timedelta(days=335)
    return [
        (
            f"{MARK}{tag}{eid}",
            eid,
            bank_id,
            "summary",
            purpose,
            start,
            end,
            "active",
            user_id,
            now,
            "0" * 64,
            "",
        )
        for eid in enterprise_ids
    ]


AUTH_COLUMNS = [
    "number",
    "enterprise_id",
    "grantee_bank_id",
    "scope",
    "purpose",
    "valid_from",
    "valid_until",
    "status",
    "granted_by_id",
    "granted_at",
    "digest",
    "end_reason",
]


def setup(seed: int) -> dict[str, Any]:
    """The bench bank, its officer and token, products, demands, history, per-bank grants."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.db import transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from banks import products
    from banks.models import Bank, BankMembership, LoanProduct
    from enterprises import uscc
    from enterprises.models import Authorization, Enterprise, EnterpriseStatus
    from lending.models import LoanApplication
    from xinyidai.core.models import PlatformRole, User

    rng = random.Random(seed)
    office, _ = User.objects.get_or_create(
        email="bench-matching-office@example.com",
        defaults={"platform_role": PlatformRole.CREDIT_OFFICE, "full_name": "Bench office"},
    )
    officer, _ = User.objects.get_or_create(
        email=OFFICER_EMAIL, defaults={"full_name": "Bench officer"}
    )
    for user in (office, officer):
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, generate_totp_secret())
    bank = Bank.objects.filter(name=BANK_NAME).first()
    if bank is None:
        code = uscc.generate(rng)
        while Bank.objects.filter(uscc=code).exists() or Enterprise.objects.filter(uscc=code):
            code = uscc.generate(rng)
        bank = Bank.objects.create(name=BANK_NAME, fi_code="BENCHMATCH0001", uscc=code)
    BankMembership.objects.get_or_create(user=officer, defaults={"bank": bank, "role": "admin"})
    token, _ = Token.objects.get_or_create(user=officer)
    versions: dict[str, int] = {}
    for code, extra in PRODUCTS.items():
        product = LoanProduct.objects.filter(bank=bank, code=code).first()
        if product is None:
            product = products.product_create(
                actor=officer, code=code, terms={**TERMS, "name": f"基准{code}", **extra}
            )
            products.product_move(actor=officer, product_id=product.pk, move="submit")
            product = products.product_move(actor=office, product_id=product.pk, move="publish")
        assert product.live_version_id is not None
        versions[code] = product.pk
    if Authorization.objects.filter(number__startswith=f"{MARK}B").exists():
        return {"bank": bank.pk, "token": token.key, "products": versions, "created": False}
    active = list(
        Enterprise.objects.filter(status=EnterpriseStatus.ACTIVE)
        .order_by("id")
        .values_list("id", flat=True)
    )
    picked = rng.sample(active, len(active) // 40)
    per_bank = picked[: len(active) // 100]
    authorized = picked[len(per_bank) : len(per_bank) + len(active) // 200]
    demanding = rng.sample(active, len(active) // 100)
    history = rng.sample(active, 3000)
    with transaction.atomic():
        copy_rows(
            Authorization._meta.db_table,
            AUTH_COLUMNS,
            authorization_rows(
                per_bank, bank_id=bank.pk, purpose="matching", user_id=officer.pk, tag="B"
            )
            + authorization_rows(
                authorized, bank_id=bank.pk, purpose="loan_application", user_id=officer.pk, tag="L"
            )
            + authorization_rows(
                history, bank_id=bank.pk, purpose="loan_application", user_id=officer.pk, tag="H"
            ),
        )
        auth_of = dict(
            Authorization.objects.filter(number__startswith=f"{MARK}H").values_list(
                "enterprise_id", "pk"
            )
        )
        now = timezone.now()
        version_id = LoanProduct.objects.get(bank=bank, code="broad").live_version_id
        apps = []
        for n, eid in enumerate(demanding):
            amount = rng.choice(
                [Decimal(50_000), Decimal(500_000), Decimal(2_000_000), Decimal(20_000_000)]
            )
            apps.append(
                LoanApplication(
                    number=f"{MARK}D{n}",
                    kind="demand",
                    enterprise_id=eid,
                    amount=amount,
                    term_months=rng.choice([6, 12, 24, 48]),
                    purpose="经营周转",
                    submitted_by=officer,
                    submitted_at=now - timedelta(days=rng.randint(0, 20)),
                )
            )
        for n, eid in enumerate(history):
            status = rng.choices(["approved", "disbursed", "rejected"], [3, 3, 2])[0]
            apps.append(
                LoanApplication(
                    number=f"{MARK}A{n}",
                    kind="product",
                    enterprise_id=eid,
                    bank=bank,
                    product_version_id=version_id,
                    authorization_id=auth_of[eid],
                    amount=Decimal(500_000),
                    term_months=12,
                    purpose="经营周转",
                    status=status,
                    submitted_by=officer,
                    submitted_at=now - timedelta(days=60),
                    decided_at=now - timedelta(days=rng.randint(1, 170)),
                )
            )
        LoanApplication.objects.bulk_create(apps, batch_size=5000)
    return {"bank": bank.pk, "token": token.key, "products": versions, "created": True}


def opt_in(share: float, seed: int, officer_id: int) -> int:
    """Exactly `share` of the active enterprises hold a `matching` authorisation to all banks
    (bench rows only: added or removed to reach it)."""
    from django.db import connection, transaction

    from enterprises.models import Authorization, Enterprise, EnterpriseStatus

    active = list(
        Enterprise.objects.filter(status=EnterpriseStatus.ACTIVE)
        .order_by("id")
        .values_list("id", flat=True)
    )
    random.Random(seed).shuffle(active)
    wanted = set(active[: round(len(active) * share)])
    have = set(
        Authorization.objects.filter(number__startswith=f"{MARK}O").values_list(
            "enterprise_id", flat=True
        )
    )
    with transaction.atomic():
        gone = sorted(have - wanted)
        if gone:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {Authorization._meta.db_table} "  # noqa: S608
                    "WHERE number LIKE %s AND enterprise_id = ANY(%s)",
                    [f"{MARK}O%", gone],
                )
        copy_rows(
            Authorization._meta.db_table,
            AUTH_COLUMNS,
            authorization_rows(
                sorted(wanted - have), bank_id=None, purpose="matching", user_id=officer_id, tag="O"
            ),
        )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Authorization._meta.db_table}")
    return len(wanted)


def cleanup() -> None:
    """Remove every bench row and bring the profiles back."""
    from django.db import connection, transaction

    from banks.models import Bank
    from enterprises.models import Authorization
    from lending.matching import refresh_profiles
    from lending.models import LoanApplication

    with transaction.atomic():
        LoanApplication.objects.filter(number__startswith=MARK).delete()
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {Authorization._meta.db_table} WHERE number LIKE %s",  # noqa: S608
                [f"{MARK}%"],
            )
        bank = Bank.objects.filter(name=BANK_NAME).first()
        if bank is not None:
            from banks.models import LoanProduct, LoanProductVersion, ProductEvent

            ProductEvent.objects.filter(product__bank=bank).delete()
            LoanProduct.objects.filter(bank=bank).update(live_version=None)
            LoanProductVersion.objects.filter(product__bank=bank).delete()
            LoanProduct.objects.filter(bank=bank).delete()
    refresh_profiles()


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------
def cases(product_ids: dict[str, int]) -> list[tuple[str, int, dict[str, Any]]]:
    found = [(code, pk, {}) for code, pk in product_ids.items()]
    found += [
        ("broad " + ",".join(f"{k}={v}" for k, v in f.items()), product_ids["broad"], f)
        for f in FILTERS
    ]
    return found


def compute(product_ids: dict[str, int], bank_id: int, runs: int, explain: bool) -> dict[str, Any]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from banks.models import LoanProduct
    from lending.matching import rank_enterprises

    report: dict[str, Any] = {}
    everything: list[float] = []
    for name, pk, filters in cases(product_ids):
        version = LoanProduct.objects.select_related("live_version").get(pk=pk).live_version
        for _ in range(5):
            found = rank_enterprises(version, bank_id=bank_id, filters=filters)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            found = rank_enterprises(version, bank_id=bank_id, filters=filters)
            times.append((time.perf_counter() - started) * 1000)
        everything += times
        with CaptureQueriesContext(connection) as captured:
            rank_enterprises(version, bank_id=bank_id, filters=filters)
        report[name] = {
            **percentiles(times),
            "results": len(found),
            "masked": sum(not m.bank_authorized for m in found),
            "top_fit": found[0].fit if found else None,
            "last_fit": found[-1].fit if found else None,
            "statements": len(captured.captured_queries),
        }
        print(f"  {name:<36} {json.dumps(report[name], ensure_ascii=False)}", flush=True)
        if explain:
            for query in captured.captured_queries:
                if "matchprofile" not in query["sql"]:
                    continue
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                    plan = "\n".join(r[0] for r in cursor.fetchall())
                print(f"\n--- {name}: {query['sql'][:160]}…\n{plan}\n")
        reset_queries()
    report["all"] = percentiles(everything)
    return report


def http(
    token: str, product_ids: dict[str, int], clients: list[int], duration: float, seed: int
) -> dict[str, Any]:
    from xinyidai.core.crypto import current_keys

    cache = "redis" if redis_answers() else "locmem"
    env = server_env(cache, current_keys())
    mixes: dict[str, list[str]] = {"products": [], "filters": []}
    for _name, pk, filters in cases(product_ids):
        query = "&".join(f"{k}={'true' if v is True else v}" for k, v in filters.items())
        path = f"/api/v1/products/{pk}/matches/?limit=100" + (f"&{query}" if query else "")
        mixes["filters" if filters else "products"].append(path)
    paths = mixes["products"] + mixes["filters"]
    server = Server(2, env, "sync")
    report: dict[str, Any] = {"cache": cache, "server": server.command}
    try:
        server.wait_ready()
        # warm-up: every path answered 200 by both workers
        results, _, _ = run_clients(
            port=server.port,
            token=token,
            template="{uscc}",
            usccs=paths,
            clients=2,
            duration=30,
            max_requests=len(paths) * 3,
            seed=seed,
        )
        for result in results:
            if result.statuses.get(200, 0) == 0 or result.first_error:
                raise RuntimeError(f"warm-up failed: {result.first_error}")
        for mix, mix_paths in mixes.items():
            for n in clients:
                before_pg, before_server = postgres_cpu(), server.cpu()
                results, _, wall = run_clients(
                    port=server.port,
                    token=token,
                    template="{uscc}",
                    usccs=mix_paths,
                    clients=n,
                    duration=duration,
                    max_requests=100_000,
                    seed=seed + n,
                )
                after_server = server.cpu()
                latencies = [ms for r in results for ms in r.latencies_ms]
                errors = sum(v for r in results for k, v in r.statuses.items() if k != 200)
                errors += sum(sum(r.failures.values()) for r in results)
                gunicorn = sum(after_server[p] - before_server.get(p, 0.0) for p in after_server)
                key = f"{mix}_{n}_clients"
                report[key] = {
                    **percentiles(latencies),
                    "requests": len(latencies),
                    "requests_per_s": round(len(latencies) / wall, 1) if wall else 0.0,
                    "errors": errors,
                    "first_error": next((r.first_error for r in results if r.first_error), ""),
                    "gunicorn_cpu_ms_per_request": round(
                        gunicorn * 1000 / max(1, len(latencies)), 2
                    ),
                    "postgres_cpu_ms_per_request": round(
                        (postgres_cpu() - before_pg) * 1000 / max(1, len(latencies)), 2
                    ),
                }
                print(f"  HTTP {mix}, {n} clients: {json.dumps(report[key])}", flush=True)
    finally:
        server.stop_and_report()
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--share", default="0.2,1.0", help="opted-in shares to measure")
    parser.add_argument("--runs", type=int, default=200, help="compute runs per case")
    parser.add_argument("--duration", type=float, default=20.0, help="HTTP seconds per phase")
    parser.add_argument("--clients", default="2,4")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--keep", action="store_true", help="leave the bench rows in place")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("set DATABASE_URL to the 1,000,000-enterprise city (PostgreSQL)")
    shares = [float(s) for s in args.share.split(",") if s.strip()]
    clients = [int(c) for c in args.clients.split(",") if c.strip()]
    if any(not 0 < s <= 1 for s in shares) or not 1 <= args.runs <= 10_000:
        parser.error("shares in (0, 1], runs 1..10000")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from enterprises.models import Enterprise, EnterpriseStatus
    from lending.matching import refresh_profiles
    from lending.models import MatchProfile
    from xinyidai.core.models import User

    call_command("migrate", verbosity=0, stdout=io.StringIO())
    print(f"machine: {machine()}")
    print(f"database: {database()}; date: {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"load average before: {os.getloadavg()}")
    active = Enterprise.objects.filter(status=EnterpriseStatus.ACTIVE).count()
    print(f"enterprises: {Enterprise.objects.count()} ({active} active)")
    started = time.perf_counter()
    made = setup(args.seed)
    print(
        f"set-up ({'created' if made['created'] else 'found'}): "
        f"{time.perf_counter() - started:.1f} s; products {made['products']}"
    )
    officer = User.objects.get(email=OFFICER_EMAIL)
    summary: dict[str, Any] = {
        "machine": machine(),
        "database": database(),
        "date": time.strftime("%Y-%m-%d"),
        "enterprises": active,
        "shares": {},
    }
    try:
        for share in shares:
            started = time.perf_counter()
            opted = opt_in(share, args.seed, officer.pk)
            granted = time.perf_counter() - started
            started = time.perf_counter()
            written = refresh_profiles()
            refreshed = time.perf_counter() - started
            started = time.perf_counter()
            again = refresh_profiles()
            unchanged = time.perf_counter() - started
            with connections["default"].cursor() as cursor:
                # the table as a fresh build leaves it: switching shares rewrites most rows
                cursor.execute(f"VACUUM FULL ANALYZE {MatchProfile._meta.db_table}")
            visible = MatchProfile.objects.filter(opt_in_all_until__isnull=False).count()
            print(
                f"\nshare {share:.0%}: {opted} opted in to all banks ({granted:.1f} s to grant); "
                f"refresh_profiles(): {written} rows in {refreshed:.1f} s, "
                f"again {again} rows in {unchanged:.1f} s; {visible} visible profiles"
            )
            entry: dict[str, Any] = {
                "opted_in": opted,
                "refresh_seconds": round(refreshed, 1),
                "refresh_rows": written,
                "refresh_unchanged_seconds": round(unchanged, 1),
            }
            print("compute (in process, rank_enterprises top 100):")
            entry["compute"] = compute(made["products"], made["bank"], args.runs, args.explain)
            connections.close_all()
            if not args.no_http:
                entry["http"] = http(
                    made["token"], made["products"], clients, args.duration, args.seed
                )
            products = [c for c in cases(made["products"]) if not c[2]]
            product_p95 = max(entry["compute"][name]["p95_ms"] for name, _pk, _f in products)
            worst_p95 = max(v["p95_ms"] for k, v in entry["compute"].items() if k != "all")
            http_p99 = entry.get("http", {}).get(f"products_{clients[0]}_clients", {}).get("p99_ms")
            entry["targets"] = {
                "compute_p95_worst_product_ms": product_p95,
                "compute_p95_worst_with_filters_ms": worst_p95,
                "compute_met": product_p95 < 50,
                "compute_met_with_filters": worst_p95 < 50,
                "http_p99_products_ms": http_p99,
                "http_met": http_p99 is not None and http_p99 < 150,
            }
            print(f"targets at {share:.0%}: {entry['targets']}")
            summary["shares"][f"{share:g}"] = entry
    finally:
        if not args.keep:
            started = time.perf_counter()
            cleanup()
            print(
                f"\nbench rows removed, profiles refreshed: {time.perf_counter() - started:.1f} s"
            )
    print(json.dumps(summary, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
