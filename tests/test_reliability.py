"""Reliability (issue #16): killed runs, reruns and outputs. Nothing lost, nothing silently wrong.

Every case asserts the exact outcome: the error text, the exit code, or the state left behind. Tiny demo
settings throughout (resnet18, 32 px, a few images per class). Kills are real `kill -9`s of the kernel
(its pid is in the run folder's `status.json`) or of the parent (papermill, defect_cv), at markers the
run writes: `status.json` becoming `running`, a `metrics.json` appearing.
"""
import json, os, signal, subprocess, sys, time, warnings
from pathlib import Path
import nbformat, pandas as pd, pytest

from defect_nb.core import Config, ConfigError
from defect_nb.hydrogen import save_config, load_config
from defect_nb.core import DataError, DataWarning
from defect_nb.synth import synth_dataset, defect_synth
from defect_nb.data import discover, build_folds, defect_folds
from defect_nb.sources import resolve_data
from defect_nb.train import train_fold
from defect_nb.runs import run_status, write_status, write_json_atomic, dir_lock
from defect_nb.learner import build_model
from defect_nb.env import file_sha256
from defect_nb.export import export_model
from defect_nb.predict import load_model, defect_predict, ModelFormatError
from defect_nb.render import report_state, render_html
from defect_nb.cv import (fold_status, fold_runs, run_fold_dir, prepare_cv_dir, cv_manifest, dir_lock, defect_cv,
                          BusyError)

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
TINY = dict(arch='resnet18', img_size=32, n_per_class=10, bs=8, seed=1)
CFG = load_config('seed', verbose=False).update(arch='resnet18', img_height=32, img_width=32, epochs=1, bs=8, n_per_class=10, seed=1) # the seed experiment's settings, tiny


@pytest.fixture(scope='module')
def env(tiny_env):
    "`tiny_env`, also for the in-process calls of this module"
    os.environ['DEFECT_NB_CACHE'] = tiny_env['DEFECT_NB_CACHE']; os.environ.pop('DEFECT_NB_DATA', None)
    return tiny_env


def _p(d): return [a for k, v in d.items() for a in ('-p', k, str(v))]

def _wait(pred, timeout=600, proc=None, what='marker'):
    "Poll `pred` every 50 ms until it returns something truthy; fail if `proc` ends first"
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = pred()
        if v: return v
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"process ended (rc {proc.returncode}) before {what}: {(out or '')[-1500:]} {(err or '')[-1500:]}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")

def _running(d):
    "(run folder, kernel pid) of a run below `d` whose status.json says running"
    for f in Path(d).glob('*/status.json'):
        try: s = json.loads(f.read_text())
        except ValueError: continue
        if s['state'] == 'running': return f.parent, s['pid']
    return None

def _gone(pid):
    try: os.kill(pid, 0); return False
    except ProcessLookupError: return True

def _html(p, timeout=180):
    "The text of `p` once the render helper has written it"
    _wait(lambda: p.exists() and p.stat().st_size > 1000, timeout, what=f'{p} rendered')
    time.sleep(0.5)
    return p.read_text()


# ---------------------------------------------------------------- data layouts, files and folds files

def test_neu_det_naming_names_the_file(tmp_path):
    "A file breaking the NEU-DET naming: the error names it (it used to become a one-class folder layout)"
    d = synth_dataset(tmp_path/'det', per_class=2, size=32, verbose=False)
    (d/'images'/'crazing_1.jpg').rename(d/'images'/'IMG 0001.jpg')
    with pytest.raises(DataError, match=r"IMG 0001.jpg breaks the NEU-DET naming images/<class>_<n>.<ext> \(1 of 12 files do\)"):
        discover(d, verbose=False)

def test_skipped_class_folder_is_named(tmp_path):
    "A class folder that discovery skips (here `labels/`, taken for annotations) is reported, not silently lost"
    src = synth_dataset(tmp_path/'s', per_class=2, size=32, verbose=False)
    for c in ('crazing', 'patches', 'labels'):
        (tmp_path/'f'/c).mkdir(parents=True)
        for i in (1, 2): (tmp_path/'f'/c/f'{i}.jpg').write_bytes((src/'images'/f'crazing_{i}.jpg').read_bytes())
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        df = discover(tmp_path/'f', verbose=False)
    assert sorted(df.label.unique()) == ['crazing', 'patches']
    msg = [str(o.message) for o in w if issubclass(o.category, DataWarning)]
    assert msg == [f"skipped folder {tmp_path/'f'/'labels'} (2 image file(s)): masks/annotations folders are never classes; rename it if it is one"]

