from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from enterprises import services
from enterprises.models import ClaimStatus, EnterpriseClaim, EnterpriseMembership
from tests.factories import UserFactory
from xinyidai.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from xinyidai.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _spaced(code: str) -> str:
    """What a person may type: lower case, full-width, with spaces and a hyphen."""
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code[:4])
    return f"{full_width} {code[4:10].lower()}-{code[10:]}"


def submit(user: Any, enterprise: Any, **overrides: str) -> EnterpriseClaim:
    data = {
        "uscc_code": enterprise.uscc,
        "name": enterprise.name,
        "legal_rep_name": enterprise.legal_rep_name,
        **overrides,
    }
    return services.claim_submit(user=user, **data)


def test_matching_claim_becomes_pending_and_notifies_credit_office(
    plain_user: Any, enterprise: Any, credit_office: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        claim = submit(plain_user, enterprise, uscc_code=_spaced(enterprise.uscc))
    assert claim.status == ClaimStatus.PENDING
    assert claim.enterprise == enterprise
    assert not EnterpriseMembership.objects.filter(user=plain_user).exists()
    assert len(mail.outbox) == 1
    assert set(mail.outbox[0].to) == {"office@example.com", credit_office.email}
    assert enterprise.uscc in mail.outbox[0].body
    event = AuditEvent.objects.get(action="claim.submitted")
    assert event.actor == plain_user
    assert event.data == {"enterprise": enterprise.uscc, "status": "pending"}


def test_name_comparison_ignores_width_and_spaces(plain_user: Any, enterprise: Any) -> None:
    claim = submit(plain_user, enterprise, name=f" {enterprise.name} ", legal_rep_name="陈 志明")
    assert claim.status == ClaimStatus.PENDING


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"name": "东莞市别家有限公司"}, ["name"]),
        ({"legal_rep_name": "王五"}, ["legal_rep_name"]),
        ({"name": "错", "legal_rep_name": "错"}, ["name", "legal_rep_name"]),
    ],
)
def test_mismatch_is_refused_naming_the_fields(
    plain_user: Any, enterprise: Any, overrides: dict[str, str], fields: list[str]
) -> None:
    with pytest.raises(DomainError) as err:
        submit(plain_user, enterprise, **overrides)
    assert err.value.code == "claim_mismatch"
    assert err.value.detail == {"fields": fields}
    assert "与登记信息不一致" in err.value.message
    assert not EnterpriseClaim.objects.exists()


def test_unknown_uscc_is_not_found(plain_user: Any, enterprise: Any) -> None:
    import random

    from enterprises import uscc

    unknown = uscc.generate(random.Random(99))
    with pytest.raises(NotFound) as err:
        submit(plain_user, enterprise, uscc_code=unknown)
    assert err.value.code == "enterprise_not_found"
    assert unknown in err.value.message


def test_invalid_uscc_never_reaches_the_database(plain_user: Any, enterprise: Any) -> None:
    bad = enterprise.uscc[:-1] + ("0" if enterprise.uscc[-1] != "0" else "1")
    with pytest.raises(DomainError) as err:
        submit(plain_user, enterprise, uscc_code=bad)
    assert err.value.code == "invalid_uscc"
    assert err.value.detail["uscc"][0]["code"] == "check_character"
    assert f"应为“{enterprise.uscc[-1]}”" in err.value.message
    assert not EnterpriseClaim.objects.exists()


def test_duplicate_open_claim_is_a_conflict(plain_user: Any, enterprise: Any) -> None:
    submit(plain_user, enterprise)
    with pytest.raises(Conflict) as err:
        submit(plain_user, enterprise)
    assert err.value.code == "duplicate_claim"
    assert EnterpriseClaim.objects.count() == 1


def test_claim_on_owned_enterprise_becomes_dispute(
    plain_user: Any, enterprise: Any, enterprise_owner: Any
) -> None:
    claim = submit(plain_user, enterprise)
    assert claim.status == ClaimStatus.DISPUTED
    assert claim.previous_owner == enterprise_owner


def test_member_of_an_enterprise_cannot_claim_another(
    enterprise_owner: Any, other_enterprise: Any
) -> None:
    with pytest.raises(Conflict) as err:
        submit(enterprise_owner, other_enterprise)
    assert err.value.code == "already_member"


def test_bank_staff_cannot_claim(bank_officer: Any, enterprise: Any) -> None:
    with pytest.raises(DomainError) as err:
        submit(bank_officer, enterprise)
    assert err.value.code == "role_cannot_claim"


def test_inactive_enterprise_cannot_be_claimed(plain_user: Any, enterprise: Any) -> None:
    enterprise.status = "cancelled"
    enterprise.save()
    with pytest.raises(DomainError) as err:
        submit(plain_user, enterprise)
    assert err.value.code == "enterprise_inactive"


