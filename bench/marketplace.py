"""Benchmark the marketplace list: 5,000 published products, filters, p50/p95/p99.

Issue 6 asks for p99 < 100 ms for the list of 5,000 published products with filters. This
script creates its own database (30 banks, N products each with a published version, one
enterprise with a grade and records), then times `GET /api/v1/products/?…` over HTTP against
gunicorn (2 sync workers, production settings, the same server harness as
`bench/portrait_api.py`) with closed-loop clients, for a mix of filter combinations: as a
signed-in user without an enterprise (the anonymous path plus token authentication) and as an
enterprise user (whose page carries the eligibility of each product; `eligible=true` checks
every candidate).

    DATABASE_URL=postgres://xinyidai:xinyidai@127.0.0.1:5432/xinyidai_bench_market \\
        .venv/bin/python bench/marketplace.py [--products 5000] [--requests 300] [--drop]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from _machine import database, drop_database, ensure_database, machine

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinyidai.settings")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

QUERIES = [
    "",
    "?sort=-amount",
    "?amount=1000000",
    "?amount=2000000&term=24",
    "?kind=credit&rate_max=4",
    "?guarantee=credit&sort=term",
    "?q=科创",
    "?bank={bank}",
    "?amount=500000&term=12&kind=credit&kind=tax&rate_max=4.5&guarantee=credit",
    "?risk_compensation=true&sort=newest",
]


def populate(products: int, seed: int) -> dict[str, Any]:
    from django.db import transaction

    from banks.models import (
        Bank,
        GuaranteeMethod,
        LoanKind,
        LoanProduct,
        LoanProductVersion,
        RepaymentMethod,
    )
    from enterprises import reference, uscc
    from enterprises.models import Enterprise
    from enterprises.scoring import regrade
    from tests.factories import UserFactory, make_enterprise_member

    rng = random.Random(seed)
    if LoanProduct.objects.exists():
        bank = Bank.objects.order_by("id").first()
        owner = UserFactory._meta.model.objects.filter(email="market-owner@example.com").first()
        return {"bank": bank.pk if bank else 0, "owner": owner.pk if owner else 0}
    sections = list(reference.INDUSTRY_SECTIONS)
    towns = [slug for slug, _name in reference.TOWN_CHOICES]
    with transaction.atomic():
        staff = UserFactory.create(email="market-staff@example.com")
        banks = [
            Bank.objects.create(
                name=f"基准银行{i:02d}",
                fi_code=f"B{i:013d}",
                uscc=uscc.generate(rng),
            )
            for i in range(30)
        ]
        rows = []
        for i in range(products):
            lo = Decimal(rng.choice([5, 10, 20, 50, 100])) * 10000
            hi = lo * rng.choice([5, 10, 20, 50])
            rate = Decimal(rng.randint(300, 600)) / 100
            terms = {
                "name": rng.choice(["科创", "税易", "首贷", "续贷", "惠企", "链融"]) + f"贷{i}",
                "kind": rng.choice(LoanKind.values),
                "guarantee_methods": rng.sample(GuaranteeMethod.values, rng.randint(1, 2)),
                "amount_min": lo,
                "amount_max": hi,
                "rate_min": rate,
                "rate_max": rate + Decimal("1.5"),
                "term_min": rng.choice([1, 3, 6]),
                "term_max": rng.choice([12, 24, 36, 60]),
                "repayment_methods": rng.sample(RepaymentMethod.values, 2),
                "min_grade": rng.choice(["", "A", "B", "C"]),
                "industries": rng.sample(sections, 3) if rng.random() < 0.3 else [],
                "towns": rng.sample(towns, 5) if rng.random() < 0.2 else [],
                "min_years": rng.choice([None, 1, 2, 3]),
                "min_tax_grade": rng.choice(["", "", "B", "A"]),
                "min_registered_capital": rng.choice([None, Decimal("1000000")]),
                "risk_compensation": rng.random() < 0.3,
            }
            rows.append((banks[i % len(banks)], f"P{i:05d}", terms))
        created = LoanProduct.objects.bulk_create(
            [
                LoanProduct(
                    bank=bank,
                    code=code,
                    status="published",
                    listed=True,
                    created_by=staff,
                    guarantee_index="," + ",".join(t["guarantee_methods"]) + ",",
                    **t,
                )
                for bank, code, t in rows
            ],
            batch_size=1000,
        )
        versions = LoanProductVersion.objects.bulk_create(
            [
                LoanProductVersion(
                    product=product,
                    number=1,
                    published_by=staff,
                    guarantee_index=product.guarantee_index,
                    **t,
                )
                for product, (_b, _c, t) in zip(created, rows, strict=True)
            ],
            batch_size=1000,
        )
        for product, version in zip(created, versions, strict=True):
            product.live_version = version
        LoanProduct.objects.bulk_update(created, ["live_version"], batch_size=1000)
        firm = Enterprise.objects.create(
            uscc=uscc.generate(rng),
            name="东莞市基准科技有限公司",
            town="changan",
            industry_section="C",
            industry_division="35",
            scale="small",
            registered_capital=Decimal("5000000"),
            established_date=date(2019, 5, 1),
        )
        owner = UserFactory.create(email="market-owner@example.com")
        make_enterprise_member(owner, firm, "owner")
    regrade([firm.pk])
    return {"bank": banks[3].pk, "owner": owner.pk}


def run(requests: int, clients: int, ids: dict[str, Any]) -> dict[str, Any]:
    from portrait_api import Server, percentiles, run_clients, server_env
    from rest_framework.authtoken.models import Token

    from xinyidai.core.crypto import current_keys
    from xinyidai.core.models import User

    visitor, _ = User.objects.get_or_create(email="market-visitor@example.com")
    visitor_token = Token.objects.get_or_create(user=visitor)[0].key
    owner_token = Token.objects.get_or_create(user_id=ids["owner"])[0].key
    queries = [quote(q.format(bank=ids["bank"]), safe="?&=") for q in QUERIES]
    eligible = [q + ("&" if q else "?") + "eligible=true" for q in queries]
    server = Server(2, server_env("local", current_keys()), "sync")
    results: dict[str, Any] = {}
    try:
        server.wait_ready()
        for label, token, mix in (
            ("signed-in, no enterprise", visitor_token, queries),
            ("enterprise (eligibility per row)", owner_token, queries),
            ("enterprise, eligible=true", owner_token, eligible),
        ):
            common = {"port": server.port, "token": token, "template": "/api/v1/products/{uscc}"}
            run_clients(**common, usccs=mix, clients=clients, duration=5, max_requests=50, seed=1)
            done, _start, wall = run_clients(
                **common,
                usccs=mix,
                clients=clients,
                duration=600,
                max_requests=requests // clients,
                seed=2,
            )
            latencies = [ms for r in done for ms in r.latencies_ms]
            statuses = sum((r.statuses for r in done), start=type(done[0].statuses)())
            errors = [r.first_error for r in done if r.first_error]
            if errors or set(statuses) != {200}:
                raise SystemExit(f"{label}: {dict(statuses)} {errors[:1]}")
            results[label] = {
                **percentiles(latencies),
                "n": len(latencies),
                "req_s": round(len(latencies) / wall, 1),
            }
    finally:
        server.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        print("set DATABASE_URL to a PostgreSQL database (it is created if missing)")
        return 2
    created = ensure_database(url)
    # migrate in a child process: its migration graph would otherwise stay in this process's
    # heap, and the garbage collector's full passes over it showed up as 80–130 ms tail
    # latencies that a web worker (which never migrates) does not have
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(  # noqa: S603 - this interpreter and manage.py, fixed arguments
        [sys.executable, os.path.join(root, "manage.py"), "migrate", "--verbosity", "0"],
        check=True,
    )
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    print(f"machine : {machine()}")
    print(f"database: {database()}{' (created)' if created else ''}")
    started = time.perf_counter()
    ids = populate(args.products, args.seed)
    took = time.perf_counter() - started
    print(f"data    : {args.products:,} published products, 30 banks ({took:.1f} s)")
    from django.db import connections

    connections.close_all()  # the clients fork: no shared connection
    results = run(args.requests, args.clients, ids)
    print(f"server  : gunicorn, 2 sync workers, {args.clients} closed-loop clients")
    for label, f in results.items():
        print(
            f"{label:<34} p50 {f['p50_ms']:7.2f}  p95 {f['p95_ms']:7.2f}  p99 {f['p99_ms']:7.2f}"
            f"  max {f['max_ms']:7.2f} ms  {f['req_s']:7.1f} req/s  (n={f['n']:,})"
        )
    print(json.dumps(results, ensure_ascii=False))
    if args.drop:
        from django.db import connections

        connections.close_all()
        drop_database(url)
        print("dropped the database")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
