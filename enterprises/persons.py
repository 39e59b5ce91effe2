"""Identity of natural persons without keeping their resident ID numbers.

A person is known by a salted HMAC-SHA256 of the resident ID (the key is PERSON_ID_KEY, kept
apart from SECRET_KEY so that rotating the secret key does not orphan every person; a leaked
table cannot be reversed by hashing every possible number without it)
and shown by the masked number. Everyone who creates or looks up a `Person` goes through these
two functions so that the same number always gives the same row.
"""

from __future__ import annotations

import hmac
from functools import cache

from django.conf import settings

from enterprises import resident_id


@cache
def _key(person_id_key: str) -> bytes:
    return ("person-id:" + person_id_key).encode()


def person_id_hash(number: str) -> str:
    """Hex HMAC-SHA256 of the normalised resident ID (full-width digits, spaces and a lower-case
    x are normalised first, so every spelling of one number gives one hash)."""
    return hmac.new(
        _key(settings.PERSON_ID_KEY), resident_id.normalize(number).encode(), "sha256"
    ).hexdigest()


def person_mask(number: str) -> str:
    """The displayable form, e.g. 441***********123X."""
    return resident_id.mask(number)