def test_claim_attempts_are_rate_limited(plain_user: Any, enterprise: Any) -> None:
    for _ in range(services.CLAIM_ATTEMPTS_PER_HOUR):
        with pytest.raises(DomainError):
            submit(plain_user, enterprise, legal_rep_name="猜测")
    with pytest.raises(DomainError) as err:
        submit(plain_user, enterprise)
    assert err.value.code == "claim_rate_limited"
    assert err.value.status == 429


def test_credit_office_approves_and_applicant_becomes_sole_owner(
    plain_user: Any, enterprise: Any, credit_office: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claim = submit(plain_user, enterprise)
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_approve(claim_id=claim.pk, actor=credit_office, reason="材料齐全")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED
    assert claim.decided_by == credit_office
    assert claim.decision_reason == "材料齐全"
    membership = EnterpriseMembership.objects.get(user=plain_user)
    assert (membership.enterprise, membership.role) == (enterprise, "owner")
    assert mail.outbox[-1].to == [plain_user.email]
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["claim.submitted", "claim.approved", "membership.created"]


def test_approving_a_dispute_replaces_the_owner(
    plain_user: Any, enterprise: Any, enterprise_owner: Any, credit_office: Any
) -> None:
    claim = submit(plain_user, enterprise)
    services.claim_approve(claim_id=claim.pk, actor=credit_office, reason="核实营业执照原件")
    owners = EnterpriseMembership.objects.filter(enterprise=enterprise, role="owner")
    assert [m.user for m in owners] == [plain_user]
    assert not EnterpriseMembership.objects.filter(user=enterprise_owner).exists()
    removed = AuditEvent.objects.get(action="membership.removed")
    assert removed.data["user"] == enterprise_owner.email


def test_second_pending_claim_turns_into_dispute_when_first_is_approved(
    plain_user: Any, enterprise: Any, credit_office: Any
) -> None:
    rival = UserFactory.create(email="rival@example.com")
    first = submit(plain_user, enterprise)
    second = submit(rival, enterprise)
    services.claim_approve(claim_id=first.pk, actor=credit_office)
    second.refresh_from_db()
    assert second.status == ClaimStatus.DISPUTED
    assert second.previous_owner == plain_user


def test_reject_needs_a_reason_and_records_it(
    plain_user: Any, enterprise: Any, credit_office: Any
) -> None:
    claim = submit(plain_user, enterprise)
    with pytest.raises(DomainError) as err:
        services.claim_reject(claim_id=claim.pk, actor=credit_office, reason=" ")
    assert err.value.code == "reason_required"
    services.claim_reject(claim_id=claim.pk, actor=credit_office, reason="法定代表人已变更")
    claim.refresh_from_db()
    assert (claim.status, claim.decision_reason) == ("rejected", "法定代表人已变更")
    assert not EnterpriseMembership.objects.exists()


@pytest.mark.parametrize("final", ["approved", "rejected", "withdrawn"])
def test_decided_claims_cannot_move_again(
    plain_user: Any, enterprise: Any, credit_office: Any, final: str
) -> None:
    claim = submit(plain_user, enterprise)
    if final == "approved":
        services.claim_approve(claim_id=claim.pk, actor=credit_office)
    elif final == "rejected":
        services.claim_reject(claim_id=claim.pk, actor=credit_office, reason="x")
    else:
        services.claim_withdraw(claim_id=claim.pk, user=plain_user)
    for move in (
        lambda: services.claim_approve(claim_id=claim.pk, actor=credit_office),
        lambda: services.claim_reject(claim_id=claim.pk, actor=credit_office, reason="x"),
        lambda: services.claim_withdraw(claim_id=claim.pk, user=plain_user),
    ):
        with pytest.raises(Conflict) as err:
            move()
        assert err.value.code == "claim_bad_transition"
        assert err.value.detail == {"status": final, "allowed": []}


def test_only_credit_office_decides(
    plain_user: Any, enterprise: Any, bank_admin: Any, trading_centre: Any
) -> None:
    claim = submit(plain_user, enterprise)
    for actor in (plain_user, bank_admin, trading_centre):
        with pytest.raises(PermissionDenied):
            services.claim_approve(claim_id=claim.pk, actor=actor)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PENDING


def test_someone_else_cannot_withdraw(plain_user: Any, enterprise: Any) -> None:
    claim = submit(plain_user, enterprise)
    with pytest.raises(NotFound):
        services.claim_withdraw(claim_id=claim.pk, user=UserFactory.create())


def test_auto_approve_setting_on_exact_match(
    plain_user: Any, enterprise: Any, settings: Any
) -> None:
    settings.CLAIM_AUTO_APPROVE = True
    claim = submit(plain_user, enterprise)
    assert claim.status == ClaimStatus.APPROVED
    assert claim.decided_by is None
    assert EnterpriseMembership.objects.get(user=plain_user).role == "owner"


def test_auto_approve_never_settles_a_dispute(
    plain_user: Any, enterprise: Any, enterprise_owner: Any, settings: Any
) -> None:
    settings.CLAIM_AUTO_APPROVE = True
    claim = submit(plain_user, enterprise)
    assert claim.status == ClaimStatus.DISPUTED
    assert EnterpriseMembership.objects.get(enterprise=enterprise, role="owner").user == (
        enterprise_owner
    )


# --- pages -----------------------------------------------------------------------------------
def test_claim_page_keeps_input_and_shows_chinese_error(
    login: Any, plain_user: Any, enterprise: Any
) -> None:
    client = login(plain_user)
    response = client.post(
        reverse("enterprise_claim"),
        {"uscc": enterprise.uscc, "name": "东莞市别家有限公司", "legal_rep_name": "陈志明"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "企业名称与登记信息不一致" in html
    assert 'value="东莞市别家有限公司"' in html
    assert not EnterpriseClaim.objects.exists()


def test_claim_page_reports_bad_uscc_with_expected_character(
    login: Any, plain_user: Any, enterprise: Any
) -> None:
    bad = enterprise.uscc[:-1] + ("0" if enterprise.uscc[-1] != "0" else "1")
    response = login(plain_user).post(
        reverse("enterprise_claim"),
        {"uscc": bad, "name": enterprise.name, "legal_rep_name": "陈志明"},
    )
    assert f"第18位应为“{enterprise.uscc[-1]}”" in response.content.decode()


def test_full_claim_flow_through_pages(
    login: Any, plain_user: Any, enterprise: Any, credit_office: Any
) -> None:
    applicant = login(plain_user)
    response = applicant.post(
        reverse("enterprise_claim"),
        {"uscc": enterprise.uscc.lower(), "name": enterprise.name, "legal_rep_name": "陈志明"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("claim_list")
    claim = EnterpriseClaim.objects.get()
    office = login(credit_office)
    queue = office.get(reverse("office_claims"))
    assert enterprise.name in queue.content.decode()
    decided = office.post(
        reverse("office_claim_decide", args=[claim.pk]), {"decision": "approve", "reason": "ok"}
    )
    assert decided.status_code == 302
    mine = applicant.get(reverse("my_enterprise"))
    assert mine.status_code == 200
    assert enterprise.uscc in mine.content.decode()


def test_reject_page_requires_reason(
    login: Any, plain_user: Any, enterprise: Any, credit_office: Any
) -> None:
    claim = submit(plain_user, enterprise)
    response = login(credit_office).post(
        reverse("office_claim_decide", args=[claim.pk]), {"decision": "reject", "reason": ""}
    )
    assert response.status_code == 200
    assert "驳回时请填写理由" in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == "pending"


# --- API -------------------------------------------------------------------------------------
def test_api_claim_submit_and_decide(
    login: Any, plain_user: Any, enterprise: Any, credit_office: Any
) -> None:
    applicant = login(plain_user)
    created = applicant.post(
        "/api/v1/claims/",
        {"uscc": enterprise.uscc, "name": enterprise.name, "legal_rep_name": "陈志明"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "pending"
    assert body["enterprise"] == {"uscc": enterprise.uscc, "name": enterprise.name}
    office = login(credit_office)
    queue = office.get("/api/v1/claims/?status=open").json()
    assert [c["id"] for c in queue["results"]] == [body["id"]]
    approved = office.post(
        f"/api/v1/claims/{body['id']}/approve/", {}, content_type="application/json"
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    me = applicant.get("/api/v1/me/").json()
    assert me["enterprise"] == {"uscc": enterprise.uscc, "name": enterprise.name, "role": "owner"}
    again = office.post(
        f"/api/v1/claims/{body['id']}/reject/", {"reason": "x"}, content_type="application/json"
    )
    assert again.status_code == 409
    assert again.json()["code"] == "claim_bad_transition"


def test_api_claim_errors_have_one_shape(login: Any, plain_user: Any, enterprise: Any) -> None:
    client = login(plain_user)
    missing = client.post(
        "/api/v1/claims/", {"uscc": enterprise.uscc}, content_type="application/json"
    )
    assert missing.status_code == 400
    assert missing.json()["code"] == "invalid"
    assert set(missing.json()["detail"]) == {"name", "legal_rep_name"}
    unknown = client.post(
        "/api/v1/claims/",
        {"uscc": "91440300MA5FUTUR0X", "name": "x", "legal_rep_name": "y"},
        content_type="application/json",
    )
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "invalid_uscc"
    assert set(unknown.json()) == {"code", "message", "detail"}
