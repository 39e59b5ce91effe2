from __future__ import annotations

import random
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress

from banks.models import Bank, BankMembership, BankRole, Branch
from enterprises import resident_id, uscc
from enterprises.models import Enterprise, EnterpriseMembership, EnterpriseRole
from xinyidai.core.models import User

PASSWORD = "Correct-horse-42"
_rng = random.Random(20261121)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save()
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise

    uscc = factory.LazyFunction(lambda: uscc.generate(_rng))
    name = factory.Sequence(lambda n: f"东莞市测试{n}号制造有限公司")
    town = "changan"
    industry_section = "C"
    industry_division = "35"
    scale = "small"
    registered_capital = Decimal("5000000.00")
    legal_rep_name = "张三"
    legal_rep_id = factory.LazyFunction(lambda: resident_id.generate(_rng))


class BankFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bank

    name = factory.Sequence(lambda n: f"测试银行{n}")
    fi_code = factory.Sequence(lambda n: f"B{n:013d}")
    uscc = factory.LazyFunction(lambda: uscc.generate(_rng))


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Branch

    bank = factory.SubFactory(BankFactory)
    name = factory.Sequence(lambda n: f"第{n}支行")


def make_enterprise_member(user: User, enterprise: Enterprise, role: str) -> EnterpriseMembership:
    return EnterpriseMembership.objects.create(user=user, enterprise=enterprise, role=role)


def make_bank_member(user: User, bank: Bank, role: str = BankRole.OFFICER) -> BankMembership:
    return BankMembership.objects.create(user=user, bank=bank, role=role)


__all__ = [
    "PASSWORD",
    "BankFactory",
    "BranchFactory",
    "EnterpriseFactory",
    "EnterpriseRole",
    "UserFactory",
    "make_bank_member",
    "make_enterprise_member",
]
