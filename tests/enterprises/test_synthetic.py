from __future__ import annotations

import re
from collections import Counter, defaultdict
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Sum

from enterprises import resident_id, synthetic, uscc
from enterprises.models import CreditRecord, Enterprise, Person, Shareholding
from enterprises.persons import person_id_hash, person_mask
from enterprises.publication import publication_window
from enterprises.records import HASHED_FIELDS, record_content_hash
from xinyidai.core import crypto
from xinyidai.core.models import User

N = 2000
SEED = 11
DEMO_FIRMS = 8


# ---------------------------------------------------------------------------------------------
# The generator alone (no database)
# ---------------------------------------------------------------------------------------------
def _city(n: int, seed: int, chunk_size: int = 50_000) -> dict[str, Any]:
    generator = synthetic.CityGenerator(n, seed)
    firms, persons, holdings, records = [], [], [], []
    for chunk in generator.chunks(chunk_size):
        persons += list(generator.person_rows(chunk))
        holdings += list(generator.shareholding_rows(chunk))
        records += [(r[2], r[4], r[5], r[6], r[22]) for r in generator.records(chunk)]
        firms += [
            (
                *(f.uscc, f.name, f.town, f.division, f.scale, f.capital, f.established),
                *(
                    f.status,
                    generator.person_name(f.legal_rep),
                    generator.person_number(f.legal_rep),
                ),
            )
            for f in chunk.firms
        ]
    holdings += list(generator.late_shareholding_rows())
    graph = sorted((h[1] or 0, h[2] or 0, h[3], h[4]) for h in holdings)
    return {"firms": firms, "persons": persons, "graph": graph, "records": records}


def test_same_seed_same_city_whatever_the_chunk_size() -> None:
    first = _city(600, 5)
    assert _city(600, 5) == first
    assert _city(600, 5, chunk_size=97) == first


def test_a_different_seed_gives_a_different_city() -> None:
    a, b = _city(600, 5), _city(600, 6)
    assert {f[0] for f in a["firms"]}.isdisjoint({f[0] for f in b["firms"]})
    assert len({f[1] for f in a["firms"]} & {f[1] for f in b["firms"]}) < 30
    assert a["graph"] != b["graph"]


def test_the_marker_is_the_first_enterprise_whatever_n() -> None:
    for n in (1, 10, 5000):
        generator = synthetic.CityGenerator(n, 42)
        first = next(generator.chunks(10)).firms[0]
        assert generator.marker() == (first.uscc, first.name)


def test_codes_names_and_resident_ids_are_valid_and_unique() -> None:
    generator = synthetic.CityGenerator(20_000, 3)
    firms = [f for chunk in generator.chunks() for f in chunk.firms]
    codes = [f.uscc for f in firms]
    assert len(set(codes)) == len(codes)
    assert all(uscc.is_valid(c) and c[2:8] == "441900" and c[0] == "9" for c in codes)
    assert {c[1] for c in codes} == {"1", "2", "3"}
    names = [f.name for f in firms]
    assert len(set(names)) == len(names)
    assert all(n.startswith("东莞市") for n in names)
    numbers = [generator.person_number(p) for p in range(len(generator.person_first17))]
    assert len(set(numbers)) == len(numbers)
    assert all(resident_id.is_valid(number) for number in numbers)


def test_word_lists_cannot_spell_one_name_two_ways() -> None:
    assert synthetic.check_word_lists() == []


def test_permutation_is_a_bijection() -> None:
    import random

    for size in (1, 2, 31, 1000, 4099):
        perm = synthetic.Permutation(size, random.Random(size))
        assert sorted(perm(i) for i in range(size)) == list(range(size))


def test_copy_lines_escape_what_postgresql_would_misread() -> None:
    assert synthetic.copy_line((1, None, "a", "")) == "1\t\\N\ta\t\n"
    assert synthetic.copy_line(("a\tb", "c\\d", "e\nf", None)) == "a\\tb\tc\\\\d\te\\nf\t\\N\n"


def test_persons_are_hashed_and_masked() -> None:
    number = "44190019900101123X"
    assert person_id_hash(number) == person_id_hash(" 44190019900101123x ")
    assert re.fullmatch(r"[0-9a-f]{64}", person_id_hash(number))
    assert person_mask(number) == "441***********123X"


# ---------------------------------------------------------------------------------------------
# seed_demo --enterprises on the database
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def city(db: Any) -> str:
    out = StringIO()
    call_command("seed_demo", enterprises=N, seed=SEED, stdout=out)
    return out.getvalue()


def _synthetic() -> Any:
    return Enterprise.objects.filter(shareholders__isnull=False).distinct()


