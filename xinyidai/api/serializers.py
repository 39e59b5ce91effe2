from __future__ import annotations

from rest_framework import serializers


class InvitationInputSerializer(serializers.Serializer):
    email = serializers.EmailField(label="受邀邮箱")
    role = serializers.CharField(max_length=10, label="角色")
    branch = serializers.IntegerField(required=False, allow_null=True, label="所属网点")


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.CharField()
    expires_at = serializers.DateTimeField()


class MeEnterpriseSerializer(serializers.Serializer):
    uscc = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField()


class MeBankSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()
    branch = serializers.CharField(allow_null=True)


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField()
    full_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    mfa_enabled = serializers.BooleanField()
    mfa_required = serializers.BooleanField()
    enterprise = MeEnterpriseSerializer(allow_null=True)
    bank = MeBankSerializer(allow_null=True)


class TokenInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    otp_code = serializers.CharField(required=False, allow_blank=True, default="")


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
