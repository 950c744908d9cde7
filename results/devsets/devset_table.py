"""The development-set tables of results/README.md, from the committed run records only:
`python results/devsets/devset_table.py` rewrites devset_table.csv, devset_summary.csv, devset_seeds.csv,
devset_pairs.csv, devset_accept.csv, devset_folds.csv and devset_fold_pairs.csv beside it and prints them as text.

runs/<set>/<experiment>[-seed<N>]/ is a `defect_cv --folds 4 --seed N` folder kept by keep_runs.py (records only: no
weights, no notebooks); the seed-1 folders also hold folds 0-3, run into the same CV folder or into another one of the
same experiment and added by keep_runs.py. The experiments:
  seed-config    the Hydrogen Torch seed experiment (`--config seed`: 224 px squish, 5 epochs, no class balance)
  todays-recipe  the recipe as it was when issue 26 was filed (`-p resize crop`: centre crop, inverse-frequency loss weights;
                 since the default became `class_balance: auto`, `-p resize crop -p class_balance weights`)
  pad-weights    the recipe with `resize: pad` and the loss weights (the default of commits b7eda20..8d2d5b4)
  new-default    the recipe with `resize: pad` and class-balanced batches (`-p class_balance sampler`; what the default
                 `class_balance: auto` chooses on both sets: their training classes differ by 24x and 62x)

devset_table.csv: one row per run: macro F1 with its 95 % image-bootstrap interval, accuracy, the recall of every
class (smallest training class first), training minutes on the machine that ran (env.json) and the training compute in
image-passes at 128x128 (epochs x training images seen per epoch x (height x width) / 128^2).
devset_summary.csv: per set x experiment over its seeds: mean macro F1 (± std where 2+ seeds), the lowest class recall.
devset_seeds.csv: every two experiments of a set paired over the seeds both ran on fold 4: mean difference and the 95 %
t interval over seeds (`defect_nb.compare.corrected_ttest` with test_share 0: one fold, the same training images, so
the interval is seed noise alone, not fold-to-fold variation).
devset_pairs.csv: the seed-1 runs paired on the same validation images (paired image bootstrap; no seed noise).
devset_folds.csv: the experiments whose seed-1 folder holds folds besides 4 (`defect_cv --folds K`, kept by keep_runs.py): macro F1 per fold, the mean over the folds other than 4 and over all, and the pooled out-of-fold macro
F1 of those folds with its image-bootstrap interval and lowest class recall. devset_fold_pairs.csv: every two of them
paired over the folds both ran with the corrected resampled t-test (Nadeau & Bengio, test_share 1/4 for 5 folds), once
over the folds other than 4 alone (the nested confirmation: the choice was made on fold 4) and once over all.
The tables above devset_folds.csv are fold 4's only.
devset_accept.csv: calibration and auto-accept of the seed-1 runs (`defect_nb.accept.crossfit` on two halves of the
fold's validation images, each half judged by a temperature and threshold fitted on the other) at alpha 0.5 % and
5 %, delta 5 %, overall and per predicted class."""
import json, re
from pathlib import Path
import numpy as np, pandas as pd, yaml
from defect_nb.interpret import f1_interval, paired_f1_diff, per_class_metrics
from defect_nb.accept import crossfit, accept_table
from defect_nb.calibrate import score_arrays, ece
from defect_nb.compare import corrected_ttest

HERE = Path(__file__).parent
ORDER = {'seed-config': 0, 'todays-recipe': 1, 'pad-weights': 2, 'new-default': 3}
csv = lambda df, name: df.to_csv(HERE/name, index=False, lineterminator='\n')
by_order = lambda c: c.map(ORDER).fillna(9) if c.name == 'experiment' else c

def paired(ts, a, b, on, test_share):
    "Runs of experiments `a` and `b` in `ts` matched on `on` (seed or fold): the matches, b's wins, and `corrected_ttest` of b - a"
    m = ts[ts.experiment == b][[on, 'f1_macro']].merge(ts[ts.experiment == a][[on, 'f1_macro']], on=on, suffixes=('_b', '_a'))
    d = m['f1_macro_b'] - m['f1_macro_a']
    r = corrected_ttest(d, test_share)
    return m, int((d > 0).sum()), dict(diff_b_minus_a=round(r['mean'], 4), lo=round(r['lo'], 4), hi=round(r['hi'], 4), p=round(r['p'], 4),
                                       distinguishable=bool(r['lo'] > 0 or r['hi'] < 0))

def runs():
    "(set, experiment, run folder) of every kept run"
    for m in sorted(HERE.glob('runs/*/*/fold*/*/metrics.json')):
        d = m.parent; s, e = d.parts[-4], re.sub(r'-seed\d+$', '', d.parts[-3])
        yield s, e, d

