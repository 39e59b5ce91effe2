from __future__ import annotations

import pytest

from enterprises import reference


def test_thirty_four_towns() -> None:
    towns = reference.DONGGUAN_TOWNS
    assert len(towns) == 34
    kinds = [kind for _slug, _name, kind in towns]
    assert kinds.count("street") == 4
    assert kinds.count("town") == 28
    assert kinds.count("park") == 2
    assert {kind for kind in kinds} == {"street", "town", "park"}


def test_unique_slugs_and_names() -> None:
    slugs = [slug for slug, _name, _kind in reference.DONGGUAN_TOWNS]
    names = [name for _slug, name, _kind in reference.DONGGUAN_TOWNS]
    assert len(set(slugs)) == 34
    assert len(set(names)) == 34
    assert all(slug.isascii() and slug.isalpha() and slug.islower() for slug in slugs)


def test_design_order() -> None:
    names = [name for _slug, name, _kind in reference.DONGGUAN_TOWNS]
    assert names[:4] == ["莞城街道", "南城街道", "东城街道", "万江街道"]
    assert names[4] == "石碣镇"
    assert names[31] == "高埗镇"
    assert names[32:] == ["松山湖", "滨海湾新区"]
    assert all(name.endswith("镇") for name in names[4:32])


def test_choices_and_names() -> None:
    assert reference.TOWN_CHOICES[0] == ("guancheng", "莞城街道")
    assert len(reference.TOWN_CHOICES) == 34
    assert reference.TOWN_NAMES["humen"] == "虎门镇"
    assert reference.TOWN_NAMES["songshanhu"] == "松山湖"
    assert reference.DONGGUAN_REGION_CODE == "441900"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("石碣", "shijie"),
        ("石碣镇", "shijie"),
        ("shijie", "shijie"),
        ("莞城", "guancheng"),
        ("莞城街道", "guancheng"),
        ("  长安镇 ", "changan"),
        ("东莞市虎门镇", "humen"),
        ("松山湖", "songshanhu"),
        ("滨海湾新区", "binhaiwan"),
        ("Gaobu", "gaobu"),
    ],
)
def test_town_by_name(name: str, slug: str) -> None:
    assert reference.town_by_name(name) == slug


@pytest.mark.parametrize("name", ["", "深圳", "天河区", "镇", "石碣村"])
def test_town_by_name_unknown(name: str) -> None:
    with pytest.raises(ValueError):
        reference.town_by_name(name)


def test_every_town_round_trips() -> None:
    for slug, name, _kind in reference.DONGGUAN_TOWNS:
        assert reference.town_by_name(name) == slug
        assert reference.town_by_name(slug) == slug


def test_sections_a_to_t() -> None:
    assert list(reference.INDUSTRY_SECTIONS) == list("ABCDEFGHIJKLMNOPQRST")
    assert reference.INDUSTRY_SECTIONS["A"] == "农、林、牧、渔业"
    assert reference.INDUSTRY_SECTIONS["C"] == "制造业"
    assert reference.INDUSTRY_SECTIONS["T"] == "国际组织"


def test_divisions_01_to_97() -> None:
    assert list(reference.INDUSTRY_DIVISIONS) == [f"{n:02d}" for n in range(1, 98)]
    names = [name for _section, name in reference.INDUSTRY_DIVISIONS.values()]
    assert all(names)


def test_every_division_maps_to_a_known_section() -> None:
    sections = [section for section, _name in reference.INDUSTRY_DIVISIONS.values()]
    assert set(sections) == set(reference.INDUSTRY_SECTIONS)
    # Sections are contiguous runs in code order.
    assert sections == sorted(sections)


def test_manufacturing_covers_13_to_43() -> None:
    assert reference.divisions_of_section("C") == [str(n) for n in range(13, 44)]
    assert reference.section_of_division("12") == "B"
    assert reference.section_of_division("44") == "D"


def test_division_lookups() -> None:
    assert reference.INDUSTRY_DIVISIONS["13"] == ("C", "农副食品加工业")
    assert reference.INDUSTRY_DIVISIONS["39"] == ("C", "计算机、通信和其他电子设备制造业")
    assert reference.section_of_division("01") == "A"
    assert reference.section_of_division("65") == "I"
    assert reference.section_of_division("97") == "T"


@pytest.mark.parametrize("code", ["00", "98", "1", "C39", "", "x"])
def test_unknown_division(code: str) -> None:
    with pytest.raises(ValueError):
        reference.section_of_division(code)


def test_choices_lists() -> None:
    assert reference.SECTION_CHOICES[2] == ("C", "C 制造业")
    assert reference.DIVISION_CHOICES[0] == ("01", "01 农业")
    with pytest.raises(ValueError):
        reference.divisions_of_section("Z")
