#!/usr/bin/env bash
# A/A check of the regression gate: save a baseline, then check the very same
# build against it N times and count how often it cries regression. Every
# failure is a false alarm. Run from the repository root after
# `cargo build --release -p harness`.
#
#   bash harness/scripts/aa-check.sh [N] [fixtures] [scenarios]
set -u
n=${1:-20}
fixtures=${2:-medium-app,large-app}
scenarios=${3:-cold,warm,targeted}
perf=./target/release/soda-perf
log=$(mktemp -d)
$perf baseline save --name aa-check --fixture "$fixtures" --scenario "$scenarios" --iterations 10 --no-history -q >"$log/save.log" 2>&1 || { cat "$log/save.log"; exit 2; }
alarms=0
for i in $(seq 1 "$n"); do
  $perf check --baseline aa-check --fixture "$fixtures" --scenario "$scenarios" --iterations 10 --no-history -q >"$log/check-$i.log" 2>&1
  code=$?
  echo "check $i: exit $code"
  [ "$code" -eq 1 ] && alarms=$((alarms + 1))
  [ "$code" -eq 2 ] && { cat "$log/check-$i.log"; exit 2; }
done
echo "A/A: $alarms of $n checks cried regression (logs in $log)"
rm -rf reports/baselines/*/aa-check
