from __future__ import annotations

from rest_framework import serializers

from banks.models import Bank, Branch


class BranchSerializer(serializers.ModelSerializer):
    class Meta:
        model = Branch
        fields = ["id", "name", "town", "address"]
        read_only_fields = fields


class BankSerializer(serializers.ModelSerializer):
    branches = BranchSerializer(many=True, read_only=True)

    class Meta:
        model = Bank
        fields = ["id", "name", "fi_code", "uscc", "branches"]
        read_only_fields = fields


class BankInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, label="机构名称")
    fi_code = serializers.CharField(max_length=32, label="金融机构编码")
    uscc = serializers.CharField(max_length=64, label="统一社会信用代码")
    admin_email = serializers.EmailField(required=False, allow_blank=True)
