from __future__ import annotations

from rest_framework import serializers

from enterprises.models import Enterprise, EnterpriseClaim


class UsccProblemSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    position = serializers.IntegerField(required=False)


class UsccCheckSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    normalized = serializers.CharField(allow_null=True)
    errors = UsccProblemSerializer(many=True)  # type: ignore[assignment]
    warnings = UsccProblemSerializer(many=True)


class EnterpriseSerializer(serializers.ModelSerializer):
    entity_type = serializers.CharField(read_only=True)
    town_name = serializers.CharField(source="get_town_display", read_only=True)
    status_name = serializers.CharField(source="get_status_display", read_only=True)
    legal_rep_id = serializers.CharField(source="legal_rep_id_masked", read_only=True)
    phone = serializers.CharField(source="phone_masked", read_only=True)

    class Meta:
        model = Enterprise
        fields = [
            "uscc",
            "name",
            "entity_type",
            "region_code",
            "town",
            "town_name",
            "industry_section",
            "industry_division",
            "scale",
            "registered_capital",
            "established_date",
            "status",
            "status_name",
            "legal_rep_name",
            "legal_rep_id",
            "address",
            "phone",
        ]
        read_only_fields = fields


class ClaimInputSerializer(serializers.Serializer):
    uscc = serializers.CharField(max_length=64, label="统一社会信用代码")
    name = serializers.CharField(max_length=200, label="企业名称")
    legal_rep_name = serializers.CharField(max_length=100, label="法定代表人姓名")


class ClaimDecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ClaimSerializer(serializers.ModelSerializer):
    enterprise = serializers.SerializerMethodField()
    applicant = serializers.EmailField(source="user.email", read_only=True)
    status_name = serializers.CharField(source="get_status_display", read_only=True)
    decided_by = serializers.EmailField(source="decided_by.email", read_only=True, default=None)

    class Meta:
        model = EnterpriseClaim
        fields = [
            "id",
            "enterprise",
            "applicant",
            "submitted_name",
            "submitted_legal_rep_name",
            "status",
            "status_name",
            "decided_by",
            "decided_at",
            "decision_reason",
            "created_at",
        ]
        read_only_fields = fields

    def get_enterprise(self, obj: EnterpriseClaim) -> dict[str, str]:
        return {"uscc": obj.enterprise.uscc, "name": obj.enterprise.name}
