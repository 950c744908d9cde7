"""Copy the records of a development-set CV (a `defect_cv --folds 4 --seed N` folder) into runs/<set>/<experiment>/:
cv.json and each run's records (metrics, config, environment, per-epoch history, out-of-fold predictions); never weights,
ONNX graphs, notebooks, the CV's fold table (metrics.json has it) or the run's own calibration (the table refits it). Every relative path a
record holds (data root, folds file, the Python that ran) is rewritten to lead to the same place from the new
folder, and the CV's data path is shown checkout-relative. Run from the repository root:
    python results/devsets/keep_runs.py CV_FOLDER SET EXPERIMENT [CHECKOUT]
CHECKOUT: the checkout the CV ran in when it is not this one (a worktree); its data/devsets is taken for this one's.
When runs/<set>/<experiment>/ is kept already, the CV's folds that it lacks are added to it, only if the CV ran the same
experiment (its cv.json: every setting but `folds`, the seed too, and the same folds file; not how they were asked for:
the default changed between commits, so today's recipe is now `-p resize crop -p class_balance weights`); the kept
cv.json stays, and a fold that is kept already is never replaced."""
import json, os, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT  # the checkout the CV ran in (its data/devsets): this one, or another checkout (a worktree at another commit) given as CHECKOUT
KEEP = ('metrics.json', 'config.yaml', 'env.json', 'history.csv', 'oof.csv')  # no model records: the table needs none

def moved(v, old: Path, new: Path):
    "A relative path recorded in `old` (a folder), rewritten for `new`; one that leads out of the checkout (a Python outside it) keeps its name only"
    if not isinstance(v, str) or not v.startswith('../'): return v
    q = Path(os.path.normpath(old/v))
    return Path(os.path.relpath(ROOT/q.relative_to(SRC), new)).as_posix() if SRC in q.parents else q.name  # the same file of this checkout

def fix(o, old, new):
    if isinstance(o, dict): return {k: fix(v, old, new) for k, v in o.items()}
    if isinstance(o, list): return [fix(v, old, new) for v in o]
    return moved(o, old, new)

def same_experiment(kept, new, dest):
    "Stop unless CV manifest `new` ran the experiment of `kept`: every setting but `folds` (the seed too), the same folds file"
    strip = lambda m: ({k: v for k, v in m['config'].items() if k != 'folds'}, m['data']['folds_sha256'])
    if strip(kept) != strip(new): sys.exit(f"{dest} holds another experiment than this CV (cv.json differs beyond `folds`): keep it under another name")

def main(cv, name, exp, src=None):
    global SRC
    SRC = Path(src).resolve() if src else ROOT
    cv = Path(cv).resolve(); dest = ROOT/'results'/'devsets'/'runs'/name/exp
    man = json.loads((cv/'cv.json').read_text())
    if dest.exists(): same_experiment(json.loads((dest/'cv.json').read_text()), man, dest)
    else:
        dest.mkdir(parents=True)
        p = Path(man['data']['path'])
        if p.is_absolute(): man['data']['path'] = os.path.relpath(p, SRC) if SRC in p.parents else p.name
        (dest/'cv.json').write_text(json.dumps(man, indent=2))
    for m in sorted(cv.glob('fold*/*/metrics.json')):
        src = m.parent
        if (dest/src.parent.name).exists(): print(f"{src.parent.name} is kept already in {dest.relative_to(ROOT)}: not replaced"); continue
        out = dest/src.parent.name/src.name; out.mkdir(parents=True)
        for f in KEEP:
            if not (src/f).exists(): continue
            if f.endswith('.json'): (out/f).write_text(json.dumps(fix(json.loads((src/f).read_text()), src, out), indent=2))
            else: shutil.copy(src/f, out/f)
    print(f"kept {cv} as {dest.relative_to(ROOT)}")

if __name__ == '__main__': main(*sys.argv[1:])
