"""Demo data: one login per role plus a handful of Dongguan enterprises. Safe to run repeatedly.

`--enterprises N [--seed S]` adds a synthetic Dongguan of N enterprises with their persons,
shareholdings and credit records (see enterprises/synthetic.py). A seed's city is written once:
when its first enterprise already exists the command says so and writes nothing, whatever N is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from banks.models import Bank, BankMembership, BankRole, Branch
from enterprises import reference, resident_id, synthetic, uscc
from enterprises.authorization import authorization_grant
from enterprises.models import (
    Authorization,
    AuthorizationStatus,
    Enterprise,
    EnterpriseMembership,
    EnterpriseRole,
)
from enterprises.scoring import run_regrade
from xinyidai.core.models import PlatformRole, User

DEMO_PASSWORD = "Xinyidai-demo-2026"
DEMO_SEED = 441900


@dataclass(frozen=True)
class DemoFirm:
    name: str
    legal_rep: str
    town: str
    division: str
    scale: str
    capital_wan: int
    established: date


FIRMS = [
    DemoFirm(
        "东莞市信易示范科技有限公司", "陈志明", "松山湖", "39", "small", 500, date(2016, 5, 18)
    ),
    DemoFirm("东莞市长安精密模具有限公司", "李卫东", "长安", "35", "small", 800, date(2009, 3, 2)),
    DemoFirm("东莞市虎门服装辅料有限公司", "黄丽华", "虎门", "18", "micro", 100, date(2018, 9, 27)),
    DemoFirm("东莞市大朗毛织制品有限公司", "叶建国", "大朗", "17", "micro", 50, date(2020, 1, 6)),
    DemoFirm(
        "东莞市塘厦电子元件有限公司", "刘海波", "塘厦", "39", "medium", 3000, date(2006, 11, 15)
    ),
    DemoFirm("东莞市厚街家具制造有限公司", "王秀英", "厚街", "21", "small", 600, date(2011, 7, 20)),
    DemoFirm(
        "东莞市南城云数信息技术有限公司",
        "张晓峰",
        "nancheng",
        "65",
        "micro",
        200,
        date(2021, 4, 12),
    ),
    DemoFirm("东莞市麻涌粮油贸易有限公司", "梁国强", "麻涌", "51", "micro", 30, date(2015, 8, 3)),
]
CLAIMABLE_INDEX = 1  # left without an owner so a new user can sign up and claim it


@dataclass(frozen=True)
class DemoAccount:
    email: str
    full_name: str
    role: str


ACCOUNTS = [
    DemoAccount("enterprise@example.com", "陈志明", "enterprise_owner"),
    DemoAccount("bankadmin@example.com", "周敏", "bank_admin"),
    DemoAccount("bank@example.com", "林俊杰", "bank_officer"),
    DemoAccount("office@example.com", "郑文", "credit_office"),
    DemoAccount("tradecenter@example.com", "何静", "trading_centre"),
    DemoAccount("admin@example.com", "系统管理员", "superuser"),
]

# Illustrative products of the demo bank (names say 演示: not real offers).
DEMO_PRODUCTS: list[tuple[str, dict[str, Any]]] = [
    (
        "DEMO-XYD",
        {
            "name": "信易贷·演示信用贷",
            "kind": "credit",
            "guarantee_methods": ["credit"],
            "amount_min": Decimal("100000"),
            "amount_max": Decimal("3000000"),
            "rate_min": Decimal("3.4500"),
            "rate_max": Decimal("4.3500"),
            "term_min": 3,
            "term_max": 36,
            "repayment_methods": ["interest_first", "equal_instalment"],
            "min_grade": "B",
            "min_years": 2,
            "risk_compensation": True,
            "description": "演示产品：凭企业信用，无需抵押担保。",
        },
    ),
    (
        "DEMO-TAX",
        {
            "name": "银税互动·演示税易贷",
            "kind": "tax",
            "guarantee_methods": ["credit"],
            "amount_min": Decimal("50000"),
            "amount_max": Decimal("2000000"),
            "rate_min": Decimal("3.6000"),
            "rate_max": Decimal("4.8000"),
            "term_min": 6,
            "term_max": 12,
            "repayment_methods": ["interest_first"],
            "min_tax_grade": "B",
            "description": "演示产品：纳税信用 B 级及以上企业可申请。",
        },
    ),
    (
        "DEMO-MORT",
        {
            "name": "演示厂房抵押贷",
            "kind": "renewal",
            "guarantee_methods": ["mortgage"],
            "amount_min": Decimal("1000000"),
            "amount_max": Decimal("20000000"),
            "rate_min": Decimal("3.2000"),
            "rate_max": Decimal("4.0000"),
            "term_min": 12,
            "term_max": 60,
            "repayment_methods": ["equal_principal", "bullet"],
            "industries": ["C"],
            "min_registered_capital": Decimal("5000000"),
            "description": "演示产品：制造业企业厂房抵押，可无还本续贷。",
        },
    ),
]


class Command(BaseCommand):
    help = (
        "Create the demo accounts (one per role) and a handful of enterprises; idempotent. "
        "With --enterprises N also a synthetic city of N enterprises for the seed --seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--enterprises",
            type=int,
            default=0,
            metavar="N",
            help="also generate a synthetic Dongguan of N enterprises (persons, shareholdings, "
            "credit records); skipped when the city of this seed is already there",
        )
        parser.add_argument(
            "--seed", type=int, default=2026, help="seed of the synthetic city (default 2026)"
        )
        parser.add_argument(
            "--chunk-size", type=int, default=50_000, help="enterprises written per chunk"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enterprises"] < 0 or options["seed"] < 0 or options["chunk_size"] < 1:
            raise CommandError("--enterprises and --seed must be ≥ 0, --chunk-size ≥ 1")
        with transaction.atomic():
            firms = self._enterprises()
            bank, branch = self._bank()
            users = {a.email: self._user(a) for a in ACCOUNTS}
            owner = users["enterprise@example.com"]
            EnterpriseMembership.objects.filter(user=owner).exclude(enterprise=firms[0]).delete()
            EnterpriseMembership.objects.update_or_create(
                user=owner, defaults={"enterprise": firms[0], "role": EnterpriseRole.OWNER}
            )
            for email, role in (
                ("bankadmin@example.com", BankRole.ADMIN),
                ("bank@example.com", BankRole.OFFICER),
            ):
                BankMembership.objects.update_or_create(
                    user=users[email], defaults={"bank": bank, "branch": branch, "role": role}
                )
            demo_grant = self._authorization(owner, firms[0], bank)
            self._matching_opt_in(owner, firms[0])
            listed = self._products(users["bank@example.com"], users["office@example.com"])
        self._print(firms)
        self.stdout.write(f"演示贷款产品 / demo loan products in the marketplace: {listed}")
        self.stdout.write(
            f"演示授权 / demo authorisation: {demo_grant.number} {firms[0].name} → {bank.name}"
            f"（{demo_grant.get_scope_display()}，{demo_grant.get_purpose_display()}）"
        )
        if options["enterprises"]:
            self._city(options["enterprises"], options["seed"], options["chunk_size"])
        # every demo enterprise gets its credit grade (only changed grades are written again)
        stats = run_regrade(skip_unchanged=True)
        self.stdout.write(f"信用评价 / grades: {stats.written} 家企业更新 updated")
        self._application(owner)

    def _application(self, owner: User) -> None:
        """One loan application of the demo firm to the first demo product it qualifies for,
        so the bank logins have something in their queue (once)."""
        from banks.products import listed_versions
        from lending import eligibility
        from lending.models import LoanApplication
        from lending.services import application_submit

        enterprise = owner.enterprise_membership.enterprise
        existing = LoanApplication.objects.filter(enterprise=enterprise).first()
        if existing is None:
            facts = eligibility.facts_for(enterprise)
            version = next(
                (
                    v
                    for v in listed_versions().filter(name__contains="演示")
                    if eligibility.passes(facts, v)
                ),
                None,
            )
            if version is None:
                self.stdout.write(
                    "演示企业不满足演示产品条件，未生成演示申请 / no demo application"
                )
                return
            existing = application_submit(
                actor=owner,
                product_id=version.product_id,
                amount=version.amount_min,
                term_months=version.term_min,
                repayment_method=version.repayment_methods[0],
                purpose="演示：采购原材料",
                password=DEMO_PASSWORD,
            ).application
        if existing is not None:
            self.stdout.write(f"演示贷款申请 / demo loan application: {existing.number}")

    def _city(self, n: int, seed: int, chunk_size: int) -> None:
        progress = synthetic.progress_printer() if self.stdout.isatty() else None
        result = synthetic.seed_city(n, seed, chunk_size=chunk_size, progress=progress)
        if result.skipped:
            uscc_code, name = result.marker
            self.stdout.write(
                f"合成数据已存在，未重复生成 / synthetic city already present (seed {seed}: "
                f"{uscc_code} {name})"
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"合成数据 / synthetic city (seed {seed}): {result.enterprises} 家企业 "
                f"enterprises, {result.persons} 名自然人 persons, {result.shareholdings} 条股权 "
                f"shareholdings, {result.personnel} 条主要人员 key personnel, "
                f"{result.records} 条信用记录 credit records, {result.seconds:.1f} 秒 s"
            )
        )

    def _products(self, officer: User, office: User) -> int:
        """The demo bank's products, drafted by its officer and published by the office, so the
        marketplace has something to show (illustrative terms, marked 演示)."""
        from banks.models import LoanProduct
        from banks.products import product_create, product_move

        bank_id = officer.bank_membership.bank_id
        for code, terms in DEMO_PRODUCTS:
            if LoanProduct.objects.filter(bank_id=bank_id, code=code).exists():
                continue
            product = product_create(actor=officer, code=code, terms=terms)
            product_move(actor=officer, product_id=product.pk, move="submit")
            product_move(actor=office, product_id=product.pk, move="publish")
        return LoanProduct.objects.filter(bank_id=bank_id, listed=True).count()

    def _authorization(self, owner: User, enterprise: Enterprise, bank: Bank) -> Authorization:
        """The demo firm authorises the demo bank, so the bank logins can open its portrait."""
        current = Authorization.objects.filter(
            enterprise=enterprise,
            grantee_bank=bank,
            status=AuthorizationStatus.ACTIVE,
            valid_until__gt=timezone.now(),
        ).first()
        if current is not None:
            return current
        return authorization_grant(
            actor=owner,
            enterprise=enterprise,
            grantee_bank_id=bank.pk,
            scope="records",
            purpose="pre_loan",
            password=DEMO_PASSWORD,
        )

    def _matching_opt_in(self, owner: User, enterprise: Enterprise) -> None:
        """The demo firm opens itself to matching (all banks), so the bank logins see it among
        the recommended enterprises of their products."""
        if Authorization.objects.filter(
            enterprise=enterprise,
            purpose="matching",
            status=AuthorizationStatus.ACTIVE,
            valid_until__gt=timezone.now(),
        ).exists():
            return
        authorization_grant(
            actor=owner,
            enterprise=enterprise,
            grantee_bank_id=None,
            scope="summary",
            purpose="matching",
            password=DEMO_PASSWORD,
        )

    def _enterprises(self) -> list[Enterprise]:
        rng = random.Random(DEMO_SEED)
        result = []
        for firm in FIRMS:
            code = uscc.generate(rng)
            rep_id = resident_id.generate(rng)
            enterprise, _ = Enterprise.objects.update_or_create(
                name=firm.name,
                defaults={
                    "uscc": code,
                    "region_code": code[2:8],
                    "town": reference.town_by_name(firm.town),
                    "industry_section": reference.section_of_division(firm.division),
                    "industry_division": firm.division,
                    "scale": firm.scale,
                    "registered_capital": Decimal(firm.capital_wan) * 10000,
                    "established_date": firm.established,
                    "legal_rep_name": firm.legal_rep,
                    "legal_rep_id": rep_id,
                    "address": f"广东省东莞市{firm.name[3:5]}示范路{rng.randint(1, 300)}号",
                    "phone": f"13{rng.randint(100000000, 999999999)}",
                },
            )
            result.append(enterprise)
        return result

    def _bank(self) -> tuple[Bank, Branch]:
        bank, _ = Bank.objects.update_or_create(
            name="东莞信易示范银行",
            defaults={"fi_code": "B0000H24419001", "uscc": uscc.generate(random.Random(7))},
        )
        branch, _ = Branch.objects.update_or_create(
            bank=bank,
            name="松山湖科技支行",
            defaults={"town": reference.town_by_name("松山湖"), "address": "东莞市松山湖大学路1号"},
        )
        return bank, branch

    def _user(self, account: DemoAccount) -> User:
        user, _ = User.objects.get_or_create(email=account.email)
        user.full_name = account.full_name
        user.platform_role = {
            "credit_office": PlatformRole.CREDIT_OFFICE,
            "trading_centre": PlatformRole.TRADING_CENTRE,
        }.get(account.role, PlatformRole.NONE)
        user.is_superuser = user.is_staff = account.role == "superuser"
        user.is_active = True
        user.set_password(DEMO_PASSWORD)
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=account.email, defaults={"verified": True, "primary": True}
        )
        return user

    def _print(self, firms: list[Enterprise]) -> None:
        out = self.stdout.write
        out(self.style.SUCCESS("演示数据已就绪 / demo data ready"))
        out(f"演示密码 / demo password: {DEMO_PASSWORD}")
        for account in ACCOUNTS:
            out(f"  {account.role:<18} {account.email}")
        out("银行和信用办账号首次登录须设置动态验证码（TOTP）。")
        claimable = firms[CLAIMABLE_INDEX]
        out(
            "可认领的演示企业 / claimable demo enterprise: "
            f"{claimable.uscc} {claimable.name} 法定代表人 {claimable.legal_rep_name}"
        )
