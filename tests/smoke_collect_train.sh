#!/usr/bin/env bash
# Smoke test of the whole learned-model workflow (CI runs it): usage TOOLS_DIR PLUGIN GENERATOR
set -euo pipefail
TOOLS=$1 PLUGIN=$2 GEN=$3
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
COLLECT=("$TOOLS/harl-collect" --pipelines 2 --schedules 3 --max-stages 4 --timeout 120 --quiet
         --timing-lock "$W/lock")

"$TOOLS/harl-collect" --help | grep -- "--shard" > /dev/null
"$TOOLS/harl-train" --help | grep -- "--minutes" > /dev/null

"${COLLECT[@]}" --db "$W/a.db" --shard 0/2
"${COLLECT[@]}" --db "$W/b.db" --shard 1/2
# Resuming a finished collection measures nothing again.
"${COLLECT[@]}" --db "$W/a.db" --shard 0/2 | tee "$W/resume.log"
grep -q " 0 new samples" "$W/resume.log"
"$TOOLS/harl-collect" --db "$W/all.db" --merge "$W/a.db" "$W/b.db" | tee "$W/merge.log"
n=$(sqlite3 "$W/all.db" "SELECT COUNT(*) FROM samples WHERE status='ok'")
na=$(sqlite3 "$W/a.db" "SELECT COUNT(*) FROM samples WHERE status='ok'")
nb=$(sqlite3 "$W/b.db" "SELECT COUNT(*) FROM samples WHERE status='ok'")
[ "$n" -eq $((na + nb)) ] && [ "$n" -ge 4 ] || { echo "merge lost samples: $n != $na + $nb"; exit 1; }
# Sources shortened to their headers still replay: every sample gets the same features again.
"$TOOLS/harl-collect" --db "$W/strip.db" --merge "$W/all.db" --strip-sources | grep -q " sources shortened"
[ "$(sqlite3 "$W/strip.db" "SELECT SUM(source LIKE '%compute_%') FROM schedules")" -eq 0 ] ||
  { echo "--strip-sources left schedule bodies"; exit 1; }
"$TOOLS/harl-collect" --db "$W/re.db" --refeaturize "$W/strip.db" | tee "$W/refeaturize.log"
grep -q "; 0 of them with features the stored layout has changed by featurizer fixes); left out: \
0 without stored decisions, 0 of pipelines this build no longer makes, 0 whose replay failed" "$W/refeaturize.log"
[ "$(sqlite3 "$W/re.db" "SELECT COUNT(*) FROM samples")" -eq "$(sqlite3 "$W/all.db" "SELECT COUNT(*) FROM samples")" ]
# The stripped file's schedules timed again from their decisions: every sample, same keys and
# candidates, the new machine name, stored features; a second run resumes and measures nothing.
"$TOOLS/harl-collect" --db "$W/again.db" --remeasure "$W/strip.db" --machine again --min-runs 1 --rounds 1 \
  --measure-seconds 0.02 --quiet --timing-lock "$W/lock" > "$W/again.log"
grep -q "measured $(sqlite3 "$W/strip.db" "SELECT COUNT(*) FROM samples") schedules again as machine again" \
  "$W/again.log" || { cat "$W/again.log"; exit 1; }
[ "$(sqlite3 "$W/again.db" "ATTACH '$W/strip.db' AS o; SELECT COUNT(*) FROM samples s JOIN o.samples t \
  USING (pipeline, candidate) WHERE s.machine = 'again' AND s.features = t.features AND s.status = 'ok'")" \
  -eq "$(sqlite3 "$W/strip.db" "SELECT COUNT(*) FROM samples WHERE status = 'ok'")" ] ||
  { echo "--remeasure lost or changed samples"; exit 1; }
"$TOOLS/harl-collect" --db "$W/again.db" --remeasure "$W/strip.db" --machine again --quiet \
  --timing-lock "$W/lock" > "$W/again2.log"
grep -q "measured 0 schedules again" "$W/again2.log" || { cat "$W/again2.log"; exit 1; }
if "$TOOLS/harl-collect" --db "$W/x.db" --remeasure "$W/missing.db" 2> "$W/err.log"; then
  echo "--remeasure of a missing file was accepted"; exit 1
