from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from xinyidai.logging_filters import RedactSensitive, redact

RAW_ID = "44190019900307123X"
RAW_PHONE = "13812345678"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rep 44190019900307123X signed", "rep 441***********123X signed"),
        ("rep 11010519491231002x", "rep 110***********002x"),
        ("身份证号44190019900307123X已核验", "身份证号441***********123X已核验"),
        ("ID44190019900307123X", "ID441***********123X"),
        ("old id 441900900307123 kept?", "old id 441*********123 kept?"),
        ("call 13812345678 now", "call 138****5678 now"),
        ("手机13812345678，请回电", "手机138****5678，请回电"),
        ("+8613812345678", "+86138****5678"),
        ("+86 138-1234-5678", "+86 138****5678"),
        ("0086 138 1234 5678", "0086 138****5678"),
        ('{"phone": "13812345678"}', '{"phone": "138****5678"}'),
        ("password=hunter2&x=1", "password=***&x=1"),
        # Left alone: codes with letters, landlines, numbers of other lengths, masked values.
        ("USCC 91441900MA4W0RDN0K stays", "USCC 91441900MA4W0RDN0K stays"),
        ("tel 0769-22123456", "tel 0769-22123456"),
        ("12812345678 is no mobile", "12812345678 is no mobile"),
        ("epoch ms 1700000000123", "epoch ms 1700000000123"),
        ("card 6222021234567890123", "card 6222021234567890123"),
        ("441***********123X 138****5678", "441***********123X 138****5678"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through a handler that carries the filter, as settings.LOGGING does."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSensitive())
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_message_args_are_redacted(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("rep %s phone %s", RAW_ID, RAW_PHONE)
    assert stream.getvalue() == "INFO rep 441***********123X phone 138****5678\n"


def test_mapping_args_are_redacted(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("rep %(id)s", {"id": RAW_ID})
    assert stream.getvalue() == "INFO rep 441***********123X\n"


def test_exception_text_is_redacted(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise ValueError(f"bad row: {RAW_ID} {RAW_PHONE}")
    except ValueError:
        logger.exception("import failed for %s", RAW_PHONE)
    out = stream.getvalue()
    assert RAW_ID not in out
    assert RAW_PHONE not in out
    assert "ValueError: bad row: 441***********123X 138****5678" in out
    assert "Traceback (most recent call last)" in out
    assert out.startswith("ERROR import failed for 138****5678\n")


def test_exception_text_formatted_by_an_earlier_handler_is_redacted() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, None)
    record.exc_text = f"ValueError: {RAW_ID}"
    assert RedactSensitive().filter(record)
    assert record.exc_text == "ValueError: 441***********123X"


def test_stack_info_is_redacted() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None, sinfo=RAW_PHONE)
    assert RedactSensitive().filter(record)
    assert record.stack_info == "138****5678"


def test_a_bad_format_string_neither_raises_nor_leaks(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    logger.info("rep %s and %s", RAW_ID)  # one argument short
    out = stream.getvalue()
    assert RAW_ID not in out
    assert "441***********123X" in out


def test_clean_records_keep_their_args() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d rows", (3,), None)
    assert RedactSensitive().filter(record)
    assert (record.msg, record.args) == ("%d rows", (3,))


def test_the_console_handler_in_settings_carries_the_filter() -> None:
    handlers = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactSensitive) for f in h.filters)
    ]
    assert handlers
