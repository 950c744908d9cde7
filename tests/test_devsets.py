"Development sets (`defect_devset`): counts, sizes, determinism, the committed tables, and a tiny imbalanced mixed-size colour set trained end to end"
import json, os, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd, pytest
from PIL import Image
from defect_nb.core import shared_dir
from defect_nb.devsets import plan_devset, make_devset, IMBALANCED_COUNTS, LINE_COUNTS

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NEU = shared_dir()/'data'/'neu-det' if shared_dir() else None
HAVE_NEU = NEU is not None and (NEU/'images').is_dir()

def test_line_set_counts_sizes_and_determinism(tmp_path):
    "The line set's default plan: a majority good class (>= 70 %), 5 rare classes, longer sides 100-600 px; same seed, same bytes"
    p = plan_devset('line')
    n = p.label.value_counts()
    assert n['good'] == LINE_COUNTS['good'] and n['good'] / len(p) >= 0.7 and n.size == 6
    assert sorted(n.drop('good').tolist()) == sorted(LINE_COUNTS['defects'])
    longer, shorter = p[['width', 'height']].max(axis=1), p[['width', 'height']].min(axis=1)
    assert longer.between(100, 600).all() and (longer / shorter).max() <= 2.01 and longer.nunique() > 100
    assert not p.label.value_counts().equals(plan_devset('line', seed=1).label.value_counts()) # the seed moves which class is rare
    a = make_devset('line', tmp_path/'a', counts=(15, 5, 5, 5, 5, 5), verbose=False)
    b = make_devset('line', tmp_path/'b', counts=(15, 5, 5, 5, 5, 5), verbose=False)
    assert (a/'manifest.csv').read_bytes() == (b/'manifest.csv').read_bytes()
    assert (a/'folds.csv').read_bytes() == (b/'folds.csv').read_bytes() # the folds file holds a hash of each image's pixels
    m = pd.read_csv(a/'manifest.csv')
    for r in m.itertuples():
        with Image.open(a/r.images) as im: assert im.size == (r.width, r.height) and im.mode == 'RGB'
    assert json.loads((a/'devset.json').read_text())['images'] == 40

def test_devset_cli_refuses_to_overwrite(tmp_path):
    out = tmp_path/'s'
    r = subprocess.run([str(BIN/'defect_devset'), 'line', '-o', str(out), '--counts', '10,5,5,5,5,5'], capture_output=True, text=True)
    assert r.returncode == 0 and 'wrote line' in r.stdout, r.stderr
    r = subprocess.run([str(BIN/'defect_devset'), 'line', '-o', str(out), '--counts', '10,5,5,5,5,5'], capture_output=True, text=True)
    assert r.returncode == 2 and 'already holds a development set' in r.stderr
    r = subprocess.run([str(BIN/'defect_devset'), 'line', '-o', str(tmp_path/'t'), '--counts', '10,1,5,5,5,5'], capture_output=True, text=True)
    assert r.returncode == 2 and "has 1 image(s), fewer than the 5 folds" in r.stderr # a class too small for the folds is named

@pytest.mark.skipif(not HAVE_NEU, reason='NEU images not in ../shared')
def test_neu_sets_match_the_committed_tables():
    "The committed results/devsets/<name>/manifest.csv.gz is what the generator plans from NEU today"
    for name, n in [('neu-imbalanced', sum(IMBALANCED_COUNTS)), ('neu-64', 1800), ('line', None)]:
        p = plan_devset(name, NEU if name != 'line' else None)
        committed = pd.read_csv(ROOT/'results'/'devsets'/name/'manifest.csv.gz', keep_default_na=False)
        pd.testing.assert_frame_equal(p.astype(str), committed.astype(str))
        if n: assert len(p) == n
    p = plan_devset('neu-imbalanced', NEU)
    assert sorted(p.label.value_counts().tolist(), reverse=True) == list(IMBALANCED_COUNTS)
    assert set(plan_devset('neu-64', NEU).width) == {64}

def test_tiny_imbalanced_mixed_size_set_trains_and_report_names_choices(tmp_path):
    "A tiny imbalanced, mixed-size colour set: the fold report trains it and names the class balance chosen (auto: the sampler), the padding, colour and the smallest classes' recall"
    d = make_devset('line', tmp_path/'line', counts=(30, 10, 5, 5, 5, 5), verbose=False)
    out = tmp_path/'r.ipynb'
    env = {**os.environ, 'DEFECT_NB_CACHE': str(tmp_path/'cache'), 'MPLBACKEND': 'Agg'}
    r = subprocess.run([str(BIN/'papermill'), 'nbs/train.ipynb', str(out), '-p', 'data', str(d/'folds.csv'), '-p', 'fold', '1', '-p', 'epochs', '1',
                        '-p', 'img_size', '32', '-p', 'arch', 'resnet18', '-p', 'seed', '1', '-p', 'out_dir', str(tmp_path/'runs')],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    html = out.with_suffix('.html').read_text()
    for s in ['<strong>Class balance</strong>', '<code>class_balance: auto</code> chose <code>sampler</code>', '<strong>Image sizes</strong>: mixed',
              '<code>resize: pad</code>', '<strong>Colour</strong>', 'smallest classes: <strong>']:
        assert s in html, s
    assert 'colour images (RGB)' in html or 'the others colour' in html # a line image whose colour cast is near-neutral reads as grey
    run, = list((tmp_path/'runs').iterdir())
    assert json.loads((run/'model.json').read_text())['resize'] == 'pad' # the export carries it, the scorer applies it
    assert json.loads((run/'model.onnx.json').read_text())['resize'] == 'pad'

def test_committed_devset_tables_rederive_from_committed_runs(tmp_path):
    "results/devsets/*.csv are what devset_table.py computes from the run records committed beside it (results/devsets/runs), which lead nowhere outside the repository"
    src = ROOT/'results'/'devsets'
    runs = sorted(src.glob('runs/*/*/fold*/*/metrics.json'))
    assert runs, "results/devsets/runs holds no run records: the committed tables cannot be re-derived"
    tracked = subprocess.run(['git', 'ls-files', 'results/devsets/runs'], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode == 0: assert {str(p.relative_to(ROOT)) for p in runs} <= set(tracked.stdout.split()), "run records not in git (ignored?)"
    for rec in src.glob('runs/**/*.json'):
        for v in json.dumps(json.loads(rec.read_text())).split('"'):
            if v.startswith('../'): assert ROOT in Path(os.path.normpath(rec.parent/v)).parents, f"{rec}: {v} leads outside the repository"
    import shutil
    shutil.copytree(src, tmp_path/'devsets')
    r = subprocess.run([sys.executable, str(tmp_path/'devsets'/'devset_table.py')], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    for f in sorted(src.glob('devset_*.csv')):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path/'devsets'/f.name), pd.read_csv(f), obj=f.name)
