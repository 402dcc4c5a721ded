#!/usr/bin/env bash
# Runs the whole Stride test suite (`bash scripts/test.sh [extra cargo test args]`).
#
# Makes sure a real PostgreSQL and headless Chromium + chromedriver are available (installing
# them with apt when running as root or with passwordless sudo), then runs
# `cargo test --workspace --locked` with the PostgreSQL and browser suites made mandatory,
# and checks from cargo's output that both suites actually ran.
#
# Environment:
#   STRIDE_TEST_DATABASE_URL  admin URL of the test server
#                             (default postgres://postgres@127.0.0.1:5432/postgres)
#   STRIDE_CHROMIUM           browser binary (default: chromium found in PATH)
#   STRIDE_CHROMEDRIVER       chromedriver binary (default: chromedriver found in PATH)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[test.sh] %s\n' "$*" >&2; }
die() {
    printf '[test.sh] error: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------------------------------------
# Privileges for installing packages / starting services.
SUDO=()
CAN_ADMIN=0
if [ "$(id -u)" -eq 0 ]; then
    CAN_ADMIN=1
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    SUDO=(sudo -n)
    CAN_ADMIN=1
fi

APT_UPDATED=0
apt_install() {
    [ "$CAN_ADMIN" -eq 1 ] || return 1
    command -v apt-get >/dev/null 2>&1 || return 1
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null || return 1
        APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" </dev/null
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
ADMIN_URL="${STRIDE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

PG_HOST=127.0.0.1
PG_PORT=5432
if [[ "$ADMIN_URL" =~ ^postgres(ql)?://([^@/]*@)?(\[[^]/]*\]|[^:/?]*)(:([0-9]+))? ]]; then
    PG_HOST="${BASH_REMATCH[3]:-127.0.0.1}"
    PG_HOST="${PG_HOST#[}"
    PG_HOST="${PG_HOST%]}"
    PG_PORT="${BASH_REMATCH[5]:-5432}"
fi
PG_LOCAL=0
case "$PG_HOST" in
    127.0.0.1 | localhost | ::1) PG_LOCAL=1 ;;
esac

# Is a server accepting connections at host:port?
pg_reachable() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 3 </dev/null >/dev/null 2>&1
    else
        (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null
    fi
}

# Does the admin URL actually log in? (Falls back to reachability without psql.)
pg_connectable() {
    if command -v psql >/dev/null 2>&1; then
        PGCONNECT_TIMEOUT=5 psql "$ADMIN_URL" -XAtq -c 'select 1' </dev/null >/dev/null 2>&1
    else
        pg_reachable
    fi
}

pg_wait() { # pg_wait CHECK_FUNCTION SECONDS
    local i
    for ((i = 0; i < $2; i++)); do
        if "$1"; then return 0; fi
        sleep 1
    done
    "$1"
}

pg_server_installed() {
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

# Prints "VERSION NAME STATUS" of the local cluster serving $PG_PORT (or the first one).
pg_cluster() {
    local line=""
    if command -v pg_lsclusters >/dev/null 2>&1; then
        line="$(pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3 == p { print $1, $2, $4; exit }')"
        if [ -z "$line" ]; then
            line="$(pg_lsclusters -h 2>/dev/null | awk 'NR == 1 { print $1, $2, $4 }')"
        fi
    elif [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
        line="$(ls /etc/postgresql | head -1) main unknown"
    fi
    printf '%s\n' "$line"
}

pg_start_cluster() {
    local ver name status
    read -r ver name status <<<"$(pg_cluster)" || true
    if [ -z "${ver:-}" ]; then
        if pg_server_installed && command -v pg_createcluster >/dev/null 2>&1; then
            ver="$(ls /usr/lib/postgresql | sort -V | tail -1)"
            log "creating PostgreSQL cluster $ver/main on port $PG_PORT"
            "${SUDO[@]}" pg_createcluster -p "$PG_PORT" "$ver" main </dev/null || return 1
            name=main
            status=down
        else
            return 1
        fi
    fi
    if [ "$status" = online ]; then
        return 0
    fi
    log "starting PostgreSQL cluster $ver/$name"
    "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start </dev/null || true
}

# Local connections as any user, over 127.0.0.1, ::1 and the Unix socket, need no password.
pg_trust_local() {
    local ver name status hba
    read -r ver name status <<<"$(pg_cluster)" || true
    [ -n "${ver:-}" ] || return 1
    hba="/etc/postgresql/$ver/$name/pg_hba.conf"
    [ -f "$hba" ] || return 1
    log "setting trust authentication for local connections in $hba"
    "${SUDO[@]}" cp -n "$hba" "$hba.before-stride-test" || true
    "${SUDO[@]}" sed -E -i \
        -e 's/^(local[[:space:]]+[^#]*[[:space:]])(peer|ident|md5|scram-sha-256|password)[[:space:]]*$/\1trust/' \
        -e 's/^(host[a-z]*[[:space:]]+[^[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+(127\.0\.0\.1\/32|::1\/128)[[:space:]]+)(ident|md5|scram-sha-256|password)[[:space:]]*$/\1trust/' \
        "$hba"
    # A customised file may lack those lines: rules are first-match, so put ours first.
    if ! grep -Eq '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
        local tmp
        tmp="$(mktemp)"
        {
            echo '# added by stride scripts/test.sh'
            echo 'local   all all              trust'
            echo 'host    all all 127.0.0.1/32 trust'
            echo 'host    all all ::1/128      trust'
            cat "$hba"
        } >"$tmp"
        "${SUDO[@]}" cp "$tmp" "$hba"
        rm -f "$tmp"
    fi
    "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" reload </dev/null || true
}

ensure_postgres() {
    if pg_connectable; then
        return 0
    fi
    local installed_now=0
    if [ "$PG_LOCAL" -eq 1 ]; then
        if ! pg_reachable; then
            if [ -z "$(pg_cluster)" ] && ! pg_server_installed; then
                log "PostgreSQL is not installed"
                if apt_install postgresql; then
                    installed_now=1
                else
                    die "PostgreSQL is not installed and could not be installed (need root or passwordless sudo, and apt-get)"
                fi
            fi
            pg_start_cluster || log "could not start a local PostgreSQL cluster"
            log "waiting for PostgreSQL on $PG_HOST:$PG_PORT"
            pg_wait pg_reachable 30 || true
        fi
        # A fresh install (or a CI machine) may still require a password: switch to trust.
        if pg_reachable && ! pg_connectable && [ "$CAN_ADMIN" -eq 1 ] &&
            { [ "$installed_now" -eq 1 ] || [ "${CI:-}" = true ]; }; then
            pg_trust_local || true
            pg_wait pg_connectable 10 || true
        fi
    fi
    if ! pg_connectable; then
        if command -v psql >/dev/null 2>&1; then
            PGCONNECT_TIMEOUT=5 psql "$ADMIN_URL" -XAtq -c 'select 1' </dev/null >&2 || true
        fi
        die "PostgreSQL is not reachable at $ADMIN_URL (host $PG_HOST, port $PG_PORT); start it, or set STRIDE_TEST_DATABASE_URL to an admin URL that logs in without a password"
    fi
}

# ---------------------------------------------------------------------------------------------
# Chromium + chromedriver
find_chromium() {
    if [ -n "${STRIDE_CHROMIUM:-}" ]; then
        [ -x "$STRIDE_CHROMIUM" ] && printf '%s\n' "$STRIDE_CHROMIUM" && return 0
        command -v "$STRIDE_CHROMIUM" && return 0
        return 1
    fi
    local c
    for c in chromium chromium-browser google-chrome google-chrome-stable; do
        command -v "$c" && return 0
    done
    return 1
}

find_chromedriver() {
    if [ -n "${STRIDE_CHROMEDRIVER:-}" ]; then
        [ -x "$STRIDE_CHROMEDRIVER" ] && printf '%s\n' "$STRIDE_CHROMEDRIVER" && return 0
        command -v "$STRIDE_CHROMEDRIVER" && return 0
        return 1
    fi
    command -v chromedriver
}

ensure_browser() {
    if ! find_chromium >/dev/null || ! find_chromedriver >/dev/null; then
        log "chromium and/or chromedriver not found"
        apt_install chromium chromium-driver ||
            die "chromium/chromedriver are missing and could not be installed (need root or passwordless sudo, and apt-get)"
    fi
    CHROMIUM_BIN="$(find_chromium)" || die "chromium not found (install chromium or set STRIDE_CHROMIUM)"
    CHROMEDRIVER_BIN="$(find_chromedriver)" || die "chromedriver not found (install chromium-driver or set STRIDE_CHROMEDRIVER)"
}

# ---------------------------------------------------------------------------------------------
ensure_postgres
log "PostgreSQL OK at $ADMIN_URL"
ensure_browser
log "browser OK: $CHROMIUM_BIN, $CHROMEDRIVER_BIN"

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found"

export STRIDE_TEST_DATABASE_URL="$ADMIN_URL"
export STRIDE_TEST_REQUIRE_POSTGRES=1
export STRIDE_TEST_REQUIRE_BROWSER=1
export STRIDE_CHROMIUM="$CHROMIUM_BIN"
export STRIDE_CHROMEDRIVER="$CHROMEDRIVER_BIN"

test_log="$(mktemp "${TMPDIR:-/tmp}/stride-test.XXXXXX")"
trap 'rm -f "$test_log"' EXIT

log "cargo test --workspace --locked $*"
set +e
cargo test --workspace --locked "$@" 2>&1 | tee "$test_log"
cargo_status="${PIPESTATUS[0]}"
set -e

# Totals over every "test result: ok. N passed; M failed; ..." (or FAILED.) line.
read -r total_passed total_failed < <(
    sed -nE 's/^test result: [A-Za-z]+\. ([0-9]+) passed; ([0-9]+) failed;.*/\1 \2/p' "$test_log" |
        awk '{ p += $1; f += $2 } END { print p + 0, f + 0 }'
)

status="$cargo_status"
if [ "$cargo_status" -eq 0 ]; then
    postgres_ok="$(grep -cE '^test .*::postgres \.\.\. ok$' "$test_log" || true)"
    if [ "$postgres_ok" -eq 0 ]; then
        echo "PostgreSQL suite did not run (no 'test ...::postgres ... ok' line in the output)" >&2
        status=1
    fi
    if [ "$#" -eq 0 ]; then
        browser_ok="$(grep -cE '^test .*browser.* \.\.\. ok$' "$test_log" || true)"
        if [ "$browser_ok" -eq 0 ]; then
            echo "Browser suite did not run (no 'test ...browser... ok' line in the output)" >&2
            status=1
        fi
    fi
else
    echo "cargo test failed (exit status $cargo_status)" >&2
fi

echo "$total_passed passed, $total_failed failed"
exit "$status"
