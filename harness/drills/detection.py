#!/usr/bin/env python3
"""Per-row detection of the slowed build (issue 10's drill), from the checks'
--export-json files in OUT: the true effect of each row is the median per-pair
ratio pooled over every interleaved pair of every slowed check (a long
interleaved run), and a row counts as detected in a check when its verdict
is `regressed`. Also the A/A and +2% allocated-bytes counts.

    python3 harness/drills/detection.py OUT [OUT…]
"""
import glob, json, math, os, statistics as st, sys
from collections import defaultdict

checks = defaultdict(list)  # kind -> [(label, record)]
for out in sys.argv[1:]:
    for path in sorted(glob.glob(os.path.join(out, "*.json"))):
        label = os.path.basename(path)[:-5]
        try:
            record = json.load(open(path))
        except (OSError, ValueError):
            continue
        kind = "slow" if label.startswith("slow") else "alloc" if label.startswith("alloc") else "aa"
        checks[kind].append((label, record))

def timing_regressions(record):
    return [f"{r['fixture']}/{r['scenario']}/{r['metric']['metric']}"
            for r in record["report"]["rows"]
            if r["metric"]["verdict"] == "regressed" and r["metric"]["kind"] == "timing"]

aa = checks["aa"]
print(f"A/A: {len(aa)} checks, exit 1 in {sum(r['exit_code'] == 1 for _, r in aa)}; "
      f"timing rows regressed: {sum(len(timing_regressions(r)) for _, r in aa)}; "
      f"any row regressed: {sum(1 for _, r in aa for row in r['report']['rows'] if row['metric']['verdict'] == 'regressed')}")
alloc = checks["alloc"]
for label, r in alloc:
    rows = [row for row in r["report"]["rows"] if row["metric"]["metric"] == "alloc_total_bytes"]
    print(f"{label}: exit {r['exit_code']}, alloc_total_bytes regressed on {sum(row['metric']['verdict'] == 'regressed' for row in rows)}/{len(rows)} rows")
aa_alloc = sum(1 for _, r in aa for row in r["report"]["rows"]
               if row["metric"]["metric"] == "alloc_total_bytes" and row["metric"]["verdict"] == "regressed")
print(f"A/A checks with alloc_total_bytes regressed: {aa_alloc}")

slow = checks["slow"]
pooled = defaultdict(list)
for _, r in slow:
    for s in r["interleaved"]:
        for metric, (base, head) in s.get("samples", {}).items():
            pooled[(s["fixture"], s["scenario"], metric)] += [
                math.log(h / b) for b, h in zip(base, head) if b > 0 and h > 0]
print(f"\nslowed build: {len(slow)} checks, exit 1 in {sum(r['exit_code'] == 1 for _, r in slow)}")
print(f"{'row':46} {'true effect':>11} {'pairs':>6}  detected")
for key in sorted(pooled):
    logs = pooled[key]
    effect = math.exp(st.median(logs)) - 1
    detected = sum(1 for _, r in slow for row in r["report"]["rows"]
                   if (row["fixture"], row["scenario"], row["metric"]["metric"]) == key
                   and row["metric"]["verdict"] == "regressed")
    mark = "  <- beyond the threshold" if effect > 0.05 else ""
    print(f"{'/'.join(key):46} {effect*100:+10.1f}% {len(logs):6}  {detected}/{len(slow)}{mark}")
