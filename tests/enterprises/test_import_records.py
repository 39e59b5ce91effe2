from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from enterprises import uscc
from enterprises.importing import writer as writer_module
from enterprises.models import CreditRecord, ImportBatch, ImportRejection
from tests.factories import EnterpriseFactory, UserFactory
from xinyidai.core.models import PlatformRole

pytestmark = pytest.mark.django_db

HEADER = (
    "source_record_id,uscc,enterprise_name,record_type,source_department,document_number,"
    "decision_date,penalty_class,amount,value,valid_until,content"
)
DEPT = "东莞市市场监督管理局"
CODES = [uscc.generate(random.Random(n)) for n in range(10)]


def line(sid: str, code: str = CODES[0], **over: str) -> str:
    fields = {
        "source_record_id": sid,
        "uscc": code,
        "enterprise_name": "东莞市某某有限公司",
        "record_type": "penalty",
        "source_department": DEPT,
        "document_number": f"东市监罚〔2026〕{sid}号",
        "decision_date": "2026-03-01",
        "penalty_class": "general",
        "amount": "5000",
        "value": "",
        "valid_until": "",
        "content": "超范围经营",
    }
    fields.update(over)
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields.values())
    return out.getvalue()


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    def _write(text: str | bytes, name: str = "records.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
        return path

    return _write


def run(path: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_credit_records", str(path), *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


def last_json(stdout: str) -> dict[str, int]:
    return json.loads(stdout.strip().splitlines()[-1])


def errors_of(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))


def test_clean_file_imports_and_links_known_enterprise(write: Callable[..., Path]) -> None:
    enterprise = EnterpriseFactory.create(uscc=CODES[0])
    path = write("\n".join([HEADER, line("1"), line("2", CODES[1])]) + "\n")
    code, out, _ = run(path, "--json")
    assert code == 0
    assert last_json(out) == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    first = CreditRecord.objects.get(source_record_id="1")
    assert first.enterprise == enterprise
    assert first.amount == 5000
    assert first.penalty_class == "general"
    # general penalty: minimum 3 months, maximum 1 year, last days
    assert (first.publish_min_until, first.publish_max_until) == (
        date(2026, 5, 31),
        date(2027, 2, 28),
    )
    assert first.raw["content"] == "超范围经营"
    orphan = CreditRecord.objects.get(source_record_id="2")
    assert orphan.enterprise is None


def test_same_file_twice_changes_nothing_and_a_changed_row_updates(
    write: Callable[..., Path],
) -> None:
    path = write("\n".join([HEADER, line("1"), line("2")]))
    run(path)
    before = list(CreditRecord.objects.order_by("id").values_list("id", "updated_at"))
    code, out, _ = run(path, "--json")
    assert code == 0
    assert last_json(out) == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 0}
    assert list(CreditRecord.objects.order_by("id").values_list("id", "updated_at")) == before
    changed = write("\n".join([HEADER, line("1", amount="6000"), line("2")]))
    assert last_json(run(changed, "--json")[1]) == {
        "created": 0,
        "updated": 1,
        "unchanged": 1,
        "rejected": 0,
    }
    assert CreditRecord.objects.get(source_record_id="1").amount == 6000


def test_orphans_are_linked_when_the_enterprise_is_registered(write: Callable[..., Path]) -> None:
    run(write("\n".join([HEADER, line("1", CODES[3])])))
    assert CreditRecord.objects.get().enterprise is None
    registry = write(
        "uscc,name,established_date,registered_capital,industry_code,town,status,legal_rep_name,"
        f"legal_rep_id,address,phone\n{CODES[3]},东莞市后来者有限公司,2020-01-01,100,C39,长安,存续,"
        "张三,,,\n",
        name="registry.csv",
    )
    out = io.StringIO()
    call_command("import_enterprises", str(registry), stdout=out)
    linked = CreditRecord.objects.get().enterprise
    assert linked is not None
    assert linked.name == "东莞市后来者有限公司"


