"""Re-encrypt every encrypted column under the first FIELD_ENCRYPTION_KEY (docs/SECURITY.md).

    python manage.py rotate_field_key --dry-run      # what would change
    python manage.py rotate_field_key                # rotate, in chunks, each its own transaction
    python manage.py rotate_field_key --json         # ... and a JSON summary as the last line

Idempotent: values already under the first key are left alone, so re-running after an
interruption finishes the job. Exit code 1 when some value cannot be decrypted with any
configured key (model, field and primary key are reported, never the value).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from xinyidai.core.crypto import rotate_encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt encrypted fields under the first key of FIELD_ENCRYPTION_KEY."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be rotated; write nothing"
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=500,
            help="rows per transaction (default 500)",
        )
        parser.add_argument(
            "--json", action="store_true", help="print a JSON summary as the last line"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        if not settings.FIELD_ENCRYPTION_KEY:
            self.stderr.write(
                "FIELD_ENCRYPTION_KEY is not set: using the development key derived from "
                "SECRET_KEY, so there is nothing to rotate to."
            )
        dry_run = options["dry_run"]
        summary = rotate_encrypted_fields(dry_run=dry_run, chunk_size=options["chunk_size"])
        verb = "would rotate" if dry_run else "rotated"
        for column in summary["fields"]:
            line = (
                f"{column['model']}.{column['field']}: {verb} {column['rotated']}, "
                f"already current {column['already_current']}, "
                f"undecryptable {column['undecryptable']}"
            )
            if column["changed_meanwhile"]:
                line += f", changed by the application meanwhile {column['changed_meanwhile']}"
            self.stdout.write(line)
            for pk in column["undecryptable_pks"]:
                self.stderr.write(
                    f"undecryptable: model={column['model']} pk={pk} field={column['field']}"
                )
        if not summary["fields"]:
            self.stdout.write("no encrypted fields found")
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str))
        if summary["undecryptable"]:
            raise CommandError(
                f"{summary['undecryptable']} value(s) cannot be decrypted with any configured "
                "key; everything else was processed. Restore the key that encrypted them, or "
                "clear those values, then run again.",
                returncode=1,
            )
