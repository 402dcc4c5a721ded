#!/usr/bin/env bash
# Loopback load benchmark of the sales process (opportunities → approvals → contracts).
# See docs/benchmarks.md.
#
#   bench/sales.sh [sqlite|postgres|both] [seconds]
#
# For each backend: a fresh database filled by `stride bench-data` (10,000 reps, customers,
# 500,000 opportunities — 10,000 of them open in Bench Region 1/Team 1 — and 1,000,000
# approval task rows with a pool of pending ones for the approvers benchappr01…), API tokens
# for benchlead (manager of that team), benchlegal and every approver, `stride serve`, then wrk:
#   healthz    GET /healthz, the ceiling of the same run
#   board      GET /api/v1/opportunities/board as benchlead, at each of BOARD_CONNECTIONS
#              connections (default: 1 and CONNECTIONS)
#   decide     POST /api/v1/approvals/{id}/decision at CONNECTIONS connections, every request
#              deciding another pending task (bench/sales-decide.lua walks per approver the list
#              read from the database just before the run); only 200s count as decided
#   contract   POST /api/v1/contracts as benchlegal at CONNECTIONS connections; afterwards the
#              contract numbers are checked unique and gapless in the database
# Each is measured RUNS times (median reported, after WARMUP seconds of untimed load).
#
# Environment:
#   RUNS=3  WARMUP=2  CONNECTIONS=32  THREADS=2
#   USERS=10000 CUSTOMERS=50000 OPPORTUNITIES=500000 APPROVAL_STEPS=1000000 APPROVERS=32
#   PENDING_PER_APPROVER=3000  (96,000 pending tasks: four 10-second runs at 2,400 decisions a second)
#   PG_URL_BASE=postgres://postgres@127.0.0.1:5432   PG_DB=stride_bench_sales
#   REUSE_PG=1  measure the PostgreSQL database a previous run (or `stride bench-data` with the
#               same sizes) filled, instead of generating it again; it must not have been measured.
#               Copy a kept one with `CREATE DATABASE … TEMPLATE … STRATEGY file_copy`, then
#               `CHECKPOINT`: PostgreSQL 15 copies a template through the WAL by default, and the
#               checkpoint that follows lands in the runs (decision p99s of 40–50 ms)
#   SQLITE_DIR=<dir>  the same for SQLite: measure this data directory when it holds a database
#               (filled by `stride --data-dir <dir> bench-data` with the same sizes, never
#               measured), else fill it and keep it
#   ONLY="<keys>"     measure only these (healthz board decide contract)
#   PORT=18180 (PostgreSQL: PORT+1)   NO_BUILD=1   BIN (default target/release/stride)
set -euo pipefail

BACKENDS=${1:-both}
SECONDS_PER_RUN=${2:-10}
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
USERS=${USERS:-10000}
CUSTOMERS=${CUSTOMERS:-50000}
OPPORTUNITIES=${OPPORTUNITIES:-500000}
APPROVAL_STEPS=${APPROVAL_STEPS:-1000000}
APPROVERS=${APPROVERS:-32}
PENDING_PER_APPROVER=${PENDING_PER_APPROVER:-3000}
PG_DB=${PG_DB:-stride_bench_sales}
PORT=${PORT:-18180}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
backends_from "$BACKENDS" "[sqlite|postgres|both] [seconds]"
require_tools wrk curl jq awk sqlite3 psql
bench_setup sales
build_release
KEEP_PG=${REUSE_PG:-}

