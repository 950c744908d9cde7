"""Calibration and auto-accept on NEU (issue #28), from the committed out-of-fold predictions alone (nothing is retrained):
for each committed 5-fold CV, every fold is judged with a temperature and threshold fitted on the other four folds'
out-of-fold images (`defect_nb.accept.crossfit`), at alpha 0.5 % and 1 %, delta 5 %.

  python results/accept/neu_accept.py        # writes results/accept/accept.csv, folds.csv, reliability.csv"""
import glob, json
from pathlib import Path
import pandas as pd
from defect_nb.calibrate import score_arrays, ece, reliability_table
from defect_nb.accept import crossfit, accept_table

HERE = Path(__file__).parent; R = HERE.parent
CVS = {'recipe': 'recipe-cv/img_size=128_epochs=18-546251e6', 'seed (Hydrogen Torch settings)': 'neu-ht-cv',
       'seed, fastai 2.8.7 defaults': 'neu-seed-cv', 'seed + fastai head': 'neu-fastai-head-cv'}

def oof_of(d):
    fs = sorted(glob.glob(str(R/d/'**'/'oof.csv'), recursive=True))
    oof = pd.concat([pd.read_csv(f) for f in fs], ignore_index=True)
    assert sorted(oof['fold'].unique()) == [0, 1, 2, 3, 4] and len(oof) == 1800, (d, len(oof))
    return oof, [str(Path(f).relative_to(R)) for f in fs]

def main():
    rows, frows, rel = [], [], []
    for name, d in CVS.items():
        oof, files = oof_of(d); p, y, _ = score_arrays(oof)
        for alpha in (.005, .01):
            cf, fits = crossfit(oof, alpha, .05); t = accept_table(cf, fits)
            t = t.reset_index().assign(experiment=name, alpha=alpha, delta=.05, ece_before=ece(p, y), ece_after=ece(score_arrays(cf)[0], y))
            rows.append(t)
            for k, f in fits.items():
                frows.append(dict(experiment=name, alpha=alpha, fold_judged=k, n_calibration=f['n'], temperature=round(f['temperature'], 4),
                                  threshold=f['overall']['threshold'], accepted=f['overall']['accepted'], errors=f['overall']['errors'],
                                  promised_bound=f['overall']['bound'], rule=f['rule'], too_few=' '.join(f['too_few'])))
            if alpha == .005:
                for when, q in (('before', p), ('after', score_arrays(cf)[0])):
                    rel.append(reliability_table(q, y).assign(experiment=name, when=when))
        print(name, files)
    out = pd.concat(rows, ignore_index=True)
    cols = ['experiment', 'alpha', 'delta', 'predicted class', 'parts', 'decided automatically', 'coverage', 'errors among them',
            'observed error', 'error bound (95%)', 'promised bound', 'ece_before', 'ece_after']
    out[cols].round(6).to_csv(HERE/'accept.csv', index=False)
    pd.DataFrame(frows).to_csv(HERE/'folds.csv', index=False)
    pd.concat(rel, ignore_index=True).round(6).to_csv(HERE/'reliability.csv', index=False)
    print(out[out['predicted class'] == 'all parts'][cols].to_string(index=False))

if __name__ == '__main__': main()
