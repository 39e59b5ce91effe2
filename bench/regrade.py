"""Benchmark a full regrade (`enterprises.scoring.run_regrade`) against the configured database.

Run it on the 1M-enterprise synthetic city (see bench/seed.py), e.g.

    DATABASE_URL=postgres://xinyidai:xinyidai@127.0.0.1:5432/xinyidai_bench \\
        .venv/bin/python bench/regrade.py --runs 2

It migrates the database, makes sure the default scheme exists and regrades every enterprise
`--runs` times (the first run may find no grades; later runs turn 1M current grades into history),
then once more with `--skip-unchanged` semantics (nothing changed, so nothing is written). It
prints seconds per phase (features, compute, reasons, write-back), the grade distribution, rows
in the grade table, and the peak RSS of this process. `--limit N` grades the first N enterprises
only; `--no-graph` passes zero related-party risk instead of asking enterprises.graph.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinyidai.settings")


def main() -> int:
    import django

    django.setup()
    from _machine import database, machine
    from django.core.management import call_command

    from enterprises.models import Enterprise, EnterpriseGrade
    from enterprises.scoring import RegradeStats, ensure_default_scheme, run_regrade

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--as-of", default="2026-11-22")
    parser.add_argument("--no-graph", action="store_true")
    parser.add_argument("--no-skip-run", action="store_true")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    scheme = ensure_default_scheme()
    as_of = date.fromisoformat(args.as_of)
    ids = None
    if args.limit:
        ids = list(Enterprise.objects.order_by("id").values_list("id", flat=True)[: args.limit])
    related = {} if args.no_graph else None

    print(f"machine : {machine()}")
    print(f"database: {database()}")
    print(f"scheme  : {scheme.version}, as of {as_of}")

    def report(label: str, stats: RegradeStats, wall: float) -> None:
        s = stats.seconds
        write = ", ".join(f"{k} {s.get(k, 0):.2f}" for k in ("flip", "insert", "commit"))
        print(
            f"{label}: graded {stats.graded:,}, written {stats.written:,}, "
            f"unchanged {stats.unchanged:,}; related risk from {stats.related_source}"
        )
        print(
            f"  seconds: wall {wall:.1f} = features {s.get('features', 0):.2f}, "
            f"compute {s.get('compute', 0):.2f}, reasons {s.get('reasons', 0):.2f}, "
            f"write-back {stats.write_seconds:.2f} ({write})"
        )
        print(f"  grades: {stats.grades}")

    runs = [(f"run {k + 1}", False) for k in range(args.runs)]
    if not args.no_skip_run:
        runs.append(("skip-unchanged", True))
    for label, skip in runs:
        started = time.perf_counter()
        stats = run_regrade(ids, as_of=as_of, related_risky=related, skip_unchanged=skip)
        report(label, stats, time.perf_counter() - started)
    total = EnterpriseGrade.objects.count()
    current = EnterpriseGrade.objects.filter(is_current=True).count()
    print(f"grade rows: {total:,} ({current:,} current)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