fi
grep -q "missing.db" "$W/err.log" || { cat "$W/err.log"; exit 1; }
# The median of the collection's and the remeasure's labels (two sets: their geometric mean), on
# which harl-train evaluates; one set alone is refused.
MEDIAN="$(dirname "$0")/../training/median_labels.py"
python3 "$MEDIAN" --out "$W/med.db" "$W/strip.db" "$W/again.db" > "$W/med.log" || { cat "$W/med.log"; exit 1; }
[ "$(sqlite3 "$W/med.db" "ATTACH '$W/strip.db' AS o; ATTACH '$W/again.db' AS g; SELECT COUNT(*) FROM samples m \
  JOIN o.samples a USING (pipeline, candidate) JOIN g.samples b USING (pipeline, candidate) WHERE m.machine = \
  'median' AND a.status = 'ok' AND b.status = 'ok' AND m.features = a.features AND \
  ABS(m.runtime_s * m.runtime_s - a.runtime_s * b.runtime_s) <= 1e-6 * a.runtime_s * b.runtime_s")" \
  -eq "$(sqlite3 "$W/med.db" "SELECT COUNT(*) FROM samples")" ] && [ "$(sqlite3 "$W/med.db" \
  "SELECT COUNT(*) FROM samples")" -ge 2 ] || { echo "median labels wrong"; cat "$W/med.log"; exit 1; }
"$TOOLS/harl-train" --db "$W/med.db" --evaluate | grep -q "analytic on all" || { echo "median labels: no evaluation"; exit 1; }
if python3 "$MEDIAN" --out "$W/med1.db" "$W/strip.db" 2> "$W/err.log"; then
  echo "median_labels.py accepted one set of labels"; exit 1
fi
grep -q "one set of labels" "$W/err.log" || { cat "$W/err.log"; exit 1; }
# Both cost models steer searches (candidate 1 is the learned model's own pick).
nl=$(sqlite3 "$W/all.db" "SELECT COUNT(*) FROM schedules WHERE options LIKE '%model=learned%'")
[ "$nl" -ge 1 ] || { echo "no schedule was searched with the learned model"; exit 1; }

"$TOOLS/harl-train" --db "$W/all.db" --epochs 1 --out "$W/w.weights" --val-fraction 0 --test-fraction 0 \
  | tee "$W/train.log"
grep -q "^epoch    1" "$W/train.log"
grep -q "pipelines, shipped: " "$W/train.log" # the default weights ranked on the same pipelines
test -s "$W/w.weights"
# A model of the older layout 1 trains on today's samples (layouts append features), and loads.
"$TOOLS/harl-train" --db "$W/all.db" --epochs 1 --out "$W/w1.weights" --val-fraction 0 --test-fraction 0 \
  --layout 1 > "$W/train1.log"
grep -q "feature layout 1" "$W/train1.log"
"$TOOLS/harl-train" --db "$W/all.db" --evaluate="$W/w1.weights" > "$W/eval1.log"
grep -q "pairwise" "$W/eval1.log"
if "$TOOLS/harl-train" --db "$W/all.db" --layout 99 2> "$W/err.log"; then
  echo "--layout 99 was accepted"; exit 1
fi
grep -q "layout 99" "$W/err.log" || { cat "$W/err.log"; exit 1; }
# The loss options train too (listwise term, pairs weighed alike), and bad values are refused.
"$TOOLS/harl-train" --db "$W/all.db" --epochs 1 --out "$W/w2.weights" --val-fraction 0 --test-fraction 0 \
  --listwise-weight 1 --pair-weight-cap 0.05 > /dev/null
test -s "$W/w2.weights"
if "$TOOLS/harl-train" --db "$W/all.db" --listwise-weight -1 2> "$W/err.log"; then
  echo "a negative --listwise-weight was accepted"; exit 1
fi
grep -q "listwise-weight" "$W/err.log" || { cat "$W/err.log"; exit 1; }
# --max-run-spread: a sample whose median run took 10x its fastest leaves training; 0.5 is refused.
cp "$W/all.db" "$W/spread.db"
sqlite3 "$W/spread.db" "UPDATE samples SET median_s = runtime_s;
  UPDATE samples SET median_s = 10 * runtime_s WHERE rowid = (SELECT MIN(rowid) FROM samples WHERE status = 'ok')"
