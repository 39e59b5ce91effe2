"""Financing demands (融资需求 / 抢单): which banks a demand goes to and the authorisation each
gets, one confirmation for all, the joint-punishment block, accepting (the other banks' grants
released, race-safe), withdrawing; and the moves added with them: contact (首次联系), the
disbursed guarantee method and first loan (首贷), and who sees what."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from banks import products
from banks.models import Bank, LoanProduct
from enterprises.authorization import authorization_grant, authorization_revoke
from enterprises.models import (
    Authorization,
    AuthorizationEvent,
    CreditRecord,
    Enterprise,
)
from lending import services
from lending.models import (
    ApplicationEvent,
    DemandOffer,
    LoanApplication,
    PunishmentFeedback,
)
from tests.factories import (
    PASSWORD,
    BankFactory,
    EnterpriseFactory,
    UserFactory,
    make_bank_member,
    make_enterprise_member,
)
from tests.lending.conftest import publish, submit_demand
from xinyidai.core.errors import Conflict, DomainError
from xinyidai.core.models import User

pytestmark = pytest.mark.django_db


def post(client: Client, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(url, data or {}, content_type="application/json")


def grant(owner: Any, bank: Bank, scope: str, purpose: str = "loan_application") -> Authorization:
    return authorization_grant(
        actor=owner,
        enterprise=owner.enterprise_membership.enterprise,
        grantee_bank_id=bank.pk,
        scope=scope,
        purpose=purpose,
        password=PASSWORD,
    )


def plan_rows(plans: list[services.AuthorizationPlan]) -> list[tuple[Any, ...]]:
    return [(p.bank_id, p.bank_name, p.scope, p.products, p.needs_grant) for p in plans]


def serious_record(enterprise: Enterprise, kind: str = "serious_dishonesty", **extra: Any) -> Any:
    return CreditRecord.objects.create(
        enterprise=enterprise,
        uscc=enterprise.uscc,
        record_type=kind,
        source_department="东莞市发展和改革局",
        source_record_id=f"{kind}-1",
        decision_date=date(2026, 4, 1),
        content_hash=f"{kind}-1",
        **extra,
    )


def accept(actor: Any, application: LoanApplication) -> LoanApplication:
    return services.application_move(actor=actor, application_id=application.pk, move="accept")


@pytest.fixture
def third_bank_officer(db: Any) -> User:
    """Staff of a bank with nothing listed that fits: never offered a demand."""
    user = UserFactory.create(email="officer@third-bank.cn")
    make_bank_member(user, BankFactory.create(name="第三家银行"), "officer")
    return user


# ---------------------------------------------------------------------------------------------
# Which banks: demand_plans
# ---------------------------------------------------------------------------------------------
TERMS_ANY: dict[str, Any] = {
    "name": "草稿产品",
    "kind": "credit",
    "guarantee_methods": ["credit"],
    "amount_min": Decimal("1"),
    "amount_max": Decimal("9000000"),
    "rate_min": Decimal("3"),
    "rate_max": Decimal("4"),
    "term_min": 1,
    "term_max": 360,
    "repayment_methods": ["bullet"],
    "required_scope": "summary",
}


def test_plans_name_each_bank_whose_listed_products_fit(
    product: LoanProduct,
    other_product: LoanProduct,
    bank: Bank,
    other_bank: Bank,
    bank_officer: Any,
    credit_office: Any,
    enterprise: Enterprise,
    third_bank_officer: Any,
) -> None:
    # the bank's second product is cheaper (listed first) and needs only the summary
    small = publish(
        bank_officer,
        credit_office,
        "KC-02",
        name="小额信用贷",
        rate_min=Decimal("3.0"),
        rate_max=Decimal("4.0"),
        amount_min=Decimal("50000"),
        amount_max=Decimal("1000000"),
        required_scope="summary",
    )
    # the third bank has nothing that fits: not eligible, too big, too long, not listed
    publish(third_bank_officer, credit_office, "OLD", min_years=50)
    publish(
        third_bank_officer,
        credit_office,
        "BIG",
        amount_min=Decimal("5000000"),
        amount_max=Decimal("9000000"),
    )
    publish(third_bank_officer, credit_office, "LONG", term_min=48, term_max=120)
    products.product_create(actor=third_bank_officer, code="DRAFT", terms=TERMS_ANY)
    suspended = publish(third_bank_officer, credit_office, "SUSP")
    products.product_move(actor=credit_office, product_id=suspended.pk, move="suspend")

    def plans(amount: str, term: int = 12, guarantee: str = "") -> list[tuple[Any, ...]]:
        return plan_rows(
            services.demand_plans(
                enterprise, amount=Decimal(amount), term_months=term, guarantee=guarantee
            )
        )

    bank_row = (bank.pk, "东莞示范银行", "records", (small.pk, product.pk), True)
    other_row = (other_bank.pk, "另一家银行", "portrait", (other_product.pk,), True)
    # the widest scope of the fitting products, banks by name
    assert plans("500000") == [bank_row, other_row]
    # only the small product fits: the bank needs only the summary
    assert plans("60000") == [(bank.pk, "东莞示范银行", "summary", (small.pk,), True)]
    # above the small product's range: the records product alone
    assert plans("2000000")[0] == (bank.pk, "东莞示范银行", "records", (product.pk,), True)
    # both ends of a range fit, one cent or one month beyond does not
    assert [r[0] for r in plans("3000000", 36)] == [bank.pk, other_bank.pk]
    assert plans("3000000.01") == []
    assert plans("500000", 37) == []
    assert plans("500000", 5) == []
    # a preferred guarantee keeps the banks with a fitting product secured that way
    assert plans("500000", guarantee="mortgage") == [other_row]
    assert [r[0] for r in plans("500000", guarantee="credit")] == [bank.pk, other_bank.pk]
    assert plans("500000", guarantee="surety") == []


def test_plans_reuse_an_authorisation_in_force_that_is_wide_enough(
    product: LoanProduct,
    other_product: LoanProduct,
    bank: Bank,
    other_bank: Bank,
    enterprise: Enterprise,
    enterprise_owner: Any,
) -> None:
    def by_bank() -> dict[int, services.AuthorizationPlan]:
        found = services.demand_plans(enterprise, amount=Decimal("500000"), term_months=12)
        return {p.bank_id: p for p in found}

    in_force = grant(enterprise_owner, bank, "records")
    grant(enterprise_owner, other_bank, "summary")  # narrower than the portrait it needs
    grant(enterprise_owner, other_bank, "records", purpose="matching")  # another purpose
    plans = by_bank()
    assert (plans[bank.pk].existing, plans[bank.pk].needs_grant) == (in_force, False)
    assert (plans[other_bank.pk].existing, plans[other_bank.pk].needs_grant) == (None, True)
    # a wider one serves a narrower need
    wide = grant(enterprise_owner, other_bank, "records")
    assert by_bank()[other_bank.pk].existing == wide
    # a revoked or expired one is not reused
    authorization_revoke(actor=enterprise_owner, authorization_id=in_force.pk)
    Authorization.objects.filter(pk=wide.pk).update(
        valid_from=timezone.now() - timedelta(days=2),
        valid_until=timezone.now() - timedelta(minutes=1),
    )
    plans = by_bank()
    assert plans[bank.pk].needs_grant and plans[other_bank.pk].needs_grant


def test_no_fitting_bank_is_refused_and_nothing_is_written(
    product: LoanProduct, other_product: LoanProduct, enterprise_owner: Any
) -> None:
    with pytest.raises(DomainError) as refused:
        submit_demand(enterprise_owner, term_months=48)
    assert refused.value.code == "no_eligible_bank"
    assert "amount" in refused.value.detail
    assert LoanApplication.objects.count() == 0
    assert Authorization.objects.count() == 0 and DemandOffer.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# Submitting: demand_submit
# ---------------------------------------------------------------------------------------------
def test_one_confirmation_authorises_every_bank(
    product: LoanProduct,
    other_product: LoanProduct,
    bank: Bank,
    other_bank: Bank,
    enterprise: Enterprise,
    enterprise_owner: Any,
) -> None:
    demand = submit_demand(enterprise_owner, preferred_guarantee="credit")
    assert (demand.kind, demand.status, demand.enterprise_id) == (
        "demand",
        "submitted",
        enterprise.pk,
    )
    assert (demand.bank_id, demand.product_version_id, demand.authorization_id) == (None,) * 3
    assert (demand.amount, demand.term_months, demand.preferred_guarantee, demand.purpose) == (
        Decimal("500000"),
        12,
        "credit",
        "购置生产设备",
    )
    assert demand.number.startswith("DK") and demand.officer_id is None
    assert demand.pickup_due and demand.contact_due and demand.decision_due
    assert services.allowed_moves(demand) == ["accept", "withdraw"]
    offers = {o.bank_id: o for o in demand.offers.select_related("authorization")}
    assert set(offers) == {bank.pk, other_bank.pk}
    for bank_id, scope, product_ids in (
        (bank.pk, "records", [product.pk]),
        (other_bank.pk, "portrait", [other_product.pk]),
    ):
        offer = offers[bank_id]
        a = offer.authorization
        assert (offer.granted_for_demand, offer.products) == (True, product_ids)
        assert (a.grantee_bank_id, a.purpose, a.scope, a.state(), a.granted_by_id) == (
            bank_id,
            "loan_application",
            scope,
            "active",
            enterprise_owner.pk,
        )
    assert AuthorizationEvent.objects.filter(kind="grant").count() == 2
    assert [(e.move, e.actor_id) for e in demand.events.all()] == [("submit", enterprise_owner.pk)]


def test_a_wrong_password_writes_nothing(
    product: LoanProduct, other_product: LoanProduct, enterprise_owner: Any
) -> None:
    with pytest.raises(DomainError) as refused:
        submit_demand(enterprise_owner, password="wrong")
    assert refused.value.code == "reauth_failed"
    assert LoanApplication.objects.count() == 0
    assert Authorization.objects.count() == 0 and DemandOffer.objects.count() == 0


def test_reusing_every_authorisation_needs_no_confirmation(
    product: LoanProduct,
    other_product: LoanProduct,
    bank: Bank,
    other_bank: Bank,
    enterprise_owner: Any,
) -> None:
    mine = grant(enterprise_owner, bank, "records")
    theirs = grant(enterprise_owner, other_bank, "portrait")
    demand = submit_demand(enterprise_owner, password="")
    assert sorted(
        demand.offers.values_list("bank_id", "authorization_id", "granted_for_demand")
    ) == (sorted([(bank.pk, mine.pk, False), (other_bank.pk, theirs.pk, False)]))
    assert Authorization.objects.count() == 2


def test_a_partly_reused_demand_still_needs_the_password(
    product: LoanProduct,
    other_product: LoanProduct,
    bank: Bank,
    other_bank: Bank,
    enterprise_owner: Any,
) -> None:
    mine = grant(enterprise_owner, bank, "records")
    with pytest.raises(DomainError) as refused:
        submit_demand(enterprise_owner, password="")
    assert refused.value.code == "reauth_failed"
    demand = submit_demand(enterprise_owner)
    offers = {o.bank_id: o for o in demand.offers.all()}
    assert (offers[bank.pk].authorization_id, offers[bank.pk].granted_for_demand) == (
        mine.pk,
        False,
    )
    assert offers[other_bank.pk].granted_for_demand is True
    assert offers[other_bank.pk].authorization_id != mine.pk


@pytest.mark.parametrize(
    ("extra", "code", "field"),
    [
        ({"amount": Decimal("0")}, "invalid", "amount"),
        ({"term_months": 0}, "term_out_of_range", "term_months"),
        ({"term_months": 361}, "term_out_of_range", "term_months"),
        ({"preferred_guarantee": "gold"}, "invalid", "preferred_guarantee"),
        ({"purpose": "  "}, "purpose_required", "purpose"),
    ],
)
def test_demand_terms_are_checked(
    extra: dict[str, Any], code: str, field: str, product: LoanProduct, enterprise_owner: Any
) -> None:
    with pytest.raises(DomainError) as refused:
        submit_demand(enterprise_owner, **extra)
    assert (refused.value.code, list(refused.value.detail)) == (code, [field])
    assert LoanApplication.objects.count() == 0


def test_only_enterprise_owners_and_admins_post_demands(
    product: LoanProduct, enterprise_member: Any, bank_officer: Any, enterprise_admin: Any
) -> None:
    for user in (enterprise_member, bank_officer):
        with pytest.raises(DomainError) as refused:
            submit_demand(user)
        assert refused.value.code == "not_enterprise_admin"
    assert submit_demand(enterprise_admin).submitted_by_id == enterprise_admin.pk


@pytest.mark.parametrize("kind", ["serious_dishonesty", "dishonest_debtor"])
def test_joint_punishment_blocks_a_demand_and_is_fed_back(
    kind: str, product: LoanProduct, enterprise: Enterprise, enterprise_owner: Any
) -> None:
    record = serious_record(enterprise, kind)
    result = services.demand_submit(
        actor=enterprise_owner,
        amount=Decimal("500000"),
        term_months=12,
        purpose="购置生产设备",
        password=PASSWORD,
    )
    assert result.application is None and result.blocked is not None
    feedback = PunishmentFeedback.objects.get()
    assert result.blocked == feedback
    assert (feedback.enterprise_id, feedback.context, feedback.records, feedback.actor_id) == (
        enterprise.pk,
        "financing_demand",
        [record.pk],
        enterprise_owner.pk,
    )
    assert "联合惩戒" in feedback.detail
    assert LoanApplication.objects.count() == 0
    assert Authorization.objects.count() == 0 and DemandOffer.objects.count() == 0


def test_a_repaired_record_does_not_block(
    product: LoanProduct, enterprise: Enterprise, enterprise_owner: Any
) -> None:
    serious_record(enterprise, status="repaired")
    assert submit_demand(enterprise_owner).kind == "demand"
    assert PunishmentFeedback.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# Accepting (抢单) and withdrawing
# ---------------------------------------------------------------------------------------------
def test_the_accepting_bank_takes_the_demand_and_the_other_grants_are_revoked(
    product: LoanProduct,
    other_product: LoanProduct,
    bank: Bank,
    other_bank: Bank,
    enterprise_owner: Any,
    bank_officer: Any,
    other_bank_officer: Any,
) -> None:
    demand = submit_demand(enterprise_owner)
    offers = {o.bank_id: o for o in demand.offers.all()}
    assert demand in services.applications_visible_to(bank_officer)
    taken = accept(other_bank_officer, demand)
    assert (taken.status, taken.bank_id, taken.officer_id) == (
        "accepted",
        other_bank.pk,
        other_bank_officer.pk,
    )
    assert taken.authorization_id == offers[other_bank.pk].authorization_id
    assert taken.accepted_at is not None and taken.first_contact_at is None
    released = Authorization.objects.get(pk=offers[bank.pk].authorization_id)
    assert (released.status, released.ended_by_id) == ("revoked", None)
    assert demand.number in released.end_reason
    event = released.events.get(kind="revoke")
    assert (event.actor_id, event.old_status, event.new_status) == (None, "active", "revoked")
    kept = Authorization.objects.get(pk=offers[other_bank.pk].authorization_id)
    assert (kept.status, kept.state()) == ("active", "active")
    assert [(e.move, e.actor_id) for e in ApplicationEvent.objects.filter(application=demand)] == [
        ("submit", enterprise_owner.pk),
        ("accept", other_bank_officer.pk),
    ]
    # the bank that lost no longer sees it; the offer row stays as history
    assert demand not in services.applications_visible_to(bank_officer)
    assert demand in services.applications_visible_to(other_bank_officer)
    assert DemandOffer.objects.filter(application=demand).count() == 2


def test_an_authorisation_given_before_the_demand_is_not_revoked(
    product: LoanProduct,
    other_product: LoanProduct,
    bank: Bank,
    enterprise_owner: Any,
    other_bank_officer: Any,
) -> None:
    earlier = grant(enterprise_owner, bank, "records")
    demand = submit_demand(enterprise_owner)
    accept(other_bank_officer, demand)
    earlier.refresh_from_db()
    assert earlier.status == "active"
    assert not earlier.events.filter(kind="revoke").exists()


def test_the_bank_that_comes_second_is_told_the_demand_is_taken(
    product: LoanProduct,
    other_product: LoanProduct,
    enterprise_owner: Any,
    bank_officer: Any,
    other_bank_officer: Any,
) -> None:
    demand = submit_demand(enterprise_owner)
    accept(other_bank_officer, demand)
    with pytest.raises(Conflict) as late:
        accept(bank_officer, demand)
    assert (late.value.code, late.value.detail) == (
        "move_not_allowed",
        {"status": "accepted", "allowed": ["contact", "start_review", "reject", "withdraw"]},
    )


def test_a_bank_the_demand_was_not_offered_to_can_neither_see_nor_accept_it(
    product: LoanProduct,
    enterprise_owner: Any,
    third_bank_officer: Any,
    login: Any,
) -> None:
    demand = submit_demand(enterprise_owner)
    with pytest.raises(DomainError) as refused:
        accept(third_bank_officer, demand)
    assert (refused.value.code, refused.value.status) == ("move_forbidden", 403)
    client = login(third_bank_officer)
    assert post(client, f"/api/v1/applications/{demand.pk}/accept/").status_code == 404
    assert client.get(f"/api/v1/applications/{demand.pk}/").status_code == 404
    assert client.get("/api/v1/applications/").json()["count"] == 0
    demand.refresh_from_db()
    assert (demand.status, demand.bank_id) == ("submitted", None)


def test_withdrawing_a_demand_in_the_pool_revokes_every_grant_made_for_it(
    product: LoanProduct,
    other_product: LoanProduct,
    bank: Bank,
    other_bank: Bank,
    enterprise_owner: Any,
    bank_officer: Any,
    other_bank_officer: Any,
) -> None:
    earlier = grant(enterprise_owner, bank, "records")
    demand = submit_demand(enterprise_owner)
    made = demand.offers.get(bank=other_bank).authorization
    withdrawn = services.application_move(
        actor=enterprise_owner, application_id=demand.pk, move="withdraw", reason="已从他处融资"
    )
    assert (withdrawn.status, withdrawn.bank_id) == ("withdrawn", None)
    made.refresh_from_db()
    earlier.refresh_from_db()
    assert (made.status, made.ended_by_id, made.end_reason) == (
        "revoked",
        None,
        "企业撤回了融资需求",
    )
    assert made.events.get(kind="revoke").actor_id is None
    assert earlier.status == "active"
    # out of the pool: no bank sees it any more, the enterprise does
    assert demand not in services.applications_visible_to(bank_officer)
    assert demand not in services.applications_visible_to(other_bank_officer)
    assert demand in services.applications_visible_to(enterprise_owner)


def test_withdrawing_an_accepted_demand_keeps_the_accepting_banks_grant(
    product: LoanProduct,
    other_product: LoanProduct,
    bank: Bank,
    other_bank: Bank,
    enterprise_owner: Any,
    other_bank_officer: Any,
) -> None:
    demand = submit_demand(enterprise_owner)
    offers = {o.bank_id: o.authorization_id for o in demand.offers.all()}
    accept(other_bank_officer, demand)
    services.application_move(actor=enterprise_owner, application_id=demand.pk, move="withdraw")
    statuses = dict(Authorization.objects.values_list("pk", "status"))
    assert statuses == {offers[bank.pk]: "revoked", offers[other_bank.pk]: "active"}
    # the earlier revocation is not repeated
    assert AuthorizationEvent.objects.filter(kind="revoke").count() == 1


def test_officers_of_one_bank_compete_for_a_demand_as_for_an_application(
    product: LoanProduct, enterprise_owner: Any, bank: Bank, bank_officer: Any, bank_admin: Any
) -> None:
    demand = submit_demand(enterprise_owner)
    accept(bank_admin, demand)
    with pytest.raises(Conflict) as late:
        accept(bank_officer, demand)
    assert late.value.code == "move_not_allowed"
    demand.refresh_from_db()
    assert (demand.bank_id, demand.officer_id) == (bank.pk, bank_admin.pk)


def race(demand: LoanApplication, officers: tuple[Any, Any]) -> dict[int, str]:
    """Both officers accept `demand` at the same moment in two threads: user id → "won" or
    the refusal's code."""
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def take(user: Any) -> None:
        try:
            barrier.wait()
            accept(user, demand)
            outcomes[user.pk] = "won"
        except DomainError as exc:
            outcomes[user.pk] = exc.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take, args=(u,)) for u in officers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


