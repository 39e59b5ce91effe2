from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from enterprises.importing.run import import_records, result_payload
from enterprises.importing.sources import rows_from_dicts
from xinyidai.api.utils import acting_user
from xinyidai.core.errors import DomainError
from xinyidai.permissions import HasRole, Role

MAX_BATCH = 10_000


class BatchInputSerializer(serializers.Serializer):
    records = serializers.ListField(
        child=serializers.DictField(), allow_empty=False, max_length=MAX_BATCH
    )


class BatchErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="1-based position in `records`")
    field = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class BatchResultSerializer(serializers.Serializer):
    batch_id = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()
    errors = BatchErrorSerializer(many=True)  # type: ignore[assignment]


class CreditRecordBatchView(APIView):
    """A department's system sends up to 10,000 records; valid ones are upserted by
    (source_department, source_record_id), invalid ones come back with row-level errors."""

    permission_classes = [HasRole.of(Role.DATA_SOURCE)]

    @extend_schema(request=BatchInputSerializer, responses={201: BatchResultSerializer})
    def post(self, request: Request) -> Response:
        user = acting_user(request)
        if not user.department:
            raise DomainError(
                "no_department", _("该数据报送账号未配置所属部门，请联系信用办"), status=403
            )
        records = request.data.get("records") if isinstance(request.data, dict) else None
        if isinstance(records, list) and len(records) > MAX_BATCH:
            raise DomainError(
                "batch_too_large",
                _("每批最多 %(max)d 条记录，本批 %(count)d 条")
                % {"max": MAX_BATCH, "count": len(records)},
                status=413,
            )
        data = BatchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = import_records(
            rows_from_dicts(data.validated_data["records"]),
            source_department=user.department,
            actor=user,
            channel="api",
        )
        return Response(
            {"batch_id": result.batch_id, **result_payload(result)}, status=status.HTTP_201_CREATED
        )
