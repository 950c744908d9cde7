"""Issue 18: the fold-4 export of the default recipe, scored by `defect_predict` on the fold-4 validation images,
must reproduce the fold report's macro F1 (the export carries the image size, normalisation and dihedral TTA).

Run from the repository root after the sweep (needs the fold-4 run's model.safetensors, deleted before committing):
    python results/recipe-cv/check_export.py results/recipe-cv/<trial> ../shared/data/neu-det
Writes <trial>/export_check.json and <trial>/export_check.csv (the CLI's scores)."""
import json, os, subprocess, sys
from pathlib import Path
import pandas as pd
from sklearn.metrics import f1_score

trial, data = Path(sys.argv[1]), Path(sys.argv[2])
run, = [p.parent for p in (trial/'fold4-seed42').glob('*/metrics.json')]
m, oof = json.loads((run/'metrics.json').read_text()), pd.read_csv(run/'oof.csv')
out = trial/'export_check.csv'
cmd = ['defect_predict', str(run), *[str(data/p) for p in oof['images']], '-o', str(out), '--force']
r = subprocess.run(cmd, capture_output=True, text=True)
if r.returncode: sys.exit(f"defect_predict failed ({r.returncode}): {r.stderr[-2000:]}")
pred = pd.read_csv(out)
pred['images'] = [Path(os.path.relpath(p, data)).as_posix() for p in pred['path']]
pred.drop(columns='path').to_csv(out, index=False) # relative paths only
j = oof[['images', 'label', 'pred']].merge(pred[['images', 'pred']], on='images', suffixes=('_report', '_cli'))
res = dict(run=run.relative_to(trial).as_posix(), n=len(j), tta=json.loads((run/'model.json').read_text()).get('tta'),
           f1_macro_report=m['f1_macro'], f1_macro_cli=f1_score(j['label'], j['pred_cli'], average='macro'),
           same_predictions=int((j['pred_report'] == j['pred_cli']).sum()))
(trial/'export_check.json').write_text(json.dumps(res, indent=2))
print(json.dumps(res, indent=2))
