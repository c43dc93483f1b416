#!/usr/bin/env python3
"""Counts of the gate drills: python3 summarize.py OUT_DIR.

Per kind of check (aa-quiet, aa-loaded, slow, alloc): exit codes, and per
fixture/scenario/metric how many checks called the row regressed, with the
interleaved ratios seen."""
import json, os, re, sys
from collections import defaultdict
from statistics import median

out = sys.argv[1]
summary = {}
for line in open(os.path.join(out, "summary.txt")):
    m = re.match(r"(\S+) exit=(\d+) secs=(\d+) load=(\S+)", line)
    if m:
        summary[m.group(1)] = (int(m.group(2)), int(m.group(3)), float(m.group(4)))

kinds = defaultdict(list)
for label in summary:
    kind = re.sub(r"-\d+$", "", label).replace("slow-b", "slow")
    kinds[kind].append(label)

# Drill binaries predate the alloc_count slack (verdict::deterministic_slack);
# a row it would clear is re-judged here from the exported medians.
SLACK = {"alloc_count": 32.0}


def rejudged(metric):
    if metric["verdict"] == "regressed" and metric["kind"] == "deterministic":
        slack = SLACK.get(metric["metric"], 0.0)
        if abs(metric["head_median"] - metric["base_median"]) <= slack:
            return "unchanged"
    return metric["verdict"]


def exit_after_rejudging(label):
    path = os.path.join(out, label + ".json")
    if not os.path.exists(path):
        return summary[label][0]
    rows = json.load(open(path))["report"]["rows"]
    return int(any(rejudged(r["metric"]) == "regressed" for r in rows))


for kind, labels in sorted(kinds.items()):
    codes = defaultdict(int)
    rejudged_codes = defaultdict(int)
    for label in labels:
        codes[summary[label][0]] += 1
        rejudged_codes[exit_after_rejudging(label)] += 1
    secs = [summary[l][1] for l in labels]
    loads = [summary[l][2] for l in labels]
    print(f"== {kind}: {len(labels)} checks, exit codes {dict(codes)} "
          f"(with the alloc_count slack: {dict(rejudged_codes)}), "
          f"median {median(secs)} s per check, load {min(loads):.1f}–{max(loads):.1f}")
    rows = defaultdict(lambda: {"regressed": 0, "seen": 0, "ratios": [], "pairs": []})
    for label in labels:
        path = os.path.join(out, label + ".json")
        if not os.path.exists(path):
            continue
        record = json.load(open(path))
        for row in record["report"]["rows"]:
            metric = row["metric"]
            if metric["direction"] == "informational":
                continue
            key = f'{row["fixture"]}/{row["scenario"]}/{metric["metric"]}'
            r = rows[key]
            r["seen"] += 1
            r["regressed"] += rejudged(metric) == "regressed"
            ev = row.get("evidence", {})
            if ev.get("kind") == "interleaved" and metric["kind"] == "timing":
                r["ratios"].append(metric["ratio"])
                r["pairs"].append(ev["pairs"])
    for key, r in sorted(rows.items()):
        if r["regressed"] == 0 and not r["ratios"]:
            continue
        ratios = r["ratios"]
        extra = ""
        if ratios:
            extra = (f"  interleaved {len(ratios)}x, median ratio {median(ratios):.3f} "
                     f"[{min(ratios):.3f}, {max(ratios):.3f}], pairs {min(r['pairs'])}–{max(r['pairs'])}")
        print(f"   {key:<45} regressed {r['regressed']}/{r['seen']}{extra}")