PG_ONLY = pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")


@PG_ONLY
@pytest.mark.django_db(transaction=True)
def test_two_banks_accepting_one_demand_at_once_leave_one_winner(
    product: LoanProduct,
    other_product: LoanProduct,
    bank: Bank,
    other_bank: Bank,
    enterprise_owner: Any,
    bank_officer: Any,
    other_bank_officer: Any,
) -> None:
    demand = submit_demand(enterprise_owner)
    offers = {o.bank_id: o.authorization_id for o in demand.offers.all()}
    outcomes = race(demand, (bank_officer, other_bank_officer))
    assert sorted(outcomes) == sorted([bank_officer.pk, other_bank_officer.pk])
    assert list(outcomes.values()).count("won") == 1, outcomes
    winner = next(pk for pk, outcome in outcomes.items() if outcome == "won")
    demand.refresh_from_db()
    winning_bank = bank.pk if winner == bank_officer.pk else other_bank.pk
    assert (demand.status, demand.officer_id, demand.bank_id) == ("accepted", winner, winning_bank)
    assert demand.authorization_id == offers[winning_bank]
    assert ApplicationEvent.objects.filter(application=demand, move="accept").count() == 1
    # only the loser's grant is revoked
    statuses = dict(Authorization.objects.values_list("pk", "status"))
    assert sorted(statuses.values()) == ["active", "revoked"]
    assert statuses[offers[winning_bank]] == "active"


