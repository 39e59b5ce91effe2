"""The banks' service league table page (服务排名), with CSV export and a chart."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from lending import league
from xinyidai.core.csvexport import csv_response
from xinyidai.core.types import AuthedRequest
from xinyidai.permissions import role_required

DATE_ERRORS = {"invalid": _("请输入有效的日期（YYYY-MM-DD）")}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class LeagueFilterForm(forms.Form):
    """`from` and `to` (submission dates, Beijing, both included); empty = the default."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from"] = forms.DateField(
            label=_("提交日期自"), required=False, error_messages=DATE_ERRORS, widget=DateInput()
        )
        self.fields["to"] = forms.DateField(
            label=_("提交日期至"), required=False, error_messages=DATE_ERRORS, widget=DateInput()
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        period = league.resolve_period(data.get("from"), data.get("to"))
        for name, message in league.period_errors(period.start, period.end).items():
            self.add_error(name, message)
        data["from"], data["to"] = period.start, period.end
        return data


@role_required(*league.VIEWER_ROLES)
def league_table(request: AuthedRequest) -> HttpResponseBase:
    form = LeagueFilterForm({name: request.GET.get(name, "") for name in ("from", "to")})
    period = None
    rows: list[league.LeagueRow] = []
    if form.is_valid():
        period = league.Period(start=form.cleaned_data["from"], end=form.cleaned_data["to"])
        rows = league.league_table(user=request.user, period=period)
        if request.GET.get("export") == "csv":
            return csv_response(
                f"bank-league-{period.start:%Y%m%d}-{period.end:%Y%m%d}.csv",
                league.LEAGUE_CSV_HEADER,
                league.league_csv_rows(rows),
            )
        # show the period actually counted (the defaults filled in)
        form = LeagueFilterForm(
            initial={"from": period.start.isoformat(), "to": period.end.isoformat()}
        )
    return render(
        request,
        "lending/league.html",
        {
            "form": form,
            "period": period,
            "rows": rows,
            "charts": league.league_chart_data(rows),
            "has_figures": any(r.received for r in rows),
            "own_bank_id": league.own_bank_id(request.user),
        },
    )