# The wrk script for one decision run: every approver's token and the requests still waiting
# for them, read from the database now.
write_decide_lua() {
    local lua=$1 tokens=$2
    {
        echo "tokens = {"
        awk '{ printf "  [%d] = \"%s\",\n", $1, $2 }' "$tokens"
        echo "}"
        echo "queues = {"
        query "SELECT approver_id, request_id FROM approval_tasks WHERE status = 'pending' \
               ORDER BY approver_id, request_id" |
            awk -F'|' '$1 != last { if (last != "") print "  },"; printf "  [%d] = {", $1; last = $1; n = 0 }
                       { printf "%s%d", (n++ ? "," : ""), $2 }
                       END { if (last != "") print "},"; }'
        echo "}"
        cat "$ROOT/bench/sales-decide.lua"
    } >"$lua"
}

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
            --opportunities "$OPPORTUNITIES" --approval-steps "$APPROVAL_STEPS" \
            --approvers "$APPROVERS" --pending-per-approver "$PENDING_PER_APPROVER" >&2
    fi
    local generated=$((SECONDS - t0))
    log "$backend: generated in $generated s"
    # A bulk load leaves the board sums' rows with hundreds of thousands of dead versions;
    # VACUUM as after any bulk load (autovacuum may be off, as on CI machines).
    [[ $backend == sqlite ]] || query "VACUUM ANALYZE" >/dev/null
    NOTES+=("$backend: data set generated in $generated s; $(query "SELECT (SELECT COUNT(*) FROM customers) || ' customers, ' || (SELECT COUNT(*) FROM opportunities) || ' opportunities, ' || (SELECT COUNT(*) FROM approval_requests) || ' approval requests, ' || (SELECT COUNT(*) FROM approval_tasks) || ' approval tasks (' || (SELECT COUNT(*) FROM approval_tasks WHERE status = 'pending') || ' pending)'")")

    local lead legal tokens=$WORKDIR/$backend-approver-tokens.txt
    lead=$("$BIN" "${DB[@]}" token create benchlead --label bench | tail -n 1)
    legal=$("$BIN" "${DB[@]}" token create benchlegal --label bench | tail -n 1)
    : >"$tokens"
    local a
    for a in $(seq 1 "$APPROVERS"); do
        local name id
        name=$(printf 'benchappr%02d' "$a")
        id=$(query "SELECT id FROM users WHERE username = '$name'")
        echo "$id $("$BIN" "${DB[@]}" token create "$name" --label bench | tail -n 1)" >>"$tokens"
    done

    local base=http://127.0.0.1:$port
    start_server "$port"

    # The board the benchmark loads must be the generated one.
    local open
    open=$(curl -fsS -H "Authorization: Bearer $lead" "$base/api/v1/opportunities/board" |
        tee "$WORKDIR/$backend-board.json" |
        jq '[.columns[] | select(.stage != "won" and .stage != "lost") | .count] | add')
    [[ "$open" == 10000 ]] || {
        echo "$0: benchlead's board shows $open open opportunities, expected 10000" >&2
        jq -c '.columns[] | {stage, count}' "$WORKDIR/$backend-board.json" >&2
        return 1
    }
    NOTES+=("$backend: benchlead's board: $(jq -r '[.columns[] | "\(.stage) \(.count)"] | join(", ")' "$WORKDIR/$backend-board.json")")

    LAST_RPS=
    bench_get "$backend" healthz '`GET /healthz`' "$CONNECTIONS" "$base/healthz"
    local healthz_rps=$LAST_RPS
    local connections
    for connections in ${BOARD_CONNECTIONS:-1 $CONNECTIONS}; do
        bench_get "$backend" board '`GET /api/v1/opportunities/board` (10,000 open)' "$connections" \
            "$base/api/v1/opportunities/board" -H "Authorization: Bearer $lead"
        if wanted board && [[ -n $healthz_rps ]]; then
            NOTES+=("$backend board c$connections: 1 request per $(awk -v a="$LAST_RPS" -v b="$healthz_rps" 'BEGIN { printf "%.0f", b / a }') /healthz requests of the same run")
        fi
    done

    # Decisions: each run gets a fresh list of pending tasks; the Lua script reports the
    # statuses it saw, and only 200s count.
    bench_decisions() {
        local -a rps=() p50=() p99=() okrate=()
        local r line a b c d lua out
        for r in $(seq 0 "$RUNS"); do
            local seconds=$SECONDS_PER_RUN
            if ((r == 0)); then
                ((WARMUP > 0)) || continue
                seconds=$WARMUP
            fi
            lua=$WORKDIR/$backend-decide-$r.lua
            write_decide_lua "$lua" "$tokens"
            out=$WORKDIR/$backend-decide-$r.txt
            line=$(wrk_run "$CONNECTIONS" "$seconds" "$out" -s "$lua" "$base" -- "$THREADS")
            ((r > 0)) || continue
            read -r a b c d <<<"$line"
            local statuses ok
            statuses=$(awk '/^statuses:/ { $1 = ""; print substr($0, 2) }' "$out")
            ok=$(awk '/^statuses:/ { for (i = 2; i <= NF; i++) if ($i ~ /^200=/) { sub(/^200=/, "", $i); print $i } }' "$out")
            ok=${ok:-0}
            rps+=("$a") p50+=("$b") p99+=("$c")
            okrate+=("$(awk -v n="$ok" -v s="$seconds" 'BEGIN { printf "%.1f", n / s }')")
            log "$backend decide run $r: $a req/s, p50 $b ms, p99 $c ms, statuses: $statuses"
            NOTES+=("$backend decide run $r: $statuses")
        done
        local m_rps
        m_rps=$(printf '%s\n' "${rps[@]}" | median)
        ROWS+=("| $backend | \`POST /api/v1/approvals/{id}/decision\` (decided/s: $(printf '%s\n' "${okrate[@]}" | median)) | $CONNECTIONS | $(printf %.0f "$m_rps") | $(printf '%s\n' "${p50[@]}" | median) | $(printf '%s\n' "${p99[@]}" | median) |")
    }
    if wanted decide; then
        bench_decisions
    fi

    # Contracts: the body names customers in turn; afterwards every number must be unique and
    # the sequence gapless.
    local lua=$WORKDIR/contract.lua
    sed -e "s/@TOKEN@/$legal/" -e "s/@CUSTOMERS@/$CUSTOMERS/" "$ROOT/bench/sales-contract.lua" >"$lua"
    local before
    before=$(query "SELECT COUNT(*) FROM contracts")
    bench_contracts() {
        local -a rps=() p50=() p99=()
        local r line a b c d
        for r in $(seq 0 "$RUNS"); do
            local seconds=$SECONDS_PER_RUN
            if ((r == 0)); then
                ((WARMUP > 0)) || continue
                seconds=$WARMUP
            fi
            line=$(wrk_run "$CONNECTIONS" "$seconds" "$WORKDIR/$backend-contract-$r.txt" -s "$lua" "$base")
            ((r > 0)) || continue
            read -r a b c d <<<"$line"
            [[ "$d" == 0 ]] || {
                echo "$0: $backend contract run $r: $d non-2xx responses" >&2
                return 1
            }
            rps+=("$a") p50+=("$b") p99+=("$c")
            log "$backend contract run $r: $a req/s, p50 $b ms, p99 $c ms"
        done
        ROWS+=("| $backend | \`POST /api/v1/contracts\` | $CONNECTIONS | $(printf '%s\n' "${rps[@]}" | median | xargs printf %.0f) | $(printf '%s\n' "${p50[@]}" | median) | $(printf '%s\n' "${p99[@]}" | median) |")
    }
    wanted contract || {
        stop_server
        return 0
    }
    bench_contracts
    # Numbers look like HT-2026-00042: the sequence is what follows the last '-'.
    local check
    check=$(query "SELECT COUNT(*), COUNT(DISTINCT number), MIN(CAST(SUBSTR(number, LENGTH(number) - 4) AS INTEGER)), MAX(CAST(SUBSTR(number, LENGTH(number) - 4) AS INTEGER)) FROM contracts")
    IFS='|' read -r n distinct lo hi <<<"$check"
    local verdict="unique and gapless"
    if [[ "$n" != "$distinct" ]]; then
        verdict="DUPLICATES"
    elif ((hi - lo + 1 != n)); then
        verdict="GAPS"
    fi
    NOTES+=("$backend contracts: $((n - before)) created, $distinct distinct numbers, sequence $lo…$hi: $verdict")
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