"$TOOLS/harl-train" --db "$W/spread.db" --epochs 1 --out "$W/ws.weights" --val-fraction 0 --test-fraction 0 \
  --max-run-spread 2 > "$W/spread.log"
grep -q "^harl-train: 1 training and validation samples left out" "$W/spread.log" || { cat "$W/spread.log"; exit 1; }
if "$TOOLS/harl-train" --db "$W/spread.db" --max-run-spread 0.5 2> "$W/err.log"; then
  echo "--max-run-spread 0.5 was accepted"; exit 1
fi
grep -q "max-run-spread" "$W/err.log" || { cat "$W/err.log"; exit 1; }
# Evaluating the weights lists one prediction per distinct sample, for every sample measured.
"$TOOLS/harl-train" --db "$W/all.db" --evaluate="$W/w.weights" --predictions "$W/pred.csv" | tee "$W/eval.log"
grep -q "pairwise" "$W/eval.log"
head -1 "$W/pred.csv" | grep -q "^pipeline,machine,candidate,measured_s,predicted_s$"
rows=$(($(wc -l < "$W/pred.csv") - 1))
[ "$rows" -ge 4 ] && [ "$rows" -le "$n" ] || { echo "predictions: $rows rows for $n samples"; exit 1; }
awk -F, 'NR > 1 && !($4 > 0 && $5 > 0) { print "bad row: " $0; bad = 1 } END { exit bad }' "$W/pred.csv"
# Every stage of every sample, with the analytic and the evaluated model's estimates and a column
# per feature.
"$TOOLS/harl-train" --db "$W/all.db" --evaluate="$W/w.weights" --stage-features "$W/stages.csv" > /dev/null
head -1 "$W/stages.csv" | grep -q "^pipeline,machine,candidate,measured_s,stage,analytic_s,predicted_s,op_fadd,"
awk -F, 'NR == 1 { cols = NF } NR > 1 && (NF != cols || !($6 > 0) || !($7 > 0)) { print "bad row: " $0; bad = 1 }
  END { exit bad || NR < 5 }' "$W/stages.csv"
if "$TOOLS/harl-train" --db "$W/all.db" --predictions "$W/p2.csv" 2> "$W/err.log"; then
  echo "--predictions without --evaluate was accepted"; exit 1
fi
grep -q "needs --evaluate" "$W/err.log" || { cat "$W/err.log"; exit 1; }
# --analytic-constants: other values of the calibrated constants change the analytic estimates;
# unknown names, and training against other values than HARL schedules with, are refused. The
# calibration script runs its coordinate descent through them (a gain of 1 keeps no step).
"$TOOLS/harl-train" --db "$W/all.db" --evaluate --predictions "$W/pa.csv" > /dev/null
"$TOOLS/harl-train" --db "$W/all.db" --evaluate --predictions "$W/pb.csv" \
  --analytic-constants llc_bandwidth=1e8,broadcast_load_slots=5,fused_share=0 > /dev/null
if cmp -s "$W/pa.csv" "$W/pb.csv"; then echo "--analytic-constants changed no estimate"; exit 1; fi
if "$TOOLS/harl-train" --db "$W/all.db" --evaluate --analytic-constants l2_bandwidth=1 2> "$W/err.log"; then
  echo "an unknown analytic constant was accepted"; exit 1
fi
grep -q "l2_bandwidth.*llc_bandwidth=" "$W/err.log" || { cat "$W/err.log"; exit 1; }
if "$TOOLS/harl-train" --db "$W/all.db" --epochs 1 --analytic-constants spill_factor=2 2> "$W/err.log"; then
  echo "training with --analytic-constants was accepted"; exit 1
fi
grep -q "analytic-constants needs --evaluate" "$W/err.log" || { cat "$W/err.log"; exit 1; }
python3 "$(dirname "$0")/../training/calibrate_analytic.py" --harl-train "$TOOLS/harl-train" --test-fraction 0 \
  --steps 2 --min-gain 1 "$W/all.db" > "$W/calibrate.log"
grep -q "^start: fitted on [0-9]* pipelines [01]\.[0-9]*" "$W/calibrate.log" || { cat "$W/calibrate.log"; exit 1; }
grep -q "^calibrated: broadcast_load_slots=0.5,scattered_store_slots=4,fused_share=1,spill_factor=3,\
llc_bandwidth=5e+10,l1_block_bytes=32768$" "$W/calibrate.log" || { cat "$W/calibrate.log"; exit 1; }

