#!/usr/bin/env bash
# Smoke test of the RL policy workflow and measured tuning (CI runs it): usage TOOLS_DIR PLUGIN GENERATOR APPS_GENERATOR
# Pre-trains a policy for two PPO iterations, schedules a random pipeline with it through the
# plugin, rejects a corrupt policy file with a clear error, and runs the search-efficiency
# comparison (HARL-RL, random, dropout greedy) with a budget of 4 measurements on one app.
set -euo pipefail
TOOLS=$1 PLUGIN=$2 GEN=$3 BUILD=$4 SRC=$5
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

"$TOOLS/harl-train-policy" --help | grep -- "--iterations" > /dev/null
"$TOOLS/harl-train-policy" --iterations 2 --pipelines 1 --episodes 1 --episode-length 3 --eval-pipelines 1 \
  --max-stages 5 --out "$W/p.weights" --log "$W/p.csv" | tee "$W/train.log"
grep -q "^iteration   2" "$W/train.log"
grep -q "held-out" "$W/train.log"
test -s "$W/p.weights"

gen() {
  "$GEN" -g random_pipeline -f rp -o "$W/gen" -e static_library,h,schedule seed=5 max_stages=6 \
    -p "$PLUGIN" -s HARL target=host auto_schedule=true machine_params=2,33554432,40
}
mkdir -p "$W/gen"
HARL_POLICY="$W/p.weights" HARL_RL_BUDGET=5 gen
grep -q "RL refinement:" "$W/gen/rp.schedule.h"
test -s "$W/gen/rp.a"

# Measured tuning appends its samples; harl-collect imports them into a dataset, once.
HARL_MEASURE=3 HARL_SAMPLES="$W/samples.bin" gen
grep -q "Measured tuning (rl): 3 candidates" "$W/gen/rp.schedule.h"
"$TOOLS/harl-collect" --db "$W/d.db" --import "$W/samples.bin" | tee "$W/import.log"
grep -q "imported .*: 3 new samples" "$W/import.log"
"$TOOLS/harl-collect" --db "$W/d.db" --import "$W/samples.bin" | grep -q ": 0 new samples"
[ "$(sqlite3 "$W/d.db" "SELECT COUNT(*) FROM samples WHERE status='ok'")" -eq 3 ]
# Their labels carry the machine parameters ("2,16777216,40"): harl-train's CSVs quote them.
"$TOOLS/harl-train" --db "$W/d.db" --evaluate --val-fraction 0 --test-fraction 0 --predictions "$W/imported.csv" \
  > /dev/null
python3 - "$W/imported.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
assert len(rows) == 4 and all(len(r) == 5 for r in rows), rows
assert "," in rows[1][0] and float(rows[1][3]) > 0, rows[1]
PY

head -c 100 "$W/p.weights" > "$W/bad.weights"
if HARL_POLICY="$W/bad.weights" HARL_RL_BUDGET=5 gen 2> "$W/err.log"; then
  echo "a truncated policy file was accepted"; exit 1
fi
grep -q "bad.weights" "$W/err.log"

python3 "$SRC/apps/search_efficiency.py" --build "$BUILD" --apps maxpool --measurements 4 --out "$W/eff" \
  --shape maxpool:channels=16,width=28,height=28 | tee "$W/eff.log"
grep -q "^maxpool" "$W/eff.log"
[ "$(grep -c '^rl,' "$W/eff/maxpool_trace.csv")" -ge 1 ]
[ "$(grep -c '^random,' "$W/eff/maxpool_trace.csv")" -ge 1 ]
[ "$(grep -c '^dropout,' "$W/eff/maxpool_trace.csv")" -ge 1 ]
echo "policy smoke: ok"