BAD_ROWS = [
    # (row overrides, field, code)
    ({"uscc": CODES[0][:17]}, "uscc", "length"),
    ({"uscc": CODES[0][:17] + "I"}, "uscc", "illegal_character"),
    ({"uscc": "Z" + CODES[0][1:]}, "uscc", "illegal_character"),
    ({"uscc": "B" + CODES[0][1:]}, "uscc", "department"),
    ({"uscc": ""}, "uscc", "required"),
    ({"record_type": "parking_ticket"}, "record_type", "unknown_record_type"),
    ({"decision_date": "2026-02-30"}, "decision_date", "invalid_date"),
    ({"decision_date": "1900-01-01"}, "decision_date", "impossible_date"),
    ({"decision_date": "2099-01-01"}, "decision_date", "future_date"),
    ({"decision_date": ""}, "decision_date", "required"),
    ({"amount": "-1"}, "amount", "negative_amount"),
    ({"amount": "五千"}, "amount", "invalid_number"),
    ({"penalty_class": ""}, "penalty_class", "required"),
    ({"penalty_class": "huge"}, "penalty_class", "invalid_choice"),
    ({"valid_until": "2026-01-01"}, "valid_until", "invalid_range"),
    ({"source_department": ""}, "source_department", "required"),
    ({"record_type": "tax_grade", "value": "AA", "penalty_class": ""}, "value", "invalid_value"),
]


@pytest.mark.parametrize(("overrides", "field", "code"), BAD_ROWS)
def test_bad_row_is_rejected_with_row_field_code_and_good_rows_kept(
    write: Callable[..., Path], tmp_path: Path, overrides: dict[str, str], field: str, code: str
) -> None:
    path = write("\n".join([HEADER, line("good1"), line("bad", **overrides), line("good2")]))
    errors_path = tmp_path / "errors.csv"
    exit_code, out, err = run(path, "--errors-out", str(errors_path), "--json")
    assert exit_code == 2
    assert last_json(out) == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    errors = errors_of(errors_path)
    assert {"row": "2", "field": field, "code": code} in [
        {k: e[k] for k in ("row", "field", "code")} for e in errors
    ]
    assert all(e["message"] for e in errors)
    assert sorted(CreditRecord.objects.values_list("source_record_id", flat=True)) == [
        "good1",
        "good2",
    ]
    assert f"第 2 行 {field}" in err


def test_check_character_message_names_the_expected_one(
    write: Callable[..., Path], tmp_path: Path
) -> None:
    wrong = CODES[0][:17] + ("0" if CODES[0][17] != "0" else "1")
    errors_path = tmp_path / "e.csv"
    run(write("\n".join([HEADER, line("x", wrong)])), "--errors-out", str(errors_path))
    (error,) = errors_of(errors_path)
    assert (error["field"], error["code"]) == ("uscc", "check_character")
    assert f"应为“{CODES[0][17]}”" in error["message"]


def test_chinese_type_and_class_names_are_accepted(write: Callable[..., Path]) -> None:
    run(write("\n".join([HEADER, line("1", record_type="行政处罚", penalty_class="严重")])))
    record = CreditRecord.objects.get()
    assert (record.record_type, record.penalty_class) == ("penalty", "serious")


def test_typed_values(write: Callable[..., Path]) -> None:
    rows = [
        line("t", record_type="tax_grade", penalty_class="", value="a", decision_date="2025-04-01"),
        line("s", record_type="social_insurance", penalty_class="", value="10/2"),
        line("u", record_type="utility_payment", penalty_class="", value="3", amount="1200.5"),
        line("c", record_type="commitment", penalty_class="", value="已履约"),
    ]
    assert run(write("\n".join([HEADER, *rows])))[0] == 0
    got = {r.source_record_id: r for r in CreditRecord.objects.all()}
    assert (got["t"].value, got["t"].year) == ("A", 2025)
    assert (got["s"].months_paid, got["s"].months_arrears) == (10, 2)
    assert (got["u"].months_arrears, str(got["u"].amount)) == (3, "1200.50")
    assert got["c"].fulfilment == "fulfilled"
    assert got["t"].publish_max_until is None  # no publication rule for tax grades


def test_gb18030_and_bom_files(write: Callable[..., Path]) -> None:
    text = "\n".join([HEADER, line("1"), line("2", enterprise_name="东莞市黄江镇饮食店")])
    assert run(write(text, "gb.csv", encoding="gb18030"))[0] == 0
    assert CreditRecord.objects.get(source_record_id="2").enterprise_name == "东莞市黄江镇饮食店"
    assert run(write("\ufeff" + text.replace(DEPT, "东莞市税务局"), "bom.csv"))[0] == 0
    assert CreditRecord.objects.filter(source_department="东莞市税务局").count() == 2


