"""Benchmark the credit portrait on the synthetic city — graph service part.

Read-only. Run it against a database that holds `bench/seed.py`'s 1,000,000-enterprise city:

    DATABASE_URL=postgres://xinyidai:xinyidai@127.0.0.1:5432/xinyidai_bench \\
        .venv/bin/python bench/portrait.py [--firms 1000] [--seed 1] [--no-networkx]

Graph part (`enterprises.graph`): snapshot build time and memory (RSS growth of this process,
peak and retained), 3-hop neighbourhood (both directions, cap 500) p50/p95 over random firms,
ownership p50/p95 over the same firms, family groups over the whole graph, related risk for
every firm given the firms with active serious records (serious_dishonesty / dishonest_debtor).
Query times are given twice: "compute" is the graph work on node indices (`walk`,
`integrated_ownership`), "result" the public call that also builds the result dataclasses.

Then the same queries with networkx in a child process (so that its memory is measured alone):
build from the database rows, 3-hop BFS with the same cap, ownership through the same
`integrated_ownership` math over networkx adjacency, weakly connected components, related risk
by a 2-hop BFS from each risky firm; the results are checked against the scipy ones and the
ratio is printed. Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from _machine import database, machine  # bench/ is sys.path[0] when run as a script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinyidai.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")

DEPTH, CAP = 3, 500
SERIOUS = ("serious_dishonesty", "dishonest_debtor")


def rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def percentiles(seconds: list[float]) -> dict[str, float]:
    import numpy as np

    p50, p95, p99 = np.percentile(np.asarray(seconds) * 1000, [50, 95, 99])
    return {
        "p50_ms": round(float(p50), 4),
        "p95_ms": round(float(p95), 4),
        "p99_ms": round(float(p99), 4),
    }


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def risky_firms() -> tuple[float, list[int]]:
    from django.db import connection

    from enterprises.models import CreditRecord

    table = connection.ops.quote_name(CreditRecord._meta.db_table)

    def read() -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT enterprise_id FROM {table} "  # noqa: S608
                "WHERE status = 'active' AND record_type IN (%s, %s) "
                "AND enterprise_id IS NOT NULL",
                SERIOUS,
            )
            return sorted(row[0] for row in cursor.fetchall())

    return timed(read)


# ---------------------------------------------------------------------------------------------
# scipy (enterprises.graph)
# ---------------------------------------------------------------------------------------------
def graph_part(firms_wanted: int, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Figures and, for the cross-check, what the queries returned."""
    import numpy as np

    from enterprises import graph

    before, peak_before = rss_mib(), peak_mib()
    snapshot = graph.GraphSnapshot.build()
    build_seconds = snapshot.build_seconds
    retained = rss_mib() - before
    peak = max(peak_mib(), peak_before) - before
    rebuilds = [graph.GraphSnapshot.build().build_seconds for _i in range(2)]

    rng = np.random.default_rng(seed)
    count = min(firms_wanted, snapshot.n_enterprises)
    firms = sorted(rng.choice(snapshot.enterprise_ids, count, replace=False).tolist())
    nodes = [snapshot.node_of(f) for f in firms]

    walk_times, walk_digest = [], []
    for node in nodes:
        seconds, (depth_of, _edges, capped) = timed(
            partial(snapshot.walk, node, depth=DEPTH, direction="both", cap=CAP)
        )
        walk_times.append(seconds)
        walk_digest.append((len(depth_of), capped))
    result_times, sizes, capped_count = [], [], 0
    neighbourhoods: list[list[str] | None] = []
    for firm in firms:
        # shareholdings only, like the networkx graph it is checked against
        seconds, found = timed(
            partial(
                snapshot.neighbourhood,
                firm,
                depth=DEPTH,
                direction="both",
                cap=CAP,
                personnel=False,
            )
        )
        result_times.append(seconds)
        sizes.append(len(found.nodes))
        capped_count += found.capped
        neighbourhoods.append(None if found.capped else sorted(n.key for n in found.nodes))

    indptr, indices, data = snapshot.up.indptr, snapshot.up.indices, snapshot.up.data
    ne = snapshot.n_enterprises

    def holders_of(firm: int) -> list[tuple[int, int]]:
        lo, hi = indptr[firm : firm + 2].tolist()
        return list(zip(indices[lo:hi].tolist(), data[lo:hi].tolist(), strict=True))

    def is_person(node: int) -> bool:
        return node >= ne

    compute_times = [
        timed(partial(graph.integrated_ownership, node, holders_of, is_person))[0] for node in nodes
    ]
    ownership_times, owners = [], []
    for firm in firms:
        seconds, found = timed(partial(snapshot.ownership, firm))
        ownership_times.append(seconds)
        owners.append({f"{h.kind[0]}:{h.id}": h.effective for h in found.holders})

    families_seconds, labels = timed(snapshot.families)
    family_sizes = np.bincount(labels)

    risky_read, risky = risky_firms()
    risk_seconds, related = timed(partial(snapshot.related_risk, risky))  # builds A + Aᵀ
    risk_again, _related = timed(partial(snapshot.related_risk, risky))
    one_times = [timed(partial(snapshot.related_risk_for, f, risky))[0] for f in firms[:200]]

    figures = {
        "enterprises": snapshot.n_enterprises,
        "persons": snapshot.n_persons,
        "shareholdings": snapshot.n_edges,
        "build_s": round(build_seconds, 3),
        "rebuild_s": [round(s, 3) for s in rebuilds],
        "build_peak_mib": round(peak, 1),
        "retained_mib": round(retained, 1),
        "arrays_mib": round(snapshot.nbytes / 2**20, 1),
        "firms": count,
        "hop3_compute": percentiles(walk_times),
        "hop3_result": percentiles(result_times),
        "hop3_capped": capped_count,
        "hop3_mean_nodes": round(sum(sizes) / len(sizes), 1),
        "ownership_compute": percentiles(compute_times),
        "ownership_result": percentiles(ownership_times),
        "families_s": round(families_seconds, 3),
        "families": len(family_sizes),
        "largest_family": int(family_sizes.max()),
        "risky_firms": len(risky),
        "risky_read_s": round(risky_read, 3),
        "related_risk_s": round(risk_seconds, 3),
        "related_risk_again_s": round(risk_again, 3),
        "related_risk_tagged": len(related),
        "related_risk_pairs": sum(len(v) for v in related.values()),
        "related_risk_one": percentiles(one_times),
    }
    answers = {
        "firms": firms,
        "risky": risky,
        "walk": walk_digest,
        "neighbourhoods": neighbourhoods,
        "owners": owners,
        "families": len(family_sizes),
        "related_tagged": len(related),
        "related_pairs": figures["related_risk_pairs"],
    }
    return figures, answers


