"""Keep resident ID numbers, phone numbers and secrets out of every log line.

`RedactSensitive` rewrites the record before any formatter sees it: the message with its
arguments, the exception text (traceback and exception message) and the stack info. Numbers
are masked the way pages show them (441***********123X, 138****5678), so a log line still says
*which kind* of value was there.
"""

from __future__ import annotations

import logging
import re

# 18-digit resident ID (GB 11643-1999): 6-digit region, 8-digit birth date, 3-digit sequence,
# check character 0-9 or X; a label glued in front ("ID4419...") does not hide it. A USCC
# never has 17 digits in a row unless it is all digits, and then masking it costs nothing.
_RESIDENT_ID = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
# 15-digit resident ID issued before 1999: region, YYMMDD, sequence.
_OLD_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(\d{3})\d{9}(\d{3})(?![0-9A-Za-z])")
# Mainland mobile number, optionally with +86 / 0086 / 86 and written 3-4-4 with spaces or dashes.
_MOBILE = re.compile(r"(?<!\d)((?:(?:\+|00)?86[\s-]?)?)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_SECRET = re.compile(
    r"(?i)(password|passwd|secret|token|api[_-]?key|authorization)(\"?\s*[:=]\s*\"?)([^\s\"',;&]+)"
)

_traceback_formatter = logging.Formatter()


def redact(text: str) -> str:
    text = _RESIDENT_ID.sub(lambda m: m.group(1)[:3] + "*" * 11 + m.group(3)[-4:], text)
    text = _OLD_RESIDENT_ID.sub(lambda m: m.group(1) + "*" * 9 + m.group(2), text)
    text = _MOBILE.sub(lambda m: m.group(1) + m.group(2) + "****" + m.group(4), text)
    return _SECRET.sub(lambda m: m.group(1) + m.group(2) + "***", text)


class RedactSensitive(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not crash the caller
            # logging's own error report would print the raw arguments; give it clean ones.
            record.msg = redact(f"{record.msg!s} {record.args!r}")
            record.args = None
        else:
            cleaned = redact(message)
            if cleaned != message:
                record.msg = cleaned
                record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters reuse a cached exc_text instead of formatting exc_info again.
            record.exc_text = _traceback_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
