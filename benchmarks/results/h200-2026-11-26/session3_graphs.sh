#!/bin/bash
# CUDA graphs on the GPU: the same metrics as eager, and the speed against the plain loop.
set -u
export PYTHONUNBUFFERED=1 WANDB_MODE=disabled RUNNER_DATA_DIR=$PWD/.data
T0=$(date +%s); el() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit 1
python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . > /tmp/install.log 2>&1 || { cat /tmp/install.log; exit 1; }
R=$PWD; mkdir -p /tmp/w && cd /tmp/w
LM="data=ptb data.batch_size=20 cell.num_layers=2 optim=sgd optim.lr=1 grad.max_norm=5 trainer.accelerator=gpu logger=csv trainer.max_steps=600 trainer.val_check_interval=600 trainer.limit_val_batches=20 +trainer.limit_test_batches=2"
show() { python3 - "$1" <<'PY'
import json, glob, sys
for f in sorted(glob.glob(sys.argv[1] + "/*/results.json")):
    r = json.load(open(f)); c = r["config"]
    print(f"{r['cell']:<5} {c['cell']['hidden_size']}x{c['data']['bptt']} graphs={c['model']['cuda_graphs']!s:<5} {r['status']:<7} "
          f"tok/s {r.get('train_tokens_per_s') or 0:9.0f}  val ppl {(r.get('val') or {}).get('ppl')}  {r.get('error', '')[:300]}")
PY
}
plain() { echo "plain $1 $2x$3: $(timeout 40 python3 $R/benchmarks/plain.py lm --cell $1 --hidden $2 --bptt $3 --batch 20 --steps 600 --device cuda --tune-malloc 2>&1 | tail -1)"; }
timeout 60 python3 -m runner -m cell=rnn,lstm,gru model.cuda_graphs=false,true $LM cell.hidden_size=200 data.bptt=20 hydra.sweep.dir=small > $OUT/small.log 2>&1
el "small rc=$?"; show small | tee $OUT/graphs.txt
for c in rnn lstm gru; do plain $c 200 20; done | tee -a $OUT/graphs.txt
timeout 45 python3 -m runner -m cell=rnn,lstm,gru model.cuda_graphs=true $LM cell.hidden_size=650 data.bptt=35 hydra.sweep.dir=medium > $OUT/medium.log 2>&1
el "medium rc=$?"; show medium | tee -a $OUT/graphs.txt
for c in rnn lstm gru; do plain $c 650 35; done | tee -a $OUT/graphs.txt
t=$(date +%s)
timeout 110 python3 -m runner experiment=ptb_small model.cuda_graphs=true trainer.accelerator=gpu logger=csv hydra.run.dir=e2e > $OUT/e2e.log 2>&1
echo "ptb_small end to end with cuda_graphs: rc=$? wall=$(( $(date +%s) - t ))s $(python3 -c "import json;r=json.load(open('e2e/results.json'));print(r['status'],r['steps'],'test',r.get('test'),'tok/s',r.get('train_tokens_per_s'),r.get('error','')[:300])" 2>&1)" | tee -a $OUT/graphs.txt
el "done"
