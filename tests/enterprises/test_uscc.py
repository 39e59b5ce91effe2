from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enterprises import uscc

HUAWEI = "914403001922038216"  # 华为技术有限公司

# Hand check of HUAWEI's check character (position 18):
#   chars   9  1  4  4  0  3  0  0  1  9   2   2  0   3   8   2   1
#   values  9  1  4  4  0  3  0  0  1  9   2   2  0   3   8   2   1
#   weights 1  3  9 27 19 26 16 17 20 29  25  13  8  24  10  30  28
#   products 9+3+36+108+0+78+0+0+20+261+50+26+0+72+80+60+28 = 831
#   831 mod 31 = 25 (31*26 = 806); (31 - 25) mod 31 = 6; CHARSET[6] = "6"  -> ...16 ✓
# and of its organisation code 19220382-1 (positions 9..17):
#   1*3 + 9*7 + 2*9 + 2*10 + 0*5 + 3*8 + 8*4 + 2*2 = 164; 164 mod 11 = 10; 11 - 10 = 1 ✓

PUBLISHED_VALID = [
    HUAWEI,
    "9144030071526726XG",  # 深圳市腾讯计算机系统有限公司
    "91110000802100433B",  # 北京百度网讯科技有限公司
    "91330100716105852F",  # 阿里巴巴（中国）有限公司
    "91110108551385082Q",  # 北京小米科技有限责任公司
    "91330201MA282UF146",
    "91330401MA28ADM67R",
    "91440300708461136T",
    "11100000000013127D",
]

# Made with generate(); pinned so a regression in generate() cannot hide one in check().
OTHER_DEPARTMENTS = [
    "A1441900AY4CL12T2E",
    "N2441900H3BJ1XG699",
    "Y144190012DD272H2T",
    "54441900D1TJ3Y7L4J",
    "12441900LJY1JJC15M",
]


def codes(result: uscc.USCCResult) -> list[str]:
    return [p.code for p in result.errors]


def with_check(first17: str) -> str:
    return first17 + uscc.check_character(first17)


def test_weights_match_the_standard() -> None:
    assert uscc.WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(uscc.CHARSET) == 31
    assert not set("IOSVZ") & set(uscc.CHARSET)


def test_hand_checked_example() -> None:
    assert uscc.check_character(HUAWEI[:17]) == "6"
    assert uscc.organization_check_character(HUAWEI[8:16]) == "1"


@pytest.mark.parametrize("code", PUBLISHED_VALID)
def test_published_codes_are_valid(code: str) -> None:
    result = uscc.check(code)
    assert result.valid, result.errors
    assert result.normalized == code
    assert result.errors == []
    assert result.warnings == []


@pytest.mark.parametrize("code", OTHER_DEPARTMENTS)
def test_departments_a_n_y_and_others_accepted(code: str) -> None:
    result = uscc.check(code)
    assert result.valid, result.errors
    assert result.warnings == []


@pytest.mark.parametrize(
    "raw",
    [
        " 9144 0300 7152 6726XG ",
        "9144-0300-7152-6726-XG",
        "9144030071526726xg",
        "９１４４０３００７１５２６７２６ＸＧ",
        "９１４４０３００\u3000７１５２６７２６ｘｇ",
        "914403－007152—6726–XG",
        "\t9144030071526726XG\n",
    ],
)
def test_normalisation(raw: str) -> None:
    assert uscc.normalize(raw) == "9144030071526726XG"
    result = uscc.check(raw)
    assert result.valid
    assert result.normalized == "9144030071526726XG"


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000", " - "])
def test_empty(raw: str | None) -> None:
    result = uscc.check(raw)
    assert not result.valid
    assert result.normalized is None
    assert codes(result) == ["empty"]


def test_length() -> None:
    result = uscc.check("91440300192203821")
    assert codes(result) == ["length"]
    message = result.errors[0].message
    assert "18" in message
    assert "17" in message


