"Data-parallel training of one fold through fastai's `distrib_ctx`: 2 CPU processes (torchrun, gloo) against one process"
import json, os, subprocess, sys
from pathlib import Path
import pytest, pandas as pd

pytest.importorskip('accelerate')  # a dev requirement; users get it with pip install -e ".[distributed]"
from defect_nb.synth import synth_dataset

SCRIPT = '''
import json, torch, torch.distributed as dist
from fastai.torch_core import rank_distrib, num_distrib
from defect_nb.core import Config
from defect_nb.train import train_fold
cfg = Config(arch='resnet18', img_height=32, img_width=32, epochs={epochs}, bs={bs}, seed={seed}, tta=[], augmentation='None')
res = train_fold(cfg, 1, {data!r}, {out!r}, quiet=True)
s = float(sum(p.detach().double().sum() for p in res.learn.model.parameters()))
sums = [s]
if num_distrib() > 1:
    sums = [None] * num_distrib(); dist.all_gather_object(sums, s)
if rank_distrib() == 0:
    json.dump(dict(metrics=res.metrics, sums=sums, run_dir=str(res.run_dir), steps=len(res.steps)), open({result!r}, 'w'))
if num_distrib() > 1: dist.barrier(); dist.destroy_process_group()  # gloo's threads stopped before exit (left running, a rank may abort at exit)
'''

def run_fold(tmp:Path, data:Path, nproc:int, bs:int, seed:int, epochs:int=8) -> dict:
    "Train fold 1 of `data` in `nproc` processes (torchrun when > 1) with `bs` per process; what rank 0 saw"
    tag = f'p{nproc}-s{seed}'
    script, result, out = tmp/f'{tag}.py', tmp/f'{tag}.json', tmp/f'runs-{tag}'
    script.write_text(SCRIPT.format(epochs=epochs, bs=bs, seed=seed, data=str(data), out=str(out), result=str(result)))
    cmd = ([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', str(nproc), str(script)]
           if nproc > 1 else [sys.executable, str(script)])
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    res = json.loads(result.read_text())
    res['run_dirs'] = sorted(p.name for p in out.iterdir())
    return res

def test_two_processes_train_one_fold_like_one(tmp_path):
    "2 CPU processes with bs 8 each against 1 process with bs 16 (the same images per step), fold 1 of the demo set"
    data = synth_dataset(tmp_path/'demo', per_class=20, size=32, verbose=False)
    one, two = run_fold(tmp_path, data, 1, 16, seed=1), run_fold(tmp_path, data, 2, 8, seed=1)
    m1, m2 = one['metrics'], two['metrics']
    assert (m1['processes'], m2['processes']) == (1, 2)
    # data parallel: the gradients were averaged, so both processes end with the same weights ...
    assert two['sums'][0] == pytest.approx(two['sums'][1], rel=1e-9)
    # ... after as many optimiser steps as one process taking both shares (each process took half of every epoch)
    assert two['steps'] == one['steps'] == 8 * (m1['n_train'] // 16)
    # every validation image scored, one run folder (rank 1 trained in a temporary folder, removed)
    assert m2['n_valid'] == m1['n_valid'] and len(two['run_dirs']) == 1
    h1 = pd.read_csv(Path(one['run_dir'])/'history.csv').iloc[-1]
    h2 = pd.read_csv(Path(two['run_dir'])/'history.csv').iloc[-1]
    # The last epoch's losses agree within the stated tolerance. Measured over seeds 1-3 on this set (commit of this
    # test): validation loss 1.94/1.87/1.81 (1 process) against 2.05/1.87/1.88 (2 processes), differences 0.00-0.11,
    # while single-process seeds alone spread 0.13; training loss differences 0.12-0.22 (2 processes higher: each
    # BatchNorm sees 8 images, not 16; SyncBatchNorm has no CPU kernel). Not compared: accuracy and F1, which for
    # models this small (near chance after 8 epochs at 32 px) flip with bf16 against fp32 evaluation.
    assert abs(h2['valid_loss'] - h1['valid_loss']) <= 0.3
    assert abs(h2['train_loss'] - h1['train_loss']) <= 0.35
