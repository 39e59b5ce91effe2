"""Benchmark submitting a loan application (`POST /api/v1/applications/`): p95 < 200 ms.

    .venv/bin/python bench/application_submit.py [--submissions 300] [--clients 2,4] \\
        [--profile 40] [--drop]

What it does:
1. Drops and re-creates its own PostgreSQL database (`--database-url`, default
   `xinyidai_bench_apply` on 127.0.0.1:5432; the name must contain "bench"), so every run starts
   from the same tables, and migrates it in a child process (a migration graph left in this
   process's heap would be copied into the forked clients).
2. Generates the data with the project's own code: a synthetic city of `--enterprises` firms
   (`enterprises.synthetic.seed_city`: persons, shareholdings, ~5 credit records each) graded
   by `run_regrade`; `--banks` banks registered by a credit-office user (`bank_create`), each
   with an admin and two officers (the people told of a submission); `--products` products
   drafted by the banks' officers and published by the office (`product_create`,
   `product_move`), with random but plausible terms and conditions. Then enterprise owners, one
   per firm without an active serious record, each with a product it qualifies for
   (`eligibility.passes`) and a DRF token (enterprise roles need no MFA for the API). The users
   share one password hash (one PBKDF2 computation for all of them).
3. Starts gunicorn (2 sync workers, production settings, the harness of
   `bench/portrait_api.py`) with the cache and the Celery broker on Redis database 13 when Redis
   answers on 127.0.0.1:6379 (else local memory and eager tasks), and for each `--clients`
   value runs closed-loop client processes that POST a fixed number of submissions (one
   `http.client` connection each; a sync worker closes it after each answer):
   - reuse: the firm already gave the product's bank an active `loan_application`
     authorisation wide enough for the product, so nothing is confirmed (the main figure);
   - password: first application to that bank, the new authorisation confirmed by the login
     password (Django's PBKDF2, 1,000,000 iterations — by design);
   - totp: the same confirmed by a TOTP code (allauth; one user per submission, since a code is
     accepted once; the client computes the code just before sending, never in the last second
     of a 30-second step);
   - demand (only when `POST /api/v1/demands/` is in the URL conf): a financing demand from a
     firm that already authorised every bank for loan applications.
   Every submission must answer 201; the script then checks in the database that each one made
   one application, that reuse and demand granted no authorisation and that the other two
   granted exactly one each.
4. `--profile N` (default 40): a child process with the server's settings calls Django's
   request handler directly (no socket) for N submissions of each scenario: statements per
   request (`CaptureQueriesContext`), in-process latency, and a cProfile of the named steps.

Prints the machine, the figures per scenario and client count (p50/p95/p99/max, submissions/s,
CPU per request of gunicorn and PostgreSQL, and the CPU seconds the rest of the machine used
during the phase: another session's load shows there), whether the target (reuse p95 < 200 ms)
is met, and one JSON line. Only 127.0.0.1 is contacted; the server is stopped at the end and
the queued e-mail and ledger-seal tasks are deleted from Redis.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import logging
import multiprocessing
import os
import pstats
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _machine import database, drop_database, ensure_database, machine
from portrait_api import (
    HOST,
    ClientResult,
    Server,
    percentiles,
    postgres_cpu,
    redis_answers,
    self_cpu,
    server_env,
    system_busy,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://xinyidai:xinyidai@127.0.0.1:5432/xinyidai_bench_apply"
REDIS_DB_URL = "redis://127.0.0.1:6379/13"
CACHE_PREFIX = "bench-application-submit"
PASSWORD = "Bench-apply-2026"
EMAIL = "bench-apply-{kind}-{n:05d}@example.com"
APPLY_PATH = "/api/v1/applications/"
DEMAND_PATH = "/api/v1/demands/"
PURPOSES = ["采购原材料", "支付货款", "补充流动资金", "购置生产设备", "支付员工工资", "厂房租金"]
SCENARIOS = {
    "reuse": "reuse: authorisation in force, no confirmation",
    "password": "new authorisation, confirmed by password",
    "totp": "new authorisation, confirmed by TOTP code",
    "demand": "financing demand, authorisations in force",
}
TARGET_MS = 200.0


# ---------------------------------------------------------------------------------------------
# Data (this process, development settings)
# ---------------------------------------------------------------------------------------------
def product_terms(rng: random.Random, i: int) -> dict[str, Any]:
    from banks.models import GuaranteeMethod, LoanKind, RepaymentMethod
    from enterprises import reference

    lo = Decimal(rng.choice([5, 10, 20, 50, 100])) * 10000
    rate = Decimal(rng.randint(300, 600)) / 100
    sections = list(reference.INDUSTRY_SECTIONS)
    return {
        "name": rng.choice(["科创", "税易", "首贷", "续贷", "惠企", "链融"]) + f"贷{i}",
        "kind": rng.choice(LoanKind.values),
        "guarantee_methods": rng.sample(GuaranteeMethod.values, rng.randint(1, 2)),
        "amount_min": lo,
        "amount_max": lo * rng.choice([5, 10, 20, 50]),
        "rate_min": rate,
        "rate_max": rate + Decimal("1.5"),
        "term_min": rng.choice([1, 3, 6]),
        "term_max": rng.choice([12, 24, 36, 60]),
        "repayment_methods": rng.sample(RepaymentMethod.values, 2),
        "min_grade": rng.choice(["", "", "B", "C"]),
        "industries": rng.sample(sections, 4) if rng.random() < 0.2 else [],
        "towns": rng.sample(list(reference.TOWN_NAMES), 8) if rng.random() < 0.1 else [],
        "min_years": rng.choice([None, None, 1, 2]),
        "min_tax_grade": rng.choice(["", "", "", "B"]),
        "min_registered_capital": rng.choice([None, None, Decimal("500000")]),
        "required_scope": rng.choice(["summary", "portrait", "portrait", "records"]),
        "risk_compensation": rng.random() < 0.3,
        "description": "基准测试产品",
    }


def demand_available() -> bool:
    """Whether this checkout has `POST /api/v1/demands/` (and the service behind it)."""
    from django.urls import Resolver404, resolve

    from lending import services

    try:
        resolve(DEMAND_PATH)
    except Resolver404:
        return False
    return hasattr(services, "demand_submit") and hasattr(services, "demand_plans")


def make_users(kind: str, count: int, hashed: str) -> list[Any]:
    from allauth.account.models import EmailAddress

    from xinyidai.core.models import User

    users = User.objects.bulk_create(
        [
            User(email=EMAIL.format(kind=kind, n=n), full_name=f"基准{kind}{n}", password=hashed)
            for n in range(count)
        ]
    )
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users]
    )
    return users


def populate(args: argparse.Namespace, with_demand: bool) -> dict[str, Any]:
    """Everything the phases need; returns the owners (JSON-able) per scenario and counts."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.db.models import F
    from rest_framework.authtoken.models import Token

    from banks.models import BankMembership, BankRole, LoanProduct, LoanProductVersion
    from banks.products import product_create, product_move
    from banks.services import bank_create
    from enterprises import synthetic, uscc
    from enterprises.authorization import authorization_grant
    from enterprises.models import CreditRecord, Enterprise, EnterpriseMembership, RecordStatus
    from enterprises.scoring import run_regrade
    from lending import eligibility
    from xinyidai.core.models import PlatformRole, User

    rng = random.Random(args.seed)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    city = synthetic.seed_city(args.enterprises, args.seed)
    timings["city"] = time.perf_counter() - started
    started = time.perf_counter()
    run_regrade()
    timings["regrade"] = time.perf_counter() - started

    started = time.perf_counter()
    hashed = make_password(PASSWORD)  # one PBKDF2 for every bench user
    with transaction.atomic():
        office = User.objects.create(
            email="bench-apply-office@example.com",
            full_name="信用办基准",
            platform_role=PlatformRole.CREDIT_OFFICE,
            password=hashed,
        )
        staff = make_users("bank", args.banks * 3, hashed)
        banks = []
        officers = []
        for i in range(args.banks):
            bank = bank_create(
                actor=office,
                name=f"基准银行{i:02d}",
                fi_code=f"B{i:013d}",
                uscc_code=uscc.generate(rng),
            )
            banks.append(bank)
            for j, role in enumerate((BankRole.ADMIN, BankRole.OFFICER, BankRole.OFFICER)):
                BankMembership.objects.create(user=staff[i * 3 + j], bank=bank, role=role)
            officers.append(User.objects.get(pk=staff[i * 3 + 1].pk))  # membership loaded fresh
        for i in range(args.products):
            officer = officers[i % len(officers)]
            product = product_create(actor=officer, code=f"P{i:04d}", terms=product_terms(rng, i))
            product_move(actor=officer, product_id=product.pk, move="submit")
            product_move(actor=office, product_id=product.pk, move="publish")
    timings["banks_products"] = time.perf_counter() - started

    # the owners: firms without an active serious record, each with a product it qualifies for
    started = time.perf_counter()
    versions = list(
        LoanProductVersion.objects.filter(
            product__listed=True, product__live_version_id=F("pk")
        ).select_related("product")
    )
    fresh = 2 * args.submissions * len(args.clients) + 2 * args.profile
    wanted = {"reuse": args.reuse_users, "demand": args.demand_users if with_demand else 0}
    wanted["fresh"] = fresh
    serious = set(
        CreditRecord.objects.filter(
            status=RecordStatus.ACTIVE, record_type__in=eligibility.SERIOUS_TYPES
        ).values_list("enterprise_id", flat=True)
    )
    candidates = list(
        Enterprise.objects.exclude(pk__in=serious)
        .order_by("pk")
        .only(
            "id",
            "uscc",
            "name",
            "industry_section",
            "town",
            "established_date",
            "scale",
            "registered_capital",
        )
    )
    rng.shuffle(candidates)
    picked: list[tuple[Any, Any]] = []  # (enterprise, version)
    for enterprise in candidates:
        if len(picked) == sum(wanted.values()):
            break
        facts = eligibility.facts_for(enterprise)
        fitting = [v for v in versions if eligibility.passes(facts, v)]
        if fitting:
            picked.append((enterprise, rng.choice(fitting)))
    if len(picked) < sum(wanted.values()):
        raise SystemExit(
            f"only {len(picked)} eligible firms without serious records for "
            f"{sum(wanted.values())} owners: raise --enterprises"
        )
    timings["eligibility"] = time.perf_counter() - started

    started = time.perf_counter()
    pools: dict[str, list[dict[str, Any]]] = {}
    offset = 0
    with transaction.atomic():
        for kind, count in wanted.items():
            chosen = picked[offset : offset + count]
            offset += count
            users = make_users(kind, count, hashed)
            EnterpriseMembership.objects.bulk_create(
                [
                    EnterpriseMembership(user=u, enterprise=e, role="owner")
                    for u, (e, _v) in zip(users, chosen, strict=True)
                ]
            )
            tokens = Token.objects.bulk_create(
                [Token(user=u, key=Token.generate_key()) for u in users]
            )
            pools[kind] = [
                {
                    "user": u.pk,
                    "enterprise": e.pk,
                    "token": t.key,
                    "bank": v.product.bank_id,
                    "body": application_body(rng, v),
                    "scope": v.required_scope,
                }
                for u, t, (e, v) in zip(users, tokens, chosen, strict=True)
            ]
        # Authorisations in force: reuse owners gave the product's bank one at the product's
        # scope; demand owners gave every bank one at the widest scope. Granted with
        # `identity_confirmed` (what the submission does after checking the password): set-up
        # does not need to pay PBKDF2 per grant.
        members = {
            u.pk: u
            for u in User.objects.filter(
                pk__in=[p["user"] for p in pools["reuse"] + pools["demand"]]
            ).select_related("enterprise_membership__enterprise")
        }
        for p in pools["reuse"]:
            user = members[p["user"]]
            authorization_grant(
                actor=user,
                enterprise=user.enterprise_membership.enterprise,
                grantee_bank_id=p["bank"],
                scope=p["scope"],
                purpose="loan_application",
                identity_confirmed=True,
            )
        for p in pools["demand"]:
            user = members[p["user"]]
            for bank in banks:
                authorization_grant(
                    actor=user,
                    enterprise=user.enterprise_membership.enterprise,
                    grantee_bank_id=bank.pk,
                    scope="records",
                    purpose="loan_application",
                    identity_confirmed=True,
                )
            p["body"] = demand_body(p["body"])
    # TOTP authenticators for the half of the fresh owners that confirm by code
    fresh_pool = pools.pop("fresh")
    half = len(fresh_pool) // 2
    pools["password"] = fresh_pool[:half]
    pools["totp"] = fresh_pool[half:]
    by_pk = User.objects.in_bulk([p["user"] for p in pools["totp"]])
    for p in pools["totp"]:
        p["totp"] = generate_totp_secret()
        TOTP.activate(by_pk[p["user"]], p["totp"])
    for p in pools["password"]:
        p["body"]["password"] = PASSWORD
    if with_demand:
        check_demand_plans(pools["demand"])
    timings["owners_authorisations"] = time.perf_counter() - started
    return {
        "pools": pools,
        "timings": {k: round(v, 1) for k, v in timings.items()},
        "enterprises": Enterprise.objects.count(),
        "enterprises_created": city.enterprises,
        "serious": len(serious),
        "banks": len(banks),
        "products": LoanProduct.objects.filter(listed=True).count(),
        "users": User.objects.count(),
    }


