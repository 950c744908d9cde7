"""Issue 15: the three experiments side by side on NEU fold 4 -- accuracy and how well the Grad-CAM of the predicted
class points at the NEU-DET boxes -- from the runs `defect_cv --folds 4 --seed 42 [--config seed|fastai_head]` wrote
under results/neu-cam/<experiment>/ (each fold report has the section, each run folder its cam_scores.csv).

Run from the repository root:  python results/neu-cam/compare.py
Writes results/neu-cam/localisation.csv (per experiment and class, correct predictions) and prints it as markdown."""
from pathlib import Path
import json, pandas as pd
from defect_nb.cv import fold_runs
from defect_nb.interpret import localisation_summary

HERE = Path(__file__).parent
rows = []
for exp in ('seed', 'fastai_head', 'recipe'):
    fold_dir = HERE/exp/'fold4'
    runs = fold_runs(fold_dir) if fold_dir.exists() else []
    if not runs or not (runs[-1]/'cam_scores.csv').exists(): print(f"{exp}: no finished fold-4 run with cam_scores.csv"); continue
    run = runs[-1]; m = json.loads((run/'metrics.json').read_text())
    loc = pd.read_csv(run/'cam_scores.csv')
    s = localisation_summary(loc).reset_index()
    for _, r in s.iterrows():
        rows.append({'experiment': exp, 'macro F1': round(m['f1_macro'], 4), 'accuracy': round(m['accuracy'], 4),
                     'train min': round(m['train_time_s']/60, 1), **r.to_dict()})
t = pd.DataFrame(rows)
t.to_csv(HERE/'localisation.csv', index=False)
cols = ['experiment', 'macro F1', 'class', 'prediction', 'n', 'empty maps', 'pointing game', 'energy in boxes', 'chance', 'verdict']
print(t[cols].round(3).to_string(index=False))
