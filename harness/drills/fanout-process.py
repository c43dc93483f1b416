#!/usr/bin/env python3
# python3 harness/drills/fanout-process.py ROUNDS <soda-builder> [<soda-builder> …]
# Issue 14 item 10 at process level: one file with a fragment and 5,000
# operations spreading it. Per round the fragment is edited in each
# binary's own copy of the project, then, binaries and builds in random
# order: `soda-builder build` (incremental, on the state that binary's last
# build left) and `soda-builder build --no-incremental` (clean). Several
# binaries are measured in the same rounds, so a before/after comparison
# sees the same machine state.
import os, shutil, subprocess, sys, time, statistics as st, random
rounds = int(sys.argv[1]); binaries = sys.argv[2:]
fix = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../fixtures/small-app")
base = f"/tmp/fanout-{os.getpid()}"
def project(i):
    d = f"{base}/{i}"
    os.makedirs(d + "/src"); os.makedirs(d + "/graphql-system")
    for n in ["soda-gql.config.ts", "schema.graphql", "graphql-inject.ts"]:
        shutil.copy(f"{fix}/{n}", f"{d}/{n}")
    shutil.copy(f"{fix}/graphql-system/index.ts", f"{d}/graphql-system/index.ts")
    return d
def write(d, extra):
    t = ['import { gql } from "../graphql-system";\n',
         f'export const productFields = gql.default(({{ fragment }}) => fragment("ProductFields", "Product")`{{ id name {extra} }}`());\n']
    t += [f'export const op{i} = gql.default(({{ query }}) => query("Op{i}")`{{ products {{ ...${{productFields}} }} }}`());\n' for i in range(5000)]
    open(f"{d}/src/fanout.ts", "w").write("".join(t))
def run(binary, d, args):
    t = time.perf_counter()
    p = subprocess.Popen([binary, "build", "--config", f"{d}/soda-gql.config.ts"] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, _ = os.wait4(p.pid, 0)
    assert status == 0, status
    return (time.perf_counter() - t) * 1000
shutil.rmtree(base, ignore_errors=True)
dirs = [project(i) for i in range(len(binaries))]
for b, d in zip(binaries, dirs):
    write(d, ""); run(b, d, [])
inc = [[] for _ in binaries]; clean = [[] for _ in binaries]
for r in range(rounds):
    for d in dirs:
        write(d, "price" if r % 2 == 0 else "")
    time.sleep(0.01)
    jobs = [(i, kind) for i in range(len(binaries)) for kind in ("inc", "clean")]
    random.shuffle(jobs)
    for i, kind in jobs:
        if kind == "inc":
            inc[i].append(run(binaries[i], dirs[i], []))
        else:
            clean[i].append(run(binaries[i], dirs[i], ["--no-incremental", "--out", f"{dirs[i]}/clean.json"]))
for i, b in enumerate(binaries):
    ratios = [a / c for a, c in zip(inc[i], clean[i])]
    print(f"{b}: fan-out 5,000 ops, {rounds} rounds: incremental after the edit median {st.median(inc[i]):.0f} ms, "
          f"clean median {st.median(clean[i]):.0f} ms; per-round incremental/clean median {100*st.median(ratios):.0f}% "
          f"(rounds slower than clean: {sum(x > 1 for x in ratios)}/{rounds})")
shutil.rmtree(base, ignore_errors=True)
