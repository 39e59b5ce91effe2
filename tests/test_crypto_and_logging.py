from __future__ import annotations

import logging
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from xinyidai.core import crypto
from xinyidai.logging_filters import RedactSensitive, redact


@pytest.mark.django_db
def test_resident_id_is_encrypted_at_rest_and_masked(enterprise: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT legal_rep_id, phone FROM enterprises_enterprise WHERE id = %s", [enterprise.pk]
        )
        stored_id, _phone = cursor.fetchone()
    assert enterprise.legal_rep_id not in stored_id
    assert stored_id.startswith("gAAAA")  # a Fernet token
    fresh = type(enterprise).objects.get(pk=enterprise.pk)
    assert fresh.legal_rep_id == enterprise.legal_rep_id
    assert fresh.legal_rep_id_masked == (
        enterprise.legal_rep_id[:3] + "*" * 11 + enterprise.legal_rep_id[-4:]
    )


def test_keys_rotate_first_encrypts_all_decrypt(settings: Any) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old
    token = crypto.encrypt("440101199001011234")
    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"
    assert crypto.decrypt(token) == "440101199001011234"
    settings.FIELD_ENCRYPTION_KEY = new
    with pytest.raises(ValueError, match="cannot be decrypted"):
        crypto.decrypt(token)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rep 44190019900307123X signed", "rep 441***********123X signed"),
        ("call 13812345678 now", "call 138****5678 now"),
        ("password=hunter2&x=1", "password=***&x=1"),
        ('{"token": "abc123"}', '{"token": "***"}'),
        ("USCC 91441900MA4W0RDN0K stays", "USCC 91441900MA4W0RDN0K stays"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_log_filter_rewrites_record_with_args() -> None:
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "id %s phone %s",
        ("44190019900307123X", "13812345678"),
        None,
    )
    assert RedactSensitive().filter(record)
    assert record.getMessage() == "id 441***********123X phone 138****5678"


@pytest.mark.django_db
def test_database_refuses_a_malformed_uscc(enterprise: Any) -> None:
    from django.db import IntegrityError, transaction

    from enterprises.models import Enterprise

    with pytest.raises(IntegrityError), transaction.atomic():
        Enterprise.objects.filter(pk=enterprise.pk).update(uscc="91441900MA4W0RDNOK")
    with pytest.raises(IntegrityError), transaction.atomic():
        Enterprise.objects.create(uscc="9144190", name="短代码")