def test_too_long() -> None:
    result = uscc.check(HUAWEI + "0")
    assert codes(result) == ["length"]
    assert "19" in result.errors[0].message


@pytest.mark.parametrize("bad", ["I", "O", "S", "V", "Z"])
def test_illegal_character(bad: str) -> None:
    code = HUAWEI[:9] + bad + HUAWEI[10:]
    result = uscc.check(code)
    assert not result.valid
    assert codes(result) == ["illegal_character"]
    problem = result.errors[0]
    assert problem.position == 10
    assert f"“{bad}”" in problem.message
    assert "第10位" in problem.message
    assert "I、O、S、V、Z" in problem.message


def test_illegal_punctuation_named() -> None:
    result = uscc.check("91440300192203821*")
    assert codes(result) == ["illegal_character"]
    assert result.errors[0].position == 18
    assert "“*”" in result.errors[0].message


def test_check_character_not_reported_with_length_or_character_faults() -> None:
    assert "check_character" not in codes(uscc.check("9144030019220382"))
    assert "check_character" not in codes(uscc.check("91440300192203O216"))


@pytest.mark.parametrize("first", ["0", "B", "C", "H", "X"])
def test_department(first: str) -> None:
    result = uscc.check(with_check(first + HUAWEI[1:17]))
    assert codes(result) == ["department"]
    problem = result.errors[0]
    assert problem.position == 1
    assert f"“{first}”" in problem.message
    assert "A、N或Y" in problem.message


@pytest.mark.parametrize(
    ("prefix", "allowed"),
    [("94", "1、2、3"), ("99", "1、2、3"), ("56", "1、2、3、4、9"), ("Y9", "1"), ("2A", "1、9")],
)
def test_entity_type(prefix: str, allowed: str) -> None:
    result = uscc.check(with_check(prefix + HUAWEI[2:17]))
    assert codes(result) == ["entity_type"]
    problem = result.errors[0]
    assert problem.position == 2
    assert f"“{prefix[1]}”" in problem.message
    assert allowed in problem.message


def test_entity_type_names_department() -> None:
    result = uscc.check(with_check("94" + HUAWEI[2:17]))
    assert "市场监管" in result.errors[0].message


def test_region() -> None:
    result = uscc.check(with_check("9144A3" + HUAWEI[6:17]))
    assert codes(result) == ["region"]
    assert result.errors[0].position == 5
    assert "“A”" in result.errors[0].message
    assert "6位数字" in result.errors[0].message


def test_check_character() -> None:
    result = uscc.check(HUAWEI[:17] + "7")
    assert not result.valid
    assert result.normalized is None
    assert codes(result) == ["check_character"]
    problem = result.errors[0]
    assert problem.position == 18
    assert problem.message == "校验位错误：第18位应为“6”，实际为“7”"


def test_several_kinds_reported_once_each() -> None:
    result = uscc.check("0Q44A30019220382")
    assert codes(result) == ["length", "department", "region"]


def test_organisation_code_mismatch_is_only_a_warning() -> None:
    first16 = HUAWEI[:16]
    code = with_check(first16 + "2")  # GB 11714 wants "1"
    result = uscc.check(code)
    assert result.valid
    assert result.normalized == code
    assert result.errors == []
    assert [w.code for w in result.warnings] == ["organization_code"]
    warning = result.warnings[0]
    assert warning.position == 17
    assert "“1”" in warning.message
    assert "“2”" in warning.message


def test_organization_check_character_x_and_zero() -> None:
    seen = set()
    rng = random.Random(1)
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for _ in range(2000):
        body = "".join(rng.choice(alphabet) for _ in range(8))
        seen.add(uscc.organization_check_character(body))
    assert seen == set("0123456789X")
    # Σ = 1*3 = 3; 3 mod 11 = 3; 11 - 3 = 8
    assert uscc.organization_check_character("10000000") == "8"
    # A counts 10: Σ = 10*3 = 30; 30 mod 11 = 8; 11 - 8 = 3
    assert uscc.organization_check_character("A0000000") == "3"
    # Σ = 0; 11 - 0 = 11 -> "0"
    assert uscc.organization_check_character("00000000") == "0"
    # Σ = 5*2 = 10; 11 - 10 = 1
    assert uscc.organization_check_character("00000005") == "1"
    # Σ = 4*3 = 12; 12 mod 11 = 1; 11 - 1 = 10 -> "X"
    assert uscc.organization_check_character("40000000") == "X"