def test_undecodable_bytes_in_a_row_are_a_row_error(
    write: Callable[..., Path], tmp_path: Path
) -> None:
    # more than the sniffed first megabyte of clean UTF-8, then a row with bytes no codec takes
    rows = [line(str(n)) for n in range(7000)]
    bad = line("bad", content="XX").encode().replace(b"XX", b"\xff\xfe")
    data = "\n".join([HEADER, *rows]).encode() + b"\n" + bad + b"\n"
    assert len(data) > 1024 * 1024
    errors_path = tmp_path / "e.csv"
    code, out, _ = run(write(data), "--errors-out", str(errors_path), "--json")
    assert code == 2
    assert [(e["row"], e["code"]) for e in errors_of(errors_path)] == [("7001", "encoding")]
    assert last_json(out)["created"] == 7000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "文件为空"),
        (b"\n\n", "文件为空"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "二进制"),
        (b"uscc,name\n1,2\n", "缺少必需的列"),
    ],
)
def test_unreadable_files_exit_1_and_write_nothing(
    write: Callable[..., Path], content: bytes, message: str
) -> None:
    code, out, err = run(write(content), "--json")
    assert code == 1
    assert message in err
    assert "error" in last_json(out)
    assert not CreditRecord.objects.exists()
    assert not ImportBatch.objects.exists()


def test_missing_file_exit_1(tmp_path: Path) -> None:
    assert run(tmp_path / "nope.csv")[0] == 1


def test_header_only_file_is_fine_and_empty(write: Callable[..., Path]) -> None:
    code, out, _ = run(write(HEADER + "\n"), "--json")
    assert code == 0
    assert last_json(out) == {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}


def test_extra_columns_warn_and_missing_optional_columns_are_fine(
    write: Callable[..., Path],
) -> None:
    header = "source_record_id,uscc,record_type,source_department,decision_date,penalty_class,备注"
    row = f"9,{CODES[1]},penalty,{DEPT},2026-01-05,minor,随便"
    code, _out, err = run(write(f"{header}\n{row}\n"))
    assert code == 0
    assert "已忽略未知的列：备注" in err
    assert CreditRecord.objects.get().raw["备注"] == "随便"


def test_source_option_fills_the_department_and_rejects_others(write: Callable[..., Path]) -> None:
    header = "source_record_id,uscc,record_type,decision_date,penalty_class"
    text = f"{header}\n1,{CODES[0]},penalty,2026-01-05,minor\n"
    assert run(write(text), "--source", "东莞市应急管理局")[0] == 0
    assert CreditRecord.objects.get().source_department == "东莞市应急管理局"
    mismatch = write("\n".join([HEADER, line("2")]))
    code, _o, err = run(mismatch, "--source", "东莞市应急管理局")
    assert code == 2
    assert "不一致" in err


def test_truncated_csv_keeps_complete_rows(write: Callable[..., Path], tmp_path: Path) -> None:
    full = "\n".join([HEADER, line("1"), line("2")])
    truncated = full[: full.rindex(",2026-03-01")]  # cut in the middle of the last row
    errors_path = tmp_path / "e.csv"
    code, _o, _e = run(write(truncated), "--errors-out", str(errors_path))
    assert code == 2
    assert [e["code"] for e in errors_of(errors_path)] == ["column_count"]
    assert list(CreditRecord.objects.values_list("source_record_id", flat=True)) == ["1"]


