"The corrected resampled t-test (Nadeau & Bengio 2003; Bouckaert & Frank 2004 for r seeds × k folds): known answers, the plain t-test without the correction, coverage, the edge cases and the pairing"
import json, math
import numpy as np, pandas as pd, pytest
from scipy import stats
from defect_nb.compare import corrected_ttest, paired_diffs, holdout_share, interval_text, ttest_text

D = [0.01, 0.02, 0.03, 0.04, 0.05]


def test_known_answer():
    "5 differences, 5 folds: s² = 0.00025, the variance of the mean (1/5 + 1/4)·s², t = 2√2 on 4 degrees of freedom"
    r = corrected_ttest(D, 0.25)
    assert r['mean'] == pytest.approx(0.03) and r['n'] == 5 and r['df'] == 4
    assert r['se'] ** 2 == pytest.approx(0.45 * 0.00025, rel=1e-12)
    assert r['t'] == pytest.approx(2 * math.sqrt(2), rel=1e-12)
    assert r['p'] == pytest.approx(2 * stats.t.sf(2 * math.sqrt(2), 4), rel=1e-12) and r['p'] == pytest.approx(0.0474, abs=1e-4)
    half = 2.7764451 * 0.0106066
    assert r['lo'] == pytest.approx(0.03 - half, abs=1e-6) and r['hi'] == pytest.approx(0.03 + half, abs=1e-6)
    assert r['verdict'] == 'better' and corrected_ttest(-np.array(D), 0.25)['verdict'] == 'worse'
    assert interval_text(r) == '+0.0300 [+0.0006, +0.0594]'
    assert ttest_text(r, 'n_valid/n_train of the runs') == ('mean difference +0.0300, 95 % corrected resampled t-test interval +0.0006 to '
                                                            '+0.0594 (t = 2.83, df 4, p = 0.0474; test share 0.25 from n_valid/n_train of the runs): better')


def test_no_correction_is_the_paired_t_test():
    "test_share 0: t and p of scipy's one-sample t-test"
    d = np.random.default_rng(0).normal(0.01, 0.02, 7)
    r, tt = corrected_ttest(d, 0), stats.ttest_1samp(d, 0)
    assert r['t'] == pytest.approx(tt.statistic, rel=1e-10) and r['p'] == pytest.approx(tt.pvalue, rel=1e-10)
    assert corrected_ttest(d, 0.25)['p'] > r['p']  # the correction widens


def test_coverage():
    "Independent normal differences with true mean 0, no correction needed: the 95 % interval holds 0 in 93–97 % of 2,000 sets"
    sims = np.random.default_rng(1).normal(0, 1, (2000, 10))
    cover = np.mean([(r := corrected_ttest(x, 0))['lo'] <= 0 <= r['hi'] for x in sims])
    assert 0.93 <= cover <= 0.97, cover


def test_too_few_or_equal():
    "Under two differences: no interval, more runs asked for; all equal: said, nothing divided by zero"
    for d in ([], [0.01], [0.01, np.nan]):
        r = corrected_ttest(d, 0.25)
        assert math.isnan(r['lo']) and math.isnan(r['t']) and 'more runs' in r['verdict'], r
    r = corrected_ttest([0.02] * 4, 0.25)
    assert math.isnan(r['lo']) and math.isnan(r['p']) and r['verdict'].startswith('all 4 differences equal (+0.0200)')
    assert 'no corrected resampled t-test' in ttest_text(r) and interval_text(r) == '+0.0200 (no interval, n=4)'
    assert corrected_ttest([0.01, -0.02, 0.03], 0.25)['verdict'] == 'not distinguishable (interval includes 0)'


def test_paired_diffs():
    "Inner join on fold × seed of the done runs; fold alone where a table has no seed; several runs of one fold refused"
    a = pd.DataFrame(dict(fold=[0, 0, 1, 1, 2], seed=[0, 1, 0, 1, 0], f1_macro=[.95, .96, .97, .98, .90], status=['done'] * 4 + ['failed']))
    b = pd.DataFrame(dict(fold=[0, 0, 1, 2], seed=[0, 1, 0, 0], f1_macro=[.94, .94, .96, .99]))
    p = paired_diffs(a, b)
    assert p[['fold', 'seed']].values.tolist() == [[0, 0], [0, 1], [1, 0]]
    assert p['diff'].tolist() == pytest.approx([.01, .02, .01])
    cv = pd.DataFrame(dict(fold=[0, 1, 2], f1_macro=[.9, .9, .9]))
    assert paired_diffs(cv, cv.assign(f1_macro=.8))['diff'].tolist() == pytest.approx([.1] * 3)
    with pytest.raises(ValueError, match='several runs of the same fold'): paired_diffs(a[['fold', 'f1_macro']], b)


def test_holdout_share(tmp_path):
    "n_valid/n_train of the runs, else 1/(k-1) for the config's folds, else 5 folds assumed (and said)"
    r1, r2 = tmp_path/'r1', tmp_path/'r2'
    r1.mkdir(); r2.mkdir()
    assert holdout_share([r1]) == (0.25, '1/(k-1) assuming 5 folds (the runs record neither n_train nor n_folds)')
    (r1/'config.yaml').write_text('n_folds: 3\nfolds: [0]\n')
    assert holdout_share([r1]) == (0.5, "1/(k-1) for the config's 3 folds")
    (r1/'metrics.json').write_text(json.dumps(dict(n_train=1440, n_valid=360)))
    (r2/'metrics.json').write_text(json.dumps(dict(n_train=1200, n_valid=600)))
    assert holdout_share([r1, r2]) == (pytest.approx(0.375), 'n_valid/n_train of the runs')
