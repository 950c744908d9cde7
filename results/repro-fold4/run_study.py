"""Fold-4 study runner used for the Hydrogen Torch reproduction (issue 17): one change at a time,
paired seeds. Each trial is an ordinary `train_fold` run folder under `<variant>/seed<N>/`; every
trial (failed ones too) is appended to `trials.csv`. Finished trials are skipped on a rerun.

python results/repro-fold4/run_study.py VARIANT SEED [SEED ...]   (VARIANT from VARIANTS below)
"""
import sys, json, time, traceback, csv
from pathlib import Path
from defect_nb.hydrogen import load_config
from defect_nb.train import train_fold

HERE = Path(__file__).parent
DATA = Path(__file__).resolve().parents[3]/'shared'/'data'/'neu-det'
# The seed config as the package ran it before this study (names as they are now): torchvision ResNet50,
# 8 dihedral flips/turns + lighting, training-fold channel stats
OLD = dict(arch='resnet50', augmentation='Dihedral', normalization='Dataset')
VARIANTS = {
    'old-seed': OLD,
    'norm-image': {**OLD, 'normalization': 'Image'},     # per-image standardisation (= per image and channel on grey NEU)
    'aug-soft': {**OLD, 'augmentation': 'Soft'},         # Hydrogen Torch's Soft: horizontal flips only
    'arch-timm': {**OLD, 'arch': 'timm/resnet50'},       # Hydrogen Torch's backbone: timm's ResNet50 and its init
    'ht': {},                                            # the seed config now: all three as Hydrogen Torch means them
}

def run(variant, seed, overrides=None):
    ov = overrides if overrides is not None else VARIANTS[variant]
    out = HERE/variant/f'seed{seed}'
    done = [p for p in out.glob('*/metrics.json')] if out.exists() else []
    if done: print(f'skip {variant} seed {seed}: {done[0]}'); return
    row = dict(variant=variant, seed=seed, overrides=json.dumps(ov), started=time.strftime('%Y-%m-%d %H:%M:%S'))
    try:
        cfg = load_config(None, verbose=False, **ov, seed=seed, run_interpretations=False)
        r = train_fold(cfg, fold=4, data=DATA, out_dir=out, quiet=True)
        h = r.steps.groupby('epoch').loss.mean().round(4).tolist()
        row.update(status='ok', f1_macro=round(r.metrics['f1_macro'], 4), accuracy=round(r.metrics['accuracy'], 4),
                   valid_loss=round(r.metrics['valid_loss'], 4), train_loss_per_epoch=json.dumps(h),
                   valid_f1_per_epoch=json.dumps(r.history.f1_macro.round(4).tolist()),
                   train_time_s=r.metrics['train_time_s'], run_dir=str(r.run_dir.relative_to(HERE)), error='')
    except Exception as e:
        traceback.print_exc(); row.update(status='failed', error=f'{type(e).__name__}: {e}')
    f = HERE/'trials.csv'; new = not f.exists()
    cols = ['variant','seed','status','f1_macro','accuracy','valid_loss','train_loss_per_epoch','valid_f1_per_epoch','train_time_s','overrides','run_dir','started','error']
    with f.open('a', newline='') as fh:
        w = csv.DictWriter(fh, cols, extrasaction='ignore')
        if new: w.writeheader()
        w.writerow(row)
    print(row, flush=True)

if __name__ == '__main__':
    v, seeds = sys.argv[1], [int(s) for s in sys.argv[2:]]
    for s in seeds: run(v, s)
