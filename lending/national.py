"""The national platform's wire protocol (全国信易贷平台推送), both ends.

A push is `POST NATIONAL_PLATFORM_URL` with a JSON body and four headers:

- `X-Timestamp`: Unix seconds when the request was signed;
- `X-Nonce`: 32 hex characters, new for every request (a resend gets a new one);
- `X-Signature`: hex HMAC-SHA256 keyed with `NATIONAL_PLATFORM_SECRET` over
  `timestamp + "\\n" + nonce + "\\n" + body`;
- `Idempotency-Key`: one per list and chunk (`<list number>-<chunk>`): stored once.

`receive()` is the receiving end the platform ships as a stand-in for the national platform
(tests, benchmarks and the demo point `NATIONAL_PLATFORM_URL` at it): it verifies the signature,
refuses a timestamp more than `NATIONAL_PLATFORM_MAX_SKEW_SECONDS` away and a nonce seen before,
stores each idempotency key once and answers every request for a key with the same receipt —
`duplicate: true` from the second on."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from lending.models import NationalNonce, NationalReceipt
from xinyidai.core.errors import DomainError

TIMESTAMP = "X-Timestamp"
NONCE = "X-Nonce"
SIGNATURE = "X-Signature"
IDEMPOTENCY_KEY = "Idempotency-Key"
_NONCE_SHAPE = re.compile(r"^[0-9A-Za-z_-]{16,64}$")
_KEY_SHAPE = re.compile(r"^[0-9A-Za-z_.:-]{1,64}$")


def signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, *, key: str, secret: str | None = None) -> dict[str, str]:
    """The headers of one request: a fresh timestamp and nonce, signed."""
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(16)
    return {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP: timestamp,
        NONCE: nonce,
        SIGNATURE: signature(
            secret if secret is not None else settings.NATIONAL_PLATFORM_SECRET,
            timestamp,
            nonce,
            body,
        ),
        IDEMPOTENCY_KEY: key,
    }


def canonical_json(data: Any) -> bytes:
    """The one encoding of a body: a resend of a chunk is byte for byte the first send."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# ---------------------------------------------------------------------------------------------
# The receiving end
# ---------------------------------------------------------------------------------------------
class Refused(DomainError):
    status = 401


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name) or headers.get(name.lower()) or ""
    if not value:
        raise DomainError(
            "missing_header", _("缺少请求头 %(name)s") % {"name": name}, detail={"header": name}
        )
    return value


def verify(
    headers: Mapping[str, str], body: bytes, *, secret: str | None = None, now: float | None = None
) -> tuple[str, str]:
    """Check the signature and the timestamp window; returns (nonce, idempotency key). The nonce
    is checked against those seen before by `receive()`, in its transaction."""
    timestamp = _header(headers, TIMESTAMP)
    nonce = _header(headers, NONCE)
    given = _header(headers, SIGNATURE)
    key = _header(headers, IDEMPOTENCY_KEY)
    if not _NONCE_SHAPE.match(nonce):
        raise Refused("bad_nonce", _("随机数格式不正确"))
    if not _KEY_SHAPE.match(key):
        raise DomainError("bad_idempotency_key", _("幂等键格式不正确"))
    expected = signature(
        secret if secret is not None else settings.NATIONAL_PLATFORM_SECRET, timestamp, nonce, body
    )
    if not hmac.compare_digest(expected, given.strip().lower()):
        raise Refused("bad_signature", _("签名验证失败"))
    try:
        signed_at = int(timestamp)
    except ValueError:
        raise Refused("bad_timestamp", _("时间戳格式不正确")) from None
    clock = time.time() if now is None else now
    if abs(clock - signed_at) > settings.NATIONAL_PLATFORM_MAX_SKEW_SECONDS:
        raise Refused(
            "stale_timestamp",
            _("时间戳超出允许范围（±%(n)d 秒）")
            % {"n": settings.NATIONAL_PLATFORM_MAX_SKEW_SECONDS},
        )
    return nonce, key


def _chunk_facts(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
        rows = data["rows"]
        if not isinstance(rows, list):
            raise TypeError
        seqs = [int(r["seq"]) for r in rows]
        return {
            "list_number": str(data["list"]["number"])[:32],
            "chunk": int(data["chunk"]),
            "rows": len(rows),
            "seq_from": min(seqs) if seqs else None,
            "seq_to": max(seqs) if seqs else None,
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise DomainError("invalid_body", _("报文不是有效的推荐清单分片")) from exc


def receipt_of(receipt: NationalReceipt, *, duplicate: bool) -> dict[str, Any]:
    return {
        "key": receipt.idempotency_key,
        "receipt_id": receipt.pk,
        "received_at": receipt.received_at.isoformat(),
        "rows": receipt.rows,
        "duplicate": duplicate,
    }


def receive(*, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """Verify one request and store its chunk once. Returns the receipt (the same for every
    request with the key; `duplicate` from the second on). A key sent again with another body
    is refused (422): that is a sender's bug, not a resend."""
    nonce, key = verify(headers, body)
    facts = _chunk_facts(body)
    body_digest = digest(body)
    now = timezone.now()
    with transaction.atomic():
        window = timedelta(seconds=2 * settings.NATIONAL_PLATFORM_MAX_SKEW_SECONDS)
        NationalNonce.objects.filter(seen_at__lt=now - window).delete()
        try:
            with transaction.atomic():
                NationalNonce.objects.create(nonce=nonce, seen_at=now)
        except IntegrityError:
            raise Refused("nonce_reused", _("随机数已使用过（疑似重放）")) from None
        try:
            with transaction.atomic():
                receipt = NationalReceipt.objects.create(
                    idempotency_key=key, body_digest=body_digest, received_at=now, **facts
                )
            return receipt_of(receipt, duplicate=False)
        except IntegrityError:
            pass
        receipt = NationalReceipt.objects.select_for_update().get(idempotency_key=key)
        if receipt.body_digest != body_digest:
            raise DomainError(
                "idempotency_key_reused",
                _("该幂等键已用于内容不同的报文"),
                detail={"key": key},
                status=422,
            )
        NationalReceipt.objects.filter(pk=receipt.pk).update(
            duplicates=F("duplicates") + 1, last_duplicate_at=now
        )
        return receipt_of(receipt, duplicate=True)
