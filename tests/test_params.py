"""The driver's parameters cell is the one list of run parameters: a parameter added to it (in a temporary copy of
the driver) is accepted by `defect_train -p`, `defect_cv -p` and `defect_sweep -p` with no other edit, and reaches
the config the same way from each."""
import json, re, sys, subprocess
from pathlib import Path
import pytest
import defect_nb.params as P
from defect_nb.core import ConfigError
from defect_nb.params import check_params, parse_params
from defect_nb.sweep import sweep_keys

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def driver_with(tmp_path, monkeypatch):
    "A copy of nbs/train.ipynb whose parameters cell has one more parameter, `label_smoothing` (a config field), used by every command"
    nb = json.loads((REPO/'nbs'/'train.ipynb').read_text())
    cell = next(c for c in nb['cells'] if 'parameters' in c.get('metadata', {}).get('tags', []))
    src = ''.join(cell['source'])
    assert not re.search(r'^label_smoothing\s*=', src, re.M)  # the real driver lacks it: the copy below adds it
    cell['source'] = (src.rstrip('\n') + "\nlabel_smoothing = None  # added by the test\n").splitlines(keepends=True)
    p = tmp_path/'train.ipynb'; p.write_text(json.dumps(nb))
    monkeypatch.setattr(P, 'driver_path', lambda name=P.DRIVER: p)
    return p


def test_added_parameter_is_accepted_everywhere(driver_with):
    "defect_cv's and defect_sweep's checks, and defect_train's config, all read the copied driver's new parameter"
    assert 'label_smoothing' in P.driver_params()
    assert check_params({'label_smoothing': 0.05}) == {'label_smoothing': 0.05}  # defect_cv: a driver parameter now
    assert P.to_driver(parse_params([['label_smoothing', '0.05']], P.run_keys())) == {'label_smoothing': 0.05}  # injected as itself
    assert 'label_smoothing' in sweep_keys()  # defect_sweep
    assert P.config_overrides({'label_smoothing': 0.05}) == {'label_smoothing': 0.05}  # defect_train and report_config
    ns = {k: None for k in P.driver_params()} | {'label_smoothing': 0.05}
    assert P.driver_values(ns)['label_smoothing'] == 0.05  # the driver hands it to report_config with the rest


def test_one_spelling_everywhere():
    "The real driver: config fields it does not list travel in `overrides`; the driver's spellings (img_size) reach defect_train"
    assert P.to_driver({'label_smoothing': 0.05, 'epochs': 2}) == {'epochs': 2, 'overrides': {'label_smoothing': 0.05}}
    assert P.config_overrides({'img_size': 64}) == {'img_height': 64, 'img_width': 64}
    with pytest.raises(ConfigError, match='did you mean `epochs`'): P.to_driver({'epoch': 2})
    import inspect
    from defect_nb.cv import defect_cv
    flags = [k for k in inspect.signature(defect_cv).parameters if k in P.run_keys() and k != 'folds']  # --folds: which folds to run (Config.folds)
    assert set(flags) <= set(P.driver_params()), flags  # defect_cv's shortcut flags are driver parameters, spelt the same


def test_defect_train_takes_driver_spelling(tmp_path):
    "defect_train -p img_size 24 (the driver's spelling) sets both sides; -p fold is refused with what to pass instead (exit 2)"
    exe = Path(sys.executable).parent/'defect_train'
    r = subprocess.run([str(exe), '-p', 'fold', '1'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and 'pass --fold instead' in r.stderr, r.stderr[-500:]
    r = subprocess.run([str(exe), '-p', 'img_sizes', '24'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and 'did you mean `img_size`' in r.stderr, r.stderr[-500:]
