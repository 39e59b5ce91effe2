"""regrade [--all] [--enterprise USCC ...] [--scheme VERSION] [--skip-unchanged] [--as-of DATE]
[--json]

Grade enterprises with the active scoring scheme (or --scheme) and store the grades; prints the
counts, the grade distribution and the seconds per phase. See docs/SCORING.md.
"""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from enterprises.models import Enterprise, ScoreScheme
from enterprises.scoring import active_scheme, run_regrade
from enterprises.uscc import check


class Command(BaseCommand):
    help = "Regrade enterprises (信用评价): all of them, or those named by USCC."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="grade every enterprise")
        parser.add_argument(
            "--enterprise", nargs="+", default=[], metavar="USCC", help="grade these only"
        )
        parser.add_argument("--scheme", help="scheme version (default: the active scheme)")
        parser.add_argument(
            "--skip-unchanged",
            action="store_true",
            help="write a grade only where the result differs from the current one",
        )
        parser.add_argument("--as-of", type=date.fromisoformat, help="grading day (YYYY-MM-DD)")
        parser.add_argument("--json", action="store_true", help="end with a JSON line of counts")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"] == bool(options["enterprise"]):
            raise CommandError("请指定 --all 或 --enterprise USCC …（二选一）")
        ids: list[int] | None = None
        if options["enterprise"]:
            codes = []
            for raw in options["enterprise"]:
                result = check(raw)
                codes.append(result.normalized or raw)
            found = dict(Enterprise.objects.filter(uscc__in=codes).values_list("uscc", "id"))
            missing = [c for c in codes if c not in found]
            if missing:
                raise CommandError(f"未登记的统一社会信用代码：{'，'.join(missing)}")
            ids = sorted(found.values())
        if options["scheme"]:
            scheme = ScoreScheme.objects.filter(version=options["scheme"]).first()
            if scheme is None:
                raise CommandError(f"没有版本为 {options['scheme']} 的评价方案")
        else:
            scheme = active_scheme()
        started = time.perf_counter()
        stats = run_regrade(
            ids,
            scheme=scheme,
            as_of=options["as_of"],
            skip_unchanged=options["skip_unchanged"],
        )
        seconds = time.perf_counter() - started
        grades = "，".join(f"{g} {n}" for g, n in stats.grades.items())
        s = stats.seconds
        self.stdout.write(
            f"评价方案 {stats.scheme_version}：评价 {stats.graded} 家企业，"
            f"写入 {stats.written} 条，未变化 {stats.unchanged} 条（{grades}）"
        )
        self.stdout.write(
            f"用时 {seconds:.1f} 秒：特征 {s.get('features', 0):.1f}，"
            f"计算 {s.get('compute', 0):.1f}，理由 {s.get('reasons', 0):.1f}，"
            f"写入 {stats.write_seconds:.1f}"
            f"（关联风险来源：{stats.related_source}）"
        )
        if options["json"]:
            payload = {
                "scheme_version": stats.scheme_version,
                "graded": stats.graded,
                "written": stats.written,
                "unchanged": stats.unchanged,
                "grades": stats.grades,
                "seconds": round(seconds, 3),
            }
            self.stdout.write(json.dumps(payload))
