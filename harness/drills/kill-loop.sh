#!/bin/bash
# BIN=<soda-builder> [N=80] harness/drills/kill-loop.sh
# kill -9 loop on the 5,000-operation fan-out project (7 MB state, streamed):
# each round edits the fragment, starts an incremental build and kills it at
# a random moment in 40-260 ms (the build takes ~150-250 ms here, its state
# write the last few); counts the temp files each kill leaves; then one build
# must remove them and equal a clean build.
BIN=${BIN:?}; N=${N:-80}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
D=/tmp/kill9proj; rm -rf $D; mkdir -p $D/src $D/graphql-system
F=$REPO/fixtures/small-app
cp $F/soda-gql.config.ts $F/schema.graphql $F/graphql-inject.ts $D/; cp $F/graphql-system/index.ts $D/graphql-system/
write() { python3 - "$1" <<'PY'
import sys
extra = sys.argv[1]
t = ['import { gql } from "../graphql-system";\n', f'export const productFields = gql.default(({{ fragment }}) => fragment("ProductFields", "Product")`{{ id name {extra} }}`());\n']
t += [f'export const op{i} = gql.default(({{ query }}) => query("Op{i}")`{{ products {{ ...${{productFields}} }} }}`());\n' for i in range(5000)]
open("/tmp/kill9proj/src/fanout.ts", "w").write("".join(t))
PY
}
write ""; $BIN build --config $D/soda-gql.config.ts >/dev/null 2>&1
left=0; kills_leaving=0
for i in $(seq 1 $N); do
  if [ $((i % 2)) = 0 ]; then write price; else write ""; fi
  $BIN build --config $D/soda-gql.config.ts >/dev/null 2>&1 &
  pid=$!
  ms=$(( 40 + (RANDOM % 220) ))
  sleep $(printf '0.%03d' $ms)
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  n=$(find $D/.cache -name '*.tmp' | wc -l)
  left=$((left + n)); [ $n -gt 0 ] && kills_leaving=$((kills_leaving + 1))
done
before=$(find $D/.cache -name '*.tmp' | wc -l)
echo "kills: $N; kills that left a temp file: $kills_leaving; temp files present before the next build: $before"
$BIN build --config $D/soda-gql.config.ts >/dev/null 2>&1; echo "exit of the next build: $?"
echo "temp files after it: $(find $D/.cache -name '*.tmp' | wc -l)"
$BIN build --no-incremental --config $D/soda-gql.config.ts --out /tmp/kill9clean.json >/dev/null 2>&1
python3 -c "
import json;a=json.load(open('$D/.cache/soda-gql/builder/artifact.json'))['elements'];b=json.load(open('/tmp/kill9clean.json'))['elements'];print('artifact equals clean:',a==b,len(a),'elements')"
