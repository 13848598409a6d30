#!/bin/bash
set -u
export PYTHONUNBUFFERED=1 WANDB_MODE=disabled RUNNER_DATA_DIR=$PWD/.data
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit 1
python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . > /tmp/install.log 2>&1 || { cat /tmp/install.log; exit 1; }
R=$PWD; mkdir -p /tmp/w && cd /tmp/w
M="cell=lstm data=ptb data.batch_size=20 data.bptt=35 cell.hidden_size=650 cell.num_layers=2 optim=sgd optim.lr=1 grad.max_norm=5 trainer.accelerator=gpu logger=csv trainer.limit_val_batches=2 +trainer.limit_test_batches=2"
timeout 60 python3 $R/benchmarks/results/h200-2026-11-26/syncdebug.py $M trainer.max_steps=300 trainer.val_check_interval=300 hydra.run.dir=sync > $OUT/sync.log 2>&1
echo "sync rc=$?"; grep "SYNC COUNTS" $OUT/sync.log | tr ',' '\n' | grep -v "lightning/pytorch/utilities/warnings\|: 1$" | head -40
for v in "" "trainer.log_every_n_steps=1000"; do
  d=$(mktemp -d /tmp/w/r.XXXX); timeout 40 python3 -m runner $M trainer.max_steps=600 trainer.val_check_interval=600 $v hydra.run.dir=$d > /dev/null 2>&1
  echo "variant [$v]: $(python3 -c "import json;print(json.load(open('$d/results.json'))['train_tokens_per_s'])")"
done