def test_truncated_xlsx_is_refused_whole(write: Callable[..., Path], tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    sheet.append(next(csv.reader([line("1")])))
    full = tmp_path / "full.xlsx"
    book.save(full)
    data = full.read_bytes()
    assert run(write(data, "ok.xlsx"))[0] == 0
    CreditRecord.objects.all().delete()
    code, _o, err = run(write(data[: len(data) // 2], "cut.xlsx"))
    assert code == 1
    assert "Excel" in err
    assert not CreditRecord.objects.exists()


def test_xlsx_with_dates_and_numbers(write: Callable[..., Path], tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    values: list[Any] = next(csv.reader([line("x1")]))
    values[6] = date(2026, 3, 1)
    values[8] = 1234.5
    sheet.append(values)
    path = tmp_path / "typed.xlsx"
    book.save(path)
    assert run(path)[0] == 0
    record = CreditRecord.objects.get()
    assert (record.decision_date, str(record.amount)) == (date(2026, 3, 1), "1234.50")


def test_json_lines(write: Callable[..., Path], tmp_path: Path) -> None:
    base = dict(zip(HEADER.split(","), next(csv.reader([line("j1")])), strict=True))
    lines = [
        json.dumps(base, ensure_ascii=False),
        json.dumps({**base, "source_record_id": "j2", "amount": -3}, ensure_ascii=False),
        '{"source_record_id": "j3", "uscc": ',  # truncated last line
    ]
    errors_path = tmp_path / "e.csv"
    code, out, _ = run(
        write("\n".join(lines), "r.jsonl"), "--json", "--errors-out", str(errors_path)
    )
    assert code == 2
    assert last_json(out)["created"] == 1
    assert [(e["row"], e["code"]) for e in errors_of(errors_path)] == [
        ("2", "negative_amount"),
        ("3", "malformed_row"),
    ]


def test_duplicate_rows_inside_one_file(write: Callable[..., Path], tmp_path: Path) -> None:
    errors_path = tmp_path / "e.csv"
    text = "\n".join([HEADER, line("1"), line("2"), line("1")])
    code, out, _ = run(write(text), "--json", "--errors-out", str(errors_path))
    assert code == 2
    assert last_json(out)["created"] == 2
    (error,) = errors_of(errors_path)
    assert (error["row"], error["code"]) == ("3", "duplicate_in_file")
    assert "第 1 行" in error["message"]


def test_huge_single_field_is_a_row_error(write: Callable[..., Path], tmp_path: Path) -> None:
    errors_path = tmp_path / "e.csv"
    huge = "x" * (50 * 1024 * 1024)
    text = "\n".join([HEADER, line("big", content=huge), line("small")])
    code, _o, _e = run(write(text), "--errors-out", str(errors_path))
    assert code == 2
    (error,) = errors_of(errors_path)
    assert (error["row"], error["field"], error["code"]) == ("1", "content", "too_long")
    assert list(CreditRecord.objects.values_list("source_record_id", flat=True)) == ["small"]


def test_formula_injection_is_escaped_in_the_errors_file(
    write: Callable[..., Path], tmp_path: Path
) -> None:
    errors_path = tmp_path / "e.csv"
    evil = "=cmd|' /C calc'!A0"
    run(write("\n".join([HEADER, line("1", record_type=evil)])), "--errors-out", str(errors_path))
    text = errors_path.read_text("utf-8-sig")
    (error,) = errors_of(errors_path)
    assert error["code"] == "unknown_record_type"
    assert evil in error["message"]
    for cell in next(csv.reader([text.splitlines()[1]])):
        assert not cell.startswith(("=", "+", "-", "@"))


def test_dry_run_writes_nothing(write: Callable[..., Path]) -> None:
    code, out, _ = run(
        write("\n".join([HEADER, line("1"), line("2", amount="-1")])), "--dry-run", "--json"
    )
    assert code == 2
    assert last_json(out) == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    assert "试运行" in out
    assert not CreditRecord.objects.exists()
    assert not ImportBatch.objects.exists()


def test_a_crash_mid_import_leaves_nothing(
    write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from enterprises.importing import run as run_module
    from enterprises.importing.sources import open_source

    class CrashingWriter(writer_module.RecordWriter):
        """Writes its first chunk of 5, then the disk fills up."""

        def __init__(self) -> None:
            super().__init__(chunk_size=5)
            self.flushes = 0

        def flush(self) -> None:
            self.flushes += 1
            if self.flushes == 2:
                raise OSError("disk full")
            super().flush()

    monkeypatch.setattr(run_module, "RecordWriter", CrashingWriter)
    source = open_source(write("\n".join([HEADER, *(line(str(n)) for n in range(12))])))
    with pytest.raises(OSError, match="disk full"):
        run_module.import_records(source)
    assert not CreditRecord.objects.exists()
    assert not ImportBatch.objects.exists()


def test_rejections_are_kept_for_the_quality_report(write: Callable[..., Path]) -> None:
    run(write("\n".join([HEADER, line("1", uscc="bad"), line("2", decision_date="")])))
    rejections = list(
        ImportRejection.objects.order_by("row").values_list(
            "row", "field", "code", "source_department"
        )
    )
    assert (1, "uscc", "length", DEPT) in rejections  # "bad" is also wrong in other ways
    assert (2, "decision_date", "required", DEPT) in rejections
    assert {r[0] for r in rejections} == {1, 2}
    batch = ImportBatch.objects.get()
    assert (batch.created, batch.rejected, batch.channel) == (0, 2, "file")


def test_expired_on_arrival(write: Callable[..., Path]) -> None:
    old = (timezone.localdate() - timedelta(days=800)).isoformat()
    run(write("\n".join([HEADER, line("1", decision_date=old, penalty_class="general")])))
    assert CreditRecord.objects.get().status == "expired"


# --- batch API -----------------------------------------------------------------------------
@pytest.fixture
def department_client(db: Any) -> Client:
    user = UserFactory.create(
        email="feed@scjgj.dg.gov.cn", platform_role=PlatformRole.DATA_SOURCE, department=DEPT
    )
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def record(sid: str, **over: Any) -> dict[str, Any]:
    return dict(zip(HEADER.split(","), next(csv.reader([line(sid, **over)])), strict=True))


def test_batch_api_upserts_and_reports_per_record_errors(department_client: Client) -> None:
    body = {"records": [record("a"), record("b", amount="-2"), record("c", uscc="123")]}
    response = department_client.post(
        "/api/v1/credit-records/batches/", body, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["created"], data["updated"], data["unchanged"], data["rejected"]) == (1, 0, 0, 2)
    assert [(e["row"], e["field"], e["code"]) for e in data["errors"]] == [
        (2, "amount", "negative_amount"),
        (3, "uscc", "length"),
    ]
    again = department_client.post(
        "/api/v1/credit-records/batches/",
        {"records": [record("a")]},
        content_type="application/json",
    ).json()
    assert (again["created"], again["unchanged"]) == (0, 1)
    assert ImportBatch.objects.filter(channel="api").count() == 2


def test_batch_api_forces_the_accounts_department(department_client: Client) -> None:
    other = record("z", source_department="东莞市税务局")
    response = department_client.post(
        "/api/v1/credit-records/batches/", {"records": [other]}, content_type="application/json"
    ).json()
    assert response["errors"][0]["code"] == "department_mismatch"
    missing = {k: v for k, v in record("y").items() if k != "source_department"}
    ok = department_client.post(
        "/api/v1/credit-records/batches/", {"records": [missing]}, content_type="application/json"
    ).json()
    assert ok["created"] == 1
    assert CreditRecord.objects.get(source_record_id="y").source_department == DEPT


def test_batch_api_limits_and_roles(
    department_client: Client, login: Any, credit_office: Any
) -> None:
    too_many = {"records": [record(str(n)) for n in range(10_001)]}
    response = department_client.post(
        "/api/v1/credit-records/batches/", too_many, content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (413, "batch_too_large")
    empty = department_client.post(
        "/api/v1/credit-records/batches/", {"records": []}, content_type="application/json"
    )
    assert empty.status_code == 400
    office = login(credit_office).post(
        "/api/v1/credit-records/batches/",
        {"records": [record("q")]},
        content_type="application/json",
    )
    assert office.status_code == 403
    assert not CreditRecord.objects.exists()


def test_progress_bar_shows_share_of_file_and_rate(write: Callable[..., Path]) -> None:
    from enterprises.importing.progress import Progress
    from enterprises.importing.sources import open_source

    source = open_source(write("\n".join([HEADER, *(line(str(n)) for n in range(2000))])))
    assert source.done is not None
    for _ in source.rows:
        pass
    progress = Progress("records.csv", stream=io.StringIO(), done=source.done)
    text = progress.line(2000, elapsed=0.5)
    assert "100%" in text and "4,000 行/秒" in text and "2,000 行" in text
    assert progress.enabled is False  # not a terminal: nothing is written
