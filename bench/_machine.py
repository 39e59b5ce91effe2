"""What every script in bench/ shares: the machine and database description, /proc CPU
figures, and creating or dropping a scratch PostgreSQL database."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def machine() -> str:
    cpu = "unknown CPU"
    mem_kb = 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem_kb / 1024 / 1024:.1f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def database() -> str:
    """Engine, version and database name of Django's default connection."""
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = (cursor.fetchone() or ("?",))[0]
        return f"PostgreSQL {version} ({name})"
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version} ({name})"


TICKS = os.sysconf("SC_CLK_TCK")


def proc_stat(pid: int) -> tuple[str, int, float, float] | None:
    """(comm, ppid, own CPU seconds, reaped children's CPU seconds) of a process, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    rest = text[text.rindex(")") + 2 :].split()
    # fields after comm: state ppid … utime(14) stime(15) cutime(16) cstime(17), 1-based overall
    own = (int(rest[11]) + int(rest[12])) / TICKS
    children = (int(rest[13]) + int(rest[14])) / TICKS
    return comm, int(rest[1]), own, children


def _admin(url: str) -> Any:
    """An autocommit connection to the `postgres` database of the server in `url`."""
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    )


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database of `url` if missing; True when created."""
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    with _admin(url) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def drop_database(url: str) -> None:
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    with _admin(url) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
