#!/usr/bin/env bash
# Lead import benchmark: `stride import leads FILE --as USER` on a 100,000-row CSV.
# See docs/benchmarks.md.
#
#   bench/import.sh [sqlite|postgres|both]
#
# Every run starts from a fresh database (the import changes it): `stride bench-data` with
# USERS reps and CUSTOMERS customers, then EXISTING_LEADS leads imported from a file of their
# own, so duplicate detection has stored customers and leads to hit. The measured file
# (`stride bench-data --leads-csv`, ROWS rows) repeats about 5% of its own companies or phones
# and about 2% of the stored customers' names and leads' e-mails. Two measurements per run:
#   check   `stride import leads FILE --as bench00001`: every row checked, the duplicates
#           refuse the file, nothing is written (the lead count is verified unchanged)
#   import  `… --allow-duplicates`: every row checked and written in one transaction, the
#           duplicates imported but flagged in the report (verified: ROWS more leads, flags)
# Seconds are wall-clock for the whole command (reading the file to commit), peak RSS from
# /usr/bin/time; RUNS runs per backend, medians reported.
#
# With BASELINE_BIN set, the script compares two builds instead: one data set per backend is
# generated once, and PAIRS pairs of imports run on fresh copies of it (`cp -r`, `createdb -T`),
# the baseline and BIN alternating, so both see the same data and the machine's slow and fast
# minutes alike. It prints every run, the medians and their ratio (baseline ÷ BIN).
#
# Environment:
#   RUNS=3  ROWS=100000  USERS=120  CUSTOMERS=100000  EXISTING_LEADS=10000
#   BASELINE_BIN=<an earlier build>  PAIRS=4
#   PG_URL_BASE=postgres://postgres@127.0.0.1:5432   PG_DB=stride_bench_import
#   NO_BUILD=1   BIN (default target/release/stride)
set -euo pipefail

BACKENDS=${1:-both}
RUNS=${RUNS:-3}
ROWS=${ROWS:-100000}
USERS=${USERS:-120}
CUSTOMERS=${CUSTOMERS:-100000}
EXISTING_LEADS=${EXISTING_LEADS:-10000}
PG_DB=${PG_DB:-stride_bench_import}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
backends_from "$BACKENDS" "[sqlite|postgres|both]"
require_tools awk sqlite3 psql createdb dropdb
[[ -x /usr/bin/time ]] || {
    echo "$0: /usr/bin/time is required (peak RSS)" >&2
    exit 2
}

bench_setup import
build_release

fresh_database() {
    local backend=$1 run=$2
    rm -rf "$WORKDIR/sqlite-data"
    use_database "$backend" "$PG_DB"
    # Quiet: sqlx would log every multi-row statement as slow, text and all.
    STRIDE_LOG=error "$BIN" "${DB[@]}" bench-data --users "$USERS" --customers "$CUSTOMERS" \
        >"$WORKDIR/$backend-$run-setup.txt" 2>&1
    if ((EXISTING_LEADS > 0)); then
        # Rows far past the measured file's, so only the intended repeats collide.
        STRIDE_LOG=error "$BIN" "${DB[@]}" bench-data --leads-csv "$WORKDIR/existing.csv" \
            --leads-csv-rows "$EXISTING_LEADS" --leads-csv-first 1000001 >>"$WORKDIR/$backend-$run-setup.txt"
        STRIDE_LOG=error "$BIN" "${DB[@]}" import leads "$WORKDIR/existing.csv" --as bench00002 \
            --allow-duplicates >>"$WORKDIR/$backend-$run-setup.txt"
    fi
    STRIDE_LOG=error "$BIN" "${DB[@]}" bench-data --leads-csv "$WORKDIR/leads.csv" \
        --leads-csv-rows "$ROWS" >>"$WORKDIR/$backend-$run-setup.txt"
    [[ $backend == sqlite ]] || query "ANALYZE" >/dev/null
}

# Runs one import; prints "seconds peak_rss_mib exit_status".
timed_import() {
    local out=$1
    shift
    local status=0
    STRIDE_LOG=error /usr/bin/time -o "$out.time" -f "%e %M" \
        "$BIN" "${DB[@]}" import leads "$WORKDIR/leads.csv" --as bench00001 "$@" >"$out" 2>&1 || status=$?
    echo "$(awk 'END { printf "%s %.0f", $1, $2 / 1024 }' "$out.time") $status"
}

ROWS_MD=()
NOTES=()

