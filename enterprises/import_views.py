"""Credit-office pages for importing credit-record files and reading what was rejected."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enterprises import services
from enterprises.models import ImportBatch
from xinyidai.core.csvexport import csv_response
from xinyidai.core.errors import DomainError
from xinyidai.core.types import AuthedRequest
from xinyidai.permissions import Role, can_import_records, role_required


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("数据文件"),
        help_text=gettext_lazy("CSV（UTF-8 或 GB18030）、XLSX 或 JSON Lines；列格式见导入说明"),
    )
    source_department = forms.CharField(
        label=gettext_lazy("来源部门"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("填写后，文件中每一行都视为该部门报送；留空则按文件中的来源部门列"),
    )


class BatchFilterForm(forms.Form):
    department = forms.CharField(label=gettext_lazy("来源部门"), required=False)
    channel = forms.ChoiceField(
        label=gettext_lazy("渠道"),
        required=False,
        choices=[("", gettext_lazy("全部")), ("file", gettext_lazy("文件")), ("api", "API")],
    )


def _batches(user: object) -> QuerySet[ImportBatch]:
    if not can_import_records(user):
        return ImportBatch.objects.none()
    return ImportBatch.objects.select_related("actor").filter(dry_run=False)


@role_required(Role.CREDIT_OFFICE)
def import_list(request: AuthedRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.credit_file_upload(
                actor=request.user,
                uploaded=form.cleaned_data["file"],
                source_department=form.cleaned_data["source_department"],
            )
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            messages.success(request, _("文件已上传，正在导入。"))
            return redirect("import_detail", pk=batch.pk)
    filters = BatchFilterForm(request.GET or None)
    batches = _batches(request.user)
    if filters.is_valid():
        if filters.cleaned_data["department"]:
            batches = batches.filter(
                source_department__icontains=filters.cleaned_data["department"]
            )
        if filters.cleaned_data["channel"]:
            batches = batches.filter(channel=filters.cleaned_data["channel"])
    page = Paginator(batches.order_by("-started_at", "-id"), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "enterprises/import_list.html",
        {"form": form, "filters": filters, "page": page},
    )


@role_required(Role.CREDIT_OFFICE)
def import_detail(request: AuthedRequest, pk: int) -> HttpResponseBase:
    batch = _batches(request.user).filter(pk=pk).first()
    if batch is None:
        raise Http404
    rejections = batch.rejections.order_by("row", "id")
    if request.GET.get("export") == "csv":
        return csv_response(
            f"rejected-{batch.pk}.csv",
            ["row", "field", "code", "message"],
            rejections.values_list("row", "field", "code", "message").iterator(),
        )
    page = Paginator(rejections, 50).get_page(request.GET.get("page"))
    return render(request, "enterprises/import_detail.html", {"batch": batch, "page": page})