gen() {
  "$GEN" -g random_pipeline -f rp -o "$W/gen" -e static_library,h,schedule seed=11 max_stages=6 \
    -p "$PLUGIN" -s HARL target=host auto_schedule=true machine_params=2,33554432,40
}
mkdir -p "$W/gen"
HARL_WEIGHTS="$W/w.weights" gen
grep -q "cost model learned" "$W/gen/rp.schedule.h"
test -s "$W/gen/rp.a"

if HARL_WEIGHTS="$W/missing.weights" gen 2> "$W/err.log"; then
  echo "a missing weights file was accepted"; exit 1
fi
grep -q "missing.weights" "$W/err.log" || { cat "$W/err.log"; exit 1; }

# The new weights against the analytic model on an unseen pipeline, searched and measured.
"$TOOLS/harl-compare" --help | grep -- "--pipelines" > /dev/null
"$TOOLS/harl-compare" --b "$W/w.weights" --pipelines 1 --max-stages 3 --passes 1 --rounds 1 \
  --measure-seconds 0.05 --search-budget 1 --timing-lock "$W/lock" --csv "$W/cmp.csv" | tee "$W/cmp.log"
grep -q "geometric mean B/A" "$W/cmp.log"
[ "$(wc -l < "$W/cmp.csv")" -eq 3 ] || { cat "$W/cmp.csv"; exit 1; }
if "$TOOLS/harl-compare" --b "$W/missing.weights" --pipelines 1 2> "$W/err.log"; then
  echo "harl-compare accepted a missing weights file"; exit 1
fi
grep -q "missing.weights" "$W/err.log" || { cat "$W/err.log"; exit 1; }
# HARL's picks today against a dataset's fastest measured schedules, replayed from their decisions.
"$TOOLS/harl-compare" --dataset "$W/all.db" --a best --b analytic --pipelines 1 --passes 1 --rounds 1 \
  --measure-seconds 0.05 --search-budget 1 --timing-lock "$W/lock" > "$W/best.log"
grep -q "A = best, 1 pipelines of" "$W/best.log" && grep -q "geometric mean B/A" "$W/best.log" ||
  { cat "$W/best.log"; exit 1; }
if "$TOOLS/harl-compare" --a best --pipelines 1 2> "$W/err.log"; then
  echo "harl-compare accepted model best without --dataset"; exit 1
fi
grep -q "needs --dataset" "$W/err.log" || { cat "$W/err.log"; exit 1; }
# Where a stored schedule's time goes: Halide's profiler per Func beside the model's estimates.
"$TOOLS/harl-profile" --db "$W/all.db" --pipelines 1 --model "$W/w.weights" --seconds 0.05 \
  --timing-lock "$W/lock" --csv "$W/prof.csv" > "$W/prof.log" || { cat "$W/prof.log"; exit 1; }
grep -q "profiled .* ms per run .*median wall time" "$W/prof.log" && grep -q "meas/pred" "$W/prof.log" || { cat "$W/prof.log"; exit 1; }
head -1 "$W/prof.csv" | grep -q "^pipeline,candidate,func,stages,measured_ms,predicted_ms,"
awk -F, 'NR == 1 { cols = NF } NR > 1 && (NF != cols || !($6 > 0)) { print "bad row: " $0; bad = 1 }
  END { exit bad || NR < 2 }' "$W/prof.csv"
# Without running: the estimates beside the lowered statement and the assembly of each candidate.
"$TOOLS/harl-profile" --db "$W/all.db" --pipelines 1 --model analytic --no-run --features --stmt "$W/code" \
  --asm "$W/code" --source "$W/code" --timing-lock "$W/lock" > "$W/code.log" || { cat "$W/code.log"; exit 1; }
grep -q "not run (--no-run); analytic predicts" "$W/code.log" && grep -q " ms): " "$W/code.log" &&
  ! grep -q "ms per run" "$W/code.log" || { cat "$W/code.log"; exit 1; }
