from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from enterprises import resident_id
from enterprises.models import Person, Shareholding
from enterprises.persons import person_id_hash
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "holder_type,holder_uscc,holder_person_id,holder_name,target_uscc,share_percent,"
    "subscribed_capital,as_of"
)
PEOPLE = [resident_id.generate(random.Random(300 + n)) for n in range(4)]


@pytest.fixture
def firms(db: Any) -> list[Any]:
    return [EnterpriseFactory.create() for _ in range(3)]


def line(**fields: str) -> str:
    defaults = dict.fromkeys(HEADER.split(","), "")
    defaults.update(fields)
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(defaults.values())
    return out.getvalue()


def run(tmp_path: Path, *lines: str) -> tuple[int, dict[str, Any], list[dict[str, str]]]:
    path = tmp_path / "holdings.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    errors = tmp_path / "errors.csv"
    out = io.StringIO()
    try:
        call_command(
            "import_shareholdings",
            str(path),
            "--json",
            "--errors-out",
            str(errors),
            stdout=out,
            stderr=io.StringIO(),
        )
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    counts = json.loads(out.getvalue().strip().splitlines()[-1])
    rows = (
        list(csv.DictReader(io.StringIO(errors.read_text("utf-8-sig")))) if errors.exists() else []
    )
    return code, counts, rows


def test_person_and_enterprise_holders(tmp_path: Path, firms: list[Any]) -> None:
    target = firms[0]
    code, counts, _ = run(
        tmp_path,
        line(
            holder_type="person",
            holder_person_id=PEOPLE[0],
            holder_name="王五",
            target_uscc=target.uscc,
            share_percent="59.5",
            subscribed_capital="600000",
            as_of="2026-06-30",
        ),
        line(
            holder_type="enterprise",
            holder_uscc=firms[1].uscc.lower(),
            target_uscc=target.uscc,
            share_percent="40.5",
        ),
    )
    assert code == 0
    assert counts == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    person = Person.objects.get()
    assert person.id_hash == person_id_hash(PEOPLE[0])
    assert person.id_masked == PEOPLE[0][:3] + "*" * 11 + PEOPLE[0][-4:]
    assert PEOPLE[0] not in (person.id_hash + person.id_masked)
    shares = {
        (s.holder_person_id is not None, str(s.share_percent))
        for s in Shareholding.objects.filter(target=target)
    }
    assert shares == {(True, "59.5000"), (False, "40.5000")}


def test_reimport_is_unchanged_and_a_new_share_updates(tmp_path: Path, firms: list[Any]) -> None:
    row = line(
        holder_type="enterprise",
        holder_uscc=firms[1].uscc,
        target_uscc=firms[0].uscc,
        share_percent="30",
    )
    run(tmp_path, row)
    assert run(tmp_path, row)[1] == {"created": 0, "updated": 0, "unchanged": 1, "rejected": 0}
    changed = line(
        holder_type="enterprise",
        holder_uscc=firms[1].uscc,
        target_uscc=firms[0].uscc,
        share_percent="35",
    )
    assert run(tmp_path, changed)[1]["updated"] == 1
    assert str(Shareholding.objects.get().share_percent) == "35.0000"


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"holder_type": "trust"}, "holder_type", "invalid_choice"),
        ({"holder_type": "person", "holder_name": "赵六"}, "holder_person_id", "required"),
        (
            {
                "holder_type": "person",
                "holder_person_id": "110105194912310021",
                "holder_name": "赵六",
            },
            "holder_person_id",
            "invalid_resident_id",
        ),
        ({"holder_type": "enterprise", "holder_uscc": "9144"}, "holder_uscc", "length"),
        ({"share_percent": "0"}, "share_percent", "out_of_range"),
        ({"share_percent": "101"}, "share_percent", "out_of_range"),
        ({"target_uscc": ""}, "target_uscc", "required"),
    ],
)
def test_bad_rows(
    tmp_path: Path, firms: list[Any], fields: dict[str, str], field: str, code: str
) -> None:
    base = {
        "holder_type": "enterprise",
        "holder_uscc": firms[1].uscc,
        "target_uscc": firms[0].uscc,
        "share_percent": "10",
    }
    good = line(
        holder_type="enterprise",
        holder_uscc=firms[2].uscc,
        target_uscc=firms[0].uscc,
        share_percent="20",
    )
    exit_code, counts, errors = run(tmp_path, line(**{**base, **fields}), good)
    assert exit_code == 2
    assert (counts["created"], counts["rejected"]) == (1, 1)
    assert (errors[0]["row"], errors[0]["field"], errors[0]["code"]) == ("1", field, code)


def test_unknown_enterprise_self_holding_and_over_100(tmp_path: Path, firms: list[Any]) -> None:
    from enterprises import uscc

    stranger = uscc.generate(random.Random(999))
    exit_code, counts, errors = run(
        tmp_path,
        line(
            holder_type="enterprise",
            holder_uscc=stranger,
            target_uscc=firms[0].uscc,
            share_percent="10",
        ),
        line(
            holder_type="enterprise",
            holder_uscc=firms[0].uscc,
            target_uscc=firms[0].uscc,
            share_percent="10",
        ),
        line(
            holder_type="enterprise",
            holder_uscc=firms[1].uscc,
            target_uscc=firms[2].uscc,
            share_percent="70",
        ),
        line(
            holder_type="person",
            holder_person_id=PEOPLE[1],
            holder_name="钱七",
            target_uscc=firms[2].uscc,
            share_percent="40",
        ),
    )
    assert exit_code == 2
    assert counts["created"] == 1
    assert sorted((e["row"], e["code"]) for e in errors) == [
        ("1", "unknown_enterprise"),
        ("2", "self_holding"),
        ("4", "shares_exceed_100"),
    ]
    assert not Person.objects.exists()
