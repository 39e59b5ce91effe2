"""import_enterprises FILE [--dry-run] [--errors-out PATH] [--json]

CSV columns: uscc,name,established_date,registered_capital,industry_code,town,status,
legal_rep_name,legal_rep_id,address,phone — upsert by USCC; records received before the
enterprise was registered are linked to it.
"""

from __future__ import annotations

from typing import Any

from enterprises.importing.command import ImportCommand
from enterprises.importing.progress import Progress
from enterprises.importing.registry import import_enterprises
from enterprises.importing.run import ImportResult
from enterprises.importing.sources import Source


class Command(ImportCommand):
    help = "Import the enterprise registry from CSV, XLSX or JSON Lines (upsert by USCC)."

    def run(self, source: Source, progress: Progress, options: dict[str, Any]) -> ImportResult:
        return import_enterprises(source, dry_run=options["dry_run"], progress=progress)