@PG_ONLY
@pytest.mark.django_db(transaction=True)
def test_the_bank_losing_the_race_gets_409(
    product: LoanProduct,
    other_product: LoanProduct,
    enterprise_owner: Any,
    bank_officer: Any,
    other_bank_officer: Any,
) -> None:
    demand = submit_demand(enterprise_owner)
    outcomes = race(demand, (bank_officer, other_bank_officer))
    assert sorted(outcomes.values()) == ["move_not_allowed", "won"], outcomes


# ---------------------------------------------------------------------------------------------
# Visibility
# ---------------------------------------------------------------------------------------------
def test_who_sees_a_demand_before_and_after_it_is_taken(
    product: LoanProduct,
    other_product: LoanProduct,
    enterprise_owner: Any,
    bank_officer: Any,
    bank_admin: Any,
    other_bank_officer: Any,
    third_bank_officer: Any,
    credit_office: Any,
    superuser: Any,
    other_enterprise: Enterprise,
) -> None:
    demand = submit_demand(enterprise_owner)
    outsider = UserFactory.create()
    make_enterprise_member(outsider, other_enterprise, "owner")

    def seers() -> set[Any]:
        people = (
            enterprise_owner,
            bank_officer,
            bank_admin,
            other_bank_officer,
            third_bank_officer,
            credit_office,
            superuser,
            outsider,
        )
        return {u for u in people if demand in services.applications_visible_to(u)}

    both_banks = {enterprise_owner, bank_officer, bank_admin, other_bank_officer}
    assert seers() == both_banks | {credit_office, superuser}
    accept(bank_officer, demand)
    assert seers() == {enterprise_owner, bank_officer, bank_admin, credit_office, superuser}


