#!/usr/bin/env bash
# Loopback load benchmark of leads and customers at a million customers. See docs/benchmarks.md.
#
#   bench/crm.sh [sqlite|postgres|both] [seconds]
#
# For each backend: a fresh database filled by `stride bench-data` (10,000 reps, 1,000,000
# customers — every 50th in the public pool —, 2,000,000 contacts and 5,000,000 follow-up
# activities), an API token and a browser session for the rep bench00012 and a token for
# benchlead (sales manager of the rep's team, Bench Region 1/Team 1), `stride serve`, then wrk:
#   healthz   GET /healthz, the ceiling of the same run
#   list      GET /api/v1/customers?owner_id=<rep>&tier=core&limit=50 as benchlead
#   search    GET /api/v1/search?q=上海 as the rep (and as benchlead, a team's 83,000 customers),
#             and GET /api/v1/search?q=华为, a word few names hold, as benchlead
#   360       GET /customers/{id} (the page, with the session cookie) and GET /api/v1/customers/{id},
#             going round the rep's customers
#   agenda    GET /api/v1/agenda and the page GET /agenda as the rep
# each at 1 and CONNECTIONS connections, measured RUNS times (median reported, after WARMUP
# seconds of untimed load).
#
# Environment:
#   RUNS=3  WARMUP=2  CONNECTIONS=32  THREADS=2  QUERY=上海  RARE_QUERY=华为
#   USERS=10000 CUSTOMERS=1000000 CONTACTS=2000000 ACTIVITIES=5000000 POOL_EVERY=50
#   PG_URL_BASE=postgres://postgres@127.0.0.1:5432   PG_DB=stride_bench_crm
#   REUSE_PG=1         measure the PostgreSQL database a previous run (or `stride bench-data`
#                      with the same sizes) filled, instead of generating it again
#   SQLITE_DIR=<dir>   measure (or, when empty, fill and keep) this SQLite data directory
#   ONLY="<keys>"      measure only these (e.g. ONLY="healthz search-lead search-rare")
#   PORT=18190 (PostgreSQL: PORT+1)   NO_BUILD=1   BIN (default target/release/stride)
set -euo pipefail

BACKENDS=${1:-both}
SECONDS_PER_RUN=${2:-10}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
QUERY=${QUERY:-上海}
RARE_QUERY=${RARE_QUERY:-华为}
USERS=${USERS:-10000}
CUSTOMERS=${CUSTOMERS:-1000000}
CONTACTS=${CONTACTS:-2000000}
ACTIVITIES=${ACTIVITIES:-5000000}
POOL_EVERY=${POOL_EVERY:-50}
PG_DB=${PG_DB:-stride_bench_crm}
PORT=${PORT:-18190}
REP=bench00012

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
backends_from "$BACKENDS" "[sqlite|postgres|both] [seconds]"
require_tools wrk curl jq awk sqlite3 psql
bench_setup crm
build_release
KEEP_PG=${REUSE_PG:-}

ROWS=()
NOTES=()

