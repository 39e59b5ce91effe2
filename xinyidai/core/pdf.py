"""PDF documents: a Django template rendered to HTML, laid out by WeasyPrint.

Templates extend ``templates/pdf/base.html`` (A4, CJK fonts, page counter). Styles are inline
in the templates, so nothing depends on ``collectstatic``; relative URLs resolve against the
source ``static/`` directory and only ``data:`` and ``file:`` URLs are fetched, so a render
never waits on the network.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext


def _static_dir() -> Path:
    dirs = getattr(settings, "STATICFILES_DIRS", None) or []
    return Path(dirs[0]) if dirs else Path(settings.BASE_DIR) / "static"


def _css_string(text: str) -> str:
    """``text`` as a quoted CSS string that is also safe inside a ``<style>`` element."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ")
    return '"' + escaped.replace("<", "\\3C ") + '"'


def page_counter_content() -> SafeString:
    """CSS ``content`` value for "第 N 页 / 共 M 页", built from one translatable string."""
    # re.split with a group alternates: text, placeholder name, text, ...
    pieces = re.split(r"\{(pages?)\}", gettext("第 {page} 页 / 共 {pages} 页"))
    parts = [
        f"counter({piece})" if index % 2 else _css_string(piece)
        for index, piece in enumerate(pieces)
        if piece
    ]
    return mark_safe(" ".join(parts))  # noqa: S308 - text pieces went through _css_string


def render_html(template_name: str, context: dict[str, Any]) -> str:
    return render_to_string(template_name, {"pdf_page_counter": page_counter_content(), **context})


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    # Imported here: WeasyPrint loads Pango when imported, and a machine without it should
    # still start (only PDF downloads need it; `make run` and `make test` install it).
    from weasyprint import HTML, URLFetcher

    html = HTML(
        string=render_html(template_name, context),
        base_url=str(_static_dir()) + "/",
        url_fetcher=URLFetcher(allowed_protocols=("data", "file")),
    )
    data: bytes = html.write_pdf()
    return data


def pdf_text(data: bytes) -> str:
    """The text of a PDF as ``pdftotext -layout`` lays it out (needs poppler-utils)."""
    executable = shutil.which("pdftotext")
    if executable is None:
        raise RuntimeError("pdftotext not found: install poppler-utils")
    result = subprocess.run(  # noqa: S603 - fixed executable and arguments, PDF on stdin
        [executable, "-layout", "-enc", "UTF-8", "-", "-"],
        input=data,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return result.stdout.decode("utf-8")