# ---------------------------------------------------------------------------------------------
# Contact (首次联系)
# ---------------------------------------------------------------------------------------------
def apply(owner: Any, product: LoanProduct) -> LoanApplication:
    result = services.application_submit(
        actor=owner,
        product_id=product.pk,
        amount=Decimal("500000"),
        term_months=12,
        repayment_method="interest_first",
        purpose="采购原材料",
        password=PASSWORD,
    )
    assert result.application is not None
    return result.application


def move(actor: Any, application: LoanApplication, name: str, **data: Any) -> LoanApplication:
    return services.application_move(actor=actor, application_id=application.pk, move=name, **data)


def test_contact_records_the_first_contact_without_changing_the_status(
    product: LoanProduct, enterprise_owner: Any, bank_officer: Any
) -> None:
    application = accept(bank_officer, apply(enterprise_owner, product))
    assert application.first_contact_at is None  # accepting is not contacting
    contacted = move(bank_officer, application, "contact", reason="电话联系财务负责人")
    first = contacted.first_contact_at
    assert contacted.status == "accepted" and first is not None
    event = ApplicationEvent.objects.filter(application=application).last()
    assert event is not None
    assert (event.move, event.old_status, event.new_status, event.reason, event.at) == (
        "contact",
        "accepted",
        "accepted",
        "电话联系财务负责人",
        first,
    )
    # later contacts and moves keep the first one
    reviewed = move(bank_officer, move(bank_officer, contacted, "contact"), "start_review")
    again = move(bank_officer, reviewed, "contact")
    assert (again.status, again.first_contact_at) == ("under_review", first)
    assert ApplicationEvent.objects.filter(application=application, move="contact").count() == 3