bench_backend() {
    local backend=$1
    local -a check_s=() check_rss=() import_s=() import_rss=()
    local run before after seconds rss status flagged refused
    for run in $(seq 1 "$RUNS"); do
        log "$backend run $run: fresh database ($USERS reps, $CUSTOMERS customers, $EXISTING_LEADS leads)"
        fresh_database "$backend" "$run"
        before=$(query "SELECT COUNT(*) FROM leads")

        read -r seconds rss status <<<"$(timed_import "$WORKDIR/$backend-$run-check.txt")"
        refused=$(grep -Ec '^row +[0-9]+ ' "$WORKDIR/$backend-$run-check.txt" || true)
        after=$(query "SELECT COUNT(*) FROM leads")
        [[ $status != 0 && $after == "$before" && $refused -gt 0 ]] || {
            echo "$0: $backend check run $run: exit $status, $refused problems, leads $before → $after" >&2
            tail -n 5 "$WORKDIR/$backend-$run-check.txt" >&2
            return 1
        }
        log "$backend check run $run: $seconds s, $rss MiB, $refused duplicate rows reported, nothing written"
        check_s+=("$seconds") check_rss+=("$rss")

        read -r seconds rss status <<<"$(timed_import "$WORKDIR/$backend-$run-import.txt" --allow-duplicates)"
        flagged=$(grep -Ec '^row +[0-9]+ ' "$WORKDIR/$backend-$run-import.txt" || true)
        after=$(query "SELECT COUNT(*) FROM leads")
        [[ $status == 0 && $((after - before)) == "$ROWS" ]] || {
            echo "$0: $backend import run $run: exit $status, leads $before → $after" >&2
            tail -n 5 "$WORKDIR/$backend-$run-import.txt" >&2
            return 1
        }
        log "$backend import run $run: $seconds s, $rss MiB, $ROWS leads written, $flagged duplicate rows flagged"
        import_s+=("$seconds") import_rss+=("$rss")
    done
    NOTES+=("$backend: $refused rows refused as duplicates (check), $flagged flagged (import); leads $before → $after; audit rows: $(query "SELECT COUNT(*) FROM audit_log WHERE record_kind = 'lead'")")
    local s
    s=$(printf '%s\n' "${check_s[@]}" | median)
    ROWS_MD+=("| $backend | check (refused, nothing written) | $ROWS | $s | $(awk -v n="$ROWS" -v s="$s" 'BEGIN { printf "%.0f", n / s }') | $(printf '%s\n' "${check_rss[@]}" | median) |")
    s=$(printf '%s\n' "${import_s[@]}" | median)
    ROWS_MD+=("| $backend | import (\`--allow-duplicates\`) | $ROWS | $s | $(awk -v n="$ROWS" -v s="$s" 'BEGIN { printf "%.0f", n / s }') | $(printf '%s\n' "${import_rss[@]}" | median) |")
}

# Copies of one generated data set, for the pairs of an A/B run.
save_template() {
    case "$1" in
    sqlite) mv "$WORKDIR/sqlite-data" "$WORKDIR/sqlite-template" ;;
    postgres) psql -qAtX "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS ${PG_DB}_template" \
        -c "ALTER DATABASE $PG_DB RENAME TO ${PG_DB}_template" ;;
    esac
}

copy_template() {
    case "$1" in
    sqlite)
        rm -rf "$WORKDIR/sqlite-data"
        cp -r "$WORKDIR/sqlite-template" "$WORKDIR/sqlite-data"
        ;;
    postgres) psql -qAtX "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS $PG_DB" \
        -c "CREATE DATABASE $PG_DB TEMPLATE ${PG_DB}_template" ;;
    esac
    KEEP_PG=1 use_database "$1" "$PG_DB"
}

# Seconds of one import of the measured file by the build $1 on a fresh copy, checked.
paired_import() {
    local backend=$1 bin=$2 out=$3 before after seconds rss status
    copy_template "$backend"
    before=$(query "SELECT COUNT(*) FROM leads")
    read -r seconds rss status <<<"$(BIN=$bin timed_import "$out" --allow-duplicates)"
    after=$(query "SELECT COUNT(*) FROM leads")
    [[ $status == 0 && $((after - before)) == "$ROWS" ]] || {
        echo "$0: $backend import by $bin: exit $status, leads $before → $after" >&2
        return 1
    }
    echo "$seconds"
}

compare_backend() {
    local backend=$1 pair a b
    local -a before=() after=()
    log "$backend: one data set for every pair ($USERS reps, $CUSTOMERS customers, $EXISTING_LEADS leads)"
    fresh_database "$backend" template
    save_template "$backend"
    for pair in $(seq 1 "$PAIRS"); do
        a=$(paired_import "$backend" "$BASELINE_BIN" "$WORKDIR/$backend-$pair-baseline.txt")
        b=$(paired_import "$backend" "$BIN" "$WORKDIR/$backend-$pair-build.txt")
        log "$backend pair $pair: baseline $a s, build $b s"
        before+=("$a") after+=("$b")
    done
    a=$(printf '%s\n' "${before[@]}" | median)
    b=$(printf '%s\n' "${after[@]}" | median)
    ROWS_MD+=("| $backend | ${before[*]} | ${after[*]} | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f×", a / b }') |")
}

if [[ -n "${BASELINE_BIN:-}" ]]; then
    [[ -x "$BASELINE_BIN" ]] || {
        echo "$0: $BASELINE_BIN not found" >&2
        exit 2
    }
    PAIRS=${PAIRS:-4}
    for backend in "${BACKENDS[@]}"; do
        compare_backend "$backend"
    done
    echo
    echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; raw output in $WORKDIR"
    echo "Baseline $BASELINE_BIN against $BIN, $PAIRS pairs, alternating; seconds of the whole import command."
    echo
    echo "| backend | baseline s | build s | baseline median | build median | ratio |"
    echo "|---|---|---|---:|---:|---:|"
    printf '%s\n' "${ROWS_MD[@]}"
    exit 0
fi

for backend in "${BACKENDS[@]}"; do
    bench_backend "$backend"
done

echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; raw output in $WORKDIR"
echo
echo "| backend | run | rows | seconds | rows/s | peak RSS MiB |"
echo "|---|---|---:|---:|---:|---:|"
printf '%s\n' "${ROWS_MD[@]}"
echo
printf -- '- %s\n' "${NOTES[@]}"
