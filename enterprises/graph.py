"""The investment graph (企业族谱) served from memory.

The database holds the truth; each process keeps one `GraphSnapshot` read from it in a few bulk
queries and answers from scipy CSR matrices: k-hop neighbourhoods, effective ownership (股权穿透)
with beneficial owners and the actual controller, family groups and related-party risk.
`snapshot()` rebuilds the snapshot when a writer has called `bump_graph_version()`.

Callers use the module functions (`neighbourhood`, `ownership`, `family`, `families`,
`related_risk`, `related_risk_for`) and the result dataclasses only, so that another backend can
replace `GraphSnapshot` without touching them.

Node index space: enterprises 0..E-1 sorted by id, then persons E..E+P-1 sorted by id. An edge is
holder → target with the share in integer units of 0.0001 % (100 % = 1,000,000), exactly as the
database stores it; floats appear only in the ownership solve.
"""

from __future__ import annotations

import logging
import threading
import time
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from scipy import sparse
from scipy.sparse import csgraph
from scipy.sparse.linalg import spsolve

from enterprises.models import Enterprise, KeyPersonnel, Person, PersonnelRole, Shareholding

logger = logging.getLogger(__name__)

UNIT = 1_000_000  # 100 % in units of 0.0001 %
UNIT_PER_PERCENT = 10_000  # what the readers multiply the last column by
CONTROL_UNITS = UNIT // 2  # control needs strictly more than this
BENEFICIAL_PERCENT = Decimal("25")
PERCENT_PLACES = Decimal("0.0001")
MAX_DEPTH = 3
DEFAULT_CAP = 500
DIRECTIONS = ("up", "down", "both")
VERSION_KEY = "graph:version"
ENTERPRISE, PERSON = 0, 1
BULK_LOOKUP = 64  # neighbour lists longer than this are filtered with numpy
DENSE_SOLVE_LIMIT = 400  # local systems larger than this go to the sparse solver
_SEP = b"\x1f"  # ends each "identifier<TAB>name" record in a node text blob

Direction = Literal["up", "down", "both"]
IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]


class NotInGraph(LookupError):
    """The enterprise is not in the current snapshot (unknown id, or registered after it was
    built and before the next data-version bump)."""


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------
# Items are not frozen: a frozen dataclass costs three times as much to create, and one
# neighbourhood creates up to a thousand of them.
@dataclass(slots=True)
class Party:
    """An enterprise or a natural person. `identifier` is the USCC of an enterprise and the
    masked resident ID of a person (the graph never holds the number itself)."""

    kind: str  # "enterprise" | "person"
    id: int
    name: str
    identifier: str

    @property
    def key(self) -> str:
        """Unique across both kinds (ids of enterprises and persons overlap): "e:12", "p:7"."""
        return f"{self.kind[0]}:{self.id}"


@dataclass(slots=True)
class Node(Party):
    depth: int


@dataclass(slots=True)
class Edge:
    source: str  # Party.key of the holder (or of the person, for key personnel)
    target: str  # Party.key of the enterprise held (or run)
    share: float  # fraction, 0.5 for 50 %; 0.0 for key personnel
    percent: Decimal | None  # 4 places, as registered; None for key personnel
    kind: str = "shareholding"  # or "personnel"
    role: str = ""  # key personnel: legal_representative / director / supervisor / manager


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    enterprise_id: int
    depth: int
    direction: str
    nodes: tuple[Node, ...]  # breadth-first, the enterprise itself first (depth 0)
    edges: tuple[Edge, ...]
    capped: bool  # more nodes were within reach than the cap allowed


@dataclass(slots=True)
class Holder(Party):
    effective: float  # fraction
    effective_percent: Decimal  # 4 places, half-up


@dataclass(frozen=True, slots=True)
class Ownership:
    enterprise_id: int
    holders: tuple[Holder, ...]  # ultimate holders, largest first
    beneficial_owners: tuple[Holder, ...]  # natural persons with >= 25 %
    controller: Party | None
    # enterprise ids upstream that no ultimate holder reaches (closed cross-holding loops)
    unresolved: tuple[int, ...]
    # enterprise ids upstream whose registered shares add up to more than 100 % (scaled down)
    oversubscribed: tuple[int, ...]
    method: str = "integrated"


@dataclass(frozen=True, slots=True)
class FamilySummary:
    label: int
    enterprises: int
    persons: int


_ROLE_NAMES = {role.value: role.name.lower() for role in PersonnelRole}


