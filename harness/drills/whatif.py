#!/usr/bin/env python3
"""What the gate's sequential rule does on resampled checks (issue 10's drill).

Draws synthetic checks from the interleaved pairs the drills recorded
(--export-json of `check`): per row, pairs are drawn with replacement from
all pairs of that row pooled over the given checks, each pair whole (its
wall, CPU and peak-RSS ratios together, as one run measured them), and the
row's run follows the gate's looks, stops and verdict (gate/paired.rs,
gate/mod.rs: looks at 12, 20, 30, 45, … pairs; a metric resolves when its
99% interval rules out a regression or it is decided at p × family < α;
the futility stop from the third look; Holm over the check's 24 tests).
It prints each row's detection rate (or false-alarm rate) with its Wilson
95% interval, under the gate's rule and under variants of it, so a change
of the rule can be weighed before the drills that count it.

Resampled pairs are independent; real runs drift within a check, so the
rates here are optimistic and the drill counts stay the evidence.

    python3 harness/drills/whatif.py slow OUT…    # slowed checks (slow-*.json)
    python3 harness/drills/whatif.py aa OUT…      # A/A checks, signs flipped at random
    python3 harness/drills/whatif.py replay OUT…  # each recorded check's own pairs, in order:
                                                  # must stop and judge as the gate did
    options (env): SIMS=1000, CAP=240, EXTEND=0 (pairs a leaning row may
    run past CAP), FUTILITY=2 (a run gives up when every unresolved metric
    needs more than FUTILITY × the cap; 1 for checks of generations 6–8), SEED=1
"""
import glob, json, math, os, random, statistics as st, sys
from collections import defaultdict

ALPHA, THRESHOLD = 0.01, 0.05
METRICS = ("wall_ms", "cpu_ms", "peak_rss_kib")
Z = 2.5758293035489 + 0.8416212335729143  # z(1 − α/2) + z(power 0.8)
EFFICIENCY = 2 / math.pi


def ln_binom_half(n):
    """ln P(X = i) for X ~ Binomial(n, ½), i = 0..n."""
    out, ln_choose = [], 0.0
    for i in range(n + 1):
        out.append(ln_choose + n * math.log(0.5))
        if i < n:
            ln_choose += math.log(n - i) - math.log(i + 1)
    return out


_ORDER_K = {}


def order_k(n, confidence=1 - ALPHA):
    """k of the order-statistics interval [x_(k), x_(n−k+1)], 0 if none."""
    if n not in _ORDER_K:
        tail, cumulative, k = (1 - confidence) / 2, 0.0, 0
        for i, lp in enumerate(ln_binom_half(n)[:n]):
            p = math.exp(lp)
            if cumulative + p > tail:
                break
            cumulative += p
            k = i + 1
        _ORDER_K[n] = k if 0 < k <= n // 2 else 0
    return _ORDER_K[n]


def sign_test(logs):
    pos = sum(1 for v in logs if v > 0)
    neg = sum(1 for v in logs if v < 0)
    n = pos + neg
    if n == 0:
        return 1.0
    lps = ln_binom_half(n)
    return min(1.0, 2 * sum(math.exp(lp) for lp in lps[: min(pos, neg) + 1]))


def evidence(logs):
    s = sorted(logs)
    n = len(s)
    k = order_k(n)
    lower, upper = (math.exp(s[k - 1]), math.exp(s[n - k])) if k else (0.0, math.inf)
    centre = st.median(s)
    sigma = 1.4826 * st.median([abs(v - centre) for v in s])
    return {"ratio": math.exp(centre), "lower": lower, "upper": upper,
            "p": sign_test(s), "sigma": sigma, "pairs": n}


def judge(e, p_adjusted):
    change = e["ratio"] - 1
    if abs(change) <= THRESHOLD:
        within = e["lower"] >= 1 - THRESHOLD and e["upper"] <= 1 + THRESHOLD
        return "unchanged" if within else "inconclusive"
    excludes_one = e["lower"] > 1 if change > 0 else e["upper"] < 1
    if excludes_one and p_adjusted < ALPHA:
        return "regressed" if change > 0 else "improved"
    return "inconclusive"


def resolved(e, family):
    return e["upper"] <= 1 + THRESHOLD or judge(e, min(1.0, e["p"] * family)) in ("regressed", "improved")


def pairs_to_resolve(sigma, threshold):
    delta = math.log1p(threshold)
    if not math.isfinite(sigma) or delta <= 0:
        return None
    return max(6, math.ceil(Z * Z * sigma * sigma / (delta * delta) / EFFICIENCY))