@pytest.mark.parametrize(
    ("path", "data"),
    [
        (["start_review"], {}),
        (["reject"], {"reject_reason": "credit"}),
        (["start_review", "approve"], {}),
    ],
)
def test_the_first_decision_move_counts_as_the_first_contact(
    path: list[str],
    data: dict[str, Any],
    product: LoanProduct,
    enterprise_owner: Any,
    bank_officer: Any,
) -> None:
    application = accept(bank_officer, apply(enterprise_owner, product))
    approve = {
        "approved_amount": Decimal("400000"),
        "approved_rate": Decimal("3.6"),
        "approved_term_months": 12,
    }
    first = None
    for name in path:
        application = move(
            bank_officer, application, name, **(approve if name == "approve" else data)
        )
        first = first or application.first_contact_at
    assert first is not None and application.first_contact_at == first
    first_move = ApplicationEvent.objects.get(application=application, move=path[0])
    assert first_move.at == first


def test_contact_is_refused_outside_accepted_and_under_review(
    product: LoanProduct, bank: Bank, enterprise_owner: Any, bank_officer: Any, bank_admin: Any
) -> None:
    application = apply(enterprise_owner, product)
    with pytest.raises(Conflict) as early:
        move(bank_admin, application, "contact")
    assert early.value.detail == {"status": "submitted", "allowed": ["accept", "withdraw"]}
    accepted = accept(bank_officer, application)
    colleague = UserFactory.create()
    make_bank_member(colleague, bank, "officer")
    with pytest.raises(DomainError) as other:
        move(colleague, accepted, "contact")
    assert other.value.code == "move_forbidden"
    with pytest.raises(DomainError) as enterprise_side:
        move(enterprise_owner, accepted, "contact")
    assert enterprise_side.value.code == "move_forbidden"
    # the bank's admin may contact the enterprise on the officer's behalf
    assert move(bank_admin, accepted, "contact").first_contact_at is not None
    move(bank_officer, accepted, "reject", reject_reason="materials")
    with pytest.raises(Conflict):
        move(bank_officer, accepted, "contact")


