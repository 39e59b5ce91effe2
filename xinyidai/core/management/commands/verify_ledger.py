from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from xinyidai.core import ledger


class Command(BaseCommand):
    help = (
        "Verify the tamper-evident ledger: every link, MAC, the head and the daily anchors. "
        "Exit 0 when intact, 1 naming the first bad entry."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print a JSON summary last")
        parser.add_argument(
            "--record", action="store_true", help="store the result for the ledger page"
        )
        parser.add_argument("--seal", action="store_true", help="chain pending events first")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["seal"]:
            ledger.seal()
        result = ledger.verify()
        if options["record"]:
            ledger.record_check(result)
        if result.ok:
            self.stdout.write(
                f"ledger intact: {result.entries} entries, {result.anchors} anchors, "
                f"{result.seconds:.2f} s"
            )
        else:
            self.stderr.write(
                f"ledger TAMPERED at entry {result.first_bad_seq}: {result.problem} "
                f"({result.entries} entries checked before it)"
            )
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
        if not result.ok:
            raise SystemExit(1)
