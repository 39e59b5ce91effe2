from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.cache import cache
from django.test import Client

from banks.models import BankRole
from enterprises.models import EnterpriseRole
from tests.factories import (
    BankFactory,
    BranchFactory,
    EnterpriseFactory,
    UserFactory,
    make_bank_member,
    make_enterprise_member,
)
from xinyidai import celery_app
from xinyidai.core.models import PlatformRole, User


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2 is slow on purpose, for attackers; the suite signs in thousands of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_graph_snapshot() -> Iterator[None]:
    """Each test builds the ownership graph from its own rows."""
    from enterprises import graph

    graph.invalidate()
    yield
    graph.invalidate()


@pytest.fixture(autouse=True)
def _fresh_holiday_calendar() -> Iterator[None]:
    """Each test counts working days on its own calendar rows."""
    from xinyidai.core import workdays

    workdays.invalidate()
    yield
    workdays.invalidate()


@pytest.fixture(autouse=True)
def _no_remembered_first_reads() -> Iterator[None]:
    """Ids come back after a rolled-back test (SQLite): forget which banks have read whom."""
    from enterprises import access

    access.forget_first_reads()
    yield
    access.forget_first_reads()


@pytest.fixture(autouse=True)
def _eager_tasks_and_clean_cache() -> Iterator[None]:
    """Unit tests run Celery tasks in-process with errors propagated; the worker integration
    test switches this off for itself."""
    eager, propagates = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    cache.clear()
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = eager, propagates
    cache.clear()


@pytest.fixture
def enterprise(db: Any) -> Any:
    return EnterpriseFactory.create(name="东莞市示范科技有限公司", legal_rep_name="陈志明")


@pytest.fixture
def other_enterprise(db: Any) -> Any:
    return EnterpriseFactory.create(name="东莞市另一家有限公司", legal_rep_name="李四")


@pytest.fixture
def bank(db: Any) -> Any:
    return BankFactory.create(name="东莞示范银行")


@pytest.fixture
def branch(bank: Any) -> Any:
    return BranchFactory.create(bank=bank, name="松山湖支行")


@pytest.fixture
def other_bank(db: Any) -> Any:
    return BankFactory.create(name="另一家银行")


@pytest.fixture
def plain_user(db: Any) -> User:
    return UserFactory.create(email="newcomer@example.com")


@pytest.fixture
def enterprise_owner(enterprise: Any) -> User:
    user = UserFactory.create(email="owner@example.com")
    make_enterprise_member(user, enterprise, EnterpriseRole.OWNER)
    return user


@pytest.fixture
def enterprise_admin(enterprise: Any) -> User:
    user = UserFactory.create(email="eadmin@example.com")
    make_enterprise_member(user, enterprise, EnterpriseRole.ADMIN)
    return user


@pytest.fixture
def enterprise_member(enterprise: Any) -> User:
    user = UserFactory.create(email="emember@example.com")
    make_enterprise_member(user, enterprise, EnterpriseRole.MEMBER)
    return user


@pytest.fixture
def bank_admin(bank: Any) -> User:
    user = UserFactory.create(email="badmin@example.com")
    make_bank_member(user, bank, BankRole.ADMIN)
    return user


@pytest.fixture
def bank_officer(bank: Any, branch: Any) -> User:
    user = UserFactory.create(email="officer@example.com")
    membership = make_bank_member(user, bank, BankRole.OFFICER)
    membership.branch = branch
    membership.save()
    return user


@pytest.fixture
def credit_office(db: Any) -> User:
    return UserFactory.create(email="staff@xyb.gov.cn", platform_role=PlatformRole.CREDIT_OFFICE)


@pytest.fixture
def trading_centre(db: Any) -> User:
    return UserFactory.create(email="tc@ggzy.gov.cn", platform_role=PlatformRole.TRADING_CENTRE)


@pytest.fixture
def data_source(db: Any) -> User:
    return UserFactory.create(
        email="feed@scjgj.dg.gov.cn",
        platform_role=PlatformRole.DATA_SOURCE,
        department="东莞市市场监督管理局",
    )


@pytest.fixture
def superuser(db: Any) -> User:
    return UserFactory.create(email="root@example.com", is_superuser=True, is_staff=True)


def activate_totp(user: User) -> str:
    """Give `user` a TOTP authenticator as the set-up page would; returns the secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


@pytest.fixture
def login() -> Callable[..., Client]:
    """A client signed in as `user`; MFA roles get a TOTP device first unless mfa=False."""

    def _login(user: User, *, mfa: bool = True) -> Client:
        if mfa and not Authenticator.objects.filter(user=user, type="totp").exists():
            activate_totp(user)
        client = Client()
        client.force_login(user)
        return client

    return _login