def percent_of(fraction: float) -> Decimal:
    return Decimal(fraction * 100).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


@lru_cache(maxsize=4096)
def _percent_of_units(units: int) -> Decimal:
    return Decimal(units).scaleb(-4)


# ---------------------------------------------------------------------------------------------
# Reading the database
# ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Nodes:
    """One kind of node: sorted ids and their "identifier<TAB>name" texts in one UTF-8 blob
    (a million Python strings would cost several times the memory and the build time)."""

    ids: IntArray
    text: bytes | bytearray
    starts: IntArray
    ends: IntArray

    def find(self, ids: IntArray) -> IntArray:
        """Positions of `ids`, -1 where absent."""
        if not len(self.ids):
            return np.full(len(ids), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        return np.where(self.ids[pos] == ids, pos, -1)

    @property
    def nbytes(self) -> int:
        return int(self.ids.nbytes + len(self.text) + self.starts.nbytes + self.ends.nbytes)


def _assemble(chunks: Iterable[tuple[IntArray, bytes]]) -> _Nodes:
    id_parts: list[IntArray] = []
    end_parts: list[IntArray] = []
    text = bytearray()
    for ids, blob in chunks:
        ends = np.flatnonzero(np.frombuffer(blob, dtype=np.uint8) == _SEP[0]).astype(np.int64)
        if len(ends) != len(ids):
            raise RuntimeError("graph snapshot: node texts and ids do not line up")
        end_parts.append(ends + len(text))
        id_parts.append(ids)
        text += blob
    ids = np.concatenate(id_parts) if id_parts else np.empty(0, dtype=np.int64)
    ends = np.concatenate(end_parts) if end_parts else np.empty(0, dtype=np.int64)
    starts = np.empty_like(ends)
    if len(ends):
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        order = np.argsort(ids, kind="stable")
        ids, starts, ends = ids[order], starts[order], ends[order]
    return _Nodes(ids=ids, text=text, starts=starts, ends=ends)


def _clean(value: str) -> str:
    return value.replace("\x1f", " ")


class _CursorReader:
    """Any database through Django's cursor, streamed in batches (SQLite, the embedded demo)."""

    batch = 20_000

    def __init__(self, connection: Any):
        self.connection = connection

    def nodes(self, table: str, identifier: str, name: str) -> Iterator[tuple[IntArray, bytes]]:
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT id, {identifier}, {name} FROM {table} ORDER BY id")  # noqa: S608
            while rows := cursor.fetchmany(self.batch):
                ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                blob = "".join(f"{_clean(r[1])}\t{_clean(r[2])}\x1f" for r in rows)
                yield ids, blob.encode()

    def edges(self, table: str, columns: tuple[str, str, str, str]) -> Iterator[IntArray]:
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(columns)} FROM {table}")  # noqa: S608
            while rows := cursor.fetchmany(self.batch):
                flat = array("q")
                for enterprise, person, target, share in rows:
                    flat.extend(
                        (
                            -1 if enterprise is None else enterprise,
                            -1 if person is None else person,
                            target,
                            round(float(share) * 10_000),
                        )
                    )
                yield np.frombuffer(flat, dtype=np.int64).reshape(-1, 4)


class _PostgresReader:
    """PostgreSQL: each batch of rows comes back as one aggregated binary value (ids packed by
    int8send, texts joined), so Python never sees a row; keyset batches keep the server's result
    buffer small."""

    batch = 250_000

    def __init__(self, connection: Any):
        connection.ensure_connection()
        self.raw = connection.connection  # the psycopg 3 connection

    def _batches(self, sql: str) -> Iterator[tuple[Any, ...]]:
        import psycopg

        last = -(2**63)
        # Django hands out client-side-binding cursors, which cannot return binary results.
        with psycopg.Cursor(self.raw) as cursor:
            while True:
                cursor.execute(sql, (last, self.batch), binary=True)
                row = cursor.fetchone()
                if row is None or not row[0]:
                    return
                yield row[2:]
                if row[0] < self.batch:
                    return
                last = row[1]

    def nodes(self, table: str, identifier: str, name: str) -> Iterator[tuple[IntArray, bytes]]:
        # table and column names are quoted names from the models' meta; values are parameters
        sql = (
            "SELECT count(*), max(id), string_agg(int8send(id), ''::bytea), "  # noqa: S608
            "string_agg(convert_to(replace(ident, E'\\x1f', ' ') || E'\\t' || "
            "replace(label, E'\\x1f', ' ') || E'\\x1f', 'UTF8'), ''::bytea) "
            f"FROM (SELECT id, {identifier} AS ident, {name} AS label FROM {table} "
            "WHERE id > %s ORDER BY id LIMIT %s) AS batch"
        )
        for packed_ids, blob in self._batches(sql):
            yield np.frombuffer(packed_ids, dtype=">i8").astype(np.int64), blob

    def edges(self, table: str, columns: tuple[str, str, str, str]) -> Iterator[IntArray]:
        enterprise, person, target, share = columns
        sql = (
            "SELECT count(*), max(id), string_agg("  # noqa: S608
            f"int8send(coalesce({enterprise}, -1)) || int8send(coalesce({person}, -1)) || "
            f"int8send({target}) || int8send(round({share} * 10000)::int8), ''::bytea) "
            f"FROM (SELECT id, {enterprise}, {person}, {target}, {share} FROM {table} "
            "WHERE id > %s ORDER BY id LIMIT %s) AS batch"
        )
        for (packed,) in self._batches(sql):
            yield np.frombuffer(packed, dtype=">i8").astype(np.int64).reshape(-1, 4)