def next_pairs(pairs, cap):
    if pairs >= cap:
        return None
    return min(max(pairs + 8, pairs + (pairs + 1) // 2), cap)


# Futile when the need exceeds FUTILITY × the cap: 2 since generation 9
# (paired.rs FUTILITY_MARGIN); FUTILITY=1 replays checks of generations 6–8.
FUTILITY = float(os.environ.get("FUTILITY", 2))


def run_row(pool, rng, family, cap, extend, in_order=False):
    """One row's interleaved run: the evidence per metric at its stop.
    `in_order`: take the pool's pairs in their recorded order (a replay)."""
    drawn, target = [], 12
    third = next_pairs(next_pairs(12, cap), cap)
    while True:
        while len(drawn) < target:
            if in_order:
                if len(drawn) >= len(pool):
                    return None  # the recorded run stopped earlier
                drawn.append(pool[len(drawn)])
            else:
                drawn.append(pool[rng.randrange(len(pool))])
        ev = [evidence([d[m] for d in drawn]) for m in range(len(METRICS))]
        unresolved = [e for e in ev if not resolved(e, family)]
        if not unresolved:
            return ev
        # EXTEND: a row whose estimate leans past the threshold may run on
        # past the cap (the variant weighed here; the gate has EXTEND=0).
        leaning = any(e["ratio"] > 1 + THRESHOLD for e in unresolved)
        limit = cap + extend if leaning else cap
        nxt = next_pairs(target, limit)
        if nxt is None:
            return ev
        futile = target >= third and all(
            (need := pairs_to_resolve(e["sigma"], max(THRESHOLD, math.expm1(abs(math.log(e["ratio"])))))) is None
            or need > FUTILITY * limit for e in unresolved)
        if futile:
            return ev
        target = nxt


def holm(ps):
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    adjusted, running = [1.0] * len(ps), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(ps) - rank) * ps[i]))
        adjusted[i] = running
    return adjusted


def columns_of(s):
    samples = s.get("samples", {})
    if not all(m in samples for m in METRICS):
        return None
    columns = [[math.log(h / b) if b > 0 and h > 0 else 0.0 for b, h in zip(*samples[m])]
               for m in METRICS]
    return list(zip(*columns))


def recorded_checks(outs, prefix=""):
    """(path, record) of every readable check export in OUT… whose file
    name starts with `prefix`."""
    for out in outs:
        for path in sorted(glob.glob(os.path.join(out, prefix + "*.json"))):
            try:
                yield path, json.load(open(path))
            except (OSError, ValueError):
                continue


def recorded_runs(record):
    """The check's interleaved runs with their pairs, or None when a run
    lacks a metric's samples (it cannot be replayed)."""
    runs = [(s, columns_of(s)) for s in record.get("interleaved", [])]
    return runs if runs and all(c is not None for _, c in runs) else None


def replay(outs):
    """Each recorded check's pairs through the rule, in order: the stop and
    the verdicts must be the gate's own (a test of this script)."""
    checks = same = 0
    for path, record in recorded_checks(outs):
        runs = recorded_runs(record)
        if runs is None:
            continue
        family = len(runs) * len(METRICS)
        tests, stops_differ = [], False
        for s, pairs in runs:
            ev = run_row(pairs, None, family, 240, 0, in_order=True)
            if ev is None or ev[0]["pairs"] != s["pairs"]:
                stops_differ = True
                print(f"{path}: {s['fixture']}/{s['scenario']} stopped at "
                      f"{None if ev is None else ev[0]['pairs']}, the gate at {s['pairs']}")
                ev = [evidence([p[m] for p in pairs]) for m in range(len(METRICS))]
            tests += [((s["fixture"], s["scenario"], m), e) for m, e in zip(METRICS, ev)]
        adjusted = holm([e["p"] for _, e in tests])
        mine = {key: judge(e, p) for (key, e), p in zip(tests, adjusted)}
        gate = {(r["fixture"], r["scenario"], r["metric"]["metric"]): r["metric"]["verdict"]
                for r in record["report"]["rows"] if r.get("evidence", {}).get("kind") == "interleaved"}
        differ = {k: (v, gate.get(k)) for k, v in mine.items() if gate.get(k) != v}
        checks += 1
        same += not differ and not stops_differ
        for key, (v, g) in differ.items():
            print(f"{path}: {'/'.join(key)}: replay {v}, gate {g}")
    print(f"replay: {same} of {checks} checks stop and judge every interleaved row as the gate did")


