#!/usr/bin/env bash
# Two or more builds alternating on one PostgreSQL data set of bench/crm.sh: the search box as
# the manager benchlead (a team of 83,000 customers) and as the rep bench00012. See
# docs/benchmarks.md.
#
#   bench/search-ab.sh PAIRS BIN_A BIN_B [BIN…]
#
# For each of PAIRS rounds, each binary in turn: `stride serve` on the data set, WARMUP seconds
# of untimed load, then one wrk run of SECONDS_PER_RUN at CONNECTIONS for each viewer. A fresh
# server per run, so no build inherits another's connections or kept counts. Prints one line per
# run (viewer, build, req/s, p50 ms, p99 ms) and each build's medians.
#
# Environment:
#   QUERY=上海   WHO="lead rep"   SECONDS_PER_RUN=10  WARMUP=2  CONNECTIONS=32  THREADS=2
#   PG_DB=stride_bench_crm (filled by `bench/crm.sh postgres`)   PORT=18290
#   A binary may be a script, e.g. one that sets STRIDE_DB_POOL before running a build.
set -euo pipefail

(($# >= 3)) || {
    echo "usage: $0 PAIRS BIN_A BIN_B [BIN…]" >&2
    exit 2
}
PAIRS=$1
shift
BINS=("$@")
QUERY=${QUERY:-上海}
WHO=${WHO:-lead rep}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PG_DB=${PG_DB:-stride_bench_crm}
PORT=${PORT:-18290}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_tools wrk curl jq awk psql
bench_setup search-ab
KEEP_PG=1 use_database postgres "$PG_DB"
[[ $(query "SELECT COUNT(*) FROM users WHERE username IN ('benchlead', 'bench00012')") == 2 ]] || {
    echo "$0: $PG_DB holds no bench/crm.sh data set; run bench/crm.sh postgres first" >&2
    exit 1
}

declare -A TOKEN
TOKEN[lead]=$("${BINS[0]}" "${DB[@]}" token create benchlead --label search-ab | tail -n 1)
TOKEN[rep]=$("${BINS[0]}" "${DB[@]}" token create bench00012 --label search-ab | tail -n 1)
q=$(jq -rn --arg q "$QUERY" '$q | @uri')
url="http://127.0.0.1:$PORT/api/v1/search?q=$q"

declare -A P99 RPS
for pair in $(seq 1 "$PAIRS"); do
    for i in "${!BINS[@]}"; do
        BIN=${BINS[$i]}
        start_server "$PORT"
        for who in $WHO; do
            auth="Authorization: Bearer ${TOKEN[$who]}"
            wrk_run "$CONNECTIONS" "$WARMUP" "$WORKDIR/warmup.txt" -H "$auth" "$url" >/dev/null
            read -r rps p50 p99 bad <<<"$(wrk_run "$CONNECTIONS" "$SECONDS_PER_RUN" \
                "$WORKDIR/$who-$i-$pair.txt" -H "$auth" "$url")"
            [[ $bad == 0 ]] || log "$who, build $((i + 1)), round $pair: $bad non-2xx responses"
            echo "$QUERY $who build$((i + 1)) $rps $p50 $p99"
            RPS[$who.$i]+="$rps "
            P99[$who.$i]+="$p99 "
        done
        stop_server
    done
done

echo
echo "medians of $PAIRS round(s), $CONNECTIONS connections; $(machine)"
for who in $WHO; do
    for i in "${!BINS[@]}"; do
        echo "$QUERY $who build$((i + 1)) ($(basename "${BINS[$i]}")): $(tr ' ' '\n' <<<"${RPS[$who.$i]}" | grep . | median) req/s, p99 $(tr ' ' '\n' <<<"${P99[$who.$i]}" | grep . | median) ms"
    done
done
