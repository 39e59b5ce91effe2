"""Encryption of sensitive fields at rest (resident IDs, phone numbers).

`FIELD_ENCRYPTION_KEY` holds one or more comma-separated Fernet keys; the first encrypts, all
decrypt (so keys can be rotated). Without it (development only) a key is derived from SECRET_KEY.
`rotate_encrypted_fields()` (command `rotate_field_key`) re-encrypts stored values under the
first key so that an old key can be removed; see docs/SECURITY.md.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Iterator
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.db import connections, models, router, transaction


def development_key(secret_key: str) -> str:
    """The Fernet key used when FIELD_ENCRYPTION_KEY is unset (development only)."""
    return base64.urlsafe_b64encode(
        hashlib.sha256(("field-key:" + secret_key).encode()).digest()
    ).decode()


def current_keys() -> str:
    """FIELD_ENCRYPTION_KEY as this process uses it, for another process that must read the
    same rows (benchmarks start servers with other secret keys)."""
    return settings.FIELD_ENCRYPTION_KEY or development_key(settings.SECRET_KEY)


@cache
def _fernets(keys: str, secret_key: str) -> tuple[Fernet, ...]:
    if keys:
        return tuple(Fernet(k.strip().encode()) for k in keys.split(",") if k.strip())
    return (Fernet(development_key(secret_key).encode()),)


@cache
def _fernet(keys: str, secret_key: str) -> MultiFernet:
    return MultiFernet(list(_fernets(keys, secret_key)))


def fernet() -> MultiFernet:
    return _fernet(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY)


def primary_fernet() -> Fernet:
    """The key new values are encrypted with (the first of FIELD_ENCRYPTION_KEY)."""
    return _fernets(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY)[0]


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("encrypted field cannot be decrypted with the configured keys") from exc


class EncryptedTextField(models.TextField):
    """A text field stored as a Fernet token; Python code only ever sees the clear text."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))


# ---------------------------------------------------------------------------------------------
# Key rotation
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class FieldRotation:
    """What rotation did (or, in a dry run, would do) to one encrypted column."""

    model: str  # app_label.ModelName
    field: str
    rotated: int = 0
    already_current: int = 0
    undecryptable: int = 0
    # Rows the application rewrote between our read and our write; they were left as written.
    changed_meanwhile: int = 0
    undecryptable_pks: list[Any] = dataclasses.field(default_factory=list)


def encrypted_fields() -> Iterator[tuple[type[models.Model], EncryptedTextField]]:
    """Every concrete EncryptedTextField column of every installed model, each table once."""
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        for f in meta.local_concrete_fields:
            if isinstance(f, EncryptedTextField):
                yield model, f


def _rotate_column(
    model: type[models.Model], enc_field: EncryptedTextField, *, dry_run: bool, chunk_size: int
) -> FieldRotation:
    meta = model._meta
    result = FieldRotation(model=meta.label, field=enc_field.name)
    connection = connections[router.db_for_write(model)]
    qn = connection.ops.quote_name
    pk_column, enc_column = meta.pk.column if meta.pk else None, enc_field.column
    if not pk_column or not enc_column:  # not a concrete column: nothing stored to rotate
        return result
    table, pk, col = qn(meta.db_table), qn(pk_column), qn(enc_column)
    select = f"SELECT {pk}, {col} FROM {table} WHERE {col} <> ''"  # noqa: S608
    first_page = f"{select} ORDER BY {pk} LIMIT %s"
    next_page = f"{select} AND {pk} > %s ORDER BY {pk} LIMIT %s"
    update = f"UPDATE {table} SET {col} = %s WHERE {pk} = %s AND {col} = %s"  # noqa: S608
    primary, every_key = primary_fernet(), fernet()
    last: Any = None
    while True:
        # One transaction per chunk: every row is readable under the old and the new key list
        # at all times, so an interrupted run leaves a consistent table and a re-run finishes.
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            if last is None:
                cursor.execute(first_page, [chunk_size])
            else:
                cursor.execute(next_page, [last, chunk_size])
            rows = cursor.fetchall()
            for row_pk, stored in rows:
                token = stored.encode()
                try:
                    primary.decrypt(token)
                except InvalidToken:
                    pass
                else:
                    result.already_current += 1
                    continue
                try:
                    fresh = every_key.rotate(token)
                except InvalidToken:
                    result.undecryptable += 1
                    result.undecryptable_pks.append(row_pk)
                    continue
                if dry_run:
                    result.rotated += 1
                    continue
                # Compare-and-set: a value the application saved meanwhile is already current.
                cursor.execute(update, [fresh.decode(), row_pk, stored])
                if cursor.rowcount == 1:
                    result.rotated += 1
                else:
                    result.changed_meanwhile += 1
        if len(rows) < chunk_size:
            return result
        last = rows[-1][0]


def rotate_encrypted_fields(*, dry_run: bool = False, chunk_size: int = 500) -> dict[str, Any]:
    """Re-encrypt every stored EncryptedTextField value under the first FIELD_ENCRYPTION_KEY.

    Works on the stored tokens (MultiFernet.rotate), never through model instances. Values
    already under the first key are not written, so the function is idempotent. Values that no
    configured key decrypts are counted and their primary keys listed; the rest is still
    rotated. Returns a JSON-serialisable summary.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    columns = [
        _rotate_column(model, f, dry_run=dry_run, chunk_size=chunk_size)
        for model, f in encrypted_fields()
    ]
    return {
        "dry_run": dry_run,
        "keys": len(_fernets(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY)),
        "rotated": sum(c.rotated for c in columns),
        "already_current": sum(c.already_current for c in columns),
        "undecryptable": sum(c.undecryptable for c in columns),
        "changed_meanwhile": sum(c.changed_meanwhile for c in columns),
        "fields": [dataclasses.asdict(c) for c in columns],
    }