def test_contact_over_the_api(
    product: LoanProduct, enterprise_owner: Any, bank_officer: Any, login: Any
) -> None:
    application = accept(bank_officer, apply(enterprise_owner, product))
    officer = login(bank_officer)
    url = f"/api/v1/applications/{application.pk}/contact/"
    response = post(officer, url, {"reason": "上门走访"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["allowed_moves"]) == (
        "accepted",
        ["contact", "start_review", "reject", "withdraw"],
    )
    assert body["first_contact_at"] is not None
    assert (
        ApplicationEvent.objects.get(application=application, move="contact").reason == "上门走访"
    )
    refused = post(login(enterprise_owner), url)
    assert (refused.status_code, refused.json()["code"]) == (403, "move_forbidden")


# ---------------------------------------------------------------------------------------------
# Disbursement: the guarantee method and the first loan (首贷)
# ---------------------------------------------------------------------------------------------
APPROVE = {
    "approved_amount": Decimal("400000"),
    "approved_rate": Decimal("3.6"),
    "approved_term_months": 12,
    "approved_repayment_method": "equal_principal",
}
DISBURSE = {
    "disbursed_amount": Decimal("400000"),
    "disbursed_rate": Decimal("3.6"),
    "contract_number": "HT-2026-001",
    "disbursed_on": "2026-11-20",
}


def test_a_demand_names_no_repayment_method_so_the_approval_must(
    product: Any, enterprise_owner: Any, bank_officer: Any
) -> None:
    demand = submit_demand(enterprise_owner)
    for name in ("accept", "start_review"):
        demand = move(bank_officer, demand, name)
    without = {k: v for k, v in APPROVE.items() if k != "approved_repayment_method"}
    with pytest.raises(DomainError) as refused:
        move(bank_officer, demand, "approve", **without)
    assert refused.value.detail == {"approved_repayment_method": ["请选择还款方式"]}
    demand = move(bank_officer, demand, "approve", **APPROVE)
    assert demand.approved_repayment_method == "equal_principal"


def approved(application: LoanApplication, officer: Any) -> LoanApplication:
    for name in ("accept", "start_review"):
        application = move(officer, application, name)
    return move(officer, application, "approve", **APPROVE)


def test_a_products_only_guarantee_method_is_taken_and_the_first_loan_is_marked(
    product: LoanProduct,
    bank_officer: Any,
    credit_office: Any,
    enterprise_owner: Any,
    other_enterprise: Enterprise,
) -> None:
    first = approved(apply(enterprise_owner, product), bank_officer)
    disbursed = move(bank_officer, first, "disburse", **DISBURSE)
    assert (disbursed.disbursed_guarantee_method, disbursed.first_loan) == ("credit", True)
    assert disbursed.disbursed_on == date(2026, 11, 20)

    # a product with two methods needs the method named; the enterprise's next loan is not a
    # first loan
    two = publish(
        bank_officer, credit_office, "BZ-01", name="保证贷", guarantee_methods=["credit", "surety"]
    )
    second = approved(apply(enterprise_owner, two), bank_officer)
    for wrong in ({}, {"disbursed_guarantee_method": "gold"}):
        with pytest.raises(DomainError) as refused:
            move(bank_officer, second, "disburse", **DISBURSE, **wrong)
        assert (refused.value.code, list(refused.value.detail)) == (
            "guarantee_required",
            ["disbursed_guarantee_method"],
        )
    second.refresh_from_db()
    assert (second.status, second.disbursed_guarantee_method, second.first_loan) == (
        "approved",
        "",
        None,
    )
    done = move(bank_officer, second, "disburse", **DISBURSE, disbursed_guarantee_method="surety")
    assert (done.disbursed_guarantee_method, done.first_loan) == ("surety", False)

    # another enterprise's first loan is its own first
    newcomer = UserFactory.create()
    make_enterprise_member(newcomer, other_enterprise, "owner")
    theirs = approved(apply(newcomer, product), bank_officer)
    assert move(bank_officer, theirs, "disburse", **DISBURSE).first_loan is True


def test_a_demand_is_disbursed_with_the_method_named(
    product: LoanProduct, enterprise_owner: Any, bank_officer: Any, login: Any
) -> None:
    demand = approved(submit_demand(enterprise_owner), bank_officer)
    with pytest.raises(DomainError) as refused:
        move(bank_officer, demand, "disburse", **DISBURSE)
    assert refused.value.code == "guarantee_required"
    officer = login(bank_officer)
    url = f"/api/v1/applications/{demand.pk}/disburse/"
    body = {**DISBURSE, "disbursed_amount": "400000", "disbursed_rate": "3.6"}
    bad = post(officer, url, {**body, "disbursed_guarantee_method": "gold"})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid")
    assert "disbursed_guarantee_method" in bad.json()["detail"]
    done = post(officer, url, {**body, "disbursed_guarantee_method": "mortgage"})
    assert done.status_code == 200, done.json()
    assert (done.json()["disbursed_guarantee_method"], done.json()["first_loan"]) == (
        "mortgage",
        True,
    )


def test_a_loan_of_another_enterprise_does_not_spoil_a_first_loan(
    product: LoanProduct, enterprise_owner: Any, bank_officer: Any
) -> None:
    stranger = EnterpriseFactory.create()
    other_owner = UserFactory.create()
    make_enterprise_member(other_owner, stranger, "owner")
    move(bank_officer, approved(apply(other_owner, product), bank_officer), "disburse", **DISBURSE)
    mine = approved(apply(enterprise_owner, product), bank_officer)
    assert move(bank_officer, mine, "disburse", **DISBURSE).first_loan is True


# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------
DEMAND = {"amount": "500000", "term_months": 12, "purpose": "购置生产设备"}


def test_preview_names_the_banks_and_writes_nothing(
    product: LoanProduct,
    other_product: LoanProduct,
    bank: Bank,
    other_bank: Bank,
    enterprise_owner: Any,
    bank_officer: Any,
    login: Any,
) -> None:
    earlier = grant(enterprise_owner, bank, "records")
    before = Authorization.objects.count()
    response = post(login(enterprise_owner), "/api/v1/demands/preview/", DEMAND)
    assert response.status_code == 200, response.json()
    assert response.json() == [
        {
            "bank": {"id": bank.pk, "name": "东莞示范银行"},
            "scope": "records",
            "scope_name": "信用记录明细",
            "existing_authorization": earlier.number,
            "needs_grant": False,
            "products": [product.pk],
        },
        {
            "bank": {"id": other_bank.pk, "name": "另一家银行"},
            "scope": "portrait",
            "scope_name": "信用画像",
            "existing_authorization": None,
            "needs_grant": True,
            "products": [other_product.pk],
        },
    ]
    mortgage = post(
        login(enterprise_owner),
        "/api/v1/demands/preview/",
        {**DEMAND, "preferred_guarantee": "mortgage"},
    ).json()
    assert [p["bank"]["id"] for p in mortgage] == [other_bank.pk]
    assert Authorization.objects.count() == before and LoanApplication.objects.count() == 0
    refused = post(login(bank_officer), "/api/v1/demands/preview/", DEMAND)
    assert (refused.status_code, refused.json()["code"]) == (403, "not_enterprise_admin")


def test_posting_a_demand_over_the_api(
    product: LoanProduct,
    other_product: LoanProduct,
    bank: Bank,
    other_bank: Bank,
    enterprise: Enterprise,
    enterprise_owner: Any,
    other_bank_officer: Any,
    bank_officer: Any,
    login: Any,
) -> None:
    owner = login(enterprise_owner)
    wrong = post(owner, "/api/v1/demands/", {**DEMAND, "password": "wrong"})
    assert (wrong.status_code, wrong.json()["code"]) == (403, "reauth_failed")
    assert LoanApplication.objects.count() == 0 and Authorization.objects.count() == 0
    bad = post(owner, "/api/v1/demands/", {**DEMAND, "preferred_guarantee": "gold"})
    assert (bad.status_code, list(bad.json()["detail"])) == (400, ["preferred_guarantee"])

    created = post(owner, "/api/v1/demands/", {**DEMAND, "password": PASSWORD})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["kind"], body["status"], body["bank"], body["product"]) == (
        "demand",
        "submitted",
        None,
        None,
    )
    assert (body["authorization"], body["officer"], body["pool_rounds"]) == (None, None, 0)
    assert (body["enterprise"]["uscc"], body["amount"], body["term_months"]) == (
        enterprise.uscc,
        "500000.00",
        12,
    )
    assert body["allowed_moves"] == ["accept", "withdraw"]
    assert body["overdue"] == [] and body["pickup_due"].endswith("23:59:59+08:00")
    demand = LoanApplication.objects.get(pk=body["id"])
    assert sorted(demand.offers.values_list("bank_id", flat=True)) == sorted(
        [bank.pk, other_bank.pk]
    )

    # the other bank takes it with its own authorisation; the first bank loses sight of it
    taken = post(login(other_bank_officer), f"/api/v1/applications/{demand.pk}/accept/").json()
    grant_number = demand.offers.get(bank=other_bank).authorization.number
    assert (taken["bank"], taken["authorization"]) == (
        {"id": other_bank.pk, "name": "另一家银行"},
        grant_number,
    )
    officer = login(bank_officer)
    assert officer.get(f"/api/v1/applications/{demand.pk}/").status_code == 404
    assert post(officer, f"/api/v1/applications/{demand.pk}/accept/").status_code == 404


