"""Issue 15: the three experiments side by side on NEU -- accuracy and how well the Grad-CAM of the predicted class
points at the NEU-DET boxes -- from the CV folders `defect_cv --folds 0,1,2,3,4 --seed 42 [--config seed|fastai_head]`
wrote under results/neu-cam/<experiment>/ (each fold report has the section, each run folder its cam_scores.csv).
Fold 4 alone, and all 5 folds pooled (every out-of-fold image) once an experiment's five folds have their scores.
The recipe's folds 2 and 3 were trained (seed 42, same config) in the recipe's own CV, results/recipe-cv/<trial>/,
with their Grad-CAM scores kept, so they are taken from there rather than trained twice; every fold of an experiment
is taken from the first of its folders that has the fold's cam_scores.csv (the `from` column says which).

Run from the repository root:  python results/neu-cam/compare.py
Writes results/neu-cam/localisation.csv (per experiment, scope, class and correct/wrong) and prints it."""
from pathlib import Path
import pandas as pd
from defect_nb.cv import collect_cv, collect_cam
from defect_nb.evidence import localisation_summary
from sklearn.metrics import f1_score, accuracy_score

HERE = Path(__file__).parent
SOURCES = {'seed': [HERE/'seed'], 'fastai_head': [HERE/'fastai_head'],
           'recipe': [HERE/'recipe', HERE.parent/'recipe-cv'/'img_size=128_epochs=18-546251e6']}

def collect(dirs):
    "Folds, out-of-fold predictions and Grad-CAM scores, each fold from the first folder in `dirs` with its cam scores"
    got = {}
    for d in dirs:
        folds, oof = collect_cv(d)
        cam = collect_cam(folds, d)
        for k in sorted(set(cam['fold'])) if len(cam) else []:
            if k in got: continue
            got[k] = (folds[folds['fold'] == k].assign(**{'from': str(d.relative_to(HERE.parent))}),
                      oof[oof['fold'] == k], cam[cam['fold'] == k])
    if not got: return pd.DataFrame(columns=['fold', 'status']), pd.DataFrame(), pd.DataFrame()
    return tuple(pd.concat([g[i] for g in got.values()], ignore_index=True) for i in range(3))

rows = []
for exp, dirs in SOURCES.items():
    folds, oof, cam = collect(dirs)
    done = folds[folds['status'] == 'done']
    scopes = [('fold 4', [4])] + ([('5 folds', [0, 1, 2, 3, 4])] if len(cam) and set(cam['fold']) >= {0, 1, 2, 3, 4} else [])
    if not len(cam) or 4 not in set(cam['fold']): print(f"{exp}: no finished fold-4 run with cam_scores.csv"); continue
    for scope, ks in scopes:
        o = oof[oof['fold'].isin(ks)]
        train_min = done[done['fold'].isin(ks)]['train_time_s'].mean() / 60
        s = localisation_summary(cam[cam['fold'].isin(ks)]).reset_index()
        for _, r in s.iterrows():
            rows.append({'experiment': exp, 'scope': scope, 'macro F1': round(f1_score(o['label'], o['pred'], average='macro'), 4),
                         'accuracy': round(accuracy_score(o['label'], o['pred']), 4), 'train min per fold': round(train_min, 1), **r.to_dict()})
    print(f"{exp}: folds with Grad-CAM scores {sorted(set(cam['fold']))}, from", dict(zip(done['fold'], done['from'])))
t = pd.DataFrame(rows)
t.to_csv(HERE/'localisation.csv', index=False)
cols = ['experiment', 'scope', 'macro F1', 'class', 'prediction', 'n', 'empty maps', 'pointing game', 'energy in boxes', 'chance', 'verdict']
print(t[cols].round(3).to_string(index=False))
