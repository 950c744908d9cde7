"""The recipe against the seed experiment on NEU's 5 folds, paired per fold, with the corrected resampled t-test
(Nadeau & Bengio), from the committed fold tables only: `python results/stats/recipe_vs_seed.py` rewrites
recipe_vs_seed.csv beside it. Each fold has one run of each (recipe seed 42, seed experiment one drawn seed), so the
per-fold differences carry the seed noise of both runs; the correction adds n_test/n_train (360/1440) to 1/J."""
from pathlib import Path
import pandas as pd
from defect_nb.compare import corrected_ttest, paired_diffs

HERE = Path(__file__).parent; R = HERE.parent
recipe = pd.read_csv(R/'recipe-cv'/'sweep_folds.csv')
seed = pd.read_csv(R/'neu-ht-cv'/'cv_folds.csv')
p = paired_diffs(recipe[['fold', 'status', 'f1_macro']], seed[['fold', 'status', 'f1_macro']])
share = float((recipe['n_valid'] / (1800 - recipe['n_valid'])).mean()) # n_valid/n_train of the recipe's runs (NEU: 1,800 images)
r = corrected_ttest(p['diff'], share)
out = p.rename(columns={'f1_macro': 'recipe', 'f1_macro_base': 'seed'})
row = dict(fold='all', recipe=out['recipe'].mean(), seed=out['seed'].mean(), diff=r['mean'])
out = pd.concat([out, pd.DataFrame([row])], ignore_index=True).assign(
    lo=['']*len(p) + [r['lo']], hi=['']*len(p) + [r['hi']], t=['']*len(p) + [r['t']], p=['']*len(p) + [r['p']], verdict=['']*len(p) + [r['verdict']])
out.round(6).to_csv(HERE/'recipe_vs_seed.csv', index=False, lineterminator='\n')
print(out.round(4).to_string(index=False))
