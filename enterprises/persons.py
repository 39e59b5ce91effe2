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


def link_legal_representatives(reps: list[tuple[int, str, str]]) -> int:
    """Make each (enterprise id, resident ID, name) the enterprise's legal representative in the
    graph: the person (found by hash, or created) gets the role, any other holder of it loses it.
    Returns the number of links created or moved."""
    from enterprises.models import KeyPersonnel, Person, PersonnelRole

    if not reps:
        return 0
    wanted = {enterprise: person_id_hash(number) for enterprise, number, _name in reps if number}
    names = {person_id_hash(number): (number, name) for _e, number, name in reps if number}
    known = dict(Person.objects.filter(id_hash__in=names).values_list("id_hash", "id"))
    fresh = [
        Person(id_hash=h, id_masked=person_mask(number), name=name)
        for h, (number, name) in names.items()
        if h not in known
    ]
    for person in Person.objects.bulk_create(fresh, batch_size=1000):
        known[person.id_hash] = person.pk
    role = PersonnelRole.LEGAL_REPRESENTATIVE
    current = {
        (e, p)
        for e, p in KeyPersonnel.objects.filter(enterprise_id__in=wanted, role=role).values_list(
            "enterprise_id", "person_id"
        )
    }
    target = {(e, known[h]) for e, h in wanted.items()}
    stale = current - target
    for enterprise_id, person_id in stale:
        KeyPersonnel.objects.filter(
            enterprise_id=enterprise_id, person_id=person_id, role=role
        ).delete()
    KeyPersonnel.objects.bulk_create(
        [
            KeyPersonnel(enterprise_id=e, person_id=p, role=role, source="登记信息")
            for e, p in target - current
        ],
        batch_size=1000,
    )
    return len(target - current)