def _map_edges(
    raw: IntArray, enterprises: _Nodes, persons: _Nodes
) -> tuple[Int32Array, Int32Array, Int32Array]:
    """(holder node, target node, units) of raw (holder enterprise id or -1, holder person id
    or -1, target id, units) rows, without rows whose ends are not in the snapshot."""
    targets = enterprises.find(raw[:, 2])
    person = persons.find(raw[:, 1])
    holders = np.where(
        raw[:, 0] >= 0,
        enterprises.find(raw[:, 0]),
        np.where(person >= 0, person + len(enterprises.ids), -1),
    )
    keep = (targets >= 0) & (holders >= 0) & (raw[:, 3] > 0)
    return (
        holders[keep].astype(np.int32),
        targets[keep].astype(np.int32),
        raw[keep, 3].astype(np.int32),
    )


def _reader(connection: Any) -> _CursorReader | _PostgresReader:
    if connection.vendor == "postgresql":
        from django.db.backends.postgresql.psycopg_any import is_psycopg3

        if is_psycopg3:
            return _PostgresReader(connection)
    return _CursorReader(connection)


# ---------------------------------------------------------------------------------------------
# Ownership and control on the upstream subgraph of one firm (independent of the adjacency
# structure, so that another backend, or the networkx comparison in bench/, shares the math)
# ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Integrated:
    effective: dict[int, float]  # ultimate holder node → effective fraction
    controller: int | None
    unresolved: list[int]  # upstream firms no ultimate holder reaches
    oversubscribed: list[int]  # upstream firms whose holders have more than 100 %


def integrated_ownership(
    target: int,
    holders_of: Callable[[int], list[tuple[int, int]]],
    is_person: Callable[[int], bool],
) -> Integrated:
    """Effective ownership of every ultimate holder of `target`, and its actual controller.

    `holders_of(firm)` lists (holder, units) of a firm. With A (firm → firm shares) and P
    (person → firm shares) over the upstream firms, U = P·(I − A)⁻¹; only the target's column
    is needed, so x = (I − A)⁻¹·e_t is one linear solve and a holder's effective share is its
    direct shares weighted by x (a firm nobody holds: x itself). Firms that no ultimate holder
    reaches (a loop that owns itself outright) are left out of the solve: with them I − A can be
    singular; without them every loop leaks to an outside holder and the system is well posed
    (holders above 100 % are scaled down to 100 % first).
    """
    firms = [target]  # upstream firms, breadth first
    seen = {target}
    persons: set[int] = set()
    holders: dict[int, list[tuple[int, int]]] = {}
    while len(holders) < len(firms):
        firm = firms[len(holders)]
        held = holders[firm] = holders_of(firm)
        for holder, _units in held:
            if is_person(holder):
                persons.add(holder)
            elif holder not in seen:
                seen.add(holder)
                firms.append(holder)

    roots = [f for f in firms if f != target and not holders[f]]
    totals = {f: sum(units for _h, units in holders[f]) for f in firms}
    held_by: dict[int, list[int]] = defaultdict(list)
    for firm, held in holders.items():
        for holder, _units in held:
            held_by[holder].append(firm)
    reached = set(roots)
    stack = [*roots, *persons]
    while stack:
        for firm in held_by.get(stack.pop(), ()):
            if firm not in reached:
                reached.add(firm)
                stack.append(firm)

    effective: dict[int, float] = {}
    if target in reached:
        effective = _solve(target, [f for f in firms if f in reached], holders, totals, roots)
    return Integrated(
        effective=effective,
        controller=_controller(target, firms, holders),
        unresolved=sorted(f for f in firms if f not in reached),
        oversubscribed=sorted(f for f in firms if totals[f] > UNIT),
    )