def test_hand_edited_folds_file_out_of_range(tmp_path, env):
    "A folds file with fold 7 (5 folds): refused before any run folder, naming a row (its rows were never validated)"
    d = synth_dataset(tmp_path/'d', per_class=5, size=32, verbose=False)
    f = build_folds(d, d/'folds.csv', verbose=False)
    t = pd.read_csv(f); t.loc[3, 'fold'] = 7; t.to_csv(f, index=False)
    with pytest.raises(DataError, match=rf"{f}: 1 row\(s\) have a fold outside 0..4 \(e.g. '{t.images[3]}' in fold 7"):
        resolve_data(f, verbose=False)
    with pytest.raises(DataError, match='have a fold outside 0..4'):
        train_fold(CFG.update(n_per_class=None), 0, data=f, out_dir=tmp_path/'runs', quiet=True)
    assert not (tmp_path/'runs').exists()

def test_n_per_class_below_folds_fails_early(tmp_path, env, capsys):
    "n_per_class 3 < 5 folds: train_fold and defect_cv refuse before any folder exists"
    msg = 'n_per_class 3 is smaller than the 5 folds: some folds would get no image of a class; use n_per_class >= 5'
    with pytest.raises(ConfigError, match=msg): train_fold(CFG.update(n_per_class=3), 0, out_dir=tmp_path/'runs', quiet=True)
    assert defect_cv(out_dir=str(tmp_path/'cv'), arch='resnet18', n_per_class=3) == 2
    assert msg in capsys.readouterr().err
    assert not (tmp_path/'runs').exists() and not (tmp_path/'cv').exists()


# ---------------------------------------------------------------- parameter and config mistakes

def test_bad_config_fails_before_run_folder(tmp_path, env):
    "Unknown arch, fp16 on a CPU, an out_dir that cannot be written: errors before a run folder exists"
    with pytest.raises(ConfigError, match="unknown arch 'resnet9'"): train_fold(CFG.update(arch='resnet9'), 0, out_dir=tmp_path/'a', quiet=True)
    assert not list((tmp_path/'a').iterdir())  # the writable check made it, no run folder in it
    with pytest.raises(ConfigError, match="precision 'fp16' is not supported on the CPU"):
        train_fold(CFG.update(precision='fp16'), 0, out_dir=tmp_path/'b', device='cpu', quiet=True)
    assert not list((tmp_path/'b').iterdir())
    (tmp_path/'file').write_text('x')
    with pytest.raises(ConfigError, match=rf"cannot write into the run output folder \(out_dir\) {tmp_path/'file'/'runs'}: Not a directory; pass a writable folder"):
        train_fold(CFG, 0, out_dir=tmp_path/'file'/'runs', quiet=True)

