#!/usr/bin/env bash
# Loopback load benchmark for Stride. See docs/benchmarks.md.
#
#   bench/run.sh [sqlite|postgres|both] [seconds]
#
# For each backend: a fresh database, 10,000 generated users (`stride bench-data`), an admin
# with an API token, `stride serve` on 127.0.0.1, then wrk (-t2 -c64 --latency) against
# /healthz, the authenticated user list (limit=50) and one authenticated user. Each endpoint
# is measured RUNS times and the median is reported. Server RSS (VmRSS) is read idle, before
# the first load, and sampled every 0.2 s during the load (the peak is reported).
#
# Environment:
#   RUNS=3             measurements per endpoint (median reported)
#   WARMUP=2           seconds of untimed load per endpoint before measuring
#   CONNECTIONS=64     wrk -c;  THREADS=2  wrk -t
#   USERS=10000        generated users
#   PG_URL_BASE=postgres://postgres@127.0.0.1:5432   PostgreSQL server (trust auth)
#   PG_DB=stride_bench database dropped and recreated for the run
#   PORT=18080         first port used (the PostgreSQL run uses PORT+1)
#   STRIDE_LOG         server log filter (default: the binary's default, info + per-request lines);
#                      the server's output goes to $WORKDIR/server-<port>.log
#   NO_BUILD=1         skip `cargo build --release -p stride`
#   BIN                the server binary (default: the release build), e.g. a saved older build
set -euo pipefail

BACKENDS=${1:-both}
SECONDS_PER_RUN=${2:-10}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
USERS=${USERS:-10000}
PG_DB=${PG_DB:-stride_bench}
PORT=${PORT:-18080}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
backends_from "$BACKENDS" "[sqlite|postgres|both] [seconds]"
require_tools wrk curl jq awk
bench_setup bench
build_release

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

# One wrk run while sampling the server's RSS; prints "rps p50_ms p99_ms peak_rss_kb non2xx".
measure() {
    local url=$1 seconds=$2 out=$3
    shift 3
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" --latency "$@" "$url" >"$out" 2>&1 &
    local wrk_pid=$! peak=0 now
    while kill -0 "$wrk_pid" 2>/dev/null; do
        now=$(rss_kb "$SERVER_PID")
        ((now > peak)) && peak=$now
        sleep 0.2
    done
    wait "$wrk_pid" || {
        cat "$out" >&2
        return 1
    }
    local rps p50 p99 bad
    read -r rps p50 p99 bad <<<"$(wrk_summary "$out")"
    echo "$rps $p50 $p99 $peak $bad"
}

ROWS=()
SUMMARY=()

bench_backend() {
    local backend=$1 port=$2
    use_database "$backend" "$PG_DB"

    log "$backend: generating $USERS users"
    local t0=$SECONDS
    "$BIN" "${DB[@]}" bench-data --users "$USERS" >&2
    log "$backend: generated in $((SECONDS - t0)) s"
    STRIDE_PASSWORD=bench-admin-password "$BIN" "${DB[@]}" user add benchadmin --role admin \
        --display-name "Bench Admin" >&2
    local token
    token=$("$BIN" "${DB[@]}" token create benchadmin --label bench | tail -n 1)

    local base=http://127.0.0.1:$port
    start_server "$port"

    local auth="Authorization: Bearer $token"
    local list_url="$base/api/v1/users?limit=50"
    # A user from the middle of the table, not the first row.
    local id
    id=$(curl -fsS -H "$auth" "$base/api/v1/users?limit=1&q=bench$(printf %05d $((USERS / 2)))" |
        jq -r '.items[0].id // empty')
    [[ -n "$id" ]] || id=$(curl -fsS -H "$auth" "$list_url" | jq -r '.items[-1].id')
    local user_url="$base/api/v1/users/$id"
    local count
    count=$(curl -fsS -H "$auth" "$list_url" | jq '.items | length')
    [[ "$count" == 50 ]] || {
        echo "$0: expected 50 users from $list_url, got $count" >&2
        return 1
    }
    curl -fsS -o /dev/null -H "$auth" "$user_url"

    sleep 1
    local idle_kb
    idle_kb=$(rss_kb "$SERVER_PID")
    log "$backend: server pid $SERVER_PID, idle RSS $(mb "$idle_kb") MB, user $id"

    local name url peak_all=0 healthz_rps=""
    for name in healthz list get; do
        case $name in
        healthz) url=$base/healthz ;;
        list) url=$list_url ;;
        get) url=$user_url ;;
        esac
        local -a hdr=()
        [[ $name == healthz ]] || hdr=(-H "$auth")
        if ((WARMUP > 0)); then
            measure "$url" "$WARMUP" "$WORKDIR/$backend-$name-warmup.txt" "${hdr[@]}" >/dev/null
        fi
        local -a rps=() p50=() p99=() peak=()
        local r line
        for r in $(seq 1 "$RUNS"); do
            line=$(measure "$url" "$SECONDS_PER_RUN" "$WORKDIR/$backend-$name-$r.txt" "${hdr[@]}")
            read -r a b c d e <<<"$line"
            if [[ "$e" != 0 ]]; then
                echo "$0: $backend $name run $r: $e non-2xx responses" >&2
                return 1
            fi
            rps+=("$a") p50+=("$b") p99+=("$c") peak+=("$d")
            log "$backend $name run $r: $a req/s, p50 $b ms, p99 $c ms, RSS $(mb "$d") MB"
        done
        local m_rps m_p50 m_p99 m_peak
        m_rps=$(printf '%s\n' "${rps[@]}" | median)
        m_p50=$(printf '%s\n' "${p50[@]}" | median)
        m_p99=$(printf '%s\n' "${p99[@]}" | median)
        m_peak=$(printf '%s\n' "${peak[@]}" | sort -g | tail -n 1)
        ((m_peak > peak_all)) && peak_all=$m_peak
        [[ $name == healthz ]] && healthz_rps=$m_rps
        local label
        case $name in
        healthz) label='`GET /healthz`' ;;
        list) label='`GET /api/v1/users?limit=50` (auth)' ;;
        get) label='`GET /api/v1/users/{id}` (auth)' ;;
        esac
        ROWS+=("| $backend | $label | $(printf %.0f "$m_rps") | $m_p50 | $m_p99 | $(mb "$idle_kb") | $(mb "$m_peak") |")
        if [[ $name == list ]]; then
            SUMMARY+=("$backend: list/healthz = $(awk -v a="$m_rps" -v b="$healthz_rps" 'BEGIN { printf "%.2f", a / b }')")
        fi
    done
    local after_kb
    after_kb=$(rss_kb "$SERVER_PID")
    SUMMARY+=("$backend: RSS idle $(mb "$idle_kb") MB, peak under load $(mb "$peak_all") MB, after load $(mb "$after_kb") MB")
    stop_server
}

for i in "${!BACKENDS[@]}"; do
    bench_backend "${BACKENDS[$i]}" $((PORT + i))
done

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d${SECONDS_PER_RUN}s --latency, median of $RUNS run(s), $USERS users; $(machine)"
echo
echo "| backend | endpoint | req/s | p50 ms | p99 ms | RSS idle MB | RSS peak MB |"
echo "|---|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
printf -- '- %s\n' "${SUMMARY[@]}"
echo
echo "raw wrk output: $WORKDIR"
