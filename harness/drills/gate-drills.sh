#!/usr/bin/env bash
# The gate's drills (issue 10), run in the background, one check at a time:
# A/A checks of a build against its own baseline (quiet, and under load from
# a parallel cargo build), checks of the slowed build (slowdown-demo.patch
# applied: its builder does 10% more work), and checks with 2% more allocated bytes
# injected. Every check's exit code, time, load and --export-json land in OUT.
#
#   gate-drills.sh A_BIN SLOW_BIN ROOT OUT ROUNDS [FIRST_ROUND [DEADLINE_EPOCH]]
#
# SCHEDULE=loaded runs only A/A checks beside a cargo build (the false-alarm
# drill under load); SCHEDULE=quiet (the default) runs, per round, two
# checks of the slowed build and three A/A checks, and +2% allocated bytes
# every third round. SCHEDULE=mixed runs, per round, two checks of the
# slowed build (quiet), one A/A check quiet and one beside a cargo build,
# and +2% allocated bytes every third round. SCHEDULE=aa is for the false-alarm
# rate: per round one A/A check beside a cargo build, one quiet, one beside
# a heavy load (heavy(): a release build of the workspace and the fuzzer's
# file churn), a slowed check every second round and +2% allocated bytes
# in the first. SCHEDULE=count is for the A/A count on one gate: per round
# an A/A check quiet, one beside a cargo build and one quiet again, one
# beside the heavy load every third round; nothing else. SCHEDULE=tally is
# the same count at more checks an hour: per round two A/A checks quiet,
# and one beside a cargo build every third round. SCHEDULE=slowed
# is for the detection count on one gate: per round one check of the slowed
# build on the quiet machine, and +2% allocated bytes every tenth round
# (ALLOC_EVERY=N: every Nth round instead; 0: never).
# Under a parallel cargo build a wall-time row's per-pair σ is
# 0.4–1.1 here, so detection is drilled on the quiet machine.
#
# No check starts after DEADLINE_EPOCH (seconds since 1970).
# A_BIN: soda-perf of the baseline commit; SLOW_BIN: the slowdown branch's;
# ROOT: a checkout of the baseline commit holding reports/baselines/*/drill.
set -u
A_BIN=$1 SLOW_BIN=$2 ROOT=$3 OUT=$4 ROUNDS=${5:-10} FIRST=${6:-1} DEADLINE=${7:-0}
# --no-calibrate --no-verify: the control run and the clean-build check of
# targeted runs are not part of the verdict; they only double the time.
SUITE=(--fixture large-app,xxxlarge --scenario cold,warm,targeted --no-calibrate --no-verify)
mkdir -p "$OUT"

past_deadline() {
    [ "$DEADLINE" -gt 0 ] && [ "$(date +%s)" -ge "$DEADLINE" ]
}

check() { # label binary extra-args…
    local label=$1 bin=$2
    shift 2
    if past_deadline; then
        return
    fi
    local start
    start=$(date +%s)
    "$bin" check --root "$ROOT" --baseline drill "${SUITE[@]}" --quiet \
        --export-json "$OUT/$label.json" "$@" >"$OUT/$label.out" 2>"$OUT/$label.err"
    local code=$?
    echo "$label exit=$code secs=$(($(date +%s) - start)) load=$(cut -d' ' -f1 /proc/loadavg)" >>"$OUT/summary.txt"
}

loaded() { # label binary extra-args…: the same check beside a cargo build
    past_deadline && return
    local load_dir="$OUT/load-target"
    # The build restarts from nothing until the check ends, so the load
    # lasts as long as the check, however long that is.
    (
        cd "$ROOT" || exit
        while true; do
            rm -rf "$load_dir"
            cargo build -q -p builder --target-dir "$load_dir" >/dev/null 2>&1
        done
    ) &
    local load_pid=$!
    sleep 5
    check "$@"
    pkill -P "$load_pid" 2>/dev/null
    kill "$load_pid" 2>/dev/null
    wait "$load_pid" 2>/dev/null
    pkill -f -- "--target-dir $load_dir" 2>/dev/null
}

