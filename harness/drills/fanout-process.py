#!/usr/bin/env python3
# python3 harness/drills/fanout-process.py <soda-builder> [rounds]
# Issue 14 item 10 at process level: one file with a fragment and 5,000
# operations spreading it. Per round: edit the fragment, then time
# `soda-builder build` (incremental, on the state the last build left) and
# `soda-builder build --no-incremental` (clean), alternating which goes first.
import os, shutil, subprocess, sys, time, statistics as st, random
binary = sys.argv[1]; rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 9
fix = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../fixtures/small-app")
d = f"/tmp/fanout-{os.getpid()}"
shutil.rmtree(d, ignore_errors=True); os.makedirs(d + "/src"); os.makedirs(d + "/graphql-system")
for n in ["soda-gql.config.ts", "schema.graphql", "graphql-inject.ts"]:
    shutil.copy(f"{fix}/{n}", f"{d}/{n}")
shutil.copy(f"{fix}/graphql-system/index.ts", f"{d}/graphql-system/index.ts")
def write(extra):
    t = ['import { gql } from "../graphql-system";\n',
         f'export const productFields = gql.default(({{ fragment }}) => fragment("ProductFields", "Product")`{{ id name {extra} }}`());\n']
    t += [f'export const op{i} = gql.default(({{ query }}) => query("Op{i}")`{{ products {{ ...${{productFields}} }} }}`());\n' for i in range(5000)]
    open(f"{d}/src/fanout.ts", "w").write("".join(t))
def run(args):
    t = time.perf_counter()
    p = subprocess.Popen([binary, "build", "--config", f"{d}/soda-gql.config.ts"] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    assert status == 0, status
    return (time.perf_counter() - t) * 1000
write(""); run([])
inc, clean = [], []
for i in range(rounds):
    write("price" if i % 2 == 0 else "")
    time.sleep(0.01)
    if random.random() < 0.5:
        inc.append(run([])); clean.append(run(["--no-incremental", "--out", f"{d}/clean.json"]))
    else:
        clean.append(run(["--no-incremental", "--out", f"{d}/clean.json"])); inc.append(run([]))
print(f"{binary}: fan-out 5,000 ops, {rounds} rounds: incremental after the edit median {st.median(inc):.0f} ms, clean median {st.median(clean):.0f} ms ({100*st.median(inc)/st.median(clean):.0f}% of clean)")
shutil.rmtree(d, ignore_errors=True)
