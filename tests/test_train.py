"Training on the demo data learns, and a fold run folder holds what it should"
import json
import pytest
from defect_nb.core import Config
from defect_nb.hydrogen import load_config

SEED = load_config('seed', verbose=False) # the tests below use the seed experiment's settings, tiny
from defect_nb.train import train_fold

def test_pipeline_learns(tmp_path, monkeypatch):
    "Three short epochs at 64 px on 480 demo images: macro F1 far above chance (1/6)"
    monkeypatch.setenv('DEFECT_NB_CACHE', str(tmp_path/'cache'))
    cfg = SEED.update(arch='resnet18', img_height=64, img_width=64, epochs=3, bs=8, n_per_class=100, seed=1, experiment_name='learns')
    r = train_fold(cfg, 0, out_dir=tmp_path/'runs', quiet=True)
    assert r.metrics['n_train'] == 480 and r.metrics['n_valid'] == 120
    assert r.metrics['f1_macro'] > 0.4, r.metrics
    m = json.loads((r.run_dir/'metrics.json').read_text())
    assert m['f1_macro'] == r.metrics['f1_macro'] and m['train_img_s'] > 0
    assert m['image_passes_128'] == 3 * 480 * 64 * 64 // 128**2  # the compute budget's unit: 3 epochs of 480 images at 64 px = 360 at 128 px
    assert len(r.steps) == 3 * (480 // 8) and r.steps['lr'].iloc[0] == pytest.approx(1e-3)

def test_same_seed_same_metrics(tmp_path, monkeypatch):
    "Two CPU runs of a tiny config with the same seed: identical metrics and predictions, separate run folders"
    monkeypatch.setenv('DEFECT_NB_CACHE', str(tmp_path/'cache'))
    cfg = SEED.update(arch='resnet18', img_height=32, img_width=32, epochs=1, bs=8, n_per_class=10, seed=7, experiment_name='repro')
    a = train_fold(cfg, 1, out_dir=tmp_path/'runs', quiet=True)
    b = train_fold(cfg, 1, out_dir=tmp_path/'runs', quiet=True)
    assert a.run_dir != b.run_dir
    for k in ('f1_macro', 'accuracy', 'valid_loss'): assert a.metrics[k] == b.metrics[k]
    assert a.oof.equals(b.oof) and a.steps['loss'].tolist() == b.steps['loss'].tolist()