def test_as_dict_shape() -> None:
    ok = uscc.check(HUAWEI).as_dict()
    assert ok == {"valid": True, "normalized": HUAWEI, "errors": [], "warnings": []}

    bad = uscc.check(HUAWEI[:17] + "7").as_dict()
    assert bad["valid"] is False
    assert bad["normalized"] is None
    assert bad["errors"] == [
        {
            "code": "check_character",
            "message": "校验位错误：第18位应为“6”，实际为“7”",
            "position": 18,
        }
    ]
    assert bad["warnings"] == []

    empty = uscc.check("").as_dict()
    assert set(empty["errors"][0]) == {"code", "message"}


def test_entity_type_labels() -> None:
    assert uscc.entity_type(HUAWEI) == ("市场监管", "企业")
    assert uscc.entity_type("92441900") == ("市场监管", "个体工商户")
    assert uscc.entity_type("N3") == ("农业", "乡镇级集体经济组织")
    assert uscc.entity_type("Y1") == ("其他", "其他")
    with pytest.raises(ValueError):
        uscc.entity_type("94")
    with pytest.raises(ValueError):
        uscc.entity_type("B1")


def test_generate_defaults() -> None:
    code = uscc.generate(random.Random(0))
    assert code.startswith("91441900")
    assert uscc.check(code).valid


def test_generate_rejects_bad_arguments() -> None:
    rng = random.Random(0)
    with pytest.raises(ValueError):
        uscc.generate(rng, department="B")
    with pytest.raises(ValueError):
        uscc.generate(rng, department="9", entity_type="9")
    with pytest.raises(ValueError):
        uscc.generate(rng, region="4419")


def test_every_single_substitution_of_a_real_code_fails() -> None:
    for code in PUBLISHED_VALID:
        for i, original in enumerate(code):
            for replacement in uscc.CHARSET + "IOSVZ":
                if replacement == original:
                    continue
                mutated = code[:i] + replacement + code[i + 1 :]
                assert not uscc.check(mutated).valid, mutated


DEPARTMENT_TYPES = [
    (department, kind) for department, kinds in uscc.ENTITY_TYPE_LABELS.items() for kind in kinds
]
regions = st.text(alphabet="0123456789", min_size=6, max_size=6)


@given(
    rng=st.randoms(use_true_random=False),
    department_type=st.sampled_from(DEPARTMENT_TYPES),
    region=regions,
)
def test_generated_codes_are_valid(
    rng: random.Random, department_type: tuple[str, str], region: str
) -> None:
    department, kind = department_type
    code = uscc.generate(rng, department=department, entity_type=kind, region=region)
    result = uscc.check(code)
    assert result.valid
    assert result.normalized == code
    assert result.errors == []
    assert result.warnings == []
    assert code[:2] == department + kind
    assert code[2:8] == region


@given(
    rng=st.randoms(use_true_random=False),
    department_type=st.sampled_from(DEPARTMENT_TYPES),
    region=regions,
    position=st.integers(min_value=0, max_value=17),
    replacement=st.sampled_from(uscc.CHARSET + "IOSVZ"),
)
def test_single_substitution_of_generated_code_fails(
    rng: random.Random,
    department_type: tuple[str, str],
    region: str,
    position: int,
    replacement: str,
) -> None:
    department, kind = department_type
    code = uscc.generate(rng, department=department, entity_type=kind, region=region)
    if code[position] == replacement:
        replacement = "Z"
    mutated = code[:position] + replacement + code[position + 1 :]
    assert not uscc.check(mutated).valid
