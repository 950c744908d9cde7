"""The recipe's knobs end to end on tiny synthetic data: FixRes crops growing by progressive resizing, flat_cos, weight EMA, class-weighted loss,
dihedral TTA; the export carries the inference settings, so scoring it reproduces the fold's own predictions"""
import numpy as np, pytest
from defect_nb.core import Config
from defect_nb.synth import synth_dataset
from defect_nb.data import build_folds
from defect_nb.train import train_fold
from defect_nb.predict import load_model

@pytest.mark.parametrize('balance', ['weights', 'sampler'])
def test_knobs_and_export_reproduce_fold(tmp_path, balance):
    root = synth_dataset(tmp_path/'demo', per_class=8, seed=0, size=48, verbose=False)
    folds = build_folds(root, root/'folds.csv', n_folds=4, seed=42, verbose=False)
    cfg = Config(arch='resnet18', img_height=40, img_width=40, train_size=24, progressive_start=16, epochs=2, bs=8, seed=3, schedule='flat_cos', lr=1e-3,
                 ema=0.9, class_balance=balance, tta=['dihedral'], precision='fp32', head='fastai', experiment_name='knobs')
    r = train_fold(cfg, 0, data=folds, out_dir=tmp_path/'runs', quiet=True)
    lrs = r.steps['lr']
    assert (lrs.iloc[:int(.75*len(lrs))] == 1e-3).all() and lrs.iloc[-1] < 1e-3  # flat, then cosine down
    pr = load_model(r.run_dir)
    assert pr.tta == ['hflip', 'vflip', 'transpose', 'rot90', 'rot180', 'rot270', 'antitranspose'] and pr.prep.size == (40, 40)
    df = pr.predict([root/p for p in r.oof['images']], bs=5)
    cols = [c for c in r.oof.columns if c.startswith('prob_')]
    np.testing.assert_allclose(df[cols].to_numpy(), r.oof[cols].to_numpy(), atol=1e-4, rtol=0)
    assert df['pred'].tolist() == r.oof['pred'].tolist()
