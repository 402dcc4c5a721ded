# Shared by the benchmark scripts: `source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"`.
# Sets ROOT and BIN; each script calls bench_setup for its work directory and log prefix.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/stride}
PG_URL_BASE=${PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}
SERVER_PID=""
LOG_PREFIX=bench

log() { echo "[$LOG_PREFIX] $*" >&2; }

# bench_setup NAME: a fresh work directory (WORKDIR) and a server stopped on exit.
bench_setup() {
    LOG_PREFIX=$1
    WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/stride-$1.XXXXXX")
    trap stop_server EXIT
    trap 'exit 130' INT TERM
}

stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

# backends_from ARG USAGE: BACKENDS from sqlite|postgres|both, else the usage and exit 2.
backends_from() {
    case "$1" in
    sqlite) BACKENDS=(sqlite) ;;
    postgres) BACKENDS=(postgres) ;;
    both) BACKENDS=(sqlite postgres) ;;
    *)
        echo "usage: $0 $2" >&2
        exit 2
        ;;
    esac
}

require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || {
            echo "$0: $tool is required" >&2
            exit 2
        }
    done
}

# The release binary, unless NO_BUILD is set; BIN must exist either way.
build_release() {
    if [[ -z "${NO_BUILD:-}" ]]; then
        log "building release binary"
        (cd "$ROOT" && cargo build --release -p stride >&2)
    fi
    [[ -x "$BIN" ]] || {
        echo "$0: $BIN not found" >&2
        exit 2
    }
}

# use_database BACKEND PG_DB: DB (stride's flags) and DB_SQL (for `query`) for the backend;
# the PostgreSQL database is dropped and created again unless KEEP_PG is set.
use_database() {
    case "$1" in
    sqlite)
        local dir=${SQLITE_DIR:-$WORKDIR/sqlite-data}
        DB=(--data-dir "$dir")
        DB_SQL=(sqlite "$dir/stride.db")
        ;;
    postgres)
        if [[ -z "${KEEP_PG:-}" ]]; then
            local host=${PG_URL_BASE#*@}
            host=${host%%:*}
            dropdb --if-exists -h "$host" -U postgres "$2"
            createdb -h "$host" -U postgres "$2"
        fi
        DB=(--database-url "$PG_URL_BASE/$2")
        DB_SQL=(postgres "$PG_URL_BASE/$2")
        ;;
    esac
}

# generated_before BACKEND: true when the data set of use_database is to be measured as it is:
# SQLITE_DIR holding a database, or REUSE_PG=1 (KEEP_PG) for PostgreSQL.
generated_before() {
    case "$1" in
    sqlite) [[ -f "${DB_SQL[1]}" ]] ;;
    postgres) [[ -n "${KEEP_PG:-}" ]] ;;
    esac
}

# SQL against the backend under test, one row per line, columns separated by '|'.
query() {
    case "${DB_SQL[0]}" in
    sqlite) sqlite3 -batch -noheader "${DB_SQL[1]}" "$1" ;;
    postgres) psql -qAtX -F '|' "${DB_SQL[1]}" -c "$1" ;;
    esac
}

# start_server PORT [stride flags…]: `stride serve` in the background (SERVER_PID), ready.
start_server() {
    local port=$1
    shift
    # No background jobs: a generated data set is due all at once (every customer quiet, every
    # pending task unreminded), which would have the first job runs compete with the load.
    "$BIN" "${DB[@]}" serve --addr "127.0.0.1:$port" --no-jobs "$@" >"$WORKDIR/server-$port.log" 2>&1 &
    SERVER_PID=$!
    wait_ready "http://127.0.0.1:$port"
}

wait_ready() {
    local base=$1
    for _ in $(seq 1 300); do
        curl -fsS "$base/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || {
            echo "$0: server exited; see $WORKDIR" >&2
            return 1
        }
        sleep 0.1
    done
    echo "$0: server did not answer /healthz" >&2
    return 1
}

# wrk prints latencies as 812.00us, 1.23ms or 1.05s; normalise to milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v * 60000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
        else printf "%s", v
    }'
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# wrk_summary OUT: "rps p50_ms p99_ms non2xx" of a finished wrk run's output; timeouts logged.
wrk_summary() {
    local out=$1 rps p50 p99 bad timeouts
    timeouts=$(awk '/Socket errors:/ { print $NF }' "$out")
    [[ -z "$timeouts" || "$timeouts" == 0 ]] || log "$out: socket errors, $timeouts timeouts"
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
    echo "$rps $p50 $p99 ${bad:-0}"
}

# wrk_run CONNECTIONS SECONDS OUT [wrk args…]: one wrk run (THREADS threads at most); prints "rps p50_ms p99_ms non2xx".
wrk_run() {
    local connections=$1 seconds=$2 out=$3
    shift 3
    wrk -t"$(( connections < THREADS ? connections : THREADS ))" -c"$connections" -d"${seconds}s" \
        --timeout 30s --latency "$@" >"$out" 2>&1 || {
        cat "$out" >&2
        return 1
    }
    wrk_summary "$out"
}

# wanted KEY: true unless ONLY is set (keys separated by spaces, e.g. ONLY="healthz
# search-lead") and does not name KEY.
wanted() {
    [[ -z "${ONLY:-}" || " $ONLY " == *" $1 "* ]]
}

# bench_get BACKEND KEY LABEL CONNECTIONS URL [wrk args…]: measures GET URL RUNS times (after
# WARMUP seconds of untimed load; raw output in files named by KEY), adds a row with the medians
# to ROWS and sets LAST_RPS. Any non-2xx response fails the script. Keys ONLY leaves out are
# skipped.
bench_get() {
    local backend=$1 key=$2 label=$3 connections=$4 url=$5
    shift 5
    wanted "$key" || return 0
    local -a rps=() p50=() p99=()
    local r line a b c d
    if ((WARMUP > 0)); then
        wrk_run "$connections" "$WARMUP" "$WORKDIR/$backend-$key-c$connections-warmup.txt" "$@" "$url" >/dev/null
    fi
    for r in $(seq 1 "$RUNS"); do
        line=$(wrk_run "$connections" "$SECONDS_PER_RUN" "$WORKDIR/$backend-$key-c$connections-$r.txt" "$@" "$url")
        read -r a b c d <<<"$line"
        [[ "$d" == 0 ]] || {
            echo "$0: $backend $key run $r: $d non-2xx responses" >&2
            return 1
        }
        rps+=("$a") p50+=("$b") p99+=("$c")
        log "$backend $key c$connections run $r: $a req/s, p50 $b ms, p99 $c ms"
    done
    LAST_RPS=$(printf '%s\n' "${rps[@]}" | median)
    ROWS+=("| $backend | $label | $connections | $(printf %.0f "$LAST_RPS") | $(printf '%s\n' "${p50[@]}" | median) | $(printf '%s\n' "${p99[@]}" | median) |")
}

# The machine, for the report's first line.
machine() {
    echo "$(nproc) CPU(s): $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo); load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
