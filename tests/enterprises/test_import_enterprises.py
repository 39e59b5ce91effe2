from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from enterprises import resident_id, uscc
from enterprises.models import Enterprise

pytestmark = pytest.mark.django_db

HEADER = (
    "uscc,name,established_date,registered_capital,industry_code,town,status,legal_rep_name,"
    "legal_rep_id,address,phone"
)
CODES = [uscc.generate(random.Random(100 + n)) for n in range(5)]
IDS = [resident_id.generate(random.Random(200 + n)) for n in range(5)]


def row(n: int, **over: str) -> str:
    fields = {
        "uscc": CODES[n],
        "name": f"东莞市测试{n}号有限公司",
        "established_date": "2015-06-01",
        "registered_capital": "5000000",
        "industry_code": "C3911",
        "town": "石碣",
        "status": "存续",
        "legal_rep_name": "李四",
        "legal_rep_id": IDS[n],
        "address": "东莞市石碣镇某路1号",
        "phone": "13800138000",
    }
    fields.update(over)
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields.values())
    return out.getvalue()


def run(tmp_path: Path, text: str, *args: str) -> tuple[int, dict[str, int], list[dict[str, str]]]:
    path = tmp_path / "registry.csv"
    path.write_text(text, encoding="utf-8")
    errors = tmp_path / "errors.csv"
    out = io.StringIO()
    try:
        call_command(
            "import_enterprises",
            str(path),
            "--json",
            "--errors-out",
            str(errors),
            *args,
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


def test_imports_normalises_and_encrypts(tmp_path: Path) -> None:
    code, counts, _ = run(
        tmp_path, "\n".join([HEADER, row(0), row(1, town="南城街道", industry_code="F")])
    )
    assert code == 0
    assert counts == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    first = Enterprise.objects.get(uscc=CODES[0])
    assert (first.town, first.industry_section, first.industry_division) == ("shijie", "C", "39")
    assert (first.status, str(first.registered_capital)) == ("active", "5000000.00")
    assert first.legal_rep_id == IDS[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT legal_rep_id FROM enterprises_enterprise WHERE uscc = %s", [CODES[0]]
        )
        assert IDS[0] not in cursor.fetchone()[0]
    second = Enterprise.objects.get(uscc=CODES[1])
    assert (second.town, second.industry_section, second.industry_division) == ("nancheng", "F", "")


def test_second_import_is_unchanged_and_changes_update(tmp_path: Path) -> None:
    text = "\n".join([HEADER, row(0), row(1)])
    run(tmp_path, text)
    assert run(tmp_path, text)[1] == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 0}
    changed = "\n".join([HEADER, row(0, status="注销"), row(1)])
    assert run(tmp_path, changed)[1] == {"created": 0, "updated": 1, "unchanged": 1, "rejected": 0}
    assert Enterprise.objects.get(uscc=CODES[0]).status == "cancelled"


@pytest.mark.parametrize(
    ("override", "field", "code"),
    [
        (
            {"uscc": CODES[0][:-1] + ("0" if CODES[0][-1] != "0" else "1")},
            "uscc",
            "check_character",
        ),
        ({"name": ""}, "name", "required"),
        ({"town": "火星镇"}, "town", "invalid_choice"),
        ({"industry_code": "99"}, "industry_code", "invalid_choice"),
        ({"status": "破产"}, "status", "invalid_choice"),
        ({"established_date": "2099-01-01"}, "established_date", "future_date"),
        ({"registered_capital": "-5"}, "registered_capital", "negative_amount"),
        (
            {"legal_rep_id": IDS[0][:-1] + ("0" if IDS[0][-1] != "0" else "1")},
            "legal_rep_id",
            "invalid_resident_id",
        ),
    ],
)
def test_bad_rows_are_rejected_and_good_rows_kept(
    tmp_path: Path, override: dict[str, str], field: str, code: str
) -> None:
    exit_code, counts, errors = run(tmp_path, "\n".join([HEADER, row(0, **override), row(1)]))
    assert exit_code == 2
    assert counts == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    assert [(e["row"], e["field"], e["code"]) for e in errors] == [("1", field, code)]
    assert list(Enterprise.objects.values_list("uscc", flat=True)) == [CODES[1]]
    # the resident ID number itself never appears in an error message
    assert all(IDS[0] not in e["message"] for e in errors)


def test_duplicate_uscc_in_file(tmp_path: Path) -> None:
    exit_code, _counts, errors = run(tmp_path, "\n".join([HEADER, row(0), row(0, name="别名")]))
    assert exit_code == 2
    assert [(e["row"], e["code"]) for e in errors] == [("2", "duplicate_in_file")]
    assert Enterprise.objects.get().name == "东莞市测试0号有限公司"


def test_missing_required_column_refuses_the_file(tmp_path: Path) -> None:
    exit_code, counts, _ = run(tmp_path, "name,town\n某公司,石碣\n")
    assert exit_code == 1
    assert "error" in counts
    assert not Enterprise.objects.exists()


def test_legal_representative_becomes_a_key_personnel_link(tmp_path: Path) -> None:
    from enterprises.models import KeyPersonnel, Person
    from enterprises.persons import person_id_hash

    run(tmp_path, "\n".join([HEADER, row(0), row(1, legal_rep_id=IDS[0], legal_rep_name="李四")]))
    links = KeyPersonnel.objects.filter(role=1).select_related("person", "enterprise")
    assert {(k.enterprise.uscc, k.person.id_hash) for k in links} == {
        (CODES[0], person_id_hash(IDS[0])),
        (CODES[1], person_id_hash(IDS[0])),
    }
    assert Person.objects.count() == 1  # the same number is the same person
    # a new legal representative replaces the old link
    run(tmp_path, "\n".join([HEADER, row(0, legal_rep_id=IDS[2], legal_rep_name="周八")]))
    assert KeyPersonnel.objects.get(enterprise__uscc=CODES[0], role=1).person.name == "周八"