bench_backend() {
    local backend=$1 port=$2
    use_database "$backend" "$PG_DB"
    local t0=$SECONDS
    if generated_before "$backend"; then
        log "$backend: reusing the data set generated before"
        "$BIN" "${DB[@]}" migrate >&2
    else
        log "$backend: generating the data set"
        # Quiet: sqlx would log every multi-row statement as slow, text and all.
        STRIDE_LOG=error "$BIN" "${DB[@]}" bench-data --users "$USERS" --customers "$CUSTOMERS" \
            --contacts "$CONTACTS" --activities "$ACTIVITIES" --pool-every "$POOL_EVERY" >&2
        NOTES+=("$backend: data set generated in $((SECONDS - t0)) s")
    fi
    # A live database has been vacuumed and analysed by autovacuum since its rows arrived.
    [[ $backend == sqlite ]] || query "VACUUM ANALYZE" >/dev/null
    NOTES+=("$backend: $(query "SELECT (SELECT COUNT(*) FROM customers) || ' customers (' || (SELECT COUNT(*) FROM customers WHERE owner_id IS NULL) || ' in the pool), ' || (SELECT COUNT(*) FROM contacts) || ' contacts, ' || (SELECT COUNT(*) FROM activities) || ' activities'")")

    local rep_id lead rep
    rep_id=$(query "SELECT id FROM users WHERE username = '$REP'")
    lead=$("$BIN" "${DB[@]}" token create benchlead --label bench | tail -n 1)
    rep=$("$BIN" "${DB[@]}" token create "$REP" --label bench | tail -n 1)
    local ids
    ids=$(query "SELECT id FROM customers WHERE owner_id = $rep_id ORDER BY id" | paste -sd, -)
    NOTES+=("$backend: $REP (id $rep_id) owns $(tr ',' '\n' <<<"$ids" | wc -l) customers, $(query "SELECT COUNT(*) FROM customers WHERE owner_id = $rep_id AND tier = 'core'") of them core")

    local base=http://127.0.0.1:$port
    start_server "$port"

    local session
    curl -fsS -o /dev/null -c "$WORKDIR/$backend-cookies.txt" \
        --data-urlencode "username=$REP" --data-urlencode "password=bench-password" "$base/login"
    session=$(awk '$6 == "stride_session" { print $7 }' "$WORKDIR/$backend-cookies.txt")
    [[ -n "$session" ]] || {
        echo "$0: logging in as $REP set no session cookie" >&2
        return 1
    }
    local q rare
    q=$(jq -rn --arg q "$QUERY" '$q | @uri')
    rare=$(jq -rn --arg q "$RARE_QUERY" '$q | @uri')

    # What the measured requests return must be the generated data.
    local listed hits agenda
    listed=$(curl -fsS -H "Authorization: Bearer $lead" "$base/api/v1/customers?owner_id=$rep_id&tier=core&limit=50" | jq '.items | length')
    hits=$(curl -fsS -H "Authorization: Bearer $rep" "$base/api/v1/search?q=$q" | jq 'length')
    agenda=$(curl -fsS -H "Authorization: Bearer $rep" "$base/api/v1/agenda" | tee "$WORKDIR/$backend-agenda.json" | jq 'length')
    ((listed > 0 && hits > 0 && agenda > 0)) || {
        echo "$0: nothing to measure: list $listed, search $hits, agenda $agenda" >&2
        return 1
    }
    local now_ms overdue
    now_ms=$(($(date +%s) * 1000))
    overdue=$(jq --argjson now "$now_ms" '[.[] | select(.next_follow_up_at_ms < $now)] | length' "$WORKDIR/$backend-agenda.json")
    NOTES+=("$backend: list shows $listed core customers of $REP to benchlead; \"$QUERY\" finds $hits for $REP and $(curl -fsS -H "Authorization: Bearer $lead" "$base/api/v1/search?q=$q" | jq 'length') for benchlead, \"$RARE_QUERY\" $(curl -fsS -H "Authorization: Bearer $lead" "$base/api/v1/search?q=$rare" | jq 'length') for benchlead; $REP's agenda has $agenda items, $overdue overdue")

    local page_lua=$WORKDIR/$backend-page.lua api_lua=$WORKDIR/$backend-api.lua
    sed -e "s/@IDS@/$ids/" -e "s|@PATH@|/customers|" "$ROOT/bench/crm-ids.lua" >"$page_lua"
    sed -e "s/@IDS@/$ids/" -e "s|@PATH@|/api/v1/customers|" "$ROOT/bench/crm-ids.lua" >"$api_lua"

    local cookie="Cookie: stride_session=$session" rep_auth="Authorization: Bearer $rep"
    bench_get "$backend" healthz '`GET /healthz`' "$CONNECTIONS" "$base/healthz"
    local c
    for c in 1 "$CONNECTIONS"; do
        bench_get "$backend" list "\`GET /api/v1/customers?owner_id&tier&limit=50\` (manager)" "$c" \
            "$base/api/v1/customers?owner_id=$rep_id&tier=core&limit=50" -H "Authorization: Bearer $lead"
        bench_get "$backend" search "\`GET /api/v1/search?q=$QUERY\` (rep)" "$c" \
            "$base/api/v1/search?q=$q" -H "$rep_auth"
        bench_get "$backend" search-lead "\`GET /api/v1/search?q=$QUERY\` (manager)" "$c" \
            "$base/api/v1/search?q=$q" -H "Authorization: Bearer $lead"
        bench_get "$backend" search-rare "\`GET /api/v1/search?q=$RARE_QUERY\` (manager)" "$c" \
            "$base/api/v1/search?q=$rare" -H "Authorization: Bearer $lead"
        bench_get "$backend" page360 '`GET /customers/{id}` page (rep)' "$c" "$base" -s "$page_lua" -H "$cookie"
        bench_get "$backend" api360 '`GET /api/v1/customers/{id}` (rep)' "$c" "$base" -s "$api_lua" -H "$rep_auth"
        bench_get "$backend" agenda '`GET /api/v1/agenda` (rep)' "$c" "$base/api/v1/agenda" -H "$rep_auth"
        bench_get "$backend" agenda-page '`GET /agenda` page (rep)' "$c" "$base/agenda" -H "$cookie"
    done
    stop_server
}

for i in "${!BACKENDS[@]}"; do
    bench_backend "${BACKENDS[$i]}" $((PORT + i))
done

echo
echo "wrk --latency, ${SECONDS_PER_RUN}s per run, median of $RUNS run(s); $(machine)"
echo
echo "| backend | endpoint | connections | req/s | p50 ms | p99 ms |"
echo "|---|---|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
printf -- '- %s\n' "${NOTES[@]}"
echo
echo "raw wrk output: $WORKDIR"
