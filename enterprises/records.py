"""What the importer and the synthetic generator agree on about a credit record."""

from __future__ import annotations

import hashlib
import json
from typing import Any

# The business fields: everything a department sends, nothing the platform derives.
HASHED_FIELDS = (
    "uscc",
    "enterprise_name",
    "record_type",
    "source_department",
    "source_record_id",
    "document_number",
    "decision_date",
    "penalty_class",
    "amount",
    "value",
    "year",
    "months_paid",
    "months_arrears",
    "fulfilment",
    "valid_until",
    "content",
)


# Columns written for a record by bulk writers (importer and synthetic city), in this order.
STORED_COLUMNS = (
    "enterprise_id",
    *HASHED_FIELDS,
    "publish_min_until",
    "publish_max_until",
    "status",
    "raw",
    "content_hash",
    "created_at",
    "updated_at",
)


def record_content_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the business fields in canonical JSON: equal hashes mean nothing changed."""
    canonical = json.dumps(
        {k: fields.get(k) for k in HASHED_FIELDS},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