# ---------------------------------------------------------------------------------------------
# networkx, in a child process
# ---------------------------------------------------------------------------------------------
def networkx_child() -> int:
    """Reads {"firms": [...], "risky": [...]} on stdin, prints figures and answers as JSON.
    Node keys: an enterprise is its id, a person minus its id."""
    import django

    django.setup()
    import networkx as nx
    from django.db import connection

    from enterprises import graph
    from enterprises.models import Enterprise, Person, Shareholding

    request = json.load(sys.stdin)
    firms, risky = request["firms"], set(request["risky"])
    qn = connection.ops.quote_name
    before = rss_mib()

    g: Any = nx.DiGraph()
    read_seconds = 0.0

    def rows(sql: str) -> Any:
        nonlocal read_seconds
        with connection.chunked_cursor() as cursor:  # server-side on PostgreSQL
            started = time.perf_counter()
            cursor.execute(sql)
            while True:
                batch = cursor.fetchmany(50_000)
                read_seconds += time.perf_counter() - started
                if not batch:
                    return
                yield batch
                started = time.perf_counter()

    started = time.perf_counter()
    for batch in rows(f"SELECT id, uscc, name FROM {qn(Enterprise._meta.db_table)}"):  # noqa: S608
        g.add_nodes_from((i, {"kind": "e", "identifier": u, "name": n}) for i, u, n in batch)
    for batch in rows(f"SELECT id, id_masked, name FROM {qn(Person._meta.db_table)}"):  # noqa: S608
        g.add_nodes_from((-i, {"kind": "p", "identifier": m, "name": n}) for i, m, n in batch)
    sql = (
        "SELECT holder_enterprise_id, holder_person_id, target_id, "  # noqa: S608
        f"CAST(ROUND(share_percent * 10000) AS INTEGER) FROM {qn(Shareholding._meta.db_table)}"
    )
    for batch in rows(sql):
        g.add_edges_from((e if e is not None else -p, t, {"units": u}) for e, p, t, u in batch)
    build_seconds = time.perf_counter() - started
    retained = rss_mib() - before
    peak = peak_mib() - before

    pred, succ = g.pred, g.succ

    def walk(start: int) -> tuple[dict[int, int], bool]:
        depth_of = {start: 0}
        frontier = [start]
        capped = False
        for level in range(1, DEPTH + 1):
            reached = []
            for node in frontier:
                for adjacency in (pred, succ):
                    for other in adjacency[node]:
                        if other not in depth_of:
                            if len(depth_of) >= CAP:
                                capped = True
                                continue
                            depth_of[other] = level
                            reached.append(other)
            frontier = reached
        return depth_of, capped

    walk_times, walk_digest, neighbourhoods = [], [], []
    for firm in firms:
        seconds, (depth_of, capped) = timed(partial(walk, firm))
        walk_times.append(seconds)
        walk_digest.append((len(depth_of), capped))
        neighbourhoods.append(
            None if capped else sorted(f"e:{n}" if n > 0 else f"p:{-n}" for n in depth_of)
        )

    def holders_of(firm: int) -> list[tuple[int, int]]:
        return [(h, d["units"]) for h, d in pred[firm].items()]

    def is_person(node: int) -> bool:
        return node < 0

    ownership_times, owners = [], []
    for firm in firms:
        seconds, found = timed(partial(graph.integrated_ownership, firm, holders_of, is_person))
        ownership_times.append(seconds)
        owners.append({f"e:{n}" if n > 0 else f"p:{-n}": v for n, v in found.effective.items()})

    components_seconds, components = timed(partial(nx.number_weakly_connected_components, g))

    def related_risk() -> dict[int, set[int]]:
        tagged: dict[int, set[int]] = {}
        for source in risky:
            if source not in g:
                continue
            seen = {source}
            frontier = [source]
            for _hop in range(2):
                reached = []
                for node in frontier:
                    for adjacency in (pred, succ):
                        for other in adjacency[node]:
                            if other not in seen:
                                seen.add(other)
                                reached.append(other)
                frontier = reached
            for node in seen:
                if node > 0 and node != source:
                    tagged.setdefault(node, set()).add(source)
        return tagged

    risk_seconds, related = timed(related_risk)
    json.dump(
        {
            "figures": {
                "build_s": round(build_seconds, 3),
                "build_read_s": round(read_seconds, 3),
                "build_peak_mib": round(peak, 1),
                "retained_mib": round(retained, 1),
                "hop3_compute": percentiles(walk_times),
                "ownership_compute": percentiles(ownership_times),
                "families_s": round(components_seconds, 3),
                "related_risk_s": round(risk_seconds, 3),
            },
            "answers": {
                "walk": walk_digest,
                "neighbourhoods": neighbourhoods,
                "owners": owners,
                "families": components,
                "related_tagged": len(related),
                "related_pairs": sum(len(v) for v in related.values()),
            },
        },
        sys.stdout,
    )
    return 0


