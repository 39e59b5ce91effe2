from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from enterprises.models import Enterprise
from tests.factories import EnterpriseFactory
from xinyidai.core import crypto

pytestmark = pytest.mark.django_db

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
PHONES = ["13812345678", "0769-22123456", ""]


def raw_tokens() -> dict[int, tuple[str, str]]:
    """(legal_rep_id, phone) as stored, by enterprise id, bypassing the field's decryption."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, {qn('legal_rep_id')}, {qn('phone')} FROM {qn('enterprises_enterprise')}"
        )
        return {pk: (rep_id, phone) for pk, rep_id, phone in cursor.fetchall()}


def set_raw(pk: int, column: str, token: str) -> None:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn('enterprises_enterprise')} SET {qn(column)} = %s WHERE id = %s",
            [token, pk],
        )


def rotate(*args: str) -> tuple[str, str, dict[str, Any]]:
    out, err = StringIO(), StringIO()
    call_command("rotate_field_key", "--json", *args, stdout=out, stderr=err)
    text = out.getvalue()
    return text, err.getvalue(), json.loads(text.strip().splitlines()[-1])


def enterprise_counts(summary: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    return {
        c["field"]: (c["rotated"], c["already_current"], c["undecryptable"])
        for c in summary["fields"]
        if c["model"] == "enterprises.Enterprise"
    }


@pytest.fixture
def old_key_enterprises(settings: Any) -> Iterator[list[Enterprise]]:
    settings.FIELD_ENCRYPTION_KEY = OLD
    firms = [EnterpriseFactory.create(phone=phone) for phone in PHONES]
    settings.FIELD_ENCRYPTION_KEY = f"{NEW},{OLD}"
    yield firms


def test_finds_the_encrypted_columns() -> None:
    found = {(model._meta.label, f.name) for model, f in crypto.encrypted_fields()}
    assert {("enterprises.Enterprise", "legal_rep_id"), ("enterprises.Enterprise", "phone")} <= (
        found
    )


def test_rotates_raw_tokens_to_the_first_key(old_key_enterprises: list[Enterprise]) -> None:
    before = raw_tokens()
    text, err, summary = rotate("--chunk-size", "2")

    after = raw_tokens()
    new_only = Fernet(NEW.encode())
    for firm in old_key_enterprises:
        old_id, old_phone = before[firm.pk]
        new_id, new_phone = after[firm.pk]
        assert new_id != old_id
        assert new_only.decrypt(new_id.encode()).decode() == firm.legal_rep_id
        if firm.phone:
            assert new_phone != old_phone
            assert new_only.decrypt(new_phone.encode()).decode() == firm.phone
        else:
            assert new_phone == old_phone == ""
    assert enterprise_counts(summary) == {"legal_rep_id": (3, 0, 0), "phone": (2, 0, 0)}
    assert summary["dry_run"] is False
    assert "enterprises.Enterprise.legal_rep_id: rotated 3, already current 0, undecryptable 0" in (
        text
    )
    assert "enterprises.Enterprise.phone: rotated 2, already current 0, undecryptable 0" in text
    assert err == ""


def test_the_old_key_can_go_after_rotation(
    settings: Any, old_key_enterprises: list[Enterprise]
) -> None:
    rotate()
    settings.FIELD_ENCRYPTION_KEY = NEW
    for firm in old_key_enterprises:
        fresh = Enterprise.objects.get(pk=firm.pk)
        assert (fresh.legal_rep_id, fresh.phone) == (firm.legal_rep_id, firm.phone)


def test_second_run_changes_nothing(old_key_enterprises: list[Enterprise]) -> None:
    rotate()
    rotated_once = raw_tokens()
    text, _err, summary = rotate()
    assert raw_tokens() == rotated_once
    assert enterprise_counts(summary) == {"legal_rep_id": (0, 3, 0), "phone": (0, 2, 0)}
    assert summary["rotated"] == 0
    assert "enterprises.Enterprise.phone: rotated 0, already current 2, undecryptable 0" in text


def test_rerun_after_an_interruption_finishes_the_job(
    old_key_enterprises: list[Enterprise],
) -> None:
    # As if a run had committed its first chunk (one row) and then died.
    first = old_key_enterprises[0]
    token = raw_tokens()[first.pk][0]
    both = MultiFernet([Fernet(NEW.encode()), Fernet(OLD.encode())])
    set_raw(first.pk, "legal_rep_id", both.rotate(token.encode()).decode())

    _text, _err, summary = rotate("--chunk-size", "1")

    assert enterprise_counts(summary) == {"legal_rep_id": (2, 1, 0), "phone": (2, 0, 0)}
    new_only = Fernet(NEW.encode())
    for rep_id, phone in raw_tokens().values():
        for stored in (rep_id, phone):
            if stored:
                new_only.decrypt(stored.encode())


def test_dry_run_writes_nothing(old_key_enterprises: list[Enterprise]) -> None:
    before = raw_tokens()
    text, _err, summary = rotate("--dry-run")
    assert raw_tokens() == before
    assert summary["dry_run"] is True
    assert enterprise_counts(summary) == {"legal_rep_id": (3, 0, 0), "phone": (2, 0, 0)}
    assert "enterprises.Enterprise.legal_rep_id: would rotate 3" in text


def test_undecryptable_value_is_named_not_shown_and_the_rest_still_rotates(
    old_key_enterprises: list[Enterprise],
) -> None:
    lost_key = Fernet(Fernet.generate_key())
    victim = old_key_enterprises[0]
    lost_token = lost_key.encrypt(victim.phone.encode()).decode()
    set_raw(victim.pk, "phone", lost_token)
    before = raw_tokens()

    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("rotate_field_key", "--json", stdout=out, stderr=err)

    assert raised.value.returncode == 1
    report = out.getvalue() + err.getvalue() + str(raised.value)
    assert f"model=enterprises.Enterprise pk={victim.pk} field=phone" in err.getvalue()
    assert victim.phone not in report
    assert lost_token not in report
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert enterprise_counts(summary) == {"legal_rep_id": (3, 0, 0), "phone": (1, 0, 1)}
    fields = {c["field"]: c for c in summary["fields"] if c["model"] == "enterprises.Enterprise"}
    assert fields["phone"]["undecryptable_pks"] == [victim.pk]
    after = raw_tokens()
    assert after[victim.pk][1] == lost_token  # left as it was
    assert after[victim.pk][0] != before[victim.pk][0]  # its other column still rotated
    second = old_key_enterprises[1]
    assert after[second.pk][1] != before[second.pk][1]


def test_a_value_saved_meanwhile_is_not_overwritten(
    monkeypatch: pytest.MonkeyPatch, old_key_enterprises: list[Enterprise]
) -> None:
    firm = old_key_enterprises[0]
    real = crypto.fernet()

    class SaveDuringRotation:
        """The application saves a new phone number between the command's read and write."""

        def encrypt(self, data: bytes) -> bytes:
            return real.encrypt(data)

        def decrypt(self, token: bytes) -> bytes:
            return real.decrypt(token)

        def rotate(self, token: bytes) -> bytes:
            if real.decrypt(token).decode() == firm.phone:
                Enterprise.objects.filter(pk=firm.pk).update(phone="13900001111")
            return real.rotate(token)

    monkeypatch.setattr(crypto, "fernet", lambda: SaveDuringRotation())
    _text, _err, summary = rotate()

    assert Enterprise.objects.get(pk=firm.pk).phone == "13900001111"
    phone = next(c for c in summary["fields"] if c["field"] == "phone")
    assert (phone["rotated"], phone["changed_meanwhile"]) == (1, 1)


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(CommandError, match="chunk-size"):
        call_command("rotate_field_key", "--chunk-size", "0", stdout=StringIO())


def test_decrypt_still_fails_without_any_matching_key(settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEY = OLD
    token = crypto.encrypt("13812345678")
    settings.FIELD_ENCRYPTION_KEY = NEW
    assert crypto.primary_fernet().decrypt(crypto.encrypt("x").encode()) == b"x"
    with pytest.raises(InvalidToken):
        crypto.primary_fernet().decrypt(token.encode())