def _solve(
    target: int,
    firms: list[int],
    holders: dict[int, list[tuple[int, int]]],
    totals: dict[int, int],
    roots: list[int],
) -> dict[int, float]:
    scale = {f: UNIT / totals[f] if totals[f] > UNIT else 1.0 for f in firms}
    local = {firm: i for i, firm in enumerate(firms)}
    if len(firms) == 1 and not any(h == target for h, _units in holders[target]):
        # no firm in between (the common case): the direct shares of natural persons
        return {h: u / UNIT * scale[target] for h, u in holders[target] if h not in holders}

    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    direct: dict[int, list[tuple[int, float]]] = defaultdict(list)  # holder → (firm, share)
    for firm in firms:
        j = local[firm]
        for holder, units in holders[firm]:
            share = units / UNIT * scale[firm]
            if holder in local:
                rows.append(local[holder])
                cols.append(j)
                values.append(share)
            if holder not in holders:  # a natural person (firms upstream all have an entry)
                direct[holder].append((j, share))
    m = len(firms)
    rhs = np.zeros(m)
    rhs[local[target]] = 1.0
    try:
        if m <= DENSE_SOLVE_LIMIT:
            system = np.eye(m)
            system[rows, cols] -= values  # (holder, firm) pairs are unique
            x = np.linalg.solve(system, rhs)
        else:
            a = sparse.csc_array((values, (rows, cols)), shape=(m, m))
            x = np.asarray(spsolve(sparse.eye_array(m, format="csc") - a, rhs))
    except np.linalg.LinAlgError:
        x = np.full(m, np.nan)
    if not np.all(np.isfinite(x)):
        logger.warning("graph: ownership of node %d has no finite solution", target)
        return {}
    result = {root: float(x[local[root]]) for root in roots}
    for person, stakes in direct.items():
        result[person] = float(sum(share * x[j] for j, share in stakes))
    return result


def _controller(
    target: int, firms: list[int], holders: dict[int, list[tuple[int, int]]]
) -> int | None:
    """X controls Y when X with the firms X controls holds more than 50 % of Y.

    Every entity points at the entity controlling it (`parent`); a firm's holders are grouped
    by the top of their chain, and a group above 50 % makes its top the firm's controller.
    Control only grows, so repeating until nothing changes reaches the fixpoint. A firm held
    above 50 % by its own group (its subsidiaries hold it) controls itself in a loop: firms that
    control each other have no actual controller (无实际控制人), nor has what they control.
    """
    parent: dict[int, int] = {}

    def top(node: int) -> int:
        while node in parent:
            node = parent[node]
        return node

    def groups(firm: int) -> dict[int, int]:
        totals: dict[int, int] = defaultdict(int)
        for holder, units in holders[firm]:
            totals[top(holder)] += units
        return totals

    order = firms[::-1]  # farthest ancestors first: a chain settles in one pass
    changed = True
    while changed:
        changed = False
        for firm in order:
            if firm in parent:
                continue
            best = max(
                ((units, -head) for head, units in groups(firm).items() if head != firm),
                default=None,
            )
            if best is not None and best[0] > CONTROL_UNITS:
                parent[firm] = -best[1]
                changed = True
    head = top(target)
    if head == target:
        return None
    if head in holders and groups(head).get(head, 0) > CONTROL_UNITS:
        return None
    return head


