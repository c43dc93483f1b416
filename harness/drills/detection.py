#!/usr/bin/env python3
"""Per-row detection of the slowed build (issue 10's drill), from the checks'
--export-json files in OUT: the true effect of each row is the median per-pair
ratio pooled over every interleaved pair of every slowed check (a long
interleaved run), and a row counts as detected in a check when its verdict
is `regressed`. Also the A/A and +2% allocated-bytes counts, and per row
the chance that even a perfect rule with the gate's cap of 240 pairs sees
the row's estimate past the threshold: the median of 240 per-pair log
ratios has a standard error of about 1.2533·σ/√240, so a row whose true
effect θ is close to the threshold t is past it with probability
Φ((ln(1+θ) − ln(1+t)) / SE). That is the ceiling of its detection rate.

    python3 harness/drills/detection.py OUT [OUT…]
"""
import glob, json, math, os, re, statistics as st, sys
from collections import defaultdict

def log_ratios(base, head):
    """ln(head/base) of every pair with both sides positive."""
    return [math.log(h / b) for b, h in zip(base, head) if b > 0 and h > 0]


def robust_sigma(logs, centre):
    """1.4826 · MAD: the σ a normal sample with this spread would have."""
    return 1.4826 * st.median([abs(v - centre) for v in logs])


checks = defaultdict(list)  # kind -> [(label, record)]
for out in sys.argv[1:]:
    # In the order they ran: slow-2 before slow-10.
    paths = glob.glob(os.path.join(out, "*.json"))
    for path in sorted(paths, key=lambda p: [int(t) if t.isdigit() else t
                                             for t in re.split(r"(\d+)", os.path.basename(p))]):
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
            pooled[(s["fixture"], s["scenario"], metric)] += log_ratios(base, head)
print(f"\nslowed build: {len(slow)} checks, exit 1 in {sum(r['exit_code'] == 1 for _, r in slow)}")
def median_interval(logs):
    """95% order-statistics interval of the median (normal approximation)."""
    s, n = sorted(logs), len(logs)
    half = 1.96 * math.sqrt(n) / 2
    lo, hi = max(0, int(math.floor(n / 2 - half))), min(n - 1, int(math.ceil(n / 2 + half)))
    return math.exp(s[lo]) - 1, math.exp(s[hi]) - 1

def ceiling_at_cap(logs, threshold=0.05, cap=240):
    centre = st.median(logs)
    sigma = robust_sigma(logs, centre)
    se = 1.2533 * sigma / math.sqrt(cap)
    z = (centre - math.log1p(threshold)) / se if se > 0 else float("inf")
    return sigma, 0.5 * (1 + math.erf(z / math.sqrt(2)))

print(f"{'row':46} {'true effect [95%]':>24} {'pairs':>6} {'σ':>6} {'ceiling@240':>11}  detected")
for key in sorted(pooled):
    logs = pooled[key]
    effect = math.exp(st.median(logs)) - 1
    low, high = median_interval(logs)
    sigma, ceiling = ceiling_at_cap(logs)
    detected = sum(1 for _, r in slow for row in r["report"]["rows"]
                   if (row["fixture"], row["scenario"], row["metric"]["metric"]) == key
                   and row["metric"]["verdict"] == "regressed")
    mark = "  <- beyond the threshold" if effect > 0.05 else ""
    print(f"{'/'.join(key):46} {effect*100:+6.1f}% [{low*100:+5.1f}, {high*100:+5.1f}] {len(logs):6} {sigma:6.3f} {ceiling*100:10.0f}%  {detected}/{len(slow)}{mark}")

# A/A: how far each row's median ratio strayed from 1, check by check.
stray = defaultdict(list)
aa_pooled = defaultdict(list)
for _, r in aa:
    for s in r["interleaved"]:
        for metric, (base, head) in s.get("samples", {}).items():
            logs = log_ratios(base, head)
            aa_pooled[(s["fixture"], s["scenario"], metric)] += logs
            if logs:
                stray[(s["fixture"], s["scenario"], metric)].append(math.exp(st.median(logs)) - 1)
