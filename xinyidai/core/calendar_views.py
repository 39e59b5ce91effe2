"""Credit-office page for the holiday calendar: one year's schedule, entered day by day or as
a CSV file, and the statement that the year is complete."""

from __future__ import annotations

from datetime import date
from itertools import groupby
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinyidai.core import calendar
from xinyidai.core.errors import DomainError
from xinyidai.core.models import CalendarDayKind
from xinyidai.core.types import AuthedRequest
from xinyidai.permissions import Role, role_required

CSV_MAX_BYTES = 256 * 1024


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class DayForm(forms.Form):
    day = forms.DateField(label=gettext_lazy("日期"), widget=DateInput())
    kind = forms.ChoiceField(
        label=gettext_lazy("类型"), choices=CalendarDayKind.choices, widget=forms.RadioSelect
    )
    name = forms.CharField(
        label=gettext_lazy("节日"),
        max_length=calendar.NAME_MAX,
        required=False,
        help_text=gettext_lazy("如 春节、国庆节"),
    )
    note = forms.CharField(
        label=gettext_lazy("依据"),
        max_length=calendar.NOTE_MAX,
        required=False,
        help_text=gettext_lazy("如 国办发明电〔2026〕X号"),
    )


class DeleteForm(forms.Form):
    day = forms.DateField()


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV 文件"),
        help_text=gettext_lazy("列：date,kind,name,note；UTF-8 或 GB18030"),
    )

    def clean_file(self) -> Any:
        uploaded = self.cleaned_data["file"]
        if uploaded.size > CSV_MAX_BYTES:
            raise forms.ValidationError(
                _("文件过大（上限 %(kb)d KB），节假日安排每年只有几十行")
                % {"kb": CSV_MAX_BYTES // 1024}
            )
        return uploaded


class ConfirmForm(forms.Form):
    published_ref = forms.CharField(
        label=gettext_lazy("发布文号"),
        max_length=calendar.REF_MAX,
        help_text=gettext_lazy(
            "国务院办公厅关于该年度部分节假日安排的通知，如 国办发明电〔2026〕X号"
        ),
    )


def _year_of(request: AuthedRequest) -> int:
    raw = request.GET.get("year", "")
    if not raw:
        return calendar.default_year()
    try:
        year = int(raw)
    except ValueError:
        raise Http404 from None
    if not calendar.valid_year(year):
        raise Http404
    return year


def _to_year(year: int) -> HttpResponse:
    return redirect(f"{reverse('calendar_year')}?year={year}")


@role_required(Role.CREDIT_OFFICE, Role.SUPERUSER)
def calendar_year(request: AuthedRequest) -> HttpResponseBase:
    """GET shows a year; POST `action` = set | delete | import | confirm changes it."""
    year = _year_of(request)
    day_form = DayForm(prefix="day", initial={"kind": CalendarDayKind.HOLIDAY})
    import_form = ImportForm(prefix="csv")
    confirm_form = ConfirmForm(prefix="confirm")
    import_errors: list[dict[str, Any]] = []

    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "set":
            day_form = DayForm(request.POST, prefix="day")
            if day_form.is_valid() and (day := _set_day(request, day_form)):
                return _to_year(day.year)
        elif action == "delete":
            return _delete_day(request)
        elif action == "import":
            import_form = ImportForm(request.POST, request.FILES, prefix="csv")
            if import_form.is_valid() and (years := _import(request, import_form, import_errors)):
                return _to_year(year if year in years else min(years))
        elif action == "confirm":
            confirm_form = ConfirmForm(request.POST, prefix="confirm")
            if confirm_form.is_valid() and _confirm(request, year, confirm_form):
                return _to_year(year)
        else:
            return HttpResponseBadRequest()

    schedule = calendar.calendar_year_schedule(year)
    if request.method == "GET" and "edit" in request.GET:
        # "edit" prefills the form with an entered day, or a library day to override
        edit = next((d for d in schedule.days if d.day.isoformat() == request.GET["edit"]), None)
        if edit is not None:
            day_form = DayForm(
                prefix="day",
                initial={
                    "day": edit.day.isoformat(),
                    "kind": edit.kind,
                    "name": edit.name,
                    "note": edit.note,
                },
            )
    if not confirm_form.is_bound and schedule.confirmation is not None:
        confirm_form = ConfirmForm(
            prefix="confirm", initial={"published_ref": schedule.confirmation.published_ref}
        )
    months = [(month, list(days)) for month, days in groupby(schedule.days, lambda d: d.day.month)]
    return render(
        request,
        "core/calendar_year.html",
        {
            "year": year,
            "schedule": schedule,
            "months": months,
            "entered_count": len(schedule.entered),
            "day_form": day_form,
            "import_form": import_form,
            "confirm_form": confirm_form,
            "import_errors": import_errors,
            "previous_year": year - 1 if calendar.valid_year(year - 1) else None,
            "next_year": year + 1 if calendar.valid_year(year + 1) else None,
            "first_year": calendar.earliest_year(),
            "last_year": calendar.LATEST_YEAR,
        },
    )


def _form_errors(form: forms.Form, exc: DomainError) -> None:
    """A service's refusal on the fields it names, else on the form."""
    named = exc.detail if isinstance(exc.detail, dict) else {}
    fields = [f for f in named if f in form.fields]
    if not fields:
        form.add_error(None, exc.message)
    for f in fields:
        for message in named[f]:
            form.add_error(f, message if message != "required" else exc.message)


def _set_day(request: AuthedRequest, form: DayForm) -> date | None:
    data = form.cleaned_data
    try:
        row = calendar.calendar_day_set(
            actor=request.user,
            day=data["day"],
            kind=data["kind"],
            name=data["name"],
            note=data["note"],
        )
    except DomainError as exc:
        _form_errors(form, exc)
        return None
    messages.success(
        request,
        _("已保存：%(day)s %(kind)s %(name)s")
        % {"day": row.day.isoformat(), "kind": row.get_kind_display(), "name": row.name},
    )
    return row.day


def _delete_day(request: AuthedRequest) -> HttpResponseBase:
    form = DeleteForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest()
    day = form.cleaned_data["day"]
    try:
        calendar.calendar_day_delete(actor=request.user, day=day)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已删除 %(day)s 的安排") % {"day": day.isoformat()})
    return _to_year(day.year)


def _import(
    request: AuthedRequest, form: ImportForm, errors: list[dict[str, Any]]
) -> set[int] | None:
    """The years imported, or None with the file's problems on the form and in `errors`."""
    try:
        rows = calendar.read_calendar_csv(form.cleaned_data["file"].read())
        result = calendar.calendar_import(actor=request.user, rows=rows)
    except DomainError as exc:
        form.add_error("file", exc.message)
        if isinstance(exc.detail, dict):
            errors.extend(exc.detail.get("errors", []))
        return None
    messages.success(
        request,
        _("已导入 %(total)d 行：新增 %(created)d，修改 %(updated)d，未变 %(unchanged)d。")
        % {
            "total": result.total,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        },
    )
    return result.years


def _confirm(request: AuthedRequest, year: int, form: ConfirmForm) -> bool:
    try:
        calendar.calendar_year_confirm(
            actor=request.user, year=year, published_ref=form.cleaned_data["published_ref"]
        )
    except DomainError as exc:
        _form_errors(form, exc)
        return False
    messages.success(request, _("%(year)d 年的安排已确认为完整。") % {"year": year})
    return True
