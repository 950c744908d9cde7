"""End-to-end tests of the model that leaves the notebook: `defect_export` on a trained run, `defect_score` in a fresh
virtual environment without torch or fastai, and `defect_serve` as a real server process on loopback"""
import json, os, shutil, socket, subprocess, sys, time, venv
from pathlib import Path
import numpy as np, pandas as pd, pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    "A demo run exported to ONNX and int8 with the `defect_export` console script"
    from defect_nb.deploy import demo_run
    from defect_nb.images import find_images
    d = tmp_path_factory.mktemp('deploy')
    run = demo_run(d)
    r = subprocess.run([str(BIN/'defect_export'), str(run), '-o', str(d/'export'), '--int8', '--n_calib', '24'],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr + r.stdout
    return dict(dir=d, run=run, out=d/'export', images=find_images([d/'demo'/'images']), log=r.stdout)


def test_export_cli(exported):
    "The export folder holds both graphs with their JSON and the run's calibration; fp32 agrees with torch, int8 states its agreement and F1 beside fp32"
    out = exported['out']
    assert sorted(f.name for f in out.iterdir()) == ['calibration.json', 'model-int8.onnx', 'model-int8.onnx.json', 'model.onnx', 'model.onnx.json']
    assert (out/'calibration.json').read_text() == (exported['run']/'calibration.json').read_text()  # the scorers read it beside the graph
    j = json.loads((out/'model.onnx.json').read_text())
    assert j['check']['agrees'] and j['check']['max_abs_diff'] < 1e-4 and j['check']['top1_agree'] == j['check']['n_images'] > 0
    q = json.loads((out/'model-int8.onnx.json').read_text())
    assert q['precision'] == 'int8' and q['quantization']['calibration_split'] == "the run's training folds"
    assert q['check']['top1_agree_share'] >= 0.75 and 0 <= q['check']['f1_macro_b'] <= 1
    assert 'agrees with the torch model' in exported['log'] and 'macro F1' in exported['log']
    # nothing is overwritten: another run's export in the way is refused
    r = subprocess.run([str(BIN/'defect_export'), str(exported['run']), '-o', str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 # the same weights: kept
    other = exported['dir']/'other'; other.mkdir(); shutil.copy(out/'model-int8.onnx', other/'model.onnx'); shutil.copy(out/'model-int8.onnx.json', other/'model.onnx.json')
    j2 = json.loads((other/'model.onnx.json').read_text()); j2['weights_sha256'] = 'something else'; (other/'model.onnx.json').write_text(json.dumps(j2))
    r = subprocess.run([str(BIN/'defect_export'), str(exported['run']), '-o', str(other)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and 'pass --force' in r.stderr


@pytest.fixture(scope='module')
def score_venv(tmp_path_factory):
    "A fresh virtual environment with `defect_nb[score]` installed from this checkout, and nothing else"
    v = tmp_path_factory.mktemp('venv')/'score'
    venv.EnvBuilder(with_pip=True, clear=True).create(v)
    py = v/'bin'/'python'
    src = v.parent/'src' # the package's sources alone, so that the build leaves nothing in the checkout
    src.mkdir()
    for f in ('setup.py', 'settings.ini', 'pyproject.toml', 'README.md'): shutil.copy(REPO/f, src/f)
    shutil.copytree(REPO/'defect_nb', src/'defect_nb', ignore=shutil.ignore_patterns('__pycache__'))
    r = subprocess.run([str(py), '-m', 'pip', 'install', '-q', f"{src}[score]"], capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    return v


def test_score_env_has_no_torch(score_venv, exported, tmp_path):
    "In the [score] venv torch and fastai cannot be imported, and defect_score writes the CSV defect_predict writes"
    py = score_venv/'bin'/'python'
    for mod in ('torch', 'fastai', 'torchvision'):
        r = subprocess.run([str(py), '-c', f'import {mod}'], capture_output=True, text=True)
        assert r.returncode != 0 and 'No module named' in r.stderr, mod
    imgs, out = exported['images'][:8], tmp_path/'onnx.csv'
    (tmp_path/'broken.jpg').write_bytes(b'not a JPEG')
    r = subprocess.run([str(score_venv/'bin'/'defect_score'), str(exported['out']), *map(str, imgs), str(tmp_path/'broken.jpg'),
                        '-o', str(out), '--min_confidence', '0.5'], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 1, r.stderr # one unreadable file
    assert 'defect_score: 8 of 9 images scored, 1 unreadable' in r.stderr
    r = subprocess.run([str(py), '-c', 'import sys, defect_nb.score, defect_nb.serve; print(sorted(m for m in ("torch", "fastai") if m in sys.modules))'],
                       capture_output=True, text=True)
    assert r.stdout.strip() == '[]', r.stderr
    ref = tmp_path/'torch.csv'
    r = subprocess.run([str(BIN/'defect_predict'), str(exported['run']), *map(str, imgs), str(tmp_path/'broken.jpg'), '-o', str(ref),
                        '--min_confidence', '0.5', '--num_workers', '0'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr
    a, b = pd.read_csv(out, keep_default_na=False), pd.read_csv(ref, keep_default_na=False)
    assert list(a.columns) == list(b.columns)
    assert a['path'].tolist() == b['path'].tolist() and a['pred'].tolist() == b['pred'].tolist() and a['review'].tolist() == b['review'].tolist()
    pa, pb = (d.filter(like='prob_').iloc[:-1].astype(float).to_numpy() for d in (a, b))
    assert np.abs(pa - pb).max() < 1e-4
    assert a['error'].iloc[-1] and a['error'].iloc[-1].split(':')[0] == b['error'].iloc[-1].split(':')[0]


def _free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def _serve(exe, model, port):
    p = subprocess.Popen([str(exe), str(model), '--host', '127.0.0.1', '--port', str(port), '--log_level', 'warning'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    import httpx
    for _ in range(120):
        if p.poll() is not None: break
        try:
            if httpx.get(f'http://127.0.0.1:{port}/health', timeout=1).status_code == 200: return p
        except httpx.HTTPError: time.sleep(0.5)
    p.kill(); raise AssertionError(f"defect_serve did not come up: {p.communicate()[1][-2000:]}")


def test_serve_real_server(score_venv, exported):
    "defect_serve from the [score] venv: /health, /model, /score, bad inputs answered 4xx while it goes on serving, a bounded load test"
    import httpx
    from defect_nb.serve import load_test
    port = _free_port(); p = _serve(score_venv/'bin'/'defect_serve', exported['out'], port)
    url = f'http://127.0.0.1:{port}'
    try:
        m = httpx.get(f'{url}/model').json()
        assert m['provenance']['experiment'] == 'demo' and m['img_height'] == 48
        img = exported['images'][0].read_bytes()
        r = httpx.post(f'{url}/score', files=[('files', ('a.jpg', img)), ('files', ('b.jpg', img))])
        assert r.status_code == 200 and [o['file'] for o in r.json()['results']] == ['a.jpg', 'b.jpg']
        for req, code in [(dict(content=b'', headers={'content-type': 'multipart/form-data; boundary=x'}), 400),
                          (dict(files=[('image', ('a.jpg', img))]), 422), (dict(files=[('files', ('t.jpg', img[:len(img)//2]))]), 400),
                          (dict(content=img, headers={'content-type': 'image/jpeg'}), 415)]:
            r = httpx.post(f'{url}/score', **req)
            assert r.status_code == code and r.json()['detail'], (code, r.text)
            assert httpx.post(f'{url}/score', files=[('files', ('a.jpg', img))]).status_code == 200
        res = load_test(url, exported['images'][:10], clients=4, n_requests=200, max_seconds=120, server_pid=p.pid)
        assert res['failed'] == 0 and res['ok'] == 200, res
    finally:
        p.terminate(); p.wait(timeout=30)


def test_serve_refuses_tampered_model(exported, tmp_path):
    "A graph that fails its checksum: defect_serve exits 2 at start with the reason, serving nothing"
    for f in ('model.onnx', 'model.onnx.json'): shutil.copy(exported['out']/f, tmp_path/f)
    b = bytearray((tmp_path/'model.onnx').read_bytes()); b[len(b)//3] ^= 0xFF; (tmp_path/'model.onnx').write_bytes(bytes(b))
    r = subprocess.run([str(BIN/'defect_serve'), str(tmp_path), '--port', str(_free_port())], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and 'does not match the checksum' in r.stderr
