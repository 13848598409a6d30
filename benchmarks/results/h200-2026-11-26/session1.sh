#!/bin/bash
# One device session: setup, smoke, profile, bf16, device benchmark. Everything lands in $OUT.
set -u
export PYTHONUNBUFFERED=1 WANDB_MODE=disabled RUNNER_DATA_DIR=$PWD/.data
T0=$(date +%s)
el() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit 1
python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . > /tmp/install.log 2>&1 || { cat /tmp/install.log; exit 1; }
el "installed"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch,lightning;print(torch.__version__,torch.version.cuda,lightning.__version__, torch.backends.cudnn.version())"
mkdir -p /tmp/w && cd /tmp/w
# 1. smoke + profile: Lightning's simple profiler on the runner at medium shapes, LSTM
python3 -m runner cell=lstm data=ptb data.batch_size=20 data.bptt=35 cell.hidden_size=650 cell.num_layers=2 optim=sgd optim.lr=1 grad.max_norm=5 \
  trainer.accelerator=gpu logger=csv trainer.max_steps=400 trainer.val_check_interval=400 trainer.limit_val_batches=2 +trainer.limit_test_batches=2 \
  +trainer.profiler=simple hydra.run.dir=prof > $OUT/profile.log 2>&1
el "profile rc=$?"; python3 -c "import json;r=json.load(open('prof/results.json'));print(r['status'],r.get('train_tokens_per_s'),r.get('error'))"
grep -E "run_training_batch|training_step|optimizer_step|backward|on_train_batch|get_next|Total|transfer_batch|on_before_optimizer" $OUT/profile.log | head -30
cd - > /dev/null
# 3. the benchmark suite's device mode
timeout 330 python3 benchmarks/device.py --out $OUT > $OUT/device.log 2>&1
el "device rc=$?"
cat $OUT/device.md 2>/dev/null
cd /tmp/w
# 2. bf16-mixed against 32-true, all three cells, medium shapes, 1000 steps (speed and perplexity)
timeout 80 python3 -m runner -m cell=rnn,lstm,gru trainer.precision=32-true,bf16-mixed data=ptb data.batch_size=20 data.bptt=35 cell.hidden_size=650 cell.num_layers=2 \
  optim=sgd optim.lr=1 grad.max_norm=5 trainer.accelerator=gpu logger=csv trainer.max_steps=1000 trainer.val_check_interval=1000 \
  hydra.sweep.dir=bf16 > $OUT/bf16.log 2>&1
el "bf16 rc=$?"
python3 - <<'PY' | tee $OUT/bf16.md
import json, glob
print("| cell | precision | status | train tokens/s | val ppl after 1000 steps |\n| --- | --- | --- | ---: | ---: |")
for f in sorted(glob.glob("bf16/*/results.json")):
    r = json.load(open(f))
    print(f"| {r['cell']} | {r['config']['trainer']['precision']} | {r['status']} | {r.get('train_tokens_per_s') or 0:.0f} | {(r.get('val') or {}).get('ppl')} | {r.get('error','')}")
PY
# 4. a sweep of small jobs: one at a time against 6 at once on the one GPU (joblib launcher)
for mode in serial parallel; do
  extra=""; [ $mode = parallel ] && extra="hydra/launcher=joblib hydra.launcher.n_jobs=6"
  t=$(date +%s)
  timeout 70 python3 -m runner -m experiment=long_term_deps_quick data=adding data.seq_len=20 grad=clip_norm seed=0,1 \
    trainer.max_steps=600 trainer.accelerator=gpu logger=csv hydra.sweep.dir=sweep_$mode $extra >> $OUT/sweep.log 2>&1
  echo "sweep $mode rc=$? jobs_ok=$(grep -l '"status": "ok"' sweep_$mode/*/results.json 2>/dev/null | wc -l) wall=$(( $(date +%s) - t ))s" | tee -a $OUT/sweep.log
done
el "done"
