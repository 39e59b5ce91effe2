from __future__ import annotations

import random
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from enterprises import uscc
from enterprises.models import CreditRecord, ImportBatch
from xinyidai.core.models import AuditEvent

pytestmark = pytest.mark.django_db

HEADER = "source_record_id,uscc,record_type,source_department,decision_date,penalty_class,amount\n"
CODE = uscc.generate(random.Random(42))


@pytest.fixture
def upload(django_capture_on_commit_callbacks: Any) -> Any:
    """Post a file; the import queued after commit runs as the (eager) worker would."""

    def _upload(client: Any, text: str, name: str = "data.csv", **extra: str) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                "/enterprises/imports/",
                {"file": SimpleUploadedFile(name, text.encode("gb18030")), **extra},
            )

    return _upload


def test_office_uploads_a_file_and_sees_rejected_rows(
    credit_office: Any, login: Any, settings: Any, tmp_path: Any, upload: Any
) -> None:
    settings.IMPORT_UPLOAD_DIR = str(tmp_path)
    client = login(credit_office)
    dept = "东莞市生态环境局"
    text = (
        HEADER
        + f"1,{CODE},penalty,{dept},2026-02-01,一般,20000\n"
        + f"2,{CODE},penalty,{dept},2026-02-01,,1\n"
    )
    response = upload(client, text)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/enterprises/imports/{batch.pk}/"
    assert (batch.state, batch.created, batch.rejected, batch.actor) == (
        "done",
        1,
        1,
        credit_office,
    )
    assert CreditRecord.objects.get().amount == 20000
    assert list(tmp_path.iterdir()) == []  # the upload is removed once imported
    page = client.get(response["Location"]).content.decode()
    assert "penalty_class" in page and "行政处罚记录必须填写处罚类别" in page
    exported = b"".join(client.get(response["Location"] + "?export=csv").streaming_content)
    assert exported.decode("utf-8-sig").splitlines()[1].startswith("2,penalty_class,required,")
    assert client.get("/enterprises/imports/").content.decode().count("/enterprises/imports/") >= 2
    assert AuditEvent.objects.filter(action="import.uploaded").count() == 1


def test_unreadable_upload_marks_the_batch_failed(
    credit_office: Any, login: Any, settings: Any, tmp_path: Any, upload: Any
) -> None:
    settings.IMPORT_UPLOAD_DIR = str(tmp_path)
    client = login(credit_office)
    response = upload(client, "uscc,name\n1,2\n")
    batch = ImportBatch.objects.get()
    assert (batch.state, batch.created) == ("failed", 0)
    assert "缺少必需的列" in batch.error
    assert "缺少必需的列" in client.get(response["Location"]).content.decode()


def test_wrong_file_type_keeps_the_form(credit_office: Any, login: Any, upload: Any) -> None:
    response = upload(login(credit_office), "hello", name="report.pdf", source_department="某局")
    assert response.status_code == 200
    html = response.content.decode()
    assert "不支持的文件类型" in html
    assert 'value="某局"' in html
    assert not ImportBatch.objects.exists()


def test_source_department_applies_to_every_row(
    credit_office: Any, login: Any, settings: Any, tmp_path: Any, upload: Any
) -> None:
    settings.IMPORT_UPLOAD_DIR = str(tmp_path)
    text = "source_record_id,uscc,record_type,decision_date\n" + f"9,{CODE},license,2026-01-01\n"
    upload(login(credit_office), text, source_department="东莞市住房和城乡建设局")
    assert CreditRecord.objects.get().source_department == "东莞市住房和城乡建设局"
