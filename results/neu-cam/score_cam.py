"""Issue 15: score the Grad-CAM of an already trained fold against the NEU-DET boxes, from its exported model, with
`defect_predict --cam` (the same scores the fold report computes for runs made since the section exists).

Run from the repository root, for a fold folder whose latest run still has its model (model.safetensors is not committed):
    python results/neu-cam/score_cam.py results/recipe-cv/<trial>/fold2-seed42 ../shared/data/neu-det
Writes cam_scores.csv (the fold report's columns, image paths relative to the data folder) into that run folder;
an existing cam_scores.csv is left alone."""
import os, subprocess, sys, tempfile
from pathlib import Path
import pandas as pd
from defect_nb.backends import fold_runs
from defect_nb.cam import annotation_path, read_voc
from defect_nb.evidence import LOC_COLS

fold_dir, data = Path(sys.argv[1]), Path(sys.argv[2])
run = fold_runs(fold_dir)[-1]
dest = run/'cam_scores.csv'
if dest.exists(): sys.exit(f"{dest} exists; not replaced")
oof = pd.read_csv(run/'oof.csv')
with tempfile.TemporaryDirectory() as d:
    out = Path(d)/'preds.csv'
    cmd = ['defect_predict', str(run), *[str(data/p) for p in oof['images']], '-o', str(out), '--cam', str(Path(d)/'cams')]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode: sys.exit(f"defect_predict failed ({r.returncode}): {r.stderr[-2000:]}")
    pred = pd.read_csv(out)
pred['images'] = [Path(os.path.relpath(p, data)).as_posix() for p in pred['path']]
j = oof[['images', 'label', 'pred']].merge(pred, on='images', suffixes=('_report', ''))
assert (j['pred'] == j['pred_report']).all(), 'the export predicts differently from the fold report'
j = j[j['cam_chance'].notna()]
j = j.assign(correct=j['label'] == j['pred'], n_boxes=[len(read_voc(annotation_path(data/p))['boxes']) for p in j['images']],
             pointing=j['cam_pointing'], energy=j['cam_energy'], chance=j['cam_chance'])
j[LOC_COLS].to_csv(dest, index=False)
print(f"{dest}: {len(j)} images; pointing {j['pointing'].mean():.3f}, energy {j['energy'].mean():.3f}, chance {j['chance'].mean():.3f}")
