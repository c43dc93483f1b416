#!/usr/bin/env bash
# The strict form of the builder's warm-start target: `soda-builder build`
# with nothing changed (a new process on the persisted state) against
# `soda-builder build --no-incremental` (a clean build), run alternately so
# both see the same machine, medians of N pairs. Run from the repository root
# after `cargo build --release -p builder` and `cargo perf generate --preset
# xxxlarge`.
#
#   bash harness/scripts/warm-vs-clean.sh [config] [N]
set -eu
config=${1:-.cache/perf/fixtures/xxxlarge/soda-gql.config.ts}
n=${2:-21}
bin=./target/release/soda-builder
[ -x "$bin" ] || { echo "build it first: cargo build --release -p builder" >&2; exit 2; }
[ -f "$config" ] || { echo "no $config (cargo perf generate --preset xxxlarge)" >&2; exit 2; }
run_us() {
  local start end
  start=$(date +%s%N)
  "$bin" build "$@" --config "$config" >/dev/null 2>&1 || true
  end=$(date +%s%N)
  echo $(((end - start) / 1000))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
run_us >/dev/null # a persisted state to start from
warm=() clean=()
for _ in $(seq "$n"); do
  warm+=("$(run_us)")
  clean+=("$(run_us --no-incremental)")
done
run_us >/dev/null # leave the state as a warm build would
w=$(printf '%s\n' "${warm[@]}" | median)
c=$(printf '%s\n' "${clean[@]}" | median)
awk -v w="$w" -v c="$c" -v n="$n" 'BEGIN {
  printf "warm median %.1f ms, clean median %.1f ms, warm = %.1f%% of clean (%d pairs)\n", w / 1000, c / 1000, 100 * w / c, n
}'