def test_the_city_is_written_next_to_the_demo(city: str) -> None:
    assert "演示数据已就绪" in city and f"{N} 家企业" in city
    assert Enterprise.objects.count() == N + DEMO_FIRMS
    assert User.objects.filter(email__endswith="@example.com").count() == 6
    assert _synthetic().count() == N
    persons = Person.objects.count()
    assert 0.8 * N <= persons <= 1.4 * N
    records = CreditRecord.objects.count()
    assert 3.5 * N <= records <= 6 * N
    assert not CreditRecord.objects.filter(enterprise__isnull=True).exists()


def test_second_run_with_the_same_seed_writes_nothing(city: str) -> None:
    before = (
        Enterprise.objects.count(),
        Person.objects.count(),
        Shareholding.objects.count(),
        CreditRecord.objects.count(),
        User.objects.count(),
    )
    out = StringIO()
    call_command("seed_demo", enterprises=N // 2, seed=SEED, stdout=out)
    assert "已存在" in out.getvalue()
    after = (
        Enterprise.objects.count(),
        Person.objects.count(),
        Shareholding.objects.count(),
        CreditRecord.objects.count(),
        User.objects.count(),
    )
    assert after == before


def test_another_seed_adds_another_city(city: str) -> None:
    call_command("seed_demo", enterprises=300, seed=SEED + 1, stdout=StringIO())
    assert Enterprise.objects.count() == N + 300 + DEMO_FIRMS
    # ids were continued and sequences moved on: the ORM can still insert
    Enterprise.objects.create(uscc=uscc.generate(__import__("random").Random(1)), name="新企业")
    Person.objects.create(id_hash="0" * 64, id_masked="441***********0000", name="新人")


def test_enterprises_look_like_dongguan(city: str) -> None:
    firms = list(_synthetic().values("uscc", "name", "town", "industry_section", "scale"))
    codes = [f["uscc"] for f in firms]
    assert all(
        uscc.is_valid(c) and c.startswith(("91441900", "92441900", "93441900")) for c in codes
    )
    assert len({f["name"] for f in firms}) == N
    towns = Counter(f["town"] for f in firms)
    assert len(towns) >= 30
    assert towns["changan"] > towns["hongmei"] * 3
    sections = Counter(f["industry_section"] for f in firms)
    assert 0.35 <= sections["C"] / N <= 0.55
    assert 0.12 <= sections["F"] / N <= 0.28
    scales = Counter(f["scale"] for f in firms)
    assert 0.7 <= scales["micro"] / N <= 0.88
    assert scales["micro"] > scales["small"] > scales["medium"] > scales["large"] > 0
    assert Enterprise.objects.filter(status="active").count() > 0.8 * N
    assert Enterprise.objects.exclude(status="active").exists()


def test_every_firm_is_owned_exactly_once(city: str) -> None:
    totals = Shareholding.objects.values("target_id").annotate(total=Sum("share_percent"))
    assert len(totals) == N
    assert {t["total"] for t in totals} == {Decimal("100.0000")}
    for holding in Shareholding.objects.select_related("target")[:500]:
        capital, subscribed = holding.target.registered_capital, holding.subscribed_capital
        assert capital is not None and subscribed is not None
        expected = (capital * holding.share_percent / 100).quantize(Decimal("0.01"))
        assert abs(subscribed - expected) <= Decimal("0.01")
        assert holding.source == "市场监管局" and holding.as_of is not None
    holder_counts = Counter(
        Shareholding.objects.values("target_id").annotate(n=Count("id")).values_list("n", flat=True)
    )
    assert sum(v for k, v in holder_counts.items() if k <= 3) > 0.85 * N


def test_the_graph_has_hubs_and_cycles(city: str) -> None:
    edges = set(
        Shareholding.objects.filter(holder_enterprise__isnull=False).values_list(
            "holder_enterprise_id", "target_id"
        )
    )
    firms_with_enterprise_holder = len({t for _h, t in edges})
    assert 0.05 * N <= firms_with_enterprise_holder <= 0.2 * N
    stakes = Counter(h for h, _t in edges)
    assert stakes.most_common(1)[0][1] >= 30
    assert any((t, h) in edges for h, t in edges), "no cross-holding"
    out = defaultdict(set)
    for h, t in edges:
        out[h].add(t)
    assert any(a in out.get(c, ()) for a in out for b in out[a] for c in out.get(b, ()) if c != a)
    # a person with stakes in several firms (preferential attachment)
    persons = Counter(
        Shareholding.objects.filter(holder_person__isnull=False).values_list(
            "holder_person_id", flat=True
        )
    )
    assert persons.most_common(1)[0][1] >= 5


def test_resident_ids_are_never_stored_in_clear(city: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT legal_rep_id FROM enterprises_enterprise")
        tokens = [row[0] for row in cursor.fetchall()]
    assert tokens and all(t.startswith("gAAAAA") for t in tokens)
    numbers = [crypto.decrypt(t) for t in tokens]
    assert all(resident_id.is_valid(n) for n in numbers)
    hashes = set(Person.objects.values_list("id_hash", flat=True))
    masked = set(Person.objects.values_list("id_masked", flat=True))
    assert all(re.fullmatch(r"\d{3}\*{11}[\dX]{4}", m) for m in masked)
    synthetic_reps = {
        e.uscc: e.legal_rep_id for e in _synthetic().only("uscc", "legal_rep_id", "legal_rep_name")
    }
    assert all(person_id_hash(n) in hashes for n in synthetic_reps.values())
    clear = set(numbers)
    for row in Person.objects.values_list("id_hash", "id_masked", "name"):
        assert not clear & set(row)
    rep = _synthetic().first()
    assert rep is not None
    person = Person.objects.get(id_hash=person_id_hash(rep.legal_rep_id))
    assert person.name == rep.legal_rep_name


def test_record_frequencies(city: str) -> None:
    types = Counter(CreditRecord.objects.values_list("record_type", flat=True))
    bands = {
        "license": (0.7, 1.6),
        "tax_grade": (0.8, 2.0),
        "social_insurance": (0.4, 1.0),
        "penalty": (0.2, 0.5),
        "commitment": (0.15, 0.5),
        "inspection": (0.15, 0.45),
        "housing_fund": (0.1, 0.5),
        "abnormal_operation": (0.005, 0.04),
        "dishonest_debtor": (0.0005, 0.015),
        "serious_dishonesty": (0.0, 0.006),
        "utility_payment": (0.0, 0.03),
    }
    for record_type, (low, high) in bands.items():
        assert low <= types[record_type] / N <= high, (record_type, types[record_type])
    assert {"award", "qualification", "red_list", "judgment", "enforcement"} <= set(types)
    classes = Counter(
        CreditRecord.objects.filter(record_type="penalty").values_list("penalty_class", flat=True)
    )
    total = sum(classes.values())
    assert 0.45 <= classes["minor"] / total <= 0.75
    assert 0.2 <= classes["general"] / total <= 0.5
    assert classes["serious"] / total <= 0.12
    grades = Counter(
        CreditRecord.objects.filter(record_type="tax_grade").values_list("value", flat=True)
    )
    assert set(grades) <= {"A", "B", "M", "C", "D"}
    assert grades["B"] > grades["A"] > grades["D"]
    fund = CreditRecord.objects.filter(record_type__in=["social_insurance", "housing_fund"])
    assert fund.filter(months_arrears=0).count() > 0.85 * fund.count()


def test_records_hash_and_publication_windows_match_the_shared_rules(city: str) -> None:
    keys = set()
    for record in CreditRecord.objects.select_related("enterprise").iterator(chunk_size=2000):
        fields = {name: getattr(record, name) for name in HASHED_FIELDS}
        assert record.content_hash == record_content_hash(fields)
        assert record.enterprise is not None
        assert (record.uscc, record.enterprise_name) == (
            record.enterprise.uscc,
            record.enterprise.name,
        )
        window = publication_window(
            record.record_type, record.penalty_class, record.decision_date, record.valid_until
        )
        assert (record.publish_min_until, record.publish_max_until) == window
        assert record.status in ("active", "expired")
        assert record.source_department and record.decision_date
        assert isinstance(record.raw, dict) and record.raw
        keys.add((record.source_department, record.source_record_id))
    assert len(keys) == CreditRecord.objects.count()
    penalty = CreditRecord.objects.filter(record_type="penalty").first()
    assert penalty is not None
    assert re.fullmatch(r"东\w+〔\d{4}〕\d+号", penalty.document_number)


def test_every_legal_representative_is_a_key_personnel_link(city: str) -> None:
    from enterprises.models import Enterprise, KeyPersonnel, PersonnelRole

    synthetic = Enterprise.objects.filter(key_personnel__isnull=False).distinct()
    links = KeyPersonnel.objects.filter(role=PersonnelRole.LEGAL_REPRESENTATIVE)
    assert links.count() == synthetic.count() >= N
    assert links.values("enterprise").distinct().count() == links.count()  # one per firm
    sample = links.select_related("person", "enterprise")[:200]
    assert all(k.person.name == k.enterprise.legal_rep_name for k in sample)