ls "$W"/code/*.stmt > /dev/null && grep -q "^harl_profiled:" "$(ls "$W"/code/*.s | head -1)" ||
  { ls "$W/code"; exit 1; }
# The schedule as applied: one .schedule.h per candidate, each with its directives.
[ "$(ls "$W"/code/*.schedule.h | wc -l)" -eq "$(ls "$W"/code/*.stmt | wc -l)" ] || { ls "$W/code"; exit 1; }
for f in "$W"/code/*.schedule.h; do grep -q "pipeline.get_func(" "$f" || { cat "$f"; exit 1; }; done
if "$TOOLS/harl-profile" --db "$W/all.db" --pipelines 1 --no-run --csv "$W/x.csv" 2> "$W/err.log"; then
  echo "harl-profile --no-run accepted --csv"; exit 1
fi
grep -q -e "--no-run profiles nothing" "$W/err.log" || { cat "$W/err.log"; exit 1; }
# Every Func's stores traced and counted beside the featurizer's points: each realized Func stores
# something, and the featurizer counts some Funcs exactly.
"$TOOLS/harl-profile" --db "$W/all.db" --pipelines 1 --model analytic --count-stores "$W/stores.csv" \
  --timing-lock "$W/lock" > "$W/stores.log" || { cat "$W/stores.log"; exit 1; }
head -1 "$W/stores.csv" | grep -q "^pipeline,candidate,func,stages,featurized_points,padded_points,stored_lanes,"
awk -F, 'NR > 1 && !($7 > 0) { print "nothing stored: " $0; bad = 1 }
  NR > 1 && $5 > 0 && ($7 - $5) ^ 2 < 1e-6 * $5 ^ 2 { exact++ }
  END { exit bad || NR < 3 || !exact }' "$W/stores.csv" || { cat "$W/stores.csv"; exit 1; }
if "$TOOLS/harl-profile" --db "$W/all.db" --pipelines 1 --count-stores "$W/x.csv" --no-run 2> "$W/err.log"; then
  echo "harl-profile accepted --count-stores with --no-run"; exit 1
fi
grep -q -e "--count-stores writes its own CSV" "$W/err.log" || { cat "$W/err.log"; exit 1; }
# Profiles saved in the dataset (resumable), then a training that learns from them.
cp "$W/all.db" "$W/prof.db"
"$TOOLS/harl-profile" --db "$W/prof.db" --pipelines 1 --model analytic --seconds 0.05 --timing-lock "$W/lock" \
  --save smoke > "$W/save.log" || { cat "$W/save.log"; exit 1; }
np=$(sqlite3 "$W/prof.db" "SELECT COUNT(DISTINCT candidate) FROM func_profiles WHERE machine = 'smoke'")
[ "$np" -ge 2 ] || { echo "harl-profile --save stored $np profiles"; cat "$W/save.log"; exit 1; }
"$TOOLS/harl-profile" --db "$W/prof.db" --pipelines 1 --seconds 0.05 --timing-lock "$W/lock" --save smoke \
  > "$W/save2.log" || { cat "$W/save2.log"; exit 1; }
grep -q "^$np candidates already profiled on machine smoke: skipped" "$W/save2.log" &&
  ! grep -q "ms per run" "$W/save2.log" || { echo "a second --save run profiled again"; cat "$W/save2.log"; exit 1; }
"$TOOLS/harl-train" --db "$W/prof.db" --epochs 1 --out "$W/wp.weights" --val-fraction 0 --test-fraction 0 \
  --profile-weight 1 > "$W/trainp.log" || { cat "$W/trainp.log"; exit 1; }
grep -q "samples with a per-Func profile (of $np profiles" "$W/trainp.log" || { cat "$W/trainp.log"; exit 1; }
test -s "$W/wp.weights"
if "$TOOLS/harl-train" --db "$W/all.db" --epochs 1 --profile-weight 1 2> "$W/err.log"; then
  echo "--profile-weight without profiles was accepted"; exit 1
fi
grep -q "harl-profile --save" "$W/err.log" || { cat "$W/err.log"; exit 1; }
if "$TOOLS/harl-profile" --db "$W/all.db" --pipeline no-such-pipeline 2> "$W/err.log"; then
  echo "harl-profile accepted a pipeline the dataset lacks"; exit 1
fi
grep -q "no replayable measured sample of pipeline no-such-pipeline" "$W/err.log" || { cat "$W/err.log"; exit 1; }
echo "smoke: collect, resume, merge, remeasure, train, schedule with the new weights, compare with analytic, profile, train on profiles: ok"
