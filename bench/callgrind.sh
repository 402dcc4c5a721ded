#!/usr/bin/env bash
# Instructions per request, repeatable on a busy machine. See docs/benchmarks.md.
#
#   bench/callgrind.sh [sqlite|postgres] [requests]
#
# Prepares a database like bench/run.sh (10,000 generated users and an admin with an API
# token), starts the release server under `valgrind --tool=callgrind`, sends a few warm-up
# requests, zeroes the counters, sends N identical authenticated list requests one after
# another with curl, dumps the counters and prints the instructions per request plus the top
# functions (inclusive) from `callgrind_annotate`. The dump stays in the work directory.
#
# Environment:
#   URL_PATH=/api/v1/users?limit=50   the request measured (authenticated with the token)
#   USERS=10000  PG_URL_BASE=postgres://postgres@127.0.0.1:5432  PG_DB=stride_callgrind
#   PORT=18090   TOP=40 (lines of the inclusive profile)   NO_BUILD=1 skips the build
#   STRIDE_LOG   server log filter (default: the binary's default)
#   BIN          the server binary (default: target/release/stride), e.g. a saved older build
set -euo pipefail

BACKEND=${1:-sqlite}
REQUESTS=${2:-200}
URL_PATH=${URL_PATH:-/api/v1/users?limit=50}
USERS=${USERS:-10000}
PG_DB=${PG_DB:-stride_callgrind}
PORT=${PORT:-18090}
TOP=${TOP:-40}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
case "$BACKEND" in
sqlite | postgres) ;;
*)
    echo "usage: $0 [sqlite|postgres] [requests]" >&2
    exit 2
    ;;
esac
bench_setup callgrind
build_release
use_database "$BACKEND" "$PG_DB"

"$BIN" "${DB[@]}" bench-data --users "$USERS" >&2
STRIDE_PASSWORD=bench-admin-password "$BIN" "${DB[@]}" user add benchadmin --role admin \
    --display-name "Bench Admin" >&2
token=$("$BIN" "${DB[@]}" token create benchadmin --label bench | tail -n 1)

valgrind --tool=callgrind --callgrind-out-file="$WORKDIR/callgrind.out" \
    "$BIN" "${DB[@]}" serve --addr "127.0.0.1:$PORT" --no-jobs >"$WORKDIR/server.log" 2>&1 &
SERVER_PID=$!
base=http://127.0.0.1:$PORT
for _ in $(seq 1 600); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.2
done
url="$base$URL_PATH"
auth="Authorization: Bearer $token"
# Warm every pooled connection's statement cache and the allocator.
for _ in $(seq 1 20); do curl -fsS -o /dev/null -H "$auth" "$url"; done

callgrind_control -z "$SERVER_PID" >/dev/null
for _ in $(seq 1 "$REQUESTS"); do curl -fsS -o /dev/null -H "$auth" "$url"; done
callgrind_control -d "$SERVER_PID" >/dev/null
sleep 1

dump=$(ls -t "$WORKDIR"/callgrind.out.* | head -n 1)
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
log "dump: $dump"
echo "$BACKEND $URL_PATH: $REQUESTS requests, $total instructions, $((total / REQUESTS)) per request"
callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | sed -n '/^Ir/,$p' | head -n "$TOP" |
    awk -v n="$REQUESTS" '{ v = $1; gsub(",", "", v); if (v ~ /^[0-9]+$/) printf "%10d/req  %s\n", v / n, $0; else print }'
