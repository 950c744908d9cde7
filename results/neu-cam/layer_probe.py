"""Issue 15, a follow-up question: is the recipe's poor Grad-CAM localisation (scratches, inclusion) a matter of the map's
resolution? At 128 px the body's last stage gives a 4x4 map, at 224 px 7x7; one stage earlier (`layer3`) gives 8x8
and 14x14. This scores each fold's Grad-CAM at both layers against the NEU-DET boxes, from the fold's saved model,
with the package's own `cam_localisation` (the body's scores must equal the fold report's cam_scores.csv: checked).

Run from the repository root, for run folders that still have their model.safetensors (not committed: keep them
next to the run, or pass --weights DIR for a tree that mirrors results/ with the weights):
    python results/neu-cam/layer_probe.py [--weights DIR] [--images CSV] ../shared/data/neu-det RUN_DIR [RUN_DIR ...]
    python results/neu-cam/layer_probe.py --from CSV          # summarise a per-image table written with --images
Writes results/neu-cam/layer_probe.csv: per experiment (the folder under neu-cam/), input size, layer, class and
correct/wrong, the scores against chance with their verdict (`localisation_summary`); --images CSV also keeps the
per-image table (1.3 MB for the ten runs: not committed)."""
import os, sys, shutil, tempfile
from pathlib import Path
import numpy as np, pandas as pd
from defect_nb.predict import load_model
from defect_nb.evidence import cam_localisation, localisation_summary

HERE = Path(__file__).parent
args, opts = sys.argv[1:], {}
while args and args[0] in ('--weights', '--images', '--from'): opts[args[0]], args = args[1], args[2:]
weights = Path(opts['--weights']) if '--weights' in opts else None
if '--from' not in opts and len(args) < 2: sys.exit(__doc__)

def load(run):
    "The run's export, its weights from the mirror tree when the run folder has none (linked, not copied)"
    if (run/'model.safetensors').exists() or weights is None: return load_model(run, device='cpu', precision='fp32')
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(run/'model.json', tmp)
        os.symlink((weights/run/'model.safetensors').resolve(), Path(tmp)/'model.safetensors')
        return load_model(tmp, device='cpu', precision='fp32')

def stage(model, name):
    "The body's module called `name` (e.g. layer3 of a ResNet)"
    got = [m for n, m in model[0].named_modules() if n.split('.')[-1] == name]
    if len(got) != 1: raise SystemExit(f"{len(got)} modules named {name!r} in the body")
    return got[0]

def score(data, runs):
    "Per image of each run's oof.csv with boxes: the scores of its predicted class's Grad-CAM at the body and at layer3"
    rows = []
    for run in runs:
        p = load(run)
        oof = pd.read_csv(run/'oof.csv')
        tfm = lambda path: p.prep([path])[0]
        for layer in ('body', 'layer3'):
            loc = cam_localisation(p.model, oof, data, tfm=tfm, classes=p.classes, layer=None if layer == 'body' else stage(p.model, 'layer3'))
            if layer == 'body' and (run/'cam_scores.csv').exists():
                ref = pd.read_csv(run/'cam_scores.csv').set_index('images').loc[loc['images']]
                for c in ('pointing', 'energy', 'chance'):
                    a, b = loc[c].to_numpy(float), ref[c].to_numpy(float)
                    if not np.allclose(a, b, atol=1e-3, equal_nan=True): raise SystemExit(f"{run}: {c} differs from cam_scores.csv (max {np.nanmax(abs(a-b)):.4f})")
            rows.append(loc.assign(run=Path(os.path.relpath(run.resolve(), HERE.parent.resolve())).as_posix(), # relative to results/
                                   input_px=p.prep.size[0], layer=layer))
        print(f"{run}: scored", flush=True)
    return pd.concat(rows, ignore_index=True)

if '--from' in opts: t = pd.read_csv(opts['--from'])
else:
    t = score(Path(args[0]), [Path(a) for a in args[1:]])
    if '--images' in opts: t.to_csv(opts['--images'], index=False)
t['experiment'] = [r.split('/')[1] for r in t['run']]  # neu-cam/<experiment>/fold<k>/<run>
out = []
for (e, px, layer), g in t.groupby(['experiment', 'input_px', 'layer'], sort=False):
    s = localisation_summary(g).reset_index()
    out.append(s.assign(experiment=e, input_px=px, layer=layer, runs=g['run'].nunique()))
    s = s[s['prediction'] == 'correct']
    print(f"\n== {e}: {px} px, Grad-CAM at {layer} ({g['run'].nunique()} runs)")
    print(s[['class', 'n', 'empty maps', 'pointing game', 'energy in boxes', 'chance', 'verdict']].round(3).to_string(index=False))
s = pd.concat(out, ignore_index=True)
s[['experiment', 'input_px', 'layer', 'runs'] + [c for c in s.columns if c not in ('experiment', 'input_px', 'layer', 'runs')]].to_csv(HERE/'layer_probe.csv', index=False)