def test_unknown_driver_parameter_fails_at_once(tmp_path, env):
    "papermill -p epoch 3 (for epochs): the report fails in its first cell, naming the known parameters; nothing trains"
    out, runs = tmp_path/'r.ipynb', tmp_path/'runs'
    r = subprocess.run([PY, '-m', 'papermill', 'nbs/train.ipynb', str(out), *_p(dict(TINY, epoch=3, out_dir=runs))],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 1
    assert 'unknown driver parameter key `epoch`; did you mean `epochs`? Valid keys: arch, bs, config, data, epochs, fold' in r.stderr
    assert not runs.exists()
    st = report_state(out)
    assert st['state'] == 'failed' and st['cell'] == 3 and st['error'].startswith('ConfigError: unknown driver parameter key `epoch`')
    assert 'FAILED: this report is not complete' in _html(out.with_suffix('.html'))

def test_defect_cv_bad_arch_before_any_fold(tmp_path, env, capsys):
    "defect_cv --arch resnet9: exit 2 before any fold or CV folder"
    assert defect_cv(out_dir=str(tmp_path/'cv'), arch='resnet9', n_per_class=10) == 2
    assert "unknown arch 'resnet9'" in capsys.readouterr().err
    assert not (tmp_path/'cv').exists()

def test_killed_rerun_is_interrupted(tmp_path):
    "A killed --rerun of a done fold (old report renamed, the new one partial): the fold is interrupted, not done"
    d = tmp_path/'fold0'; run = d/'x-fold0-1'; run.mkdir(parents=True)
    write_status(run, 'done'); (run/'metrics.json').write_text('{}')
    nbformat.write(nbformat.v4.new_notebook(), d/'report-old-1.ipynb'); (d/'report-old-1.html').write_text('<html>')
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x')]); nb.metadata['papermill'] = dict(end_time=None)
    nbformat.write(nb, d/'report.ipynb')
    run2 = d/'x-fold0-2'; run2.mkdir()
    write_json_atomic(run2/'status.json', dict(state='running', pid=2**22+99, host=__import__('socket').gethostname()))
    assert fold_status(d) == 'interrupted' and run_status(run2)['state'] == 'killed' and fold_runs(d) == [run]

def test_papermill_output_is_its_input(tmp_path, env):
    "papermill train.ipynb train.ipynb (papermill itself overwrites the input first): the run stops at once and says how to restore it"
    import shutil
    shutil.copy(ROOT/'nbs'/'train.ipynb', tmp_path/'train.ipynb')
    r = subprocess.run([PY, '-m', 'papermill', 'train.ipynb', 'train.ipynb', *_p(dict(TINY, out_dir=tmp_path/'runs'))],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 1
    assert f"papermill's output notebook {tmp_path/'train.ipynb'} is its input: the driver was overwritten by this run; restore it (git checkout" in r.stderr
    assert not (tmp_path/'runs').exists() and not (tmp_path/'train.html').exists()

def test_defect_cv_unknown_parameter(tmp_path, env, capsys):
    "defect_cv -p epoch 3: exit 2 with the known keys, no CV folder"
    assert defect_cv(out_dir=str(tmp_path/'cv'), p=[['epoch', '3']]) == 2
    assert 'unknown driver parameter key `epoch`; did you mean `epochs`?' in capsys.readouterr().err
    assert not (tmp_path/'cv').exists()

def test_legacy_cv_folder_with_other_config(tmp_path, env):
    "A CV folder from before cv.json is compared with its finished runs' config (seed aside)"
    run = tmp_path/'cv'/'fold0'/'x-fold0-1'; run.mkdir(parents=True)
    save_config(CFG.update(seed=123), run/'config.yaml'); (run/'metrics.json').write_text('{}')
    src = resolve_data(n_per_class=10, verbose=False)
    with pytest.raises(ConfigError, match=r"other settings \(arch: 'resnet18' then, 'resnet34' now\); pass --new"):
        prepare_cv_dir(tmp_path/'cv', cv_manifest(CFG.update(arch='resnet34'), src, {}))
    assert prepare_cv_dir(tmp_path/'cv', cv_manifest(CFG, src, {})) is None  # same config, another seed: goes on
    moved = prepare_cv_dir(tmp_path/'cv', cv_manifest(CFG.update(arch='resnet34'), src, {}), new=True)
    assert (moved/'fold0'/'x-fold0-1'/'config.yaml').exists() and moved.name.startswith('cv-old-')  # kept, not deleted
    assert [p.name for p in (tmp_path/'cv').iterdir()] == ['cv.json']


# ---------------------------------------------------------------- run lifecycle and kills of a single run

def test_run_folder_states(tmp_path, env, monkeypatch):
    "done only with every file written; a failure is recorded with its error"
    res = train_fold(CFG, 0, out_dir=tmp_path/'ok', quiet=True)
    assert run_status(res.run_dir)['state'] == 'done'
    assert {'config.yaml', 'metrics.json', 'history.csv', 'steps.csv', 'oof.csv', 'env.json', 'model.json',
            'model.safetensors', 'status.json'} <= {p.name for p in res.run_dir.iterdir()}
    import defect_nb.train as T
    def boom(*a, **k): raise RuntimeError('disk on fire')
    monkeypatch.setattr(T, 'fit_cfg', boom)
    with pytest.raises(RuntimeError, match='disk on fire'): train_fold(CFG, 0, out_dir=tmp_path/'bad', quiet=True)
    run, = (tmp_path/'bad').iterdir()
    s = run_status(run)
    assert s['state'] == 'failed' and s['error'] == 'RuntimeError: disk on fire' and 'boom' in s['traceback']
    assert not (run/'metrics.json').exists()

@pytest.mark.parametrize('victim', ['kernel', 'papermill'])
def test_kill_single_run(tmp_path, env, victim):
    "kill -9 of the kernel or of papermill mid-training: the run folder reads `killed`, the HTML has the banner"
    out, runs = tmp_path/'r.ipynb', tmp_path/'runs'
    proc = subprocess.Popen([PY, '-m', 'papermill', 'nbs/train.ipynb', str(out), *_p(dict(TINY, epochs=50, out_dir=runs))],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run, pid = _wait(lambda: runs.exists() and _running(runs), proc=proc, what='status running')
    os.kill(pid if victim == 'kernel' else proc.pid, signal.SIGKILL)
    proc.communicate(timeout=300)
    assert proc.returncode != 0
    _wait(lambda: _gone(pid), 60, what='kernel gone')  # killed, or exits when its parent is gone
    assert run_status(run)['state'] == 'killed' and not (run/'metrics.json').exists()
    assert report_state(out)['state'] in ('failed', 'interrupted')
    h = _html(out.with_suffix('.html'))
    assert 'this report is not complete' in h and ('INTERRUPTED' in h if victim == 'papermill' else True)


# ---------------------------------------------------------------- kills during defect_cv, concurrent runs, resume, changed settings

def test_defect_cv_kills_and_resume(tmp_path, env, capsys):
    "Kill the kernel during fold 0's training, then defect_cv after fold 1's metrics.json; a second defect_cv meanwhile is refused; the rerun finishes; other settings are refused"
    cv = tmp_path/'cv'
    args = ['--folds', '0,1', '--out_dir', str(cv), '--arch', 'resnet18', '--img_size', '32', '--n_per_class', '10',
            '--epochs', '3', '--seed', '1', '-p', 'bs', '8']
    proc = subprocess.Popen([PY, '-m', 'defect_nb.cv', *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run0, pid0 = _wait(lambda: (cv/'fold0').exists() and _running(cv/'fold0'), proc=proc, what='fold 0 running')
    # concurrent: a second defect_cv into the same folder is refused at once
    rc = defect_cv(folds='0,1', out_dir=str(cv), arch='resnet18', img_size=32, n_per_class=10, epochs=3, seed=1, p=[['bs', '8']])
    assert rc == 2 and f"CV folder {cv} is in use by pid {proc.pid}" in capsys.readouterr().err
    os.kill(pid0, signal.SIGKILL)  # the kernel of fold 0, mid-training
    m1 = _wait(lambda: list((cv/'fold1').glob('*/metrics.json')), proc=proc, what='fold 1 metrics.json')
    run1 = m1[0].parent
    _wait(lambda: run_status(run1)['state'] == 'done', 60, proc=proc, what='fold 1 run done')
    os.kill(proc.pid, signal.SIGKILL)  # defect_cv itself, after fold 1's metrics, before its report is finished
    proc.communicate(timeout=60)
    _wait(lambda: _gone(json.loads((run1/'status.json').read_text())['pid']), 60, what='fold 1 kernel gone')
    assert run_status(run0)['state'] == 'killed' and fold_status(cv/'fold0') == 'failed'
    assert 'DeadKernelError' in json.loads((cv/'fold0'/'error.json').read_text())['error']
    assert 'INTERRUPTED: this report is not complete' in next((cv/'fold0').glob('report-failed-*.html')).read_text()
    assert fold_status(cv/'fold1') == 'interrupted'  # it used to count as done forever
    assert not (cv/'fold1'/'report.html').exists()

    # the next defect_cv finishes the CV; nothing earlier is lost
    r = subprocess.run([PY, '-m', 'defect_nb.cv', *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert 'fold 0: done' in r.stdout and 'fold 1: done' in r.stdout
    assert [fold_status(cv/f'fold{k}') for k in (0, 1)] == ['done', 'done']
    assert pd.read_csv(cv/'cv_folds.csv')['status'].tolist() == ['done', 'done'] and (cv/'cv_report.html').exists()
    assert run0.exists() and run1.exists()  # kept where they were
    assert list((cv/'fold0').glob('error-old-*.json')) and list((cv/'fold1').glob('report-interrupted-*.ipynb'))
    assert len(fold_runs(cv/'fold1')) == 2 and len(fold_runs(cv/'fold0')) == 1  # the killed fold-0 run is not counted
    assert 'this report is not complete' not in (cv/'fold1'/'report.html').read_text()

    # other settings into the same folder: refused, naming the difference; nothing runs
    before = sorted(p.name for p in cv.rglob('*'))
    rc = defect_cv(folds='0,1', out_dir=str(cv), arch='resnet34', img_size=32, n_per_class=10, epochs=3, seed=1, p=[['bs', '8']])
    err = capsys.readouterr().err
    assert rc == 2 and "arch: 'resnet18' then, 'resnet34' now" in err and 'pass --new' in err
    assert sorted(p.name for p in cv.rglob('*')) == before
    # the same settings: every fold skipped
    r = subprocess.run([PY, '-m', 'defect_nb.cv', *args, '--no_report'], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and r.stdout.count('already done, skipped') == 2, (r.stdout + r.stderr)[-2000:]


def test_concurrent_runs_one_out_dir(tmp_path, env):
    "Two trainings into one out_dir at the same time: two run folders, both done"
    code = ("import sys; from defect_nb.core import Config; from defect_nb.train import train_fold\n"
            "train_fold(Config(arch='resnet18', img_height=32, img_width=32, epochs=1, bs=8, n_per_class=10, seed=1, experiment_name='same'), "
            f"0, out_dir={str(tmp_path/'runs')!r}, quiet=True)")
    ps = [subprocess.Popen([PY, '-c', code], env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in ps: assert p.wait(timeout=600) == 0, p.stderr.read()[-2000:]
    runs = list((tmp_path/'runs').iterdir())
    assert len(runs) == 2 and all(run_status(r)['state'] == 'done' for r in runs)

def test_sweep_folder_busy(tmp_path, env):
    "A sweep folder held by another command: defect_sweep exits 2, saying so"
    spec = tmp_path/'s.yaml'; spec.write_text(json.dumps(dict(grid=dict(lr=[0.001]), folds=[0], seeds=[1], params=dict(epochs=1))))
    with dir_lock(tmp_path/'out', 'sweep folder'):
        r = subprocess.run([PY, '-m', 'defect_nb.sweep', str(spec), '--out_dir', str(tmp_path/'out')], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and f"sweep folder {tmp_path/'out'} is in use by pid {os.getpid()}" in r.stderr


# ---------------------------------------------------------------- existing and unwritable outputs, inputs

@pytest.fixture(scope='module')
def model(tmp_path_factory):
    "An (untrained) exported resnet18 at 32 px and a few images"
    d = tmp_path_factory.mktemp('model')
    export_model(build_model('resnet18', 6), d/'m', CFG, ['crazing', 'inclusion', 'patches', 'pitted_surface', 'rolled-in_scale', 'scratches'],
                 ([.5]*3, [.25]*3))
    imgs = synth_dataset(d/'data', per_class=1, size=32, verbose=False)/'images'
    return d/'m', imgs

def test_predict_outputs_checked_first(tmp_path, model, capsys):
    "Existing, input, unwritable outputs and Grad-CAM folders: exit 2 with one line, before any scoring"
    m, imgs = model
    (tmp_path/'p.csv').write_text('keep me')
    cases = [(dict(o=str(tmp_path/'p.csv')), f"{tmp_path/'p.csv'} exists; pass --force to replace it"),
             (dict(o=str(imgs/'crazing_1.jpg'), force=True), f"the output {imgs/'crazing_1.jpg'} is one of the input images; pass another -o"),
             (dict(o=str(tmp_path/'p.csv'/'sub'/'x.csv')), f"cannot write {tmp_path/'p.csv'/'sub'/'x.csv'}: Not a directory; pass a writable -o"),
             (dict(cam=str(imgs/'cams')), f"--cam {imgs/'cams'} is inside an input folder"),
             (dict(cam=str(tmp_path)), f"--cam {tmp_path} is not empty; pass --force")]
    for kw, msg in cases:
        assert defect_predict(str(m), [str(imgs)], **kw) == 2
        err = capsys.readouterr().err
        assert err.startswith('defect_predict: error: ') and msg in err and err.count('\n') == 1, err
    assert (tmp_path/'p.csv').read_text() == 'keep me' and not (imgs/'cams').exists()

def test_predict_write_failure_after_scoring(tmp_path, model, capsys, monkeypatch):
    "The output cannot be written at the end: exit 3, one line, the scores saved elsewhere (no traceback, no lost work)"
    m, imgs = model
    real = os.replace
    def full(a, b):
        if str(b).endswith('p.csv'): raise OSError(28, 'No space left on device')
        return real(a, b)
    monkeypatch.setattr(os, 'replace', full)
    assert defect_predict(str(m), [str(imgs)], o=str(tmp_path/'p.csv')) == 3
    err = capsys.readouterr().err
    assert f"cannot write {tmp_path/'p.csv'} (No space left on device); the scores of all 6 images were saved to " in err
    keep = Path(err.split('saved to ')[1].split(' instead')[0])
    assert len(pd.read_csv(keep)) == 6; keep.unlink()

def test_synth_and_folds_never_overwrite(tmp_path, capsys):
    "defect_synth into a folder holding an image of the same name, defect_folds over an existing file or its input: exit 2, files intact"
    (tmp_path/'d'/'images').mkdir(parents=True)
    real = tmp_path/'d'/'images'/'crazing_1.jpg'; real.write_bytes(b'a real image')
    assert defect_synth.cli([str(tmp_path/'d'), '--per-class', '2']) == 2
    assert 'already holds 1 of the files the demo generator writes (e.g. crazing_1.jpg)' in capsys.readouterr().err
    assert real.read_bytes() == b'a real image' and len(list((tmp_path/'d'/'images').iterdir())) == 1
    d = synth_dataset(tmp_path/'ok', per_class=5, size=32, verbose=False)
    (tmp_path/'f.csv').write_text('mine')
    assert defect_folds.cli([str(d), '-o', str(tmp_path/'f.csv')]) == 2
    assert 'f.csv exists; pass --force to replace it' in capsys.readouterr().err
    assert (tmp_path/'f.csv').read_text() == 'mine'
    pd.DataFrame(dict(images=['images/crazing_1.jpg', 'images/patches_1.jpg'], label=['crazing', 'patches'])).to_csv(d/'ht.csv', index=False)
    assert defect_folds.cli([str(d/'ht.csv'), '-o', str(d/'ht.csv'), '--force']) == 2
    assert 'is the input CSV' in capsys.readouterr().err
    assert defect_folds.cli([str(d), '-o', str(tmp_path/'f.csv'), '--force']) == 0
    assert len(pd.read_csv(tmp_path/'f.csv')) == 30


# ---------------------------------------------------------------- tampered model files

def test_tampered_models(tmp_path, model, capsys):
    "Changed weights, reordered classes, another input size or class count: load_model names what disagrees"
    import shutil
    m = tmp_path/'m'; shutil.copytree(model[0], m)
    meta = json.loads((m/'model.json').read_text())
    assert meta['weights_sha256'] == file_sha256(m/'model.safetensors')
    def with_meta(**kw): (m/'model.json').write_text(json.dumps({**meta, **kw}))
    with_meta(classes=meta['classes'][::-1])
    with pytest.raises(ModelFormatError, match=r"disagrees with model.safetensors \(classes: model.json \[\"scratches\""): load_model(m)
    with_meta(img_height=64, img_width=64)
    with pytest.raises(ModelFormatError, match=r"\(img_size: model.json 64x64 vs weights 32x32\)"): load_model(m)
    with_meta(n_out=5, classes=meta['classes'][:5])
    with pytest.raises(ModelFormatError, match='lists 5 classes but the head in model.safetensors has 6 outputs'): load_model(m)
    assert defect_predict(str(m), [str(model[1])]) == 2
    assert 'lists 5 classes but the head' in capsys.readouterr().err
    with_meta()
    b = bytearray((m/'model.safetensors').read_bytes()); b[-5] ^= 0xFF; (m/'model.safetensors').write_bytes(bytes(b))
    with pytest.raises(ModelFormatError, match=r"does not match the checksum in model.json \(sha256 .*expected .*re-export the model"): load_model(m)
    # an export from before checksums: loads unchecked
    shutil.copy(model[0]/'model.safetensors', m/'model.safetensors')
    (m/'model.json').write_text(json.dumps({k: v for k, v in meta.items() if k != 'weights_sha256'}))
    assert load_model(m).classes == meta['classes']
    (m/'model.safetensors').unlink()
    with pytest.raises(FileNotFoundError, match='model.safetensors missing'): load_model(m)