if stray:
    print(f"\nA/A: per row, the per-check median ratio (min … max over {len(aa)} checks),"
          " and the side bias: the median of every A/A pair pooled, with its 95% interval")
    for key in sorted(stray):
        v, logs = stray[key], aa_pooled[key]
        low, high = median_interval(logs)
        bias = math.exp(st.median(logs)) - 1
        mark = "  <- one side slower" if low > 0 or high < 0 else ""
        print(f"{'/'.join(key):46} {min(v)*100:+6.1f}% … {max(v)*100:+6.1f}%   "
              f"pooled {bias*100:+5.1f}% [{low*100:+5.1f}, {high*100:+5.1f}] over {len(logs)} pairs{mark}")

def dispersion(records, title):
    """Per row, the variance over checks of z = (the check's median log ratio
    − the pooled median) / its standard error (1.2533·σ/√n). About 1 when
    checks differ only by their own sampling noise; above it when something
    fixed for a whole check (an executable copy's placement, the machine's
    state) moves its rows."""
    z = defaultdict(list)
    pooled_logs = defaultdict(list)
    per_check = []
    for _, r in records:
        for s in r["interleaved"]:
            for metric, (base, head) in s.get("samples", {}).items():
                logs = log_ratios(base, head)
                key = (s["fixture"], s["scenario"], metric)
                pooled_logs[key] += logs
                per_check.append((key, logs))
    centres = {key: st.median(logs) for key, logs in pooled_logs.items() if logs}
    for key, logs in per_check:
        if len(logs) < 6:
            continue
        centre = st.median(logs)
        sigma = robust_sigma(logs, centre)
        if sigma > 0:
            z[key].append((centre - centres[key]) / (1.2533 * sigma / math.sqrt(len(logs))))
    if not z:
        return
    print(f"\n{title}: per row, var(z) of the per-check medians (≈1 when checks differ only by sampling)")
    for key in sorted(z):
        if key[2] == "peak_rss_kib":
            continue  # RSS ratios tie in most pairs: σ (MAD) is 0 or tiny
        values = z[key]
        if len(values) < 5:
            continue
        worst = max(values, key=abs)
        print(f"{'/'.join(key):46} var(z) {st.pvariance(values, 0):5.2f} over {len(values):3} checks, worst {worst:+5.1f}")

dispersion(aa, "A/A")
dispersion(slow, "slowed")

# The slowed checks one by one: the row's own interleaved effect where the
# run stopped, beside its verdict (a session row's effect moves with the
# machine's state: +11.5% in some checks, +5.8% in others).
beyond = [key for key in sorted(pooled) if math.exp(st.median(pooled[key])) - 1 > 0.05]
if slow and beyond:
    print("\nslowed checks: per row beyond the threshold, the check's own effect, pairs and verdict (R regressed)")
    print(f"{'check':10} " + " ".join(f"{'/'.join(k)[-34:]:>34}" for k in beyond))
    for label, r in slow:
        cells = []
        for key in beyond:
            cell = "-"
            for s in r["interleaved"]:
                if (s["fixture"], s["scenario"]) != key[:2] or key[2] not in s.get("samples", {}):
                    continue
                base, head = s["samples"][key[2]]
                logs = log_ratios(base, head)
                verdict = next((row["metric"]["verdict"] for row in r["report"]["rows"]
                                if (row["fixture"], row["scenario"], row["metric"]["metric"]) == key), "?")
                mark = "R" if verdict == "regressed" else verdict[:5]
                cell = f"{(math.exp(st.median(logs)) - 1) * 100:+5.1f}% {len(logs):3}p {mark}"
            cells.append(f"{cell:>34}")
        print(f"{label:10} " + " ".join(cells))