rows, oofs = [], {}
for s, e, d in runs():
    m, c, env = json.loads((d/'metrics.json').read_text()), yaml.safe_load((d/'config.yaml').read_text()), json.loads((d/'env.json').read_text())
    oof = pd.read_csv(d/'oof.csv'); oofs[s, e, m['seed'], m['fold']] = oof
    lo, hi = f1_interval(oof)
    seen = (m['n_train'] // c['bs']) * c['bs'] if c['drop_last'] else m['n_train']
    passes = m.get('image_passes_128') or c['epochs'] * seen * c['img_height'] * c['img_width'] / 128**2  # recorded since 3c5a1f2
    counts = json.loads((HERE/s/'devset.json').read_text())['classes']
    rec = {k: v['recall'] for k, v in sorted(m['per_class'].items(), key=lambda kv: counts.get(kv[0], 0))}
    rows.append(dict(set=s, experiment=e, seed=m['seed'], fold=m['fold'],
                     config=f"{c['experiment_name']}, {c['img_height']} px, {c['epochs']} epochs, resize {c['resize']}, class_balance {c['class_balance']}",
                     commit=str(env.get('git_commit'))[:7], f1_macro=round(m['f1_macro'], 4), f1_lo=round(lo, 4), f1_hi=round(hi, 4),
                     accuracy=round(m['accuracy'], 4), min_recall=round(min(rec.values()), 3),
                     recall=' · '.join(f"{k} {v:.2f}" for k, v in rec.items()), train_min=round(m['train_time_s']/60, 1),
                     image_passes_128=int(round(passes)), device=env.get('device')))
t = pd.DataFrame(rows).sort_values(['set', 'experiment', 'seed'], key=by_order, ignore_index=True)
csv(t, 'devset_table.csv')
allfolds, t = t, t[t['fold'] == 4].reset_index(drop=True)  # the tables below are fold 4's (chosen on); devset_folds.csv has the other folds

summ = (t.groupby(['set', 'experiment'], sort=False)
         .agg(seeds=('seed', lambda x: ' '.join(map(str, sorted(x)))), n=('seed', 'size'), f1_mean=('f1_macro', 'mean'),
              f1_std=('f1_macro', lambda x: x.std(ddof=1) if len(x) > 1 else np.nan), min_recall=('min_recall', 'min'),
              runs_at_0_recall=('min_recall', lambda x: int((x == 0).sum())), train_min=('train_min', 'mean'),
              image_passes_128=('image_passes_128', 'first')).reset_index().round(4))
csv(summ, 'devset_summary.csv')

seeds = []
for s in t['set'].unique():
    ts = t[t['set'] == s]; es = list(ts['experiment'].unique())
    for i, a in enumerate(es):
        for b in es[i+1:]:
            m, _, r = paired(ts, a, b, 'seed', 0.)  # one fold, the same training images: seed noise alone
            if len(m) > 1: seeds.append(dict(set=s, a=a, b=b, seeds=' '.join(map(str, m['seed'])), **r))
sd = pd.DataFrame(seeds, columns=['set', 'a', 'b', 'seeds', 'diff_b_minus_a', 'lo', 'hi', 'p', 'distinguishable']); csv(sd, 'devset_seeds.csv')

pairs = []
for s in t['set'].unique():
    es = [e for e in t[(t['set'] == s) & (t['seed'] == 1)]['experiment']]
    for i, a in enumerate(es):
        for b in es[i+1:]:
            r = paired_f1_diff(oofs[s, a, 1, 4], oofs[s, b, 1, 4])
            pairs.append(dict(set=s, seed=1, a=a, b=b, f1_a=round(r['f1_a'], 4), f1_b=round(r['f1_b'], 4), diff=round(r['diff'], 4),
                              lo=round(r['lo'], 4), hi=round(r['hi'], 4), n_images=r['n_images']))
p = pd.DataFrame(pairs); csv(p, 'devset_pairs.csv')

# the nested confirmation: seed-1 runs of an experiment on folds besides 4, which were not used to choose anything
folds, fpairs = [], []
for s in allfolds['set'].unique():
    ts = allfolds[(allfolds['set'] == s) & (allfolds['seed'] == 1)]
    es = [e for e in ts['experiment'].unique() if ts[ts.experiment == e]['fold'].nunique() > 1]
    for e in es:
        te = ts[ts.experiment == e].sort_values('fold'); oof = pd.concat([oofs[s, e, 1, k] for k in te['fold']], ignore_index=True)
        pc = per_class_metrics(oof); f1, (lo, hi) = pc.loc['macro avg', 'f1'], f1_interval(oof)
        rec = pc.drop('macro avg').query('support > 0')['recall']
        folds.append(dict(set=s, experiment=e, seed=1, folds=' '.join(map(str, te['fold'])), **{f'f1_fold{k}': v for k, v in zip(te['fold'], te['f1_macro'])},
                          f1_mean_not_fold4=round(te[te.fold != 4]['f1_macro'].mean(), 4), f1_mean=round(te['f1_macro'].mean(), 4),
                          f1_std=round(te['f1_macro'].std(ddof=1), 4), f1_pooled=round(f1, 4), f1_pooled_lo=round(lo, 4), f1_pooled_hi=round(hi, 4),
                          min_recall_pooled=round(rec.min(), 3), folds_with_a_class_at_0_recall=int((te['min_recall'] == 0).sum())))
    for i, a in enumerate(es):
        for b in es[i+1:]:
            for scope, tt in (('not chosen on', ts[ts.fold != 4]), ('', ts)):
                m, wins, r = paired(tt, a, b, 'fold', 1/4)  # Nadeau & Bengio: n_test/n_train = 1/4 on 5 folds
                fpairs.append(dict(set=s, a=a, b=b, seed=1, folds=f"folds {' '.join(map(str, m['fold']))}" + (f' ({scope})' if scope else ''),
                                   wins_b=wins, n=len(m), **r))
fo = pd.DataFrame(folds); csv(fo, 'devset_folds.csv')
fp = pd.DataFrame(fpairs, columns=['set', 'a', 'b', 'seed', 'folds', 'wins_b', 'n', 'diff_b_minus_a', 'lo', 'hi', 'p', 'distinguishable']); csv(fp, 'devset_fold_pairs.csv')

acc = []
for (s, e, seed, fold), oof in oofs.items():
    if seed != 1 or fold != 4: continue
    pr, y, _ = score_arrays(oof)
    for alpha in (.005, .05):
        cf, fits = crossfit(oof, alpha, .05); a = accept_table(cf, fits).reset_index()
        acc.append(a.assign(set=s, experiment=e, seed=seed, alpha=alpha, delta=.05, ece_before=ece(pr, y), ece_after=ece(score_arrays(cf)[0], y),
                            too_few=' '.join(sorted({c for f in fits.values() for c in f['too_few']}))))
a = pd.concat(acc, ignore_index=True)
a = a[['set', 'experiment', 'seed', 'alpha', 'delta'] + [c for c in a.columns if c not in ('set', 'experiment', 'seed', 'alpha', 'delta')]]
a = a.sort_values(['set', 'experiment'], key=by_order, kind='stable')
csv(a.round(6), 'devset_accept.csv')

with pd.option_context('display.width', 250, 'display.max_colwidth', 120):
    print(t.drop(columns=['device', 'config', 'commit']).to_string(index=False)); print()
    print(summ.to_string(index=False)); print()
    print(sd.to_string(index=False) if len(sd) else '(no experiments paired over 2+ seeds)'); print()
    print(p.to_string(index=False)); print()
    print(fo.to_string(index=False) if len(fo) else '(no experiment on folds besides 4)'); print()
    print(fp.to_string(index=False) if len(fp) else ''); print()
    print(a[a['predicted class'] == 'all parts'].drop(columns=['too_few']).round(4).to_string(index=False))

# the table of results/README.md (markdown), from the tables above
WHAT = {'seed-config': 'Hydrogen Torch seed config (224 px squish, 5 epochs, no balance)', 'todays-recipe': "today's recipe (128 px crop, 18 epochs, loss weights)",
        'pad-weights': 'recipe, pad, loss weights', 'new-default': 'new default (recipe, pad, `class_balance: auto`)'}
lines = ['| set | experiment | seeds | macro F1, seed 1 [95 % image bootstrap] | macro F1 over seeds, mean ± std | lowest class recall (seed 1) | runs with a class at 0 recall | train min (seed 1) | image-passes at 128² |',
         '|---|---|---|---|---|---|---|---|---|']
for r in summ.itertuples():
    one = t[(t['set'] == r.set) & (t['experiment'] == r.experiment) & (t['seed'] == 1)].iloc[0]
    low = min(((v, k) for k, v in (x.rsplit(' ', 1) for x in one['recall'].split(' · '))), key=lambda kv: float(kv[0]))
    over = f"{r.f1_mean:.3f} ± {r.f1_std:.3f}" if r.n > 1 else '(one seed)'
    lines.append(f"| {r.set} | {WHAT.get(r.experiment, r.experiment)} | {r.seeds} | {one['f1_macro']:.3f} [{one['f1_lo']:.3f}, {one['f1_hi']:.3f}] | {over} | "
                 f"{low[0]} ({low[1]}) | {r.runs_at_0_recall} of {r.n} | {one['train_min']:.1f} | {r.image_passes_128:,} |")
print(); print('\n'.join(lines))
