#!/usr/bin/env bash
# Make PostgreSQL and Redis answer on 127.0.0.1 for development and `make test`.
#
#   PG_PORT=5432 REDIS_PORT=6379 scripts/services.sh
#   scripts/services.sh --pdf-only     # only what WeasyPrint needs (make run)
#
# Idempotent and quick when everything is already up: apt is skipped when every package is
# installed, a server that already answers is used as it is, and the xinyidai role/database are
# only touched when a password login as xinyidai fails. Needs root (or sudo) only for what it
# actually has to do: installing packages, starting the PostgreSQL cluster, creating the role.
# There is no systemd here: PostgreSQL is started with pg_ctlcluster, Redis as a daemon.
set -euo pipefail

PG_PORT="${PG_PORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"
DB_USER=xinyidai
DB_PASSWORD=xinyidai
DB_NAME=xinyidai
PACKAGES=(
    postgresql redis-server libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
    fonts-noto-cjk poppler-utils gettext chromium
)
PDF_ONLY=false
if [ "${1:-}" = "--pdf-only" ]; then
    PDF_ONLY=true
    PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk)
fi

log() { printf 'services: %s\n' "$*"; }
die() {
    printf 'services: error: %s\n' "$*" >&2
    exit 1
}

# Run a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root or sudo to run: $*"
    fi
}

# Run a command as the postgres OS user (peer authentication over the local socket), from /
# so that psql does not complain about a working directory it cannot read.
as_postgres() {
    if [ "$(id -un)" = postgres ]; then
        (cd / && "$@")
    elif [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    elif command -v sudo >/dev/null 2>&1; then
        (cd / && sudo -u postgres "$@")
    else
        die "need root or sudo to run as the postgres user: $*"
    fi
}

# --------------------------------------------------------------------------------------------
# System packages
# --------------------------------------------------------------------------------------------
missing=()
if command -v dpkg >/dev/null 2>&1; then
    for pkg in "${PACKAGES[@]}"; do
        if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
            missing+=("$pkg")
        fi
    done
else
    log "no dpkg (not Debian?): not checking ${PACKAGES[*]}"
fi
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing with apt-get: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "$PDF_ONLY" = true ]; then
    exit 0
fi

# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------
pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" >/dev/null 2>&1; }

wait_for() { # wait_for <seconds> <what> <command...>
    local seconds=$1 what=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            die "$what did not answer within ${seconds}s"
        fi
        sleep 0.2
    done
}

if pg_ready; then
    log "PostgreSQL already answers on 127.0.0.1:$PG_PORT"
else
    [ -d /usr/lib/postgresql ] || die "PostgreSQL is not installed (/usr/lib/postgresql missing)"
    pg_version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)
    [ -n "$pg_version" ] || die "no PostgreSQL version under /usr/lib/postgresql"
    if [ -f "/etc/postgresql/$pg_version/main/postgresql.conf" ]; then
        configured_port=$(pg_conftool -s "$pg_version" main show port 2>/dev/null || echo 5432)
        if [ "$configured_port" != "$PG_PORT" ]; then
            log "setting port of cluster $pg_version/main: $configured_port -> $PG_PORT"
            as_postgres pg_conftool "$pg_version" main set port "$PG_PORT"
            if as_root pg_ctlcluster "$pg_version" main status >/dev/null 2>&1; then
                log "restarting cluster $pg_version/main (it was running on port $configured_port)"
                as_root pg_ctlcluster "$pg_version" main stop
            fi
        fi
    else
        log "creating cluster $pg_version/main on port $PG_PORT"
        as_root pg_createcluster --encoding UTF8 --locale C.UTF-8 -p "$PG_PORT" \
            "$pg_version" main >/dev/null
    fi
    log "starting PostgreSQL cluster $pg_version/main on 127.0.0.1:$PG_PORT"
    as_root pg_ctlcluster "$pg_version" main start
    wait_for 30 "PostgreSQL on 127.0.0.1:$PG_PORT" pg_ready
fi

app_login() {
    PGPASSWORD="$DB_PASSWORD" PGCONNECT_TIMEOUT=5 psql -X -q -w -h 127.0.0.1 -p "$PG_PORT" \
        -U "$DB_USER" -d "$DB_NAME" -tAc 'SELECT 1' >/dev/null 2>&1
}

psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres "$@"; }

if app_login; then
    log "role $DB_USER and database $DB_NAME ready"
else
    log "creating/updating role $DB_USER and database $DB_NAME"
    psql_admin <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
        CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
    ELSE
        ALTER ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
    END IF;
END
\$\$;
SQL
    if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]; then
        psql_admin -c "CREATE DATABASE $DB_NAME OWNER $DB_USER ENCODING 'UTF8' TEMPLATE template0"
    fi
    if ! app_login; then
        # Debian's pg_hba.conf allows scram over 127.0.0.1; add a rule in case this one does not.
        hba_file=$(psql_admin -tAc 'SHOW hba_file')
        log "allowing password logins for $DB_USER over 127.0.0.1 in $hba_file"
        as_postgres sed -i "1i host all $DB_USER 127.0.0.1/32 scram-sha-256" "$hba_file"
        psql_admin -tAc 'SELECT pg_reload_conf()' >/dev/null
        sleep 0.5
        app_login || die "cannot log in as $DB_USER on 127.0.0.1:$PG_PORT with its password"
    fi
    log "role $DB_USER and database $DB_NAME ready"
fi

# --------------------------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------------------------
redis_ready() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

if redis_ready; then
    log "Redis already answers on 127.0.0.1:$REDIS_PORT"
else
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save "" \
        --appendonly no --dir /tmp --pidfile "/tmp/xinyidai-redis-$REDIS_PORT.pid" >/dev/null
    wait_for 30 "Redis on 127.0.0.1:$REDIS_PORT" redis_ready
fi
