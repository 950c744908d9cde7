"Sweeps and Ray: defect_sweep and defect_cv on tiny demo settings, with the local and the ray backend"
import json, os, subprocess, sys
from pathlib import Path
import pandas as pd, pytest, yaml
from defect_nb.core import ConfigError
from defect_nb.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
# tiny folds: 32 px, resnet18, 10 demo images per class, one epoch, no Grad-CAM (a config key: via the trial's config.yaml)
TINY = dict(epochs=1, img_size=32, arch='resnet18', n_per_class=10, bs=8, run_interpretations=False)
METRICS = ['f1_macro', 'accuracy', 'valid_loss']
TINY_CV = ['--epochs', '1', '--img_size', '32', '--arch', 'resnet18', '--n_per_class', '10', '-p', 'bs', '8']

@pytest.fixture(scope='module')
def env(tiny_env): return tiny_env

def _run(args, env, cwd, timeout=900):
    return subprocess.run([PY, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)

def _spec(path, schedules):
    path.write_text(json.dumps(dict(grid=dict(schedule=schedules), folds=[0, 1], seeds=[1], params=TINY)))  # JSON is YAML
    return path

def _folds(d): return pd.read_csv(d/'sweep_folds.csv').sort_values(['trial', 'fold', 'seed']).reset_index(drop=True)

def test_sweep_ray_local_resume(tmp_path, env):
    "3 trials × 2 folds on a local Ray (one trial raises in its report), the same 2 good trials locally; same metrics; reruns skip"
    ray_out, loc_out = tmp_path/'ray', tmp_path/'local'
    r = _run(['-m', 'defect_nb.sweep', str(_spec(tmp_path/'s3.yaml', ['cosine', 'one_cycle', 'bogus'])), '--out_dir', str(ray_out),
              '--backend', 'ray', '--num_cpus', '2', '--cpus_per_trial', '1', '--gpus_per_trial', '0'], env, tmp_path)
    assert r.returncode == 1, (r.stdout + r.stderr)[-3000:]  # one trial not done
    assert '1 trial(s) not done' in r.stderr and 'schedule=bogus' in r.stderr
    lb = pd.read_csv(ray_out/'leaderboard.csv')
    assert len(lb) == 3 and lb['rank'].tolist() == [1, 2, 3]
    assert lb['status'].tolist() == ['done', 'done', 'failed'] and lb['runs'].tolist() == ['2/2', '2/2', '0/2']
    assert set(lb['schedule']) == {'cosine', 'one_cycle', 'bogus'}
    bad = lb.iloc[2]
    assert bad['schedule'] == 'bogus' and "config `schedule`: 'bogus' is not valid" in bad['errors']  # the report's error, per fold
    for rel in ' '.join(lb['reports'].iloc[:2]).split(): assert (ray_out/rel).is_file(), rel  # relative links resolve
    html = (ray_out/'leaderboard.html').read_text()
    assert all(t in html for t in lb['trial']) and 'report.html"' in html
    for t in lb['trial']:
        assert (ray_out/t/'trial.json').exists() and (ray_out/t/'config.yaml').exists()  # run_interpretations goes via config.yaml
    assert len(list(ray_out.glob('*schedule=bogus*/fold*-seed1/error.json'))) == 2

    r = _run(['-m', 'defect_nb.sweep', str(_spec(tmp_path/'s2.yaml', ['cosine', 'one_cycle'])), '--out_dir', str(loc_out)], env, tmp_path)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    a, b = _folds(ray_out), _folds(loc_out)
    a = a[a['status'] == 'done'].reset_index(drop=True)
    assert a['trial'].tolist() == b['trial'].tolist() and len(b) == 4  # same trial ids for the same parameters
    assert a['fold'].tolist() == b['fold'].tolist() == [0, 1, 0, 1]
    pd.testing.assert_frame_equal(a[METRICS], b[METRICS], atol=1e-4)  # same seeds, same metrics, whichever backend
    assert all(not Path(d).is_absolute() and (loc_out/d).is_dir() for d in b['fold_dir'])  # portable: relative to the sweep folder

    r = _run(['-m', 'defect_nb.sweep', str(tmp_path/'s2.yaml'), '--out_dir', str(loc_out)], env, tmp_path)
    assert r.returncode == 0 and r.stdout.count('already done, skipped') == 4, r.stdout[-2000:]
    assert len(list(loc_out.glob('*/fold*/*/metrics.json'))) == 4  # nothing retrained
    assert list(loc_out.glob('leaderboard-old-*.csv'))  # the earlier leaderboard is kept

    r = _run(['-m', 'defect_nb.sweep', str(tmp_path/'s3.yaml'), '--out_dir', str(ray_out)], env, tmp_path)  # no --retry_failed
    assert r.returncode == 1 and r.stdout.count('failed before, skipped') == 2 and r.stdout.count('already done, skipped') == 4, r.stdout[-2000:]

def test_cv_ray_matches_local(tmp_path, env):
    "defect_cv --backend ray on a local Ray writes the same per-fold CV table as the local backend"
    args = ['--folds', '1', *TINY_CV, '-p', 'seed', '3']
    r = _run(['-m', 'defect_nb.cv', *args, '--out_dir', str(tmp_path/'ray'), '--backend', 'ray', '--num_cpus', '2', '--gpus_per_trial', '0'], env, tmp_path)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert 'ray backend' in r.stdout and (tmp_path/'ray'/'cv_report.html').exists()
    r = _run(['-m', 'defect_nb.cv', *args, '--out_dir', str(tmp_path/'local'), '--no_report'], env, tmp_path)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    a, b = (pd.read_csv(tmp_path/d/'cv_folds.csv') for d in ('ray', 'local'))
    assert a['status'].tolist() == b['status'].tolist() == ['done']
    pd.testing.assert_frame_equal(a[['fold', 'n_valid', *METRICS]], b[['fold', 'n_valid', *METRICS]], atol=1e-4)
    assert len(pd.read_csv(tmp_path/'ray'/'cv_oof.csv')) == a['n_valid'].sum()

def test_cli_errors(tmp_path, env):
    "Unknown -p keys and sweep keys name the known ones; --backend ray without Ray says how to install it"
    r = _run(['-m', 'defect_nb.cv', '-p', 'epoch', '1', '--out_dir', str(tmp_path/'cv'), *TINY_CV], env, tmp_path, timeout=120)
    assert r.returncode == 2 and 'did you mean `epochs`' in r.stderr and 'n_per_class' in r.stderr, r.stderr
    spec = tmp_path/'s.yaml'; spec.write_text('grid: {lrr: [0.1, 0.01]}\n')
    r = _run(['-m', 'defect_nb.sweep', str(spec), '--out_dir', str(tmp_path/'sw')], env, tmp_path, timeout=120)
    assert r.returncode == 2 and 'did you mean `lr`' in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    argv = ['defect_cv', '--backend', 'ray', '--folds', '0', '--out_dir', str(tmp_path/'cv'), *TINY_CV]
    code = f"import sys, runpy; sys.modules['ray'] = None; sys.argv = {argv!r}; runpy.run_module('defect_nb.cv', run_name='__main__')"
    r = _run(['-c', code], env, tmp_path, timeout=120)
    assert r.returncode == 2 and r.stderr.strip() == 'defect_cv: error: --backend ray needs Ray, which is not installed: pip install -e ".[ray]"', r.stderr

def test_sweep_refuses_other_data(tmp_path, env, monkeypatch):
    "A sweep folder started on other data is refused before any trial runs (its finished trials would be taken as done)"
    monkeypatch.setenv('DEFECT_NB_CACHE', env['DEFECT_NB_CACHE']); monkeypatch.delenv('DEFECT_NB_DATA', raising=False)
    out = tmp_path/'out'; out.mkdir()
    (out/'sweep.json').write_text(json.dumps({'data': {'path': '/elsewhere', 'folds_sha256': '0'*64}}))
    spec = tmp_path/'s.yaml'; spec.write_text(yaml.safe_dump(dict(grid={'lr': [0.001]}, folds=[0], seeds=[0], out_dir=str(out), params=dict(n_per_class=10))))
    with pytest.raises(ConfigError, match='holds a sweep started on other data'): run_sweep(spec)
    assert [p.name for p in out.iterdir() if p.name != '.lock'] == ['sweep.json']  # no trial folder made

def test_sweep_optuna_resume(tmp_path, env):
    "An `optuna` spec through the CLI: 2 trials of real tiny folds ranked in the leaderboard; raising n_trials to 3 resumes the study and runs one more"
    pytest.importorskip('optuna')
    spec = dict(optuna=dict(n_trials=2, sampler_seed=3, space=dict(lr=dict(low=1.0e-3, high=1.0e-2, log=True))),
                folds=[0], seeds=[1], params=TINY)
    (tmp_path/'o.yaml').write_text(json.dumps(spec)); out = tmp_path/'opt'
    r = _run(['-m', 'defect_nb.sweep', str(tmp_path/'o.yaml'), '--out_dir', str(out)], env, tmp_path)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert 'Optuna search of 2 trial(s)' in r.stdout and 'study: 2 of 2 trial(s) finished: 2 complete' in r.stdout, r.stdout[-2000:]
    lb = pd.read_csv(out/'leaderboard.csv')
    assert len(lb) == 2 and lb['status'].tolist() == ['done', 'done'] and lb['lr'].nunique() == 2
    assert lb['f1_macro'].is_monotonic_decreasing and (out/'optuna.journal').exists()
    assert all(1e-3 <= v <= 1e-2 for v in lb['lr'])
    spec['optuna']['n_trials'] = 3; (tmp_path/'o.yaml').write_text(json.dumps(spec))
    r = _run(['-m', 'defect_nb.sweep', str(tmp_path/'o.yaml'), '--out_dir', str(out)], env, tmp_path)
    assert r.returncode == 0 and '2 of 3 trial(s) finished before' in r.stdout, (r.stdout + r.stderr)[-3000:]
    assert len(pd.read_csv(out/'leaderboard.csv')) == 3 and len(list(out.glob('*/fold*/*/metrics.json'))) == 3  # the first two not retrained
    spec['optuna']['sampler_seed'] = 4; (tmp_path/'o.yaml').write_text(json.dumps(spec))
    r = _run(['-m', 'defect_nb.sweep', str(tmp_path/'o.yaml'), '--out_dir', str(out)], env, tmp_path)
    assert r.returncode != 0 and 'started with other sampler_seed' in r.stderr, (r.stdout + r.stderr)[-2000:]