def application_body(rng: random.Random, version: Any) -> dict[str, Any]:
    lo, hi = int(version.amount_min), int(version.amount_max)
    amount = max(lo, min(hi, rng.randint(lo // 10000, hi // 10000) * 10000))
    return {
        "product": version.product_id,
        "amount": str(amount),
        "term_months": rng.randint(version.term_min, version.term_max),
        "repayment_method": rng.choice(version.repayment_methods),
        "purpose": rng.choice(PURPOSES),
    }


def demand_body(application: dict[str, Any]) -> dict[str, Any]:
    """A demand that at least the owner's product fits (its amount and term)."""
    return {
        "amount": application["amount"],
        "term_months": application["term_months"],
        "purpose": application["purpose"],
        "preferred_guarantee": "",
    }


def check_demand_plans(pool: list[dict[str, Any]]) -> None:
    """Every demand owner's demand goes to at least one bank and reuses every authorisation."""
    from enterprises.models import Enterprise
    from lending import services

    firms = Enterprise.objects.in_bulk([p["enterprise"] for p in pool])
    for p in pool:
        body = p["body"]
        plans = services.demand_plans(
            firms[p["enterprise"]],
            amount=Decimal(body["amount"]),
            term_months=body["term_months"],
            guarantee="",
        )
        if not plans or any(plan.needs_grant for plan in plans):
            raise SystemExit(f"demand set-up: plans {plans} for firm {p['enterprise']}")
        p["banks"] = len(plans)


def jobs_for(pool: list[dict[str, Any]], count: int, rng: random.Random) -> list[dict[str, Any]]:
    """`count` submissions: the pool in turn (reuse, demand), or each owner once (fresh)."""
    order = list(pool)
    rng.shuffle(order)
    return [
        {"token": p["token"], "body": p["body"], "totp": p.get("totp", "")}
        for p in (order[i % len(order)] for i in range(count))
    ]


# ---------------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------------
def totp_code(secret: str) -> str:
    """The current code, never from the last second of its step (the server must see the same
    step); the wait happens before the request's clock starts."""
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    period = 30
    left = period - time.time() % period
    if left < 1.0:
        time.sleep(left + 0.05)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


def submit_client(port: int, path: str, jobs: list[dict[str, Any]], start_at: float) -> Any:
    """One closed-loop client: a submission, its answer, the next submission."""
    result = ClientResult()
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    time.sleep(max(0.0, start_at - time.time()))
    cpu_before = self_cpu()
    for job in jobs:
        body = dict(job["body"])
        if job["totp"]:
            body["otp_code"] = totp_code(job["totp"])
        payload = json.dumps(body).encode()
        headers = {
            "Authorization": f"Token {job['token']}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        started = time.perf_counter()
        try:
            conn.request("POST", path, body=payload, headers=headers)
            response = conn.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            result.failures[type(exc).__name__] += 1
            result.first_error = result.first_error or f"{exc!r}"
            continue
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        result.statuses[response.status] += 1
        result.body_bytes += len(answer)
        if response.status != 201 and not result.first_error:
            result.first_error = f"{response.status} {answer[:300]!r}"
    conn.close()
    result.cpu_seconds = self_cpu() - cpu_before
    result.finished_at = time.time()
    return result


def db_counts() -> dict[str, int]:
    from django.db import connections

    from enterprises.models import Authorization
    from lending.models import LoanApplication

    counts = {
        "applications": LoanApplication.objects.count(),
        "authorizations": Authorization.objects.count(),
    }
    connections.close_all()  # the clients fork: no shared connection
    return counts


def run_phase(
    server: Server, path: str, jobs: list[dict[str, Any]], clients: int
) -> dict[str, Any]:
    before = db_counts()
    server_before, pg_before, busy_before = server.cpu(), postgres_cpu(), system_busy()
    context = multiprocessing.get_context("fork")
    start_at = time.time() + 0.5
    with context.Pool(clients) as pool:
        pending = [
            pool.apply_async(submit_client, (server.port, path, jobs[i::clients], start_at))
            for i in range(clients)
        ]
        results = [p.get(timeout=1800) for p in pending]
    wall = max(r.finished_at for r in results) - start_at
    server_after, pg_after, busy_after = server.cpu(), postgres_cpu(), system_busy()
    after = db_counts()
    latencies = [ms for r in results for ms in r.latencies_ms]
    statuses: Counter[int] = Counter()
    for r in results:
        statuses.update(r.statuses)
    errors = sum(n for s, n in statuses.items() if s != 201) + sum(
        sum(r.failures.values()) for r in results
    )
    n = max(1, len(latencies))
    gunicorn_cpu = sum(server_after[pid] - server_before.get(pid, 0.0) for pid in server_after)
    client_cpu = sum(r.cpu_seconds for r in results)
    pg_cpu = pg_after - pg_before
    busy = busy_after - busy_before
    return {
        "clients": clients,
        "n": len(latencies),
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "first_error": next((r.first_error for r in results if r.first_error), ""),
        "seconds": round(wall, 2),
        "per_s": round(len(latencies) / wall, 1) if wall > 0 else 0.0,
        **percentiles(latencies),
        "applications_made": after["applications"] - before["applications"],
        "authorizations_granted": after["authorizations"] - before["authorizations"],
        "gunicorn_cpu_ms": round(gunicorn_cpu * 1000 / n, 1),
        "postgres_cpu_ms": round(pg_cpu * 1000 / n, 1),
        "client_cpu_ms": round(client_cpu * 1000 / n, 1),
        # CPU seconds of the whole machine during the phase: busy, and busy with anything but
        # this benchmark (another process's load shows here)
        "busy_cpu_s": round(busy, 1),
        "other_cpu_s": round(busy - gunicorn_cpu - pg_cpu - client_cpu, 1),
        "capacity_cpu_s": round(wall * (os.cpu_count() or 1), 1),
    }


def check_phase(name: str, phase: dict[str, Any], expected: int) -> list[str]:
    problems = []
    if phase["errors"] or phase["n"] != expected:
        problems.append(f"{name}: {phase['statuses']} {phase['first_error']}")
    if phase["applications_made"] != phase["statuses"].get("201", 0):
        problems.append(f"{name}: {phase['applications_made']} applications for 201 answers")
    granted = phase["statuses"].get("201", 0) if name in ("password", "totp") else 0
    if phase["authorizations_granted"] != granted:
        problems.append(
            f"{name}: {phase['authorizations_granted']} authorisations granted, {granted} expected"
        )
    return problems


# ---------------------------------------------------------------------------------------------
# Profile (child process with the server's settings, Django's handler called directly)
# ---------------------------------------------------------------------------------------------
PROFILE_FUNCTIONS = {
    "rest_framework/views.py:dispatch",
    "api/authentication.py:authenticate_credentials",
    "lending/services.py:application_submit",
    "lending/services.py:demand_submit",
    "lending/services.py:demand_plans",
    "lending/services.py:listed_product",
    "lending/services.py:plan_for_product",
    "lending/services.py:_fitting_authorization",
    "lending/services.py:_punishment_block",
    "lending/services.py:_carry_out",
    "lending/services.py:_start",
    "lending/services.py:new_number",
    "lending/eligibility.py:facts_for",
    "lending/notices.py:application_moved",
    "core/notifications.py:notify_users",
    "core/notifications.py:notify",
    "core/reauth.py:confirm_identity",
    "core/reauth.py:second_factor_ok",
    "base_user.py:check_password",
    "enterprises/authorization.py:authorization_grant",
    "enterprises/authorization.py:_event",
    "lending/sla.py:dues_from",
    "lending/api.py:submission_response",
    "rest_framework/serializers.py:data",
    "db/transaction.py:__exit__",
    "celery/app/task.py:apply_async",
    "sql/compiler.py:execute_sql",
}


def profile_child(top: int) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    work: dict[str, Any] = json.loads(Path(os.environ["BENCH_JOBS"]).read_text())
    client = Client(HTTP_HOST=HOST)

    def call(path: str, job: dict[str, Any]) -> int:
        body = dict(job["body"])
        if job["totp"]:
            body["otp_code"] = totp_code(job["totp"])
        response = client.post(
            path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {job['token']}"
        )
        if response.status_code != 201:
            raise SystemExit(f"profile: {response.status_code} {response.content[:300]!r}")
        return response.status_code

    for job in work["warm"]:  # imports, URL conf, first connection
        call(APPLY_PATH, job)
    report: dict[str, Any] = {}
    for name, (path, jobs) in work["scenarios"].items():
        half = len(jobs) // 2
        counts: list[int] = []
        shapes: Counter[str] = Counter()
        times: list[float] = []
        for job in jobs[:half]:
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as captured:
                call(path, job)
            times.append((time.perf_counter() - started) * 1000)
            counts.append(len(captured.captured_queries))
            shapes.update(
                re.sub(r'"s\d+_x\d+"', '"…"', q["sql"])[:90] for q in captured.captured_queries
            )
        profiler = cProfile.Profile()
        profiler.enable()
        for job in jobs[half:]:
            call(path, job)
        profiler.disable()
        profiled = len(jobs) - half
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(top)
        print(f"\n===== {name}: cProfile of {profiled} in-process submissions =====")
        print(out.getvalue())
        raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
        total = max(ct for (_cc, _nc, _tt, ct, _callers) in raw.values())
        named = {}
        for (filename, _line, function), (_cc, ncalls, _tt, ct, _callers) in raw.items():
            label = f"{Path(filename).parent.name}/{Path(filename).name}:{function}"
            if label.endswith("base_user.py:check_password"):
                label = "base_user.py:check_password"
            if label in PROFILE_FUNCTIONS:
                named[label] = {
                    "calls": round(ncalls / profiled, 2),
                    "ms": round(ct * 1000 / profiled, 2),
                    "share": round(ct / total, 3),
                }
        report[name] = {
            "statements_per_request": round(sum(counts) / max(1, half), 1),
            "statements_min_max": [min(counts, default=0), max(counts, default=0)],
            "statement_shapes": {
                sql: round(k / max(1, half), 2) for sql, k in shapes.most_common(40)
            },
            "in_process": percentiles(times),
            "profiled_ms_per_request": round(total * 1000 / profiled, 2),
            "functions": dict(sorted(named.items(), key=lambda kv: -kv[1]["ms"])),
        }
    print("PROFILE-JSON " + json.dumps(report, ensure_ascii=False))


def run_profile(env: dict[str, str], work: dict[str, Any]) -> Any:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(work, handle, ensure_ascii=False)
    try:
        completed = subprocess.run(  # noqa: S603 - this script, our own interpreter
            [sys.executable, __file__, "--profile-child"],
            env={**env, "BENCH_JOBS": handle.name},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    finally:
        os.unlink(handle.name)
    if completed.returncode != 0:
        print(completed.stdout[-5000:])
        print(completed.stderr[-5000:], file=sys.stderr)
        return None
    line = next((x for x in completed.stdout.splitlines() if x.startswith("PROFILE-JSON ")), None)
    return json.loads(line.removeprefix("PROFILE-JSON ")) if line else None


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------
def fresh_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"refusing to drop and re-create {name!r}: its name lacks 'bench'")
    drop_database(url)
    ensure_database(url)
    subprocess.run(  # noqa: S603 - this interpreter and manage.py, fixed arguments
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"],
        check=True,
        cwd=ROOT,
    )


def forget_redis(cache: str) -> int:
    """Delete what the run left in Redis database 13: the queued e-mail and seal tasks with
    the queue's bindings, and the cache keys under this script's prefix."""
    if cache != "redis":
        return 0
    import redis

    client = redis.Redis.from_url(REDIS_DB_URL)
    queued = int(client.llen("celery"))
    client.delete("celery", "_kombu.binding.celery", "_kombu.binding_permanent.celery")
    for key in client.scan_iter(f"{CACHE_PREFIX}:*", count=1000):
        client.delete(key)
    return queued


def print_table(phases: dict[str, dict[str, Any]]) -> None:
    print(
        f"{'scenario':<48} {'clients':>7} {'n':>5} {'p50':>7} {'p95':>7} {'p99':>7} "
        f"{'max':>7} {'per s':>6} {'err':>4}  cpu ms/request gunicorn / postgres; "
        "other cpu s of capacity"
    )
    for key, f in phases.items():
        name = key.split("@")[0]
        print(
            f"{SCENARIOS[name]:<48} {f['clients']:>7} {f['n']:>5} {f['p50_ms']:>7.1f} "
            f"{f['p95_ms']:>7.1f} {f['p99_ms']:>7.1f} {f['max_ms']:>7.1f} {f['per_s']:>6.1f} "
            f"{f['errors']:>4}  {f['gunicorn_cpu_ms']} / {f['postgres_cpu_ms']}; "
            f"{f['other_cpu_s']} of {f['capacity_cpu_s']}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=300, help="per scenario and clients")
    parser.add_argument("--clients", default="2,4", help="client processes, e.g. 2 or 2,4")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--enterprises", type=int, default=3000)
    parser.add_argument("--banks", type=int, default=6)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--reuse-users", type=int, default=200)
    parser.add_argument("--demand-users", type=int, default=100)
    parser.add_argument("--profile", type=int, default=40, help="in-process submissions each")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--cache", choices=["auto", "redis", "locmem"], default="auto")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--profile-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile_child:
        profile_child(top=30)
        return 0
    try:
        args.clients = [int(c) for c in str(args.clients).split(",") if c.strip()]
    except ValueError:
        parser.error("--clients: a number or a comma-separated list")
    if not args.clients or not all(1 <= c <= 32 for c in args.clients):
        parser.error("--clients: 1..32")
    if not 1 <= args.submissions <= 20_000 or args.profile < 0:
        parser.error("--submissions 1..20000, --profile ≥ 0")
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must be a PostgreSQL URL")

    # this process: development settings on the bench database, tasks in process
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # not a line per eager ledger seal
    fresh_database(args.database_url)
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    settings.DEBUG = False  # no query log while generating
    logging.getLogger("kombu").setLevel(logging.ERROR)  # in-memory broker of eager tasks
    with_demand = demand_available()
    print(f"machine : {machine()}")
    print(f"database: {database()} (dropped and re-created, migrated)")
    started = time.perf_counter()
    data = populate(args, with_demand)
    print(
        f"data    : {data['enterprises']:,} enterprises ({data['serious']} with an active serious "
        f"record), {data['banks']} banks, {data['products']} listed products, "
        f"{data['users']:,} users ({time.perf_counter() - started:.1f} s: {data['timings']})"
    )
    if not with_demand:
        print("demand  : POST /api/v1/demands/ is not in the URL conf: left out")
    from xinyidai.core.crypto import current_keys

    field_key = current_keys()
    connections.close_all()

    cache = args.cache
    if cache == "auto":
        cache = "redis" if redis_answers() else "locmem"
    env = server_env(cache, field_key)
    if cache == "redis":
        env["REDIS_URL"] = REDIS_DB_URL
        env["CACHE_KEY_PREFIX"] = CACHE_PREFIX
    pools = data["pools"]
    rng = random.Random(args.seed + 1)
    fresh_taken = {"password": 0, "totp": 0}

    def take(name: str, count: int) -> list[dict[str, Any]]:
        if name in fresh_taken:  # each fresh owner submits once
            first = fresh_taken[name]
            fresh_taken[name] += count
            return jobs_for(pools[name][first : first + count], count, rng)
        return jobs_for(pools[name], count, rng)

    names = ["reuse", "password", "totp"] + (["demand"] if with_demand else [])
    paths = {name: DEMAND_PATH if name == "demand" else APPLY_PATH for name in names}
    phases: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    server = Server(args.workers, env, "sync")
    try:
        server.wait_ready()
        print(f"server  : {server.command} (DJANGO_DEBUG=false, cache {cache})")
        warm = run_phase(server, APPLY_PATH, take("reuse", 20 * max(args.clients)), 4)
        problems += check_phase("reuse", warm, 20 * max(args.clients))
        print(f"warm-up : {warm['n']} reuse submissions, p50 {warm['p50_ms']} ms")
        for clients in args.clients:
            for name in names:
                phase = run_phase(server, paths[name], take(name, args.submissions), clients)
                problems += check_phase(name, phase, args.submissions)
                phases[f"{name}@{clients}"] = phase
                print(f"{name}@{clients}: {json.dumps(phase, ensure_ascii=False)}", flush=True)
        if server.process.poll() is not None:
            problems.append(f"gunicorn stopped during the run:\n{server.log_tail()}")
    finally:
        server.stop_and_report()

    print()
    print_table(phases)
    main_phases = [phases[f"reuse@{c}"] for c in args.clients if f"reuse@{c}" in phases]
    met = bool(main_phases) and all(
        p["p95_ms"] < TARGET_MS and not p["errors"] for p in main_phases
    )
    print(
        f"\ntarget (submitting an application, reuse: p95 < {TARGET_MS:.0f} ms; "
        f"{args.workers} workers, clients {args.clients}): {'met' if met else 'missed'}"
    )
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)

    profile = None
    if args.profile:
        work = {
            "warm": take("reuse", 10),
            "scenarios": {name: (paths[name], take(name, args.profile)) for name in names},
        }
        profile = run_profile(env, work)
        if profile:
            print("\nin-process (no socket), per submission:")
            for name, figures in profile.items():
                top = list(figures["functions"].items())[:8]
                print(
                    f"  {name:<9} {figures['statements_per_request']:>5} statements, "
                    f"p50 {figures['in_process']['p50_ms']} ms; "
                    + ", ".join(f"{k.split(':')[1]} {v['ms']} ms" for k, v in top)
                )
    queued = forget_redis(cache)
    if queued:
        print(f"deleted {queued} queued tasks (e-mails, ledger seals) from {REDIS_DB_URL}")
    if args.drop:
        connections.close_all()
        drop_database(args.database_url)
        print("dropped the database")
    print(
        json.dumps(
            {
                "machine": machine(),
                "date": time.strftime("%Y-%m-%d"),
                "server": server.command,
                "cache": cache,
                "data": {k: v for k, v in data.items() if k != "pools"},
                "phases": phases,
                "target_met": met,
                "problems": problems,
                "profile": profile,
            },
            ensure_ascii=False,
        )
    )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