# ---------------------------------------------------------------------------------------------
# The snapshot
# ---------------------------------------------------------------------------------------------
def _check_depth(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DEPTH:
        raise ValueError(f"{name} must be an integer from 1 to {MAX_DEPTH}, got {value!r}")


class GraphSnapshot:
    """The whole shareholding graph of one moment, immutable once built."""

    def __init__(
        self,
        enterprises: _Nodes,
        persons: _Nodes,
        holders: Int32Array,
        targets: Int32Array,
        units: Int32Array,
        *,
        version: int | None = None,
        personnel: tuple[Int32Array, Int32Array, Int32Array] | None = None,
    ):
        self._enterprises, self._persons = enterprises, persons
        self.n_enterprises = len(enterprises.ids)
        self.n_persons = len(persons.ids)
        n = self.n_enterprises + self.n_persons
        self.kind = np.zeros(n, dtype=np.uint8)
        self.kind[self.n_enterprises :] = PERSON
        down = sparse.csr_array((units, (holders, targets)), shape=(n, n))
        down.sum_duplicates()
        down.sort_indices()
        up = down.T.tocsr()
        up.sort_indices()
        self.down: Any = down  # holder → target
        self.up: Any = up  # target → holder
        # key personnel, person → enterprise with the role code (one role per pair: the lowest
        # code, i.e. the legal representative before a director); never part of ownership
        people, firms, roles = personnel or (np.empty(0, dtype=np.int32),) * 3
        order = np.lexsort((roles, firms, people))
        people, firms, roles = people[order], firms[order], roles[order]
        first = np.ones(len(people), dtype=bool)
        first[1:] = (people[1:] != people[:-1]) | (firms[1:] != firms[:-1])
        runs = sparse.csr_array((roles[first], (people[first], firms[first])), shape=(n, n))
        runs.sort_indices()
        run_by = runs.T.tocsr()
        run_by.sort_indices()
        self.runs: Any = runs  # person → enterprise they hold a position in
        self.run_by: Any = run_by  # enterprise → its key personnel
        self.version = version
        self.built_at = time.time()
        self.build_seconds = 0.0
        self._labels: Int32Array | None = None
        self._family_counts: tuple[IntArray, IntArray] | None = None
        self._undirected: Any = None

    @classmethod
    def build(cls, *, using: str = "default", version: int | None = None) -> GraphSnapshot:
        started = time.perf_counter()
        connection = connections[using]
        reader = _reader(connection)
        qn = connection.ops.quote_name

        def column(model: Any, field: str) -> str:
            return str(qn(model._meta.get_field(field).column))

        # Nodes first, then edges mapped batch by batch (never holding a million raw rows). An
        # edge written meanwhile whose holder or target came after the node read is dropped;
        # its writer bumps the data version after commit, which rebuilds the snapshot.
        enterprises = _assemble(
            reader.nodes(
                qn(Enterprise._meta.db_table),
                column(Enterprise, "uscc"),
                column(Enterprise, "name"),
            )
        )
        persons = _assemble(
            reader.nodes(
                qn(Person._meta.db_table), column(Person, "id_masked"), column(Person, "name")
            )
        )
        parts: list[tuple[Int32Array, Int32Array, Int32Array]] = []
        for raw in reader.edges(
            qn(Shareholding._meta.db_table),
            (
                column(Shareholding, "holder_enterprise"),
                column(Shareholding, "holder_person"),
                column(Shareholding, "target"),
                column(Shareholding, "share_percent"),
            ),
        ):
            parts.append(_map_edges(raw, enterprises, persons))
        columns = [np.concatenate(c) for c in zip(*parts, strict=True)] if parts else []
        del parts
        holders, targets, units = columns or [np.empty(0, dtype=np.int32)] * 3
        # key personnel through the same reader: (no firm, person, firm, role code as "share")
        links = [
            _map_edges(raw, enterprises, persons)
            for raw in reader.edges(
                qn(KeyPersonnel._meta.db_table),
                (
                    "NULL",
                    column(KeyPersonnel, "person"),
                    column(KeyPersonnel, "enterprise"),
                    column(KeyPersonnel, "role"),
                ),
            )
        ]
        personnel = None
        if links:
            people, firms, codes = (np.concatenate(c) for c in zip(*links, strict=True))
            personnel = (people, firms, (codes // UNIT_PER_PERCENT).astype(np.int32))
        graph = cls(
            enterprises, persons, holders, targets, units, version=version, personnel=personnel
        )
        graph.build_seconds = time.perf_counter() - started
        logger.info(
            "graph snapshot built: %d enterprises, %d persons, %d edges in %.2f s",
            graph.n_enterprises,
            graph.n_persons,
            graph.n_edges,
            graph.build_seconds,
        )
        return graph

    # -- identity ---------------------------------------------------------------------------------
    @property
    def n_edges(self) -> int:
        return int(self.down.nnz)

    @property
    def enterprise_ids(self) -> IntArray:
        """Enterprise ids in node order (node i < n_enterprises is enterprise_ids[i])."""
        return self._enterprises.ids

    @property
    def person_ids(self) -> IntArray:
        return self._persons.ids

    @property
    def nbytes(self) -> int:
        arrays: list[npt.NDArray[Any]] = [self.kind]
        for matrix in (self.down, self.up, self._undirected):
            if matrix is not None:
                arrays += [matrix.data, matrix.indices, matrix.indptr]
        if self._labels is not None:
            arrays.append(self._labels)
        return self._enterprises.nbytes + self._persons.nbytes + sum(int(a.nbytes) for a in arrays)

    def node_of(self, enterprise_id: int) -> int:
        ids = self._enterprises.ids
        pos = int(np.searchsorted(ids, enterprise_id))
        if pos >= len(ids) or int(ids[pos]) != enterprise_id:
            raise NotInGraph(enterprise_id)
        return pos

    def _enterprise_nodes(self, enterprise_ids: Iterable[int]) -> IntArray:
        ids = np.fromiter(enterprise_ids, dtype=np.int64)
        found = self._enterprises.find(ids)
        return np.unique(found[found >= 0])

    def party(self, node: int) -> Party:
        return Party(*self._describe_many([node])[node])

    def _describe_many(self, nodes: list[int]) -> dict[int, tuple[str, int, str, str]]:
        """(kind, id, name, identifier) of each node, with one gather per array."""
        found: dict[int, tuple[str, int, str, str]] = {}
        if not nodes:
            return found
        order = np.asarray(nodes, dtype=np.int64)
        ne = self.n_enterprises
        for kind, group, offset, mask in (
            ("enterprise", self._enterprises, 0, order < ne),
            ("person", self._persons, ne, order >= ne),
        ):
            picked = order[mask]
            if not len(picked):
                continue
            local = picked - offset
            text = group.text
            for node, item_id, start, end in zip(
                picked.tolist(),
                group.ids[local].tolist(),
                group.starts[local].tolist(),
                group.ends[local].tolist(),
                strict=True,
            ):
                identifier, _tab, name = text[start:end].decode().partition("\t")
                found[node] = (kind, item_id, name, identifier)
        return found

    # -- k-hop neighbourhood ----------------------------------------------------------------------
    def neighbourhood(
        self,
        enterprise_id: int,
        *,
        depth: int = 1,
        direction: Direction | str = "both",
        cap: int = DEFAULT_CAP,
        personnel: bool = True,
    ) -> Neighbourhood:
        """Nodes and edges within `depth` hops; `personnel=False` follows shareholdings only."""
        _check_depth("depth", depth)
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ValueError(f"cap must be a positive integer, got {cap!r}")
        start = self.node_of(enterprise_id)
        links: dict[tuple[int, int], int] = {}
        depth_of, edges, capped = self.walk(
            start, depth=depth, direction=direction, cap=cap, links=links if personnel else None
        )
        described = self._describe_many(list(depth_of))
        keys = {node: f"{row[0][0]}:{row[1]}" for node, row in described.items()}
        percent = _percent_of_units
        return Neighbourhood(
            enterprise_id=enterprise_id,
            depth=depth,
            direction=direction,
            # positional arguments: this is the hot loop of a capped neighbourhood
            nodes=tuple([Node(*described[node], level) for node, level in depth_of.items()]),
            edges=tuple(
                [
                    Edge(keys[holder], keys[target], share / UNIT, percent(share))
                    for (holder, target), share in edges.items()
                ]
                + [
                    Edge(keys[who], keys[firm], 0.0, None, "personnel", _ROLE_NAMES[role])
                    for (who, firm), role in links.items()
                ]
            ),
            capped=capped,
        )

    def walk(
        self,
        start: int,
        *,
        depth: int,
        direction: str,
        cap: int,
        links: dict[tuple[int, int], int] | None = None,
    ) -> tuple[dict[int, int], dict[tuple[int, int], int], bool]:
        """Breadth-first walk from node `start`: {node: depth} in the order reached,
        {(holder, target): units} among those nodes, and whether the cap cut the walk. With
        `links` the walk also follows key personnel ("up" from a firm to the people who run it,
        "down" from a person to the firms they run) and records {(person, firm): role} there."""
        sides: list[tuple[Any, bool, dict[tuple[int, int], int]]] = []
        edges: dict[tuple[int, int], int] = {}
        if direction in ("up", "both"):
            sides.append((self.up, True, edges))
            if links is not None:
                sides.append((self.run_by, True, links))
        if direction in ("down", "both"):
            sides.append((self.down, False, edges))
            if links is not None:
                sides.append((self.runs, False, links))
        depth_of = {start: 0}
        frontier = [start]
        kept: IntArray | None = None  # sorted nodes, once the cap is reached
        for level in range(1, depth + 1):
            reached: list[int] = []
            for node in frontier:
                for matrix, upwards, found in sides:
                    lo, hi = matrix.indptr[node : node + 2].tolist()
                    if lo == hi:
                        continue
                    if kept is None:
                        neighbours = matrix.indices[lo:hi].tolist()
                        units = matrix.data[lo:hi].tolist()
                        for k, other in enumerate(neighbours):
                            if other not in depth_of:
                                if len(depth_of) >= cap:
                                    break
                                depth_of[other] = level
                                reached.append(other)
                            found[(other, node) if upwards else (node, other)] = units[k]
                        else:
                            continue
                        kept = np.sort(np.fromiter(depth_of, dtype=np.int64, count=len(depth_of)))
                        lo += k
                    # Capped: nothing more joins, only edges among the kept nodes remain (a hub
                    # can have thousands of neighbours: look those up in bulk).
                    segment, units_array = matrix.indices[lo:hi], matrix.data[lo:hi]
                    if hi - lo > BULK_LOOKUP:
                        at = np.minimum(np.searchsorted(kept, segment), len(kept) - 1)
                        inside = kept[at] == segment
                        segment, units_array = segment[inside], units_array[inside]
                    for other, share in zip(segment.tolist(), units_array.tolist(), strict=True):
                        if other in depth_of:
                            found[(other, node) if upwards else (node, other)] = share
            frontier = reached
            if not frontier:
                break
        return depth_of, edges, kept is not None

    # -- ownership (股权穿透) ---------------------------------------------------------------------
    def ownership(self, enterprise_id: int) -> Ownership:
        target = self.node_of(enterprise_id)
        indptr, indices, data = self.up.indptr, self.up.indices, self.up.data
        ne = self.n_enterprises

        def holders_of(firm: int) -> list[tuple[int, int]]:
            lo, hi = indptr[firm : firm + 2].tolist()
            return list(zip(indices[lo:hi].tolist(), data[lo:hi].tolist(), strict=True))

        found = integrated_ownership(target, holders_of, lambda node: node >= ne)
        described = self._describe_many(list(found.effective))
        holders = tuple(
            sorted(
                (
                    Holder(*described[node], effective=value, effective_percent=percent_of(value))
                    for node, value in found.effective.items()
                ),
                key=lambda h: (-h.effective, h.kind, h.id),
            )
        )
        ids = self._enterprises.ids
        return Ownership(
            enterprise_id=enterprise_id,
            holders=holders,
            beneficial_owners=tuple(
                h
                for h in holders
                if h.kind == "person" and h.effective_percent >= BENEFICIAL_PERCENT
            ),
            controller=None if found.controller is None else self.party(found.controller),
            unresolved=tuple(int(ids[f]) for f in found.unresolved),
            oversubscribed=tuple(int(ids[f]) for f in found.oversubscribed),
        )

    # -- family groups (族谱) -------------------------------------------------------------------
    def families(self) -> Int32Array:
        """Component label of every node (enterprises first, then persons), over shareholdings
        in either direction."""
        if self._labels is None:
            _count, labels = csgraph.connected_components(
                self.down, directed=True, connection="weak"
            )
            self._labels = labels.astype(np.int32)
        return self._labels

    def family(self, enterprise_id: int) -> FamilySummary:
        node = self.node_of(enterprise_id)
        labels = self.families()
        if self._family_counts is None:
            size = int(labels.max()) + 1 if len(labels) else 0
            ne = self.n_enterprises
            self._family_counts = (
                np.bincount(labels[:ne], minlength=size).astype(np.int64),
                np.bincount(labels[ne:], minlength=size).astype(np.int64),
            )
        label = int(labels[node])
        enterprises, persons = self._family_counts
        return FamilySummary(
            label=label, enterprises=int(enterprises[label]), persons=int(persons[label])
        )

    # -- related-party risk (关联风险) -----------------------------------------------------------
    def related_risk(self, risky: Iterable[int], *, hops: int = 2) -> dict[int, list[int]]:
        """For every enterprise within `hops` of a risky enterprise (either direction, through
        persons too), the risky enterprise ids it reaches, itself excluded. Enterprises that
        reach none are absent."""
        _check_depth("hops", hops)
        sources = self._enterprise_nodes(risky)
        if not len(sources):
            return {}
        n, r = self.down.shape[0], len(sources)
        if self._undirected is None:
            both = (self.down + self.up).astype(bool)
            both.sort_indices()
            self._undirected = both
        frontier = sparse.csr_array((np.ones(r, dtype=bool), (sources, np.arange(r))), shape=(n, r))
        reach = sparse.csr_array((n, r), dtype=bool)
        for _hop in range(hops):
            frontier = self._undirected @ frontier
            reach = reach + frontier
        reach = reach[: self.n_enterprises].tocoo()
        rows, cols = reach.coords
        keep = sources[cols] != rows
        rows, risky_ids = rows[keep], self._enterprises.ids[sources[cols[keep]]]
        order = np.lexsort((risky_ids, rows))
        rows, risky_ids = rows[order], risky_ids[order]
        if not len(rows):
            return {}
        starts = np.concatenate(([0], np.flatnonzero(np.diff(rows)) + 1))
        firms = self._enterprises.ids[rows[starts]].tolist()
        ends = [*starts[1:].tolist(), len(rows)]
        found = risky_ids.tolist()  # slicing one list beats a numpy split per firm
        return {
            firm: found[start:end]
            for firm, start, end in zip(firms, starts.tolist(), ends, strict=True)
        }

    def related_risk_for(
        self, enterprise_id: int, risky: Iterable[int], *, hops: int = 2
    ) -> list[int]:
        _check_depth("hops", hops)
        start = self.node_of(enterprise_id)
        seen = np.array([start], dtype=np.int64)
        frontier = seen
        for _hop in range(hops):
            parts = [
                matrix.indices[int(matrix.indptr[node]) : int(matrix.indptr[node + 1])]
                for node in frontier.tolist()
                for matrix in (self.down, self.up)
            ]
            if not parts:
                break
            reached = np.unique(np.concatenate(parts))
            frontier = reached[~np.isin(reached, seen)].astype(np.int64)
            seen = np.concatenate((seen, frontier))
        wanted = risky if isinstance(risky, set | frozenset) else set(risky)
        near = seen[1:]
        return sorted(
            i
            for i in self._enterprises.ids[near[near < self.n_enterprises]].tolist()
            if i in wanted
        )


# ---------------------------------------------------------------------------------------------
# The per-process snapshot and the data version
# ---------------------------------------------------------------------------------------------
_lock = threading.Lock()
_current: GraphSnapshot | None = None
_checked_at = 0.0


def graph_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        # A missing counter (fresh or evicted cache) restarts from the clock, so it never
        # repeats a number some process may still hold.
        cache.add(VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(VERSION_KEY, 0)
    return int(version)


def bump_graph_version() -> None:
    """Call after any write to shareholdings, enterprises or persons (after commit)."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, time.time_ns(), timeout=None)


def snapshot() -> GraphSnapshot:
    """This process's snapshot; the data version is looked at no more often than every
    GRAPH_VERSION_CHECK_SECONDS (default 5), and a new version rebuilds the snapshot."""
    global _current, _checked_at
    interval = float(getattr(settings, "GRAPH_VERSION_CHECK_SECONDS", 5))
    current = _current
    if current is not None and time.monotonic() - _checked_at < interval:
        return current
    with _lock:
        if _current is not None and time.monotonic() - _checked_at < interval:
            return _current
        version = graph_version()
        if _current is None or _current.version != version:
            _current = GraphSnapshot.build(version=version)
        _checked_at = time.monotonic()
        return _current


def invalidate() -> None:
    """Forget this process's snapshot (tests; the next call rebuilds)."""
    global _current, _checked_at
    with _lock:
        _current = None
        _checked_at = 0.0


def neighbourhood(
    enterprise_id: int,
    *,
    depth: int = 1,
    direction: Direction | str = "both",
    cap: int = DEFAULT_CAP,
    personnel: bool = True,
) -> Neighbourhood:
    return snapshot().neighbourhood(
        enterprise_id, depth=depth, direction=direction, cap=cap, personnel=personnel
    )


def ownership(enterprise_id: int) -> Ownership:
    return snapshot().ownership(enterprise_id)


def families() -> Int32Array:
    return snapshot().families()


def family(enterprise_id: int) -> FamilySummary:
    return snapshot().family(enterprise_id)


def related_risk(risky: Iterable[int], *, hops: int = 2) -> dict[int, list[int]]:
    return snapshot().related_risk(risky, hops=hops)


def related_risk_for(enterprise_id: int, risky: Iterable[int], *, hops: int = 2) -> list[int]:
    return snapshot().related_risk_for(enterprise_id, risky, hops=hops)
