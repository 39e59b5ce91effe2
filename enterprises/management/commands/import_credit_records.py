"""import_credit_records FILE [--source DEPT] [--dry-run] [--errors-out PATH] [--json]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from enterprises.importing.command import ImportCommand
from enterprises.importing.progress import Progress
from enterprises.importing.run import ImportResult, import_records
from enterprises.importing.sources import Source


class Command(ImportCommand):
    help = "Import public credit records from CSV, XLSX or JSON Lines (upsert; per-row errors)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--source", default="", help="source department of every row")

    def run(self, source: Source, progress: Progress, options: dict[str, Any]) -> ImportResult:
        return import_records(
            source,
            source_department=options["source"].strip(),
            dry_run=options["dry_run"],
            channel="file",
            file_name=options["file"].name,
            progress=progress,
        )