heavy() { # label binary extra-args…: the same check beside a release build
    # of the whole workspace from nothing and the mutation fuzzer's file
    # churn, both in loops (what ran when generation 6 raised its two false
    # alarms). HEAVY_FUZZ_BIN/HEAVY_FUZZ_TEST: a soda-builder and a copy of
    # target/debug/deps/fuzz-*; without them only the build loads.
    past_deadline && return
    local heavy_dir="$OUT/heavy-target"
    (
        cd "$ROOT" || exit
        while true; do
            rm -rf "$heavy_dir"
            cargo build -q --release --workspace --target-dir "$heavy_dir" >/dev/null 2>&1
        done
    ) &
    local build_pid=$!
    local fuzz_pid=""
    if [ -n "${HEAVY_FUZZ_TEST:-}" ]; then
        (
            cd "$ROOT/builder" || exit
            while true; do
                SODA_FUZZ_CASES=3000 SODA_FUZZ_SEED=$RANDOM SODA_FUZZ_BIN="$HEAVY_FUZZ_BIN" \
                    "$HEAVY_FUZZ_TEST" >/dev/null 2>&1
            done
        ) &
        fuzz_pid=$!
    fi
    sleep 5
    check "$@"
    for pid in $build_pid $fuzz_pid; do
        pkill -P "$pid" 2>/dev/null
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    pkill -f -- "--target-dir $heavy_dir" 2>/dev/null
    [ -n "${HEAVY_FUZZ_TEST:-}" ] && pkill -f -- "$HEAVY_FUZZ_TEST" 2>/dev/null
}

for round in $(seq "$FIRST" "$ROUNDS"); do
    if [ "${SCHEDULE:-quiet}" = loaded ]; then
        loaded "aa-loaded-$round" "$A_BIN"
        continue
    fi
    if [ "${SCHEDULE:-quiet}" = slowed ]; then
        check "slow-$round" "$SLOW_BIN"
        every=${ALLOC_EVERY:-10}
        if [ "$every" -gt 0 ] && [ $((round % every)) -eq 0 ]; then
            check "alloc-$round" "$A_BIN" --inject-alloc-pct 2
        fi
        continue
    fi
    if [ "${SCHEDULE:-quiet}" = count ]; then
        check "aa-quiet-$round" "$A_BIN"
        loaded "aa-loaded-$round" "$A_BIN"
        check "aa-quiet-b-$round" "$A_BIN"
        if [ $((round % 3)) -eq 0 ]; then
            heavy "aa-heavy-$round" "$A_BIN"
        fi
        continue
    fi
    if [ "${SCHEDULE:-quiet}" = tally ]; then
        check "aa-quiet-$round" "$A_BIN"
        check "aa-quiet-b-$round" "$A_BIN"
        if [ $((round % 3)) -eq 0 ]; then
            loaded "aa-loaded-$round" "$A_BIN"
        fi
        continue
    fi
    if [ "${SCHEDULE:-quiet}" = aa ]; then
        loaded "aa-loaded-$round" "$A_BIN"
        check "aa-quiet-$round" "$A_BIN"
        heavy "aa-heavy-$round" "$A_BIN"
        if [ $((round % 2)) -eq 0 ]; then
            check "slow-$round" "$SLOW_BIN"
        fi
        if [ "$round" -eq 1 ]; then
            check "alloc-$round" "$A_BIN" --inject-alloc-pct 2
        fi
        continue
    fi
    if [ "${SCHEDULE:-quiet}" = mixed ]; then
        check "slow-$round" "$SLOW_BIN"
        check "aa-quiet-$round" "$A_BIN"
        check "slow-b-$round" "$SLOW_BIN"
        loaded "aa-loaded-$round" "$A_BIN"
        if [ $((round % 3)) -eq 1 ]; then
            check "alloc-$round" "$A_BIN" --inject-alloc-pct 2
        fi
        continue
    fi
    check "slow-$round" "$SLOW_BIN"
    check "aa-quiet-$round" "$A_BIN"
    check "aa-quiet-b-$round" "$A_BIN"
    check "slow-b-$round" "$SLOW_BIN"
    check "aa-quiet-c-$round" "$A_BIN"
    if [ $((round % 3)) -eq 1 ]; then
        check "alloc-$round" "$A_BIN" --inject-alloc-pct 2
    fi
done
echo "done" >>"$OUT/summary.txt"
