"""Pages of recommended lists (推荐清单): the credit office defines criteria, generates,
reviews, approves, allocates and watches the national push; a bank's staff give feedback on
the enterprises allocated to them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from enterprises import reference
from enterprises.authorization_forms import show_domain_error
from lending import list_exports, lists, push
from lending.list_forms import (
    AllocateForm,
    BankEntryFilter,
    CriteriaForm,
    EntryFilter,
    FeedbackForm,
    ListCreateForm,
    ListFilter,
    ReasonForm,
)
from lending.models import (
    NationalDelivery,
    RecommendationCriteria,
    RecommendationEntry,
    RecommendationList,
)
from xinyidai.core.errors import DomainError
from xinyidai.core.types import AuthedRequest
from xinyidai.permissions import BANK_ROLES, role_required

PAGE_SIZE = 50
OFFICE = lists.OFFICE_ROLES
MOVE_LABELS = {
    "create": gettext_lazy("新建"),
    "generate": gettext_lazy("生成名单"),
    "remove": gettext_lazy("移出"),
    "restore": gettext_lazy("恢复"),
    "approve": gettext_lazy("审定"),
    "cancel": gettext_lazy("作废"),
    "allocate": gettext_lazy("分配银行"),
    "push": gettext_lazy("立即推送"),
    "repush": gettext_lazy("重新推送失败分片"),
    "contact": gettext_lazy("已联系"),
    "grant": gettext_lazy("已授信"),
    "decline": gettext_lazy("未授信"),
}
MOVE_DONE = {
    "generate": gettext_lazy("名单已生成，请审核。"),
    "approve": gettext_lazy("清单已审定，正在推送国家平台。"),
    "cancel": gettext_lazy("清单已作废。"),
    "push": gettext_lazy("已安排立即推送。"),
    "repush": gettext_lazy("失败分片已重新安排推送。"),
}
LIST_PAGE_MOVES = ("generate", "approve", "cancel", "push", "repush")


# ---------------------------------------------------------------------------------------------
# Criteria
# ---------------------------------------------------------------------------------------------
@role_required(*OFFICE)
def criteria_list(request: AuthedRequest) -> HttpResponse:
    rows = RecommendationCriteria.objects.order_by("-is_active", "name", "id")
    return render(
        request,
        "lending/reclist_criteria_list.html",
        {"rows": rows, "towns": reference.TOWN_NAMES, "industries": reference.INDUSTRY_SECTIONS},
    )


@role_required(*OFFICE)
def criteria_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    """A new rule, or an edit (its version goes up; lists keep what they were made with)."""
    instance = get_object_or_404(RecommendationCriteria, pk=pk) if pk else None
    initial = CriteriaForm.initial_of(instance) if instance else None
    form = CriteriaForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                if instance is None:
                    lists.criteria_create(actor=request.user, **form.cleaned_data)
                else:
                    lists.criteria_update(
                        actor=request.user, criteria_id=instance.pk, **form.cleaned_data
                    )
            except DomainError as exc:
                show_domain_error(form, exc)
            else:
                messages.success(request, _("推荐条件已保存。"))
                return redirect("reclist_criteria")
        status = 400
    return render(
        request,
        "lending/reclist_criteria_form.html",
        {"form": form, "instance": instance},
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------------------------
@role_required(*OFFICE)
def list_index(request: AuthedRequest) -> HttpResponse:
    form = ListFilter(request.GET)
    qs = lists.lists_visible_to(request.user)
    if form.is_valid():
        if status := form.cleaned_data["status"]:
            qs = qs.filter(status=status)
        if q := form.cleaned_data["q"].strip():
            qs = qs.filter(Q(number__icontains=q) | Q(title__icontains=q))
    else:
        qs = qs.none()
    page = Paginator(qs.order_by("-created_at", "-id"), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "lending/reclist_list.html",
        {
            "form": form,
            "page": page,
            "rows": [{"l": r, "delivery": lists.delivery_state(r)} for r in page],
        },
    )


@role_required(*OFFICE)
def list_create(request: AuthedRequest) -> HttpResponse:
    form = ListCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                reclist = lists.list_create(
                    actor=request.user,
                    criteria_id=data["criteria"].pk,
                    title=data["title"],
                    period_start=data["period_start"],
                    period_end=data["period_end"],
                )
            except DomainError as exc:
                show_domain_error(form, exc)
            else:
                messages.success(request, _("清单已创建，请生成名单。"))
                return redirect("reclist_detail", pk=reclist.pk)
        status = 400
    return render(request, "lending/reclist_form.html", {"form": form}, status=status)


def _filtered_entries(
    reclist: RecommendationList, form: EntryFilter
) -> QuerySet[RecommendationEntry]:
    qs = RecommendationEntry.objects.filter(list=reclist).select_related("bank")
    if not form.is_valid():
        return qs.none()
    data = form.cleaned_data
    shown = data["shown"] or "listed"
    if shown != "all":
        qs = qs.filter(removed=shown == "removed")
    if q := data["q"].strip():
        qs = qs.filter(Q(name__icontains=q) | Q(uscc__icontains=q))
    if data["town"]:
        qs = qs.filter(town=data["town"])
    if data["industry"]:
        qs = qs.filter(industry_section=data["industry"])
    if data["grade"]:
        qs = qs.filter(grade=data["grade"])
    if data["bank"]:
        qs = qs.filter(bank=data["bank"])
    if data["feedback"]:
        qs = qs.filter(feedback=data["feedback"], bank__isnull=False)
    return qs.order_by("seq")


def _detail(
    request: AuthedRequest,
    reclist: RecommendationList,
    *,
    allocate_form: AllocateForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    form = EntryFilter(request.GET)
    page = Paginator(_filtered_entries(reclist, form), PAGE_SIZE).get_page(request.GET.get("page"))
    snapshot = reclist.criteria_snapshot
    allowed = lists.allowed_moves(reclist)
    deliveries = NationalDelivery.objects.filter(list=reclist).order_by("chunk")
    return render(
        request,
        "lending/reclist_detail.html",
        {
            "l": reclist,
            "form": form,
            "page": page,
            "rows": [
                {
                    "e": e,
                    "reasons": lists.reasons(e, snapshot),
                    "town": reference.TOWN_NAMES.get(e.town, e.town),
                }
                for e in page
            ],
            "counts": lists.list_counts(reclist),
            "delivery": lists.delivery_state(reclist),
            "deliveries": deliveries,
            "moves": [
                {"move": m, "label": MOVE_LABELS[m], "danger": m == "cancel"}
                for m in LIST_PAGE_MOVES
                if m in allowed
            ],
            "may_review": "remove" in allowed,
            "allocate_form": allocate_form
            if allocate_form is not None
            else (AllocateForm() if "allocate" in allowed else None),
            "events": [
                {"e": ev, "label": MOVE_LABELS.get(ev.move, ev.move)}
                for ev in reclist.events.select_related("actor").order_by("-at", "-id")[:50]
            ],
            "snapshot": snapshot,
            "snapshot_towns": [reference.TOWN_NAMES.get(t, t) for t in snapshot.get("towns", [])],
            "snapshot_industries": [
                f"{s} {reference.INDUSTRY_SECTIONS.get(s, '')}"
                for s in snapshot.get("industries", [])
            ],
            "error": error,
        },
        status=status,
    )


@role_required(*OFFICE)
def list_detail(request: AuthedRequest, pk: int) -> HttpResponseBase:
    reclist = get_object_or_404(lists.lists_visible_to(request.user), pk=pk)
    kind = request.GET.get("export", "")
    if kind in list_exports.FORMATS:
        qs = _filtered_entries(reclist, EntryFilter(request.GET))
        return list_exports.export(kind, f"recommended-list-{reclist.number}", qs, reclist)
    return _detail(request, reclist)


def _refused(request: AuthedRequest, reclist: RecommendationList, exc: DomainError) -> HttpResponse:
    reclist.refresh_from_db()
    return _detail(request, reclist, error=exc.message, status=exc.status)


@require_POST
@role_required(*OFFICE)
def list_move(request: AuthedRequest, pk: int, move: str) -> HttpResponse:
    reclist = get_object_or_404(lists.lists_visible_to(request.user), pk=pk)
    if move not in LIST_PAGE_MOVES:
        return redirect("reclist_detail", pk=pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    user = request.user
    try:
        if move == "generate":
            lists.list_generate(actor=user, list_id=pk)
        elif move == "approve":
            lists.list_approve(actor=user, list_id=pk, reason=reason)
        elif move == "cancel":
            lists.list_cancel(actor=user, list_id=pk, reason=reason)
        elif move == "push":
            push.list_push_now(actor=user, list_id=pk)
        else:
            push.list_repush(actor=user, list_id=pk)
    except DomainError as exc:
        return _refused(request, reclist, exc)
    messages.success(request, str(MOVE_DONE[move]))
    return redirect("reclist_detail", pk=pk)


@require_POST
@role_required(*OFFICE)
def list_allocate(request: AuthedRequest, pk: int) -> HttpResponse:
    reclist = get_object_or_404(lists.lists_visible_to(request.user), pk=pk)
    form = AllocateForm(request.POST)
    if not form.is_valid():
        return _detail(request, reclist, allocate_form=form, status=400)
    data = form.cleaned_data
    try:
        result = lists.list_allocate(
            actor=request.user,
            list_id=pk,
            bank_ids=[b.pk for b in data["banks"]],
            towns=data["towns"],
            industries=data["industries"],
            reallocate=data["reallocate"],
        )
    except DomainError as exc:
        if exc.status == 400:
            show_domain_error(form, exc)
            return _detail(request, reclist, allocate_form=form, status=400)
        return _refused(request, reclist, exc)
    message = _("已分配 %(n)d 家企业。") % {"n": result.total}
    if result.without_consent:
        message += _("%(n)d 家未授权所选银行，未分配。") % {"n": result.without_consent}
    messages.success(request, message)
    return redirect("reclist_detail", pk=pk)


@require_POST
@role_required(*OFFICE)
def entry_move(request: AuthedRequest, pk: int, entry: int, move: str) -> HttpResponse:
    reclist = get_object_or_404(lists.lists_visible_to(request.user), pk=pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    if move not in {"remove", "restore"}:
        return redirect("reclist_detail", pk=pk)
    service = lists.entry_remove if move == "remove" else lists.entry_restore
    try:
        done = service(actor=request.user, list_id=pk, entry_id=entry, reason=reason)
    except DomainError as exc:
        return _refused(request, reclist, exc)
    messages.success(
        request,
        (_("已移出：%(name)s") if move == "remove" else _("已恢复：%(name)s"))
        % {"name": done.name},
    )
    back = request.POST.get("next", "")
    here = f"/loans/lists/{pk}/"
    return redirect(back if back.startswith(here) else here)


# ---------------------------------------------------------------------------------------------
# Banks: the enterprises allocated to them, and feedback
# ---------------------------------------------------------------------------------------------
@role_required(*BANK_ROLES)
def bank_entries(request: AuthedRequest) -> HttpResponseBase:
    form = BankEntryFilter(request.GET)
    qs = lists.entries_allocated_to(request.user)
    if form.is_valid():
        data = form.cleaned_data
        if data["list"]:
            qs = qs.filter(list_id=data["list"])
        if q := data["q"].strip():
            qs = qs.filter(Q(name__icontains=q) | Q(uscc__icontains=q))
        if data["feedback"]:
            qs = qs.filter(feedback=data["feedback"])
    else:
        qs = qs.none()
    kind = request.GET.get("export", "")
    if kind in list_exports.FORMATS:
        return list_exports.export(kind, "recommended-enterprises", qs)
    page = Paginator(qs.order_by("-list__approved_at", "list_id", "seq"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "lending/reclist_bank_entries.html",
        {
            "form": form,
            "page": page,
            "rows": [{"e": e, "town": reference.TOWN_NAMES.get(e.town, e.town)} for e in page],
        },
    )


@role_required(*BANK_ROLES)
def entry_feedback(request: AuthedRequest, entry: int) -> HttpResponse:
    item = get_object_or_404(lists.entries_allocated_to(request.user), pk=entry)
    allowed = lists.feedback_moves(item)
    form: forms.Form = FeedbackForm(request.POST or None, allowed=allowed)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                lists.entry_feedback(
                    actor=request.user,
                    entry_id=item.pk,
                    move=data["move"],
                    amount=data.get("amount"),
                    decline_reason=data.get("decline_reason") or "",
                    note=data.get("note") or "",
                )
            except DomainError as exc:
                show_domain_error(form, exc)
            else:
                messages.success(request, _("已记录对接结果。"))
                return redirect("reclist_feedback", entry=item.pk)
        status = 400
    return render(
        request,
        "lending/reclist_feedback.html",
        {
            "e": item,
            "form": form if allowed else None,
            "reasons": lists.reasons(item, item.list.criteria_snapshot),
            "town": reference.TOWN_NAMES.get(item.town, item.town),
            "industry": reference.INDUSTRY_SECTIONS.get(item.industry_section, ""),
            "events": item.events.select_related("actor").order_by("-at", "-id"),
            "labels": MOVE_LABELS,
        },
        status=status,
    )
