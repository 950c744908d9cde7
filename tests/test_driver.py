"End to end: the papermill fold report and defect_cv on tiny demo settings"
import json, os, re, subprocess, sys, time
from pathlib import Path
import nbformat, pandas as pd, pytest, yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TINY = ['-p', 'epochs', '1', '-p', 'img_size', '64', '-p', 'arch', 'resnet18', '-p', 'n_per_class', '20', '-p', 'seed', '1']

def _env(tmp_path):
    env = {**os.environ, 'DEFECT_NB_CACHE': str(tmp_path/'cache'), 'MPLBACKEND': 'Agg'}
    env.pop('DEFECT_NB_DATA', None)
    return env

def _outputs(nb):
    return [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', [])]

def _check_page(html:str, title:str):
    "A rendered report as issue 14 asks: titled `<title> · F1 x`, the verdict block its first output, nothing fetched from outside the file, at most 700 KB"
    assert re.search(rf'<title>{re.escape(title)} · F1 \d\.\d{{3}}</title>', html), html[:400]
    body = html[html.find('<body'):]
    first = body.find('jp-OutputArea-output'); second = body.find('jp-OutputArea-output', first + 1)
    assert 0 < first < body.find(f'{title} · macro F1 <strong>') < second  # the verdict heading is in the first output
    assert not re.search(r'<script\b[^>]*\bsrc=|<link\b[^>]*\bhref=|@import|url\(\s*[\'"]?(https?:)?//|<img\b[^>]*\bsrc=[\'"]?(https?:)?//', html, re.I)
    assert len(html.encode()) <= 700_000, len(html.encode())

def test_papermill_fold_report(tmp_path):
    "The README's command on tiny settings: executed notebook, HTML beside it, and a run folder with metrics"
    out, runs = tmp_path/'fold4.ipynb', tmp_path/'runs'
    r = subprocess.run([str(BIN/'papermill'), 'nbs/train.ipynb', str(out), '-p', 'fold', '4', *TINY, '-p', 'out_dir', str(runs)],
                       cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    nb = nbformat.read(out, as_version=4)
    text = json.dumps([o for o in _outputs(nb)])
    assert 'DEMO DATA' in text and 'error' not in [o.output_type for o in _outputs(nb)]
    for section in ['## Data', '## Config', '## Training', '## Results', '## Top losses', '## Grad-CAM', '## Timing']:
        assert any(c.cell_type == 'markdown' and c.source.startswith(section) for c in nb.cells), section
    assert sum('image/png' in o.get('data', {}) for o in _outputs(nb)) >= 5  # samples, curves, confusion, top losses, Grad-CAM
    html = out.with_suffix('.html')  # written by the driver's last cell: it exists the moment papermill returns
    assert html.exists() and '<html' in html.read_text()[:2000].lower() and 'data:image/png;base64' in html.read_text()
    assert 'not complete' not in html.read_text()
    assert 'look at the defect' not in html.read_text()  # the demo set has no box files: no localisation section, no error
    _check_page(html.read_text(), 'recipe · fold 4')
    run, = list(runs.iterdir())
    assert not (run/'cam_scores.csv').exists()
    m = json.loads((run/'metrics.json').read_text())
    assert m['fold'] == 4 and m['data']['is_demo'] and 0 <= m['f1_macro'] <= 1 and m['seed'] == 1
    cfg = yaml.safe_load((run/'config.yaml').read_text())
    assert cfg['folds'] == [4] and cfg['seed'] == 1  # the run's config records the fold it trained and the seed it used
    env = json.loads((run/'env.json').read_text())
    assert (run/env['executable']).parent.resolve() == BIN.resolve()  # the kernel ran this venv's Python (recorded relative to the run folder)
    oof = pd.read_csv(run/'oof.csv')
    assert (oof['fold'] == 4).all() and len(oof) == m['n_valid']
    assert abs(oof.filter(like='prob_').sum(1) - 1).max() < 1e-4
    assert 'ONNX model agrees' in html.read_text() and (run/'model.onnx').exists()  # the report exported the run and checked the graph
    assert json.loads((run/'model.onnx.json').read_text())['check']['agrees']
    assert '<strong>Calibration</strong>' in html.read_text() and 'Auto-accept</strong>' in html.read_text()  # the calibration section, judged on halves
    assert json.loads((run/'calibration.json').read_text())['format'] == 'defect_nb.calibration/1'  # written beside the model

def test_fold_report_scores_cam_against_boxes(tmp_path):
    "A data set with a box file per image (NEU-DET layout): the report gets the localisation section and the run keeps its scores"
    sys.path.insert(0, str(ROOT))
    from defect_nb.synth import synth_dataset
    data = synth_dataset(tmp_path/'det', per_class=10, size=64, verbose=False)
    (data/'annotations').mkdir()
    for i, p in enumerate(sorted((data/'images').iterdir())):  # the left half of every image but the first
        if i: (data/'annotations'/f'{p.stem}.xml').write_text("<annotation><object><name>d</name><bndbox><xmin>1</xmin><ymin>1</ymin>"
                                                              "<xmax>32</xmax><ymax>64</ymax></bndbox></object></annotation>")
    out, runs = tmp_path/'fold0.ipynb', tmp_path/'runs'
    r = subprocess.run([str(BIN/'papermill'), 'nbs/train.ipynb', str(out), '-p', 'fold', '0', *TINY[:9], '-p', 'seed', '1', '-p', 'data', str(data),
                        '-p', 'out_dir', str(runs)], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    html = out.with_suffix('.html').read_text()
    assert 'Does the model look at the defect?' in html and 'pointing game' in html and 'not complete' not in html
    run, = list(runs.iterdir())
    oof, loc = pd.read_csv(run/'oof.csv'), pd.read_csv(run/'cam_scores.csv')
    first = sorted((data/'images').iterdir())[0].name
    assert len(loc) == len(oof) - oof['images'].str.endswith('/' + first).sum()  # every validation image with a box file
    scored = loc.dropna(subset=['energy'])  # an all-zero map (no positive evidence: frequent after one tiny epoch) has no score
    assert len(scored) and (loc['chance'] == .5).all() and scored['pointing'].isin([0., 1.]).all() and scored['energy'].between(0, 1).all()
    assert loc['pointing'].isna().sum() == loc['energy'].isna().sum()
    assert f"{loc['energy'].isna().sum()} image(s) had an empty map" in html
    assert (loc['correct'] == (loc['label'] == loc['pred'])).all()

def _nb(*cells):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    return nb

def test_render_after_papermill_with_cwd(tmp_path):
    "`papermill in.ipynb out.ipynb --cwd DIR`: the kernel runs in DIR, the report is still found and rendered beside out.ipynb"
    code = "import os\nfrom defect_nb.render import render_after_papermill, finish_report\nprint(os.getcwd(), render_after_papermill())"
    nb = _nb(code, "print('the last section')", "finish_report()")
    nbformat.write(nb, tmp_path/'in.ipynb'); (tmp_path/'sub').mkdir()
    tmp = tmp_path.resolve()
    # relative --cwd, no PWD (not started by a shell); absolute --cwd, PWD as a shell sets it
    for out, cwd, pwd in (('out1.ipynb', 'sub', None), ('out2.ipynb', str(tmp/'sub'), str(tmp))):
        env = _env(tmp_path); env.pop('PWD', None)
        if pwd: env['PWD'] = pwd
        r = subprocess.run([str(BIN/'papermill'), 'in.ipynb', out, '--cwd', cwd], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        printed = ''.join(o.get('text', '') for o in _outputs(nbformat.read(tmp_path/out, as_version=4)) if o.get('name') == 'stdout').split()
        html = tmp/out.replace('.ipynb', '.html')
        assert printed[:2] == [str(tmp/'sub'), str(html)], printed
        text = html.read_text()  # there the moment papermill returns: no process left behind to write it
        assert '<html' in text[:2000].lower() and 'the last section' in text and 'not complete' not in text
    assert not list((tmp_path/'sub').iterdir())  # nothing written where the kernel ran
    assert sorted(p.name for p in tmp_path.glob('*.html')) == ['out1.html', 'out2.html']

def test_failed_report_rendered(tmp_path):
    "A cell that raises under papermill's CLI: papermill fails, and the HTML already says where and why"
    nb = _nb("from defect_nb.render import render_after_papermill, finish_report\nrender_after_papermill()",
             "print('before the error')", "raise ValueError('no such fold: 9')", "print('never run')", "finish_report()")
    nbformat.write(nb, tmp_path/'in.ipynb')
    (tmp_path/'out.html').write_text('an earlier report')
    r = subprocess.run([str(BIN/'papermill'), 'in.ipynb', 'out.ipynb'], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    text = (tmp_path/'out.html').read_text()
    assert 'FAILED: this report is not complete' in text and 'at code cell 3 of 5' in text and 'ValueError: no such fold: 9' in text
    assert 'before the error' in text and 'never run' not in text
    old, = tmp_path.glob('out-old-*.html')  # the earlier report is kept, not overwritten
    assert old.read_text() == 'an earlier report'
    log = tmp_path/'out.render.log'  # the kill watcher: it sees the run's own HTML and leaves it alone
    for _ in range(40):
        if not log.exists(): break
        time.sleep(0.25)
    assert not log.exists() and (tmp_path/'out.html').read_text() == text and len(list(tmp_path.glob('out-old-*.html'))) == 1

def test_defect_cv_resumes(tmp_path):
    "Two tiny folds (fastai head), the CV report, and a rerun that skips the finished folds"
    cv = tmp_path/'cv'
    cmd = [str(BIN/'defect_cv'), '--folds', '0,1', '--out_dir', str(cv), '--epochs', '1', '--img_size', '48',
           '--arch', 'resnet18', '--head', 'fastai', '--n_per_class', '15', '--seed', '2']
    r = subprocess.run(cmd, cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert 'fold 0: done' in r.stdout and 'fold 1: done' in r.stdout
    for k in (0, 1): assert (cv/f'fold{k}'/'report.html').exists()
    run0, = (cv/'fold0').glob('*/model.json')
    assert json.loads(run0.read_text())['head'] == 'fastai'  # the --head override reached the model and its export
    assert (cv/'cv_report.ipynb').exists() and (cv/'cv_report.html').exists()
    _check_page((cv/'cv_report.html').read_text(), 'recipe · 2-fold CV')
    for k in (0, 1): _check_page((cv/f'fold{k}'/'report.html').read_text(), f'recipe · fold {k}')
    folds = pd.read_csv(cv/'cv_folds.csv')
    assert folds['status'].tolist() == ['done', 'done'] and folds['f1_macro'].between(0, 1).all()
    assert len(pd.read_csv(cv/'cv_oof.csv')) == folds['n_valid'].sum()
    r2 = subprocess.run(cmd, cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=600)
    assert r2.returncode == 0 and r2.stdout.count('already done, skipped') == 2, r2.stdout[-2000:]
    assert len(list((cv/'fold0').glob('*/metrics.json'))) == 1  # not retrained
    assert list(cv.glob('cv_report-old-*.ipynb'))  # the earlier summary is kept, not overwritten

def test_compare_report(tmp_path, monkeypatch):
    "Two runs side by side: config diff, metrics and curves, rendered"
    from defect_nb.core import Config
    from defect_nb.train import train_fold
    from defect_nb.compare import compare_report
    monkeypatch.setenv('DEFECT_NB_CACHE', str(tmp_path/'cache'))
    base = Config(arch='resnet18', img_height=32, img_width=32, epochs=1, bs=8, n_per_class=10, seed=3, schedule='cosine')
    a = train_fold(base, 0, out_dir=tmp_path/'runs', quiet=True)
    b = train_fold(base.update(schedule='one_cycle'), 0, out_dir=tmp_path/'runs', quiet=True)
    out = compare_report([a.run_dir, b.run_dir], tmp_path/'compare.ipynb', names=['cosine', 'one_cycle'])
    nb = nbformat.read(out, as_version=4)
    text = json.dumps(_outputs(nb))
    assert 'one_cycle' in text and 'schedule' in text and 'f1_macro' in text
    assert any('image/png' in o.get('data', {}) for o in _outputs(nb))
    assert out.with_suffix('.html').exists()
