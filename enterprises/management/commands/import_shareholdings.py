"""import_shareholdings FILE [--dry-run] [--errors-out PATH] [--json]

CSV columns: holder_type,holder_uscc,holder_person_id,holder_name,target_uscc,share_percent,
subscribed_capital,as_of — holder_type is `enterprise` or `person`. Upsert by (holder, target);
same exit status, errors file and --json rules as import_credit_records.
"""

from __future__ import annotations

from typing import Any

from enterprises.importing.command import ImportCommand
from enterprises.importing.progress import Progress
from enterprises.importing.run import ImportResult
from enterprises.importing.shareholdings import import_shareholdings
from enterprises.importing.sources import Source


class Command(ImportCommand):
    help = "Import shareholdings (holder → target enterprise) with per-row errors (upsert)."

    def run(self, source: Source, progress: Progress, options: dict[str, Any]) -> ImportResult:
        return import_shareholdings(source, dry_run=options["dry_run"], progress=progress)
