"""The development-set table of results/README.md, from the committed run records only:
`python results/devsets/devset_table.py` rewrites devset_table.csv and devset_pairs.csv beside it and prints both as markdown.

runs/<set>/<experiment>/ is a `defect_cv --folds 4 --seed 1` folder (records only: no weights, no notebooks). Per run:
macro F1 with its 95 % image-bootstrap interval, accuracy, the recall of every class (smallest training class first),
training minutes on the machine that ran (env.json) and the training compute in image-passes at 128x128
(epochs x training images seen per epoch x (height x width) / 128^2). Pairs: each experiment against the others on
the same validation images (paired image bootstrap; one run each, so seed noise is NOT in these intervals).
Accept: calibration and auto-accept per run (`defect_nb.accept.crossfit` on two halves of the fold's validation images,
each half judged by a temperature and threshold fitted on the other) at alpha 0.5 % and 5 %, delta 5 %, overall and per
predicted class -> devset_accept.csv."""
import json
from pathlib import Path
import pandas as pd, yaml
from defect_nb.interpret import f1_interval, paired_f1_diff
from defect_nb.accept import crossfit, accept_table
from defect_nb.calibrate import score_arrays, ece

HERE = Path(__file__).parent
# the seed experiment (Hydrogen Torch settings), today's recipe (its centre crop: resize crop), the new default (pad), and it with a class-balanced sampler
ORDER = {'seed': 0, 'recipe-crop': 1, 'recipe': 2, 'recipe-sampler': 3}

def runs():
    for m in sorted(HERE.glob('runs/*/*/fold*/*/metrics.json')):
        d = m.parent; s, e = d.parts[-4], d.parts[-3]
        yield s, e, d

rows, oofs = [], {}
for s, e, d in runs():
    m, c, env = json.loads((d/'metrics.json').read_text()), yaml.safe_load((d/'config.yaml').read_text()), json.loads((d/'env.json').read_text())
    oof = pd.read_csv(d/'oof.csv'); oofs[s, e] = oof
    lo, hi = f1_interval(oof)
    seen = (m['n_train'] // c['bs']) * c['bs'] if c['drop_last'] else m['n_train']
    passes = c['epochs'] * seen * c['img_height'] * c['img_width'] / 128**2
    counts = json.loads((HERE/s/'devset.json').read_text())['classes'] if (HERE/s/'devset.json').exists() else {}
    rec = {k: v['recall'] for k, v in sorted(m['per_class'].items(), key=lambda kv: counts.get(kv[0], 0))}
    rows.append(dict(set=s, experiment=e, config=f"{c['experiment_name']}, resize {c.get('resize', 'crop (before resize existed)')}, class_balance {c.get('class_balance')}",
                     commit=str(env.get('git_commit'))[:7], fold=m['fold'], seed=m['seed'], f1_macro=round(m['f1_macro'], 4),
                     f1_lo=round(lo, 4), f1_hi=round(hi, 4), accuracy=round(m['accuracy'], 4), min_recall=round(min(rec.values()), 3),
                     recall=' · '.join(f"{k} {v:.2f}" for k, v in rec.items()), train_min=round(m['train_time_s']/60, 1),
                     image_passes_128=int(round(passes)), device=env.get('device')))
t = pd.DataFrame(rows).sort_values(['set', 'experiment'], key=lambda c: c.map(ORDER).fillna(9) if c.name == 'experiment' else c)
t.to_csv(HERE/'devset_table.csv', index=False, lineterminator='\n')
pairs = []
for s in t['set'].unique():
    es = [e for e in t[t['set'] == s]['experiment']]
    for i, a in enumerate(es):
        for b in es[i+1:]:
            r = paired_f1_diff(oofs[s, a], oofs[s, b])
            pairs.append(dict(set=s, a=a, b=b, f1_a=round(r['f1_a'], 4), f1_b=round(r['f1_b'], 4), diff=round(r['diff'], 4),
                              lo=round(r['lo'], 4), hi=round(r['hi'], 4), n_images=r['n_images']))
p = pd.DataFrame(pairs); p.to_csv(HERE/'devset_pairs.csv', index=False, lineterminator='\n')
print(t.drop(columns=['device']).to_string(index=False)); print(); print(p.to_string(index=False) if len(p) else '(no pairs)')

acc = []
for (s, e), oof in oofs.items():
    p, y, _ = score_arrays(oof)
    for alpha in (.005, .05):
        cf, fits = crossfit(oof, alpha, .05); t = accept_table(cf, fits).reset_index()
        acc.append(t.assign(set=s, experiment=e, alpha=alpha, delta=.05, ece_before=ece(p, y), ece_after=ece(score_arrays(cf)[0], y),
                            too_few=' '.join(sorted({c for f in fits.values() for c in f['too_few']}))))
a = pd.concat(acc, ignore_index=True)
a = a[['set', 'experiment', 'alpha', 'delta'] + [c for c in a.columns if c not in ('set', 'experiment', 'alpha', 'delta')]]
a.round(6).to_csv(HERE/'devset_accept.csv', index=False, lineterminator='\n')
print(); print(a[a['predicted class'] == 'all parts'].drop(columns=['too_few']).round(4).to_string(index=False))
