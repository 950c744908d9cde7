"""Why NEU does not reach issue #28's goal (>= 95 % decided automatically, error <= 0.5 % at 95 % confidence), from the
committed out-of-fold predictions alone: for each coverage, the errors among the most confident parts (calibrated as in
neu_accept.py, each fold by the other four), the best bound any threshold could promise from a fold's 1,440 calibration
images if they held the same error rate, and how many calibration images that rate would need for alpha 0.5 %
(coverage_need.csv). Then the calibration a deployment of the whole CV would use: one temperature and threshold fitted
on all 1,800 out-of-fold images (cv_calibration.csv; the bound holds for new parts exchangeable with them, its coverage
is measured on the same images, and no held-out images are left to check it on).

  python results/accept/coverage_need.py     # writes results/accept/coverage_need.csv and cv_calibration.csv"""
import numpy as np, pandas as pd
from scipy.optimize import brentq
from defect_nb.calibrate import error_bound, STARTS, score_arrays, fit_calibration
from defect_nb.accept import crossfit
from neu_accept import oof_of, CVS, HERE

ALPHA, DELTA, N_CAL = .005, .05, 1440  # the goal; a fold's calibration images on NEU (the other four folds)
D = DELTA / len(STARTS)  # accept_threshold spends delta over its walks

def bound_at(rate, n):
    "The Clopper-Pearson bound after the expected errors `rate`*n among n accepted calibration parts"
    return float(error_bound(rate * n, n, D))

def images_needed(rate, coverage):
    "Calibration images whose `coverage` share, at error `rate`, bounds the error at ALPHA (inf when rate >= ALPHA)"
    if rate >= ALPHA: return np.inf
    return brentq(lambda n: bound_at(rate, coverage * n) - ALPHA, 10, 1e8) 

rows, cal = [], []
for name in ('recipe', 'seed (Hydrogen Torch settings)'):
    oof, _ = oof_of(CVS[name]); cf, _ = crossfit(oof, ALPHA, DELTA)
    f = fit_calibration(*score_arrays(oof), ALPHA, DELTA)
    cal.append(dict(experiment=name, n_calibration=f['n'], temperature=round(f['temperature'], 4), rule=f['rule'],
                    **{k: f['overall'][k] for k in ('threshold', 'accepted', 'errors')}, bound=round(f['overall']['bound'], 5),
                    coverage=round(f['overall']['coverage'], 4)))
    wrong = (cf['label'].astype(str) != cf['pred'].astype(str)).to_numpy()[np.argsort(-cf['conf'].to_numpy(), kind='stable')]
    for cov in (.80, .834, .90, .95, .975, 1.):
        n = int(round(cov * len(cf))); k = int(wrong[:n].sum()); r = k / n
        rows.append(dict(experiment=name, coverage=cov, accepted=n, errors=k, observed_error=round(r, 5),
                         bound_from_1440=round(bound_at(r, cov * N_CAL), 5), certifiable_at_0_5pct=bound_at(r, cov * N_CAL) <= ALPHA,
                         calibration_images_needed=images_needed(r, cov)))
# the largest error rate among the accepted 95 % that 1,440 calibration images can certify at 0.5 %
r95 = brentq(lambda r: bound_at(r, .95 * N_CAL) - ALPHA, 0, ALPHA)
t = pd.DataFrame(rows).round({'calibration_images_needed': 0}); t.to_csv(HERE/'coverage_need.csv', index=False, lineterminator='\n')
c = pd.DataFrame(cal); c.to_csv(HERE/'cv_calibration.csv', index=False, lineterminator='\n')
print(t.to_string(index=False)); print(c.to_string(index=False)); print(f"largest error among 95 % that {N_CAL} calibration images certify at alpha {ALPHA}: {r95:.5f} "
                                       f"({r95 * .95 * 1800:.1f} errors among 1,710 parts)")
