"""The credit office's data-quality report page (数据质量), with CSV export and charts."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enterprises import quality
from xinyidai.core.csvexport import csv_response
from xinyidai.core.types import AuthedRequest
from xinyidai.permissions import Role, role_required

MONTH_FORMAT = "%Y-%m"
PAGE_SIZE = 50


class MonthInput(forms.DateInput):
    input_type = "month"

    def __init__(self) -> None:
        super().__init__(format=MONTH_FORMAT, attrs={"placeholder": "YYYY-MM"})


class QualityFilterForm(forms.Form):
    department = forms.ChoiceField(label=_("来源部门"), required=False)
    month_from = forms.DateField(
        label=_("起始月份"), required=False, input_formats=[MONTH_FORMAT], widget=MonthInput()
    )
    month_to = forms.DateField(
        label=_("截止月份"), required=False, input_formats=[MONTH_FORMAT], widget=MonthInput()
    )

    def __init__(self, *args: Any, departments: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["department"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("全部")), *[(d, d) for d in departments]]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("month_from"), data.get("month_to")
        if start and end and start > end:
            self.add_error("month_to", _("截止月份不能早于起始月份"))
        return data


@role_required(Role.CREDIT_OFFICE, Role.SUPERUSER)
def data_quality(request: AuthedRequest) -> HttpResponseBase:
    form = QualityFilterForm(
        request.GET or None, departments=quality.quality_departments(user=request.user)
    )
    filters = form.cleaned_data if form.is_valid() else {}
    rows = quality.quality_report(
        user=request.user,
        department=filters.get("department") or "",
        month_from=filters.get("month_from"),
        month_to=filters.get("month_to"),
    )
    if request.GET.get("export") == "csv":
        return csv_response(
            f"data-quality-{timezone.localdate():%Y%m%d}.csv",
            quality.QUALITY_CSV_HEADER,
            quality.quality_csv_rows(rows),
        )
    return render(
        request,
        "enterprises/quality_report.html",
        {
            "form": form,
            "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
            "charts": quality.quality_chart_data(rows),
            "threshold": quality.timeliness_threshold(),
        },
    )
