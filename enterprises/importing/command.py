"""What the import commands share: options, exit status, errors file, the JSON last line.

Exit status: 0 every row accepted, 2 some rows rejected, 1 the file could not be read at all
(nothing written). With --json the last line printed is {"created", "updated", "unchanged",
"rejected"}.
"""

from __future__ import annotations

import json
import sys
from abc import ABCMeta, abstractmethod
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from enterprises.importing.progress import Progress
from enterprises.importing.run import ImportResult, write_errors
from enterprises.importing.sources import Source, Unreadable, open_source


class ImportCommand(BaseCommand, metaclass=ABCMeta):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="validate and count only")
        parser.add_argument(
            "--errors-out", type=Path, help="write rejected rows as CSV: row,field,code,message"
        )
        parser.add_argument("--json", action="store_true", help="end with a JSON line of counts")

    @abstractmethod
    def run(self, source: Source, progress: Progress, options: dict[str, Any]) -> ImportResult:
        """Import `source`; each command says what it imports."""

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        progress = Progress(path.name)
        try:
            source = open_source(path)
            progress.done_share = source.done
            result = self.run(source, progress, options)
        except Unreadable as exc:
            progress.done()
            self.stderr.write(f"无法导入 {path}：{exc}")
            if options["json"]:
                self.stdout.write(json.dumps({"error": str(exc)}, ensure_ascii=False))
            sys.exit(1)
        progress.done()
        for warning in result.warnings:
            self.stderr.write(warning)
        if options["errors_out"]:
            with options["errors_out"].open("w", encoding="utf-8-sig", newline="") as out:
                write_errors(result.errors, out)
        for error in result.errors[:20]:
            self.stderr.write(f"第 {error.row} 行 {error.field}：{error.message}")
        if len(result.errors) > 20:
            self.stderr.write(f"…… 共 {len(result.errors)} 处错误")
        counts = result.counts()
        prefix = "[试运行，未写入] " if options["dry_run"] else ""
        self.stdout.write(
            f"{prefix}新增 {counts['created']}，更新 {counts['updated']}，"
            f"未变 {counts['unchanged']}，拒收 {counts['rejected']}"
        )
        if options["json"]:
            self.stdout.write(json.dumps(counts))
        if result.rejected:
            sys.exit(2)
