"""The shared part of every status table ("one table of allowed moves"): which moves a status
allows, and the 409 that names them when a move is not one of them. Each table keeps its own
moves, targets, permissions and words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xinyidai.core.errors import Conflict


def allowed(table: Mapping[str, tuple[Any, ...]], status: str) -> list[str]:
    """Moves of `table` (move → (statuses it starts from, …)) that `status` allows."""
    return [move for move, (sources, *_rest) in table.items() if status in sources]


def require(table: Mapping[str, tuple[Any, ...]], move: str, status: str, message: str) -> None:
    """Raise 409 `move_not_allowed` with the allowed moves unless `status` allows `move`."""
    if status not in table[move][0]:
        raise Conflict(
            "move_not_allowed",
            message,
            detail={"status": status, "allowed": allowed(table, status)},
        )