def mirror(outs):
    """Each recorded A/A check with base and head swapped. The gate's
    rule is not symmetric in its stop (a run stops once a regression is
    ruled out), so a mirrored run may need pairs the recorded one never
    took: such a row is `undecided` here, with the verdict at the pairs
    there are."""
    checks = flagged = undecided = 0
    for path, record in recorded_checks(outs, "aa"):
        runs = recorded_runs(record)
        if runs is None:
            continue
        family = len(runs) * len(METRICS)
        tests, short = [], []
        for s, pairs in runs:
            swapped = [tuple(-v for v in pair) for pair in pairs]
            ev = run_row(swapped, None, family, 240, 0, in_order=True)
            if ev is None:
                ev = [evidence([p[m] for p in swapped]) for m in range(len(METRICS))]
                leaning = [f"{m} {(e['ratio'] - 1) * 100:+.1f}%" for m, e in zip(METRICS, ev)
                           if e["ratio"] > 1 + THRESHOLD]
                short.append(f"{s['fixture']}/{s['scenario']}"
                             + (f" (at {ev[0]['pairs']} pairs: {', '.join(leaning)})" if leaning else ""))
            tests += [((s["fixture"], s["scenario"], m), e) for m, e in zip(METRICS, ev)]
        adjusted = holm([e["p"] for _, e in tests])
        regressed = [f"{'/'.join(key)} {(e['ratio'] - 1) * 100:+.1f}% at {e['pairs']} pairs"
                     for (key, e), p in zip(tests, adjusted) if judge(e, p) == "regressed"]
        checks += 1
        flagged += bool(regressed)
        undecided += bool(short) and not regressed
        if regressed or short:
            print(f"{path}: regressed: {', '.join(regressed) or 'none'}"
                  + (f"; would take more pairs than recorded: {', '.join(short)}" if short else ""))
    print(f"mirror: {flagged} of {checks} swapped A/A checks report a regression; "
          f"{undecided} more stop short of their recorded pairs (undecided)")


def load(kind, outs):
    pools = defaultdict(list)
    checks = 0
    for _, record in recorded_checks(outs, kind):  # kind: "slow" or "aa", the file names' prefix
        checks += 1
        for s in record.get("interleaved", []):
            pairs = columns_of(s)
            if pairs is not None:
                pools[(s["fixture"], s["scenario"])] += pairs
    return checks, pools


def wilson(k, n, z=1.96):
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def main():
    kind, outs = sys.argv[1], sys.argv[2:]
    if kind == "replay":
        return replay(outs)
    if kind == "mirror":
        return mirror(outs)
    sims = int(os.environ.get("SIMS", 1000))
    cap = int(os.environ.get("CAP", 240))
    extend = int(os.environ.get("EXTEND", 0))
    rng = random.Random(int(os.environ.get("SEED", 1)))
    checks, pools = load(kind, outs)
    rows = sorted(pools)
    family = len(rows) * len(METRICS)
    flagged = defaultdict(int)
    pairs_used = defaultdict(list)
    any_flag = 0
    for _ in range(sims):
        tests = []
        for row in rows:
            pool = pools[row]
            if kind == "aa":  # exchangeable sides: a random sign per pair
                pool = [tuple(v if rng.random() < 0.5 else -v for v in pair) for pair in pool]
            ev = run_row(pool, rng, family, cap, extend)
            pairs_used[row].append(ev[0]["pairs"])
            tests += [(row, m, e) for m, e in zip(METRICS, ev)]
        adjusted = holm([e["p"] for _, _, e in tests])
        hit = False
        for (row, m, e), p in zip(tests, adjusted):
            if judge(e, p) == "regressed":
                flagged[(row, m)] += 1
                hit = True
        any_flag += hit
    what = "detected" if kind == "slow" else "false alarms"
    print(f"{kind}: {sims} resampled checks from {checks} recorded ones; cap {cap}, "
          f"a leaning row may run {extend} pairs past it; futile past {FUTILITY:g} × the cap")
    print(f"{'row':44} {'effect':>7} {'σ':>6} {'mean pairs':>10}  {what} [95%]")
    for row in rows:
        for m_index, m in enumerate(METRICS):
            logs = [pair[m_index] for pair in pools[row]]
            k = flagged[(row, m)]
            low, high = wilson(k, sims)
            centre = st.median(logs)
            sigma = 1.4826 * st.median([abs(v - centre) for v in logs])
            effect = math.expm1(centre) if kind == "slow" else 0.0
            print(f"{'/'.join(row) + '/' + m:44} {effect*100:+6.1f}% {sigma:6.3f} "
                  f"{st.mean(pairs_used[row]):10.0f}  {k}/{sims} = {k/sims*100:.1f}% [{low*100:.1f}, {high*100:.1f}]")
    low, high = wilson(any_flag, sims)
    print(f"checks with any row regressed: {any_flag}/{sims} = {any_flag/sims*100:.1f}% [{low*100:.1f}, {high*100:.1f}]")


if __name__ == "__main__":
    main()