def run_networkx(answers: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603
        [sys.executable, __file__, "--networkx-child"],
        input=json.dumps({"firms": answers["firms"], "risky": answers["risky"]}),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """Differences between the scipy and networkx answers (empty when they agree)."""
    problems = []
    for name in ("families", "related_tagged", "related_pairs"):
        if ours[name] != theirs[name]:
            problems.append(f"{name}: {ours[name]} != {theirs[name]}")
    walks = [tuple(w) for w in theirs["walk"]]
    if [(n, bool(c)) for n, c in ours["walk"]] != [(n, bool(c)) for n, c in walks]:
        problems.append("3-hop node counts or capped flags differ")
    uncapped = [
        (a, b)
        for a, b in zip(ours["neighbourhoods"], theirs["neighbourhoods"], strict=True)
        if a is not None or b is not None
    ]
    if any(a != b for a, b in uncapped):
        problems.append("3-hop node sets differ")
    for firm, a, b in zip(ours["firms"], ours["owners"], theirs["owners"], strict=True):
        if a.keys() != b.keys() or any(abs(a[k] - b[k]) > 1e-9 for k in a):
            problems.append(f"ownership of {firm} differs")
            break
    return problems


def ratio(slow: float, fast: float) -> str:
    return f"{slow / fast:,.1f}×" if fast > 0 else "–"


def print_table(ours: dict[str, Any], nx_figures: dict[str, Any] | None) -> None:
    def row(label: str, scipy_value: str, nx_value: str = "", times: str = "") -> None:
        print(f"| {label} | {scipy_value} | {nx_value} | {times} |")

    print("| measure | scipy snapshot | networkx | networkx / scipy |")
    print("|---|---|---|---|")
    n = nx_figures or {}
    row(
        "build (s)",
        f"{ours['build_s']:.2f} (rebuilds {', '.join(f'{s:.2f}' for s in ours['rebuild_s'])})",
        f"{n['build_s']:.2f} (reading rows {n['build_read_s']:.2f})" if n else "",
        ratio(n["build_s"], ours["build_s"]) if n else "",
    )
    row(
        "memory: peak / retained (MiB)",
        f"{ours['build_peak_mib']:.0f} / {ours['retained_mib']:.0f}"
        f" (arrays {ours['arrays_mib']:.0f})",
        f"{n['build_peak_mib']:.0f} / {n['retained_mib']:.0f}" if n else "",
        ratio(n["retained_mib"], ours["retained_mib"]) if n else "",
    )
    for label, key in (("3-hop", "hop3"), ("ownership", "ownership")):
        compute, result = ours[f"{key}_compute"], ours[f"{key}_result"]
        theirs = n.get(f"{key}_compute")
        row(
            f"{label} compute p50 / p95 (ms)",
            f"{compute['p50_ms']:.3f} / {compute['p95_ms']:.3f}",
            f"{theirs['p50_ms']:.3f} / {theirs['p95_ms']:.3f}" if theirs else "",
            ratio(theirs["p95_ms"], compute["p95_ms"]) if theirs else "",
        )
        row(
            f"{label} with result objects p50 / p95 (ms)",
            f"{result['p50_ms']:.3f} / {result['p95_ms']:.3f}",
        )
    row(
        "family groups, whole graph (s)",
        f"{ours['families_s']:.3f} ({ours['families']:,} groups)",
        f"{n['families_s']:.3f}" if n else "",
        ratio(n["families_s"], ours["families_s"]) if n else "",
    )
    row(
        "related risk, all firms (s)",
        f"{ours['related_risk_s']:.3f}, again {ours['related_risk_again_s']:.3f}"
        f" ({ours['related_risk_tagged']:,} firms tagged)",
        f"{n['related_risk_s']:.3f}" if n else "",
        ratio(n["related_risk_s"], ours["related_risk_s"]) if n else "",
    )


def main() -> int:
    if "--networkx-child" in sys.argv:
        return networkx_child()
    import django

    django.setup()
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--firms", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-networkx", action="store_true")
    args = parser.parse_args()

    print(f"machine : {machine()}")
    print(f"database: {database()}")
    started = time.perf_counter()
    ours, answers = graph_part(args.firms, args.seed)
    print(
        f"graph   : {ours['enterprises']:,} enterprises, {ours['persons']:,} persons, "
        f"{ours['shareholdings']:,} shareholdings; {ours['firms']:,} random firms; "
        f"{ours['risky_firms']:,} firms with active serious records"
    )
    print(
        f"3-hop   : {ours['hop3_capped']} of {ours['firms']} capped at {CAP}, "
        f"{ours['hop3_mean_nodes']} nodes on average; largest family "
        f"{ours['largest_family']:,} nodes; related risk "
        f"{ours['related_risk_pairs']:,} pairs, one firm p95 "
        f"{ours['related_risk_one']['p95_ms']:.3f} ms"
    )
    nx_result: dict[str, Any] | None = None
    if not args.no_networkx:
        nx_result = run_networkx(answers)
        problems = compare(answers, nx_result["answers"])
        print("check   : scipy and networkx agree" if not problems else f"check   : {problems}")
        ours["networkx"] = nx_result["figures"]
        ours["networkx_agrees"] = not problems
    print()
    print_table(ours, nx_result["figures"] if nx_result else None)
    print()
    ours["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps({"bench": "portrait.graph", **ours}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
