"""Recommended lists (推荐清单): the criteria mapped to data, set-based generation over known
data, idempotent regeneration, review (remove with a reason, restore), approval with its
outbox, allocation to banks and their feedback — every allowed move and the forbidden ones —
and the CSV, XLSX and JSON exports read back."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.test import Client
from django.utils import translation

from lending import lists, push
from lending.models import (
    NationalDelivery,
    RecommendationCriteria,
    RecommendationEntry,
    RecommendationEvent,
    RecommendationList,
)
from tests.lending.listdata import QUALIFYING, city, criteria, new_list, opt_in
from xinyidai.core.errors import DomainError
from xinyidai.core.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _chinese() -> Iterator[None]:
    """Messages composed outside a request are in the active language: Chinese here, whatever
    an earlier test left active."""
    with translation.override("zh-hans"):
        yield


@pytest.fixture
def firms(bank: Any, other_bank: Any) -> dict[str, Any]:
    return city(bank, other_bank)


@pytest.fixture
def rule(credit_office: Any) -> Any:
    return criteria(credit_office)


def generated(office: Any, rule: Any, **fields: Any) -> RecommendationList:
    reclist = new_list(office, rule, **fields)
    return lists.list_generate(actor=office, list_id=reclist.pk)


def names(reclist: RecommendationList, firms: dict[str, Any], **filters: Any) -> set[str]:
    by_id = {e.pk: key for key, e in firms.items()}
    return {
        by_id[pk]
        for pk in RecommendationEntry.objects.filter(list=reclist, **filters).values_list(
            "enterprise_id", flat=True
        )
    }


def entry(reclist: RecommendationList, enterprise: Any) -> RecommendationEntry:
    return RecommendationEntry.objects.get(list=reclist, enterprise=enterprise)


# ---------------------------------------------------------------------------------------------
# Criteria and generation
# ---------------------------------------------------------------------------------------------
def test_generation_applies_each_criterion(credit_office: Any, firms: Any, rule: Any) -> None:
    reclist = generated(credit_office, rule)
    assert reclist.status == "generated"
    assert names(reclist, firms) == QUALIFYING
    assert reclist.entry_count == len(QUALIFYING)
    # best score first, numbered from 1 without gaps
    rows = list(
        RecommendationEntry.objects.filter(list=reclist).order_by("seq").values_list("seq", "score")
    )
    assert [s for s, _ in rows] == list(range(1, len(rows) + 1))
    assert [score for _, score in rows] == sorted((score for _, score in rows), reverse=True)
    # what it qualified on is kept with the entry
    best = entry(reclist, firms["best"])
    assert (best.grade, best.score, best.need, best.opt_in) == ("A", 950, "opt_in", "all")
    assert best.uscc == firms["best"].uscc and best.name == "最佳"
    assert entry(reclist, firms["demand"]).need == "demand"
    assert entry(reclist, firms["demand"]).opt_in == "banks"
    assert entry(reclist, firms["bank_only"]).opt_in == "banks"
    reasons = lists.reasons(best, reclist.criteria_snapshot)
    assert [r["code"] for r in reasons] == ["operation", "premises", "need", "credit", "loan_use"]
    assert "信用等级 A（950 分），要求 B 级及以上" in reasons[3]["text"]
    assert reclist.criteria_snapshot["version"] == 1


def test_criteria_options_change_who_qualifies(credit_office: Any, firms: Any) -> None:
    open_rule = criteria(credit_office, name="不要求授权", require_opt_in=False, min_grade="C")
    reclist = generated(credit_office, open_rule)
    assert names(reclist, firms) == QUALIFYING | {"applied_only", "grade_c"}
    assert entry(reclist, firms["applied_only"]).need == "application"
    assert entry(reclist, firms["applied_only"]).opt_in == ""

    strict = criteria(credit_office, name="仅凭需求", need_demand_only=True)
    assert names(generated(credit_office, strict), firms) == {"demand"}

    look_back = criteria(credit_office, name="回溯六年", serious_years=6)
    assert names(generated(credit_office, look_back), firms) == QUALIFYING - {"old_serious"}

    no_years = criteria(credit_office, name="不限成立年限", min_years=0, require_premises=False)
    assert names(generated(credit_office, no_years), firms) == QUALIFYING | {
        "young",
        "no_date",
        "no_address",
    }

    town = criteria(credit_office, name="虎门建筑业", towns=["humen"], industries=["F"])
    assert names(generated(credit_office, town), firms) == {"other_town"}


def test_criteria_are_checked_and_versioned(credit_office: Any, bank_admin: Any) -> None:
    with pytest.raises(DomainError) as refused:
        lists.criteria_create(
            actor=credit_office, name="", min_grade="E", serious_years=0, towns=["nowhere"]
        )
    assert refused.value.code == "invalid_criteria"
    assert set(refused.value.detail) == {"name", "min_grade", "serious_years", "towns"}
    with pytest.raises(DomainError) as forbidden:
        lists.criteria_create(actor=bank_admin, name="银行不能定义")
    assert forbidden.value.status == 403
    rule = criteria(credit_office)
    assert lists.criteria_update(actor=credit_office, criteria_id=rule.pk, min_grade="B") == rule
    assert rule.version == 1  # nothing changed
    rule = lists.criteria_update(actor=credit_office, criteria_id=rule.pk, min_grade="A")
    assert (rule.version, rule.min_grade) == (2, "A")


def test_regeneration_replaces_entries_and_keeps_removals(
    credit_office: Any, firms: Any, rule: Any
) -> None:
    reclist = generated(credit_office, rule)
    removed = entry(reclist, firms["repaired"])
    lists.entry_remove(
        actor=credit_office, list_id=reclist.pk, entry_id=removed.pk, reason="实地核查已停产"
    )
    first = list(
        RecommendationEntry.objects.filter(list=reclist)
        .order_by("seq")
        .values_list("enterprise_id", "seq", "removed")
    )
    again = lists.list_generate(actor=credit_office, list_id=reclist.pk)
    assert again.entry_count == len(QUALIFYING)
    assert (
        list(
            RecommendationEntry.objects.filter(list=reclist)
            .order_by("seq")
            .values_list("enterprise_id", "seq", "removed")
        )
        == first
    )
    kept = entry(reclist, firms["repaired"])
    assert (kept.removed, kept.removed_reason, kept.removed_by) == (
        True,
        "实地核查已停产",
        credit_office,
    )
    # the criteria changed: the next generation uses (and records) the new version
    lists.criteria_update(actor=credit_office, criteria_id=rule.pk, min_grade="A")
    third = lists.list_generate(actor=credit_office, list_id=reclist.pk)
    assert names(third, firms) == QUALIFYING - {"demand"}
    assert third.criteria_snapshot["version"] == 2
    # the removal's history survives the replaced entries
    event = RecommendationEvent.objects.get(list=reclist, move="remove")
    assert (event.entry, event.uscc, event.reason) == (
        None,
        firms["repaired"].uscc,
        "实地核查已停产",
    )
    assert list(
        RecommendationEvent.objects.filter(list=reclist).values_list("move", flat=True)
    ) == ["create", "generate", "remove", "generate", "generate"]


# ---------------------------------------------------------------------------------------------
# Review and approval
# ---------------------------------------------------------------------------------------------
def test_review_approve_writes_the_outbox_in_chunks(
    credit_office: Any, firms: Any, rule: Any, settings: Any, monkeypatch: Any
) -> None:
    settings.NATIONAL_PLATFORM_CHUNK_SIZE = 2
    queued: list[Any] = []
    reclist = generated(credit_office, rule)
    with pytest.raises(DomainError) as no_reason:
        lists.entry_remove(
            actor=credit_office,
            list_id=reclist.pk,
            entry_id=entry(reclist, firms["best"]).pk,
            reason=" ",
        )
    assert no_reason.value.code == "reason_required"
    gone = entry(reclist, firms["demand"])
    lists.entry_remove(actor=credit_office, list_id=reclist.pk, entry_id=gone.pk, reason="重复")
    with pytest.raises(DomainError) as twice:
        lists.entry_remove(actor=credit_office, list_id=reclist.pk, entry_id=gone.pk, reason="x")
    assert (twice.value.status, twice.value.detail["allowed"]) == (409, ["restore"])
    lists.entry_restore(actor=credit_office, list_id=reclist.pk, entry_id=gone.pk)
    lists.entry_remove(actor=credit_office, list_id=reclist.pk, entry_id=gone.pk, reason="重复")

    monkeypatch.setattr(push, "queue_push", queued.append)
    approved = lists.list_approve(actor=credit_office, list_id=reclist.pk)
    assert approved.status == "approved" and approved.approved_by == credit_office
    assert queued == [reclist.pk]
    deliveries = list(NationalDelivery.objects.filter(list=reclist).order_by("chunk"))
    listed = list(
        RecommendationEntry.objects.filter(list=reclist, removed=False)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    assert len(listed) == len(QUALIFYING) - 1
    assert [(d.chunk, d.rows) for d in deliveries] == [(1, 2), (2, 2), (3, 1)]
    assert [d.idempotency_key for d in deliveries] == [
        f"{reclist.number}-00001",
        f"{reclist.number}-00002",
        f"{reclist.number}-00003",
    ]
    assert sum(d.rows for d in deliveries) == len(listed)
    assert (deliveries[0].seq_from, deliveries[-1].seq_to) == (listed[0], listed[-1])
    assert {d.status for d in deliveries} == {"pending"}
    assert lists.delivery_state(approved).code == "pushing"
    # the removed entry is not in any chunk's body
    bodies = [json.loads(push.body_of(d)) for d in deliveries]
    usccs = [row["uscc"] for body in bodies for row in body["rows"]]
    assert firms["demand"].uscc not in usccs and len(usccs) == len(listed)
    assert bodies[0]["list"]["criteria"]["min_grade"] == "B"
    assert push.body_of(deliveries[0]) == push.body_of(deliveries[0])  # byte for byte


@pytest.mark.parametrize(
    ("status", "move", "allowed"),
    [
        ("draft", "approve", ["generate", "cancel"]),
        ("draft", "remove", ["generate", "cancel"]),
        ("generated", "allocate", ["generate", "remove", "restore", "approve", "cancel"]),
        ("approved", "generate", ["allocate", "push", "repush"]),
        ("approved", "remove", ["allocate", "push", "repush"]),
        ("approved", "approve", ["allocate", "push", "repush"]),
        ("approved", "cancel", ["allocate", "push", "repush"]),
        ("cancelled", "generate", []),
        ("cancelled", "push", []),
    ],
)
def test_forbidden_list_moves_answer_409_with_the_allowed_ones(
    status: str,
    move: str,
    allowed: list[str],
    credit_office: Any,
    firms: Any,
    rule: Any,
    bank: Any,
) -> None:
    reclist = new_list(credit_office, rule)
    if status != "draft":
        lists.list_generate(actor=credit_office, list_id=reclist.pk)
    if status == "approved":
        lists.list_approve(actor=credit_office, list_id=reclist.pk)
    if status == "cancelled":
        lists.list_cancel(actor=credit_office, list_id=reclist.pk, reason="重新编制")
    first = RecommendationEntry.objects.filter(list=reclist).first()
    calls = {
        "approve": lambda: lists.list_approve(actor=credit_office, list_id=reclist.pk),
        "generate": lambda: lists.list_generate(actor=credit_office, list_id=reclist.pk),
        "cancel": lambda: lists.list_cancel(actor=credit_office, list_id=reclist.pk, reason="x"),
        "remove": lambda: lists.entry_remove(
            actor=credit_office, list_id=reclist.pk, entry_id=first.pk if first else 0, reason="x"
        ),
        "allocate": lambda: lists.list_allocate(
            actor=credit_office, list_id=reclist.pk, bank_ids=[bank.pk]
        ),
        "push": lambda: push.list_push_now(actor=credit_office, list_id=reclist.pk),
    }
    with pytest.raises(DomainError) as refused:
        calls[move]()
    assert refused.value.status == 409
    assert refused.value.code == "move_not_allowed"
    assert refused.value.detail == {"status": status, "allowed": allowed}
    assert RecommendationList.objects.get(pk=reclist.pk).status == status


def test_empty_list_cannot_be_approved_and_others_cannot_manage(
    credit_office: Any, bank_admin: Any, enterprise_owner: Any, firms: Any
) -> None:
    nobody = criteria(credit_office, name="无人入选", towns=["xiegang"])
    reclist = generated(credit_office, nobody)
    assert reclist.entry_count == 0
    with pytest.raises(DomainError) as empty:
        lists.list_approve(actor=credit_office, list_id=reclist.pk)
    assert empty.value.code == "empty_list"
    for outsider in (bank_admin, enterprise_owner):
        with pytest.raises(DomainError) as refused:
            lists.list_generate(actor=outsider, list_id=reclist.pk)
        assert refused.value.status == 403
    assert lists.lists_visible_to(bank_admin).count() == 0


# ---------------------------------------------------------------------------------------------
# Allocation and feedback
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def approved(credit_office: Any, firms: Any, rule: Any) -> RecommendationList:
    reclist = generated(credit_office, rule)
    return lists.list_approve(actor=credit_office, list_id=reclist.pk)


def test_allocation_round_robin_respects_consent(
    credit_office: Any, firms: Any, approved: Any, bank: Any, other_bank: Any, bank_officer: Any
) -> None:
    result = lists.list_allocate(
        actor=credit_office, list_id=approved.pk, bank_ids=[bank.pk, other_bank.pk]
    )
    assert result.total == len(QUALIFYING)
    assert result.without_consent == 0
    by_bank = {key: entry(approved, e).bank_id for key, e in firms.items() if key in QUALIFYING}
    # authorised to one bank only: only ever that bank
    assert by_bank["bank_only"] == other_bank.pk
    assert by_bank["demand"] == bank.pk
    # round robin in list order, skipping a bank the enterprise did not authorise
    assert dict(result.allocated) == {bank.pk: 4, other_bank.pk: 2}
    assert by_bank["best"] == bank.pk and by_bank["old_serious"] == bank.pk
    # the bank's staff hear of it, once
    notice = Notification.objects.get(user=bank_officer, kind="reclist.allocated")
    assert "4 家企业" in notice.title
    # a second run only deals what is left (nothing)
    again = lists.list_allocate(actor=credit_office, list_id=approved.pk, bank_ids=[bank.pk])
    assert (again.total, again.already_allocated) == (0, len(QUALIFYING))
    # reallocation moves only entries without feedback; consent still holds
    everyone = lists.list_allocate(
        actor=credit_office, list_id=approved.pk, bank_ids=[bank.pk], reallocate=True
    )
    assert everyone.total == len(QUALIFYING) - 1 and everyone.without_consent == 1
    assert entry(approved, firms["bank_only"]).bank_id == other_bank.pk


def test_allocation_by_town_and_without_consent(
    credit_office: Any, firms: Any, bank: Any, other_bank: Any
) -> None:
    open_rule = criteria(credit_office, name="不要求授权", require_opt_in=False)
    reclist = generated(credit_office, open_rule)
    lists.list_approve(actor=credit_office, list_id=reclist.pk)
    humen = lists.list_allocate(
        actor=credit_office, list_id=reclist.pk, bank_ids=[other_bank.pk], towns=["humen"]
    )
    assert humen.total == 1 and entry(reclist, firms["other_town"]).bank_id == other_bank.pk
    rest = lists.list_allocate(actor=credit_office, list_id=reclist.pk, bank_ids=[bank.pk])
    # the enterprise that never authorised matching is listed but given to no bank
    assert rest.without_consent == 2  # applied_only, and bank_only (authorised the other bank)
    assert entry(reclist, firms["applied_only"]).bank_id is None


def test_bank_feedback_moves(
    credit_office: Any,
    firms: Any,
    approved: Any,
    bank: Any,
    other_bank: Any,
    bank_officer: Any,
    bank_admin: Any,
) -> None:
    lists.list_allocate(actor=credit_office, list_id=approved.pk, bank_ids=[bank.pk])
    mine = entry(approved, firms["best"])
    assert lists.entries_allocated_to(bank_officer).filter(pk=mine.pk).exists()
    assert not lists.entries_allocated_to(credit_office).exists()
    done = lists.entry_feedback(actor=bank_officer, entry_id=mine.pk, move="contact")
    assert done.feedback == "contacted" and done.contacted_at is not None
    with pytest.raises(DomainError) as no_amount:
        lists.entry_feedback(actor=bank_officer, entry_id=mine.pk, move="grant")
    assert no_amount.value.code == "amount_required"
    granted = lists.entry_feedback(
        actor=bank_admin, entry_id=mine.pk, move="grant", amount=Decimal("1500000.005")
    )
    assert (granted.feedback, granted.granted_amount) == ("granted", Decimal("1500000.01"))
    with pytest.raises(DomainError) as late:
        lists.entry_feedback(actor=bank_officer, entry_id=mine.pk, move="decline")
    assert (late.value.status, late.value.detail) == (409, {"status": "granted", "allowed": []})

    other = entry(approved, firms["old_serious"])
    with pytest.raises(DomainError) as reason:
        lists.entry_feedback(actor=bank_officer, entry_id=other.pk, move="decline")
    assert reason.value.code == "reason_required"
    with pytest.raises(DomainError) as note:
        lists.entry_feedback(
            actor=bank_officer, entry_id=other.pk, move="decline", decline_reason="other"
        )
    assert note.value.detail == {"note": ["选择「其他」时请填写说明"]}
    declined = lists.entry_feedback(
        actor=bank_officer, entry_id=other.pk, move="decline", decline_reason="no_need"
    )
    assert (declined.feedback, declined.decline_reason) == ("declined", "no_need")
    counts = lists.list_counts(approved)
    assert counts.feedback["granted"] == 1 and counts.feedback["declined"] == 1
    assert counts.granted_amount == Decimal("1500000.01")


def test_feedback_only_by_the_allocated_bank(
    credit_office: Any, firms: Any, approved: Any, bank: Any, other_bank: Any, login: Any
) -> None:
    from tests.factories import UserFactory, make_bank_member

    lists.list_allocate(actor=credit_office, list_id=approved.pk, bank_ids=[bank.pk])
    stranger = UserFactory.create(email="x@other.cn")
    make_bank_member(stranger, other_bank, "officer")
    mine = entry(approved, firms["best"])
    with pytest.raises(DomainError) as refused:
        lists.entry_feedback(actor=stranger, entry_id=mine.pk, move="contact")
    assert refused.value.status == 403
    # over the API the other bank does not even see it
    response = login(stranger).post(
        f"/api/v1/recommended-lists/allocated/{mine.pk}/contact/", {}, "application/json"
    )
    assert response.status_code == 404


# ---------------------------------------------------------------------------------------------
# The API end to end
# ---------------------------------------------------------------------------------------------
def test_api_from_criteria_to_feedback(
    credit_office: Any, bank_officer: Any, bank: Any, firms: Any, login: Any, settings: Any
) -> None:
    settings.NATIONAL_PLATFORM_URL = "http://127.0.0.1:9/nowhere/"  # refused: stays pending
    office: Client = login(credit_office)
    rule = office.post(
        "/api/v1/recommended-lists/criteria/",
        {"name": "季度标准", "min_grade": "B", "towns": [], "industries": []},
        "application/json",
    )
    assert rule.status_code == 201, rule.content
    made = office.post(
        "/api/v1/recommended-lists/",
        {
            "criteria": rule.json()["id"],
            "title": "第四季度",
            "period_start": "2026-10-01",
            "period_end": "2026-12-31",
        },
        "application/json",
    )
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    assert made.json()["allowed_moves"] == ["generate", "cancel"]
    too_early = office.post(f"/api/v1/recommended-lists/{pk}/approve/", {}, "application/json")
    assert too_early.status_code == 409
    assert too_early.json()["detail"] == {"status": "draft", "allowed": ["generate", "cancel"]}
    generated_ = office.post(f"/api/v1/recommended-lists/{pk}/generate/", {}, "application/json")
    assert generated_.json()["counts"]["listed"] == len(QUALIFYING)
    entries = office.get(f"/api/v1/recommended-lists/{pk}/entries/").json()
    assert entries["count"] == len(QUALIFYING)
    assert entries["results"][0]["reasons"][0]["code"] == "operation"
    removed = office.post(
        f"/api/v1/recommended-lists/{pk}/entries/{entries['results'][-1]['id']}/remove/",
        {"reason": "企业申请退出"},
        "application/json",
    )
    assert removed.status_code == 200 and removed.json()["removed"] is True
    approved_ = office.post(f"/api/v1/recommended-lists/{pk}/approve/", {}, "application/json")
    assert approved_.status_code == 200, approved_.content
    body = approved_.json()
    assert body["status"] == "approved"
    assert body["delivery"]["state"] in {"pushing", "failed"}
    assert len(body["deliveries"]) == 1
    allocated = office.post(
        f"/api/v1/recommended-lists/{pk}/allocate/", {"banks": [bank.pk]}, "application/json"
    )
    assert allocated.status_code == 200
    assert allocated.json()["allocated"] == {str(bank.pk): len(QUALIFYING) - 2}
    staff = login(bank_officer)
    mine = staff.get("/api/v1/recommended-lists/allocated/").json()
    assert mine["count"] == len(QUALIFYING) - 2
    first = mine["results"][0]["id"]
    granted = staff.post(
        f"/api/v1/recommended-lists/allocated/{first}/grant/",
        {"amount": "800000.00"},
        "application/json",
    )
    assert granted.status_code == 200 and granted.json()["granted_amount"] == "800000.00"
    again = staff.post(
        f"/api/v1/recommended-lists/allocated/{first}/contact/", {}, "application/json"
    )
    assert again.status_code == 409 and again.json()["detail"]["allowed"] == []
    # bank staff never see the office's lists
    assert staff.get(f"/api/v1/recommended-lists/{pk}/").status_code == 403


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------
EXPORT_HEADER = [
    "list_number",
    "seq",
    "uscc",
    "name",
    "town",
    "town_name",
    "industry_section",
    "industry_name",
    "grade",
    "score",
    "established",
    "need",
    "opt_in",
    "reasons",
    "removed",
    "removed_reason",
    "bank",
    "feedback",
    "contacted_at",
    "granted_amount",
    "decline_reason",
    "feedback_note",
]


def test_exports_read_back(
    credit_office: Any, firms: Any, approved: Any, bank: Any, bank_officer: Any, login: Any
) -> None:
    lists.list_allocate(actor=credit_office, list_id=approved.pk, bank_ids=[bank.pk])
    best = entry(approved, firms["best"])
    lists.entry_feedback(
        actor=bank_officer, entry_id=best.pk, move="grant", amount=Decimal("300000")
    )
    office = login(credit_office)
    url = f"/loans/lists/{approved.pk}/"

    response = office.get(url + "?export=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == EXPORT_HEADER
    assert len(rows) == 1 + len(QUALIFYING)
    first = dict(zip(rows[0], rows[1], strict=True))
    assert (first["uscc"], first["name"], first["grade"], first["score"]) == (
        firms["best"].uscc,
        "最佳",
        "A",
        "950",
    )
    assert (first["bank"], first["feedback"], first["granted_amount"]) == (
        bank.name,
        "granted",
        "300000.00",
    )
    assert first["town_name"] == "长安镇" and "信用等级 A" in first["reasons"]

    response = office.get(url + "?export=xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    sheet = book.active
    assert sheet is not None
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == EXPORT_HEADER
    assert len(values) == 1 + len(QUALIFYING)
    assert values[1][2] == firms["best"].uscc and values[1][9] == 950
    assert values[1][19] == 300000

    response = office.get(url + "?export=json")
    assert response.status_code == 200
    data = json.loads(b"".join(response.streaming_content))
    assert data["list"]["number"] == approved.number
    assert data["list"]["criteria"]["min_grade"] == "B"
    assert data["list"]["delivery"]["chunks"] == 1
    assert len(data["entries"]) == len(QUALIFYING)
    assert data["entries"][0]["uscc"] == firms["best"].uscc
    assert data["entries"][0]["granted_amount"] == "300000.00"
    assert [r["code"] for r in data["entries"][0]["reasons"]][-1] == "loan_use"

    # a bank's staff export only their own allocated entries
    mine = login(bank_officer).get("/loans/lists/bank/?export=csv")
    bank_rows = list(
        csv.reader(io.StringIO(b"".join(mine.streaming_content).decode().lstrip("\ufeff")))
    )
    # (the enterprise that authorised only the other bank was not allocated to this one)
    assert len(bank_rows) == 1 + len(QUALIFYING) - 1
    assert firms["bank_only"].uscc not in {row[2] for row in bank_rows}


def test_new_opt_in_after_generation_changes_nothing_listed(
    credit_office: Any, firms: Any, rule: Any
) -> None:
    reclist = generated(credit_office, rule)
    opt_in(firms["no_need"])
    assert names(reclist, firms) == QUALIFYING
    assert names(lists.list_generate(actor=credit_office, list_id=reclist.pk), firms) == (
        QUALIFYING | {"no_need"}
    )


# ---------------------------------------------------------------------------------------------
# The pages, end to end
# ---------------------------------------------------------------------------------------------
def test_pages_from_criteria_to_feedback(
    credit_office: Any,
    bank_officer: Any,
    bank: Any,
    firms: Any,
    login: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: Any,
) -> None:
    from tests.lending.test_push import Receiver

    monkeypatch.setattr(push, "http_post", Receiver())
    settings.NATIONAL_PLATFORM_PUSH_LINGER_SECONDS = 0
    office = login(credit_office)
    bad = office.post("/loans/lists/criteria/new/", {"name": "", "min_grade": "B"})
    assert bad.status_code == 400
    saved = office.post(
        "/loans/lists/criteria/new/",
        {
            "name": "页面条件",
            "min_grade": "B",
            "min_years": "1",
            "penalty_years": "3",
            "serious_years": "3",
            "require_premises": "on",
            "require_opt_in": "on",
            "is_active": "on",
        },
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    rule = RecommendationCriteria.objects.get(name="页面条件")
    assert "页面条件" in office.get("/loans/lists/criteria/").content.decode()
    edited = office.post(
        f"/loans/lists/criteria/{rule.pk}/",
        {
            "name": "页面条件",
            "min_grade": "B",
            "min_years": "1",
            "penalty_years": "3",
            "serious_years": "4",
            "require_premises": "on",
            "require_opt_in": "on",
            "is_active": "on",
        },
    )
    assert edited.status_code == 302
    rule.refresh_from_db()
    assert (rule.version, rule.serious_years) == (2, 4)

    made = office.post(
        "/loans/lists/new/",
        {
            "criteria": rule.pk,
            "title": "页面清单",
            "period_start": "2026-10-01",
            "period_end": "2026-12-31",
        },
    )
    assert made.status_code == 302
    reclist = RecommendationList.objects.get(title="页面清单")
    page = f"/loans/lists/{reclist.pk}/"
    assert made["Location"] == page
    assert office.post(page + "generate/").status_code == 302
    detail = office.get(page).content.decode()
    assert "最佳" in detail and "入选依据" in detail and "移出" in detail
    gone = entry(reclist, firms["demand"])
    no_reason = office.post(page + f"entries/{gone.pk}/remove/", {"reason": ""})
    assert no_reason.status_code == 400 and "请填写移出原因" in no_reason.content.decode()
    removed = office.post(
        page + f"entries/{gone.pk}/remove/", {"reason": "已获贷款", "next": page + "?q=x"}
    )
    assert removed.status_code == 302 and removed["Location"] == page + "?q=x"
    assert "已获贷款" in office.get(page + "?shown=removed").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert office.post(page + "approve/").status_code == 302
    detail = office.get(page).content.decode()
    assert "已送达国家平台" in detail and "已送达 1/1 片" in detail
    refused = office.post(page + "generate/")
    assert refused.status_code == 409 and "不能执行该操作" in refused.content.decode()
    assert office.post(page + "allocate/", {}).status_code == 400
    allocated = office.post(page + "allocate/", {"banks": [bank.pk]})
    assert allocated.status_code == 302

    staff = login(bank_officer)
    mine = staff.get("/loans/lists/bank/").content.decode()
    assert "最佳" in mine and "有需求" not in mine
    best = entry(reclist, firms["best"])
    form = staff.get(f"/loans/lists/entries/{best.pk}/")
    assert form.status_code == 200 and "反馈对接结果" in form.content.decode()
    no_amount = staff.post(f"/loans/lists/entries/{best.pk}/", {"move": "grant"})
    assert no_amount.status_code == 400 and "授信金额须大于 0" in no_amount.content.decode()
    done = staff.post(f"/loans/lists/entries/{best.pk}/", {"move": "grant", "amount": "200000"})
    assert done.status_code == 302
    best.refresh_from_db()
    assert (best.feedback, best.granted_amount) == ("granted", Decimal("200000.00"))
    # nothing more to report: the form is gone
    assert "反馈对接结果" not in staff.get(f"/loans/lists/entries/{best.pk}/").content.decode()
    assert "已授信" in office.get(page + "?feedback=granted").content.decode()