def test_api_demand_with_no_bank_and_the_joint_punishment_answer(
    product: LoanProduct, enterprise: Enterprise, enterprise_owner: Any, login: Any
) -> None:
    owner = login(enterprise_owner)
    none = post(owner, "/api/v1/demands/", {**DEMAND, "term_months": 60, "password": PASSWORD})
    assert (none.status_code, none.json()["code"]) == (400, "no_eligible_bank")
    assert "amount" in none.json()["detail"]
    record = serious_record(enterprise)
    blocked = post(owner, "/api/v1/demands/", {**DEMAND, "password": PASSWORD})
    assert blocked.status_code == 403
    body = blocked.json()
    assert body["code"] == "joint_punishment" and "严重失信主体名单" in body["message"]
    assert body["detail"] == {"records": [record.pk]}
    # the refusal is answered, not raised: the feedback survives the request
    feedback = PunishmentFeedback.objects.get()
    assert (feedback.context, feedback.records) == ("financing_demand", [record.pk])
    assert LoanApplication.objects.count() == 0 and Authorization.objects.count() == 0


def test_list_filters_kind_and_overdue_and_the_sla_fields(
    product: LoanProduct,
    enterprise_owner: Any,
    bank_officer: Any,
    third_bank_officer: Any,
    login: Any,
) -> None:
    application = apply(enterprise_owner, product)
    demand = submit_demand(enterprise_owner)
    officer = login(bank_officer)

    def numbers(query: str, client: Client = officer) -> list[str]:
        response = client.get(f"/api/v1/applications/?{query}")
        assert response.status_code == 200, response.json()
        return [a["number"] for a in response.json()["results"]]

    assert numbers("kind=demand") == [demand.number]
    assert numbers("kind=product") == [application.number]
    assert sorted(numbers("")) == sorted([demand.number, application.number])
    assert numbers("kind=demand", login(third_bank_officer)) == []
    bad = officer.get("/api/v1/applications/?kind=loan")
    assert (bad.status_code, bad.json()["code"], bad.json()["detail"]) == (
        400,
        "invalid_filter",
        {"kind": ["loan"]},
    )
    assert numbers("overdue=1") == []

    # the demand's pick-up is late; the application's deadlines were counted by weekends only
    late = timezone.now() - timedelta(hours=1)
    LoanApplication.objects.filter(pk=demand.pk).update(pickup_due=late, sla_assumed_years="")
    LoanApplication.objects.filter(pk=application.pk).update(sla_assumed_years="2027")
    assert numbers("overdue=1") == numbers("overdue=true") == [demand.number]
    assert numbers("overdue=1&kind=product") == []
    assert sorted(numbers("overdue=0")) == sorted([demand.number, application.number])
    rows = {a["number"]: a for a in officer.get("/api/v1/applications/").json()["results"]}
    assert (rows[demand.number]["overdue"], rows[demand.number]["sla_note"]) == (["pickup"], "")
    assert rows[application.number]["overdue"] == []
    assert rows[application.number]["sla_note"] == "按周末推算（2027 年节假日安排尚未录入）"
    assert rows[demand.number]["pickup_due"] == timezone.localtime(late).isoformat()
    # the overdue view for the enterprise too
    assert numbers("overdue=1", login(enterprise_owner)) == [demand.number]
