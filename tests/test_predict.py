"""Acceptance tests of the scoring pipeline: `defect_nb.predict` and the `defect_predict` console script.

A resnet18 is trained for one epoch on the procedural demo images (10 per class, 32 px, fp32, fixed seed)
and exported; the exported model must reproduce the training-time validation predictions, and the
command line, run in a fresh process, must score a folder of good and broken images.
"""
import io, json, os, sys, subprocess
from pathlib import Path
import numpy as np, pandas as pd, pytest

from defect_nb.hydrogen import load_config
from defect_nb.env import seed_everything
from defect_nb.synth import synth_dataset
from defect_nb.data import build_folds, load_folds
from defect_nb.loaders import get_dls
from defect_nb.learner import defect_learner, fit_cfg
from defect_nb.export import export_model
from defect_nb.predict import load_model, defect_predict, ModelFormatError

REPO = Path(__file__).resolve().parents[1]
CFG = load_config('seed', verbose=False).update(arch='resnet18', img_height=32, img_width=32, epochs=1, bs=16, seed=1, precision='fp32', experiment_name='t') # the seed experiment's settings, tiny


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    "A tiny model trained and exported, with its fp32 `get_preds` on the validation fold"
    d = tmp_path_factory.mktemp('predict')
    root = synth_dataset(d/'demo', per_class=10, seed=0, size=64, verbose=False)
    folds_csv = build_folds(root, root/'folds.csv', n_folds=5, seed=42, verbose=False)
    seed_everything(CFG.seed)
    dls = get_dls(CFG, 0, load_folds(folds_csv), root=root, device='cpu')
    learn = defect_learner(dls, CFG, path=d)
    assert learn.precision == 'fp32'
    with learn.no_bar(), learn.no_logging(): fit_cfg(learn, CFG)
    with learn.no_bar(): probs, _ = learn.get_preds(ds_idx=1)
    vocab = list(dls.vocab)
    model_dir = export_model(learn.model, d/'model', CFG, vocab, dls.norm_stats)
    return dict(dir=d, root=root, folds_csv=folds_csv, model_dir=model_dir, vocab=vocab, probs=probs.float().numpy(),
                paths=[root/p for p in dls.valid.items.images], learn=learn)


def _prob_cols(vocab): return [f'prob_{c}' for c in vocab]


def test_matches_validation_predictions(trained):
    "The loaded model gives the training-time fp32 validation probabilities (within 1e-4)"
    pr = load_model(trained['model_dir'])
    assert pr.classes == trained['vocab'] and pr.precision == 'fp32' and pr.tta == []
    df = pr.predict(trained['paths'], bs=5)
    assert len(df) == len(trained['paths']) and (df['error'] == '').all()
    np.testing.assert_allclose(df[_prob_cols(pr.classes)].to_numpy(), trained['probs'], atol=1e-4, rtol=0)
    assert df['pred'].tolist() == [pr.classes[i] for i in trained['probs'].argmax(1)]


def test_matches_fastai_test_dl_odd_images(trained):
    "Non-square, grey, 16-bit and palette images: the same probabilities as fastai's `test_dl` (validation transforms)"
    from PIL import Image
    root, (a, b, c) = trained['root'], [Image.open(p) for p in trained['paths'][:3]]
    (root/'odd').mkdir(exist_ok=True)
    a.crop((0, 0, 64, 40)).save(root/'odd'/'wide.png')
    b.convert('L').crop((5, 0, 35, 64)).save(root/'odd'/'tall_grey.png')
    Image.fromarray((np.asarray(c.convert('L'), dtype=np.uint16) * 257)).save(root/'odd'/'grey16.png')
    a.convert('P').save(root/'odd'/'palette.bmp')
    rel = ['odd/wide.png', 'odd/tall_grey.png', 'odd/grey16.png', 'odd/palette.bmp']
    learn = trained['learn']
    with learn.no_bar(): ref, _ = learn.get_preds(dl=learn.dls.test_dl(pd.DataFrame({'images': rel})))
    df = load_model(trained['model_dir']).predict([root/p for p in rel])
    np.testing.assert_allclose(df[_prob_cols(trained['vocab'])].to_numpy(), ref.numpy(), atol=1e-4, rtol=0)


def _cli(tmp: Path) -> list:
    "The installed console script, or (not installed) a script that calls it the way the console script does"
    exe = Path(sys.executable).parent/'defect_predict'
    if exe.exists(): return [str(exe)]
    s = tmp/'defect_predict_cli.py'
    s.write_text('import sys\nfrom defect_nb.predict import defect_predict\nsys.exit(defect_predict.cli())\n')
    return [sys.executable, str(s)]


def _run(args, tmp):
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')])}
    return subprocess.run(_cli(tmp) + [str(a) for a in args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_good_and_broken_images(trained, tmp_path, capfd):
    "One row per image file, broken files marked, probabilities summing to 1, exit 1; no overwrite without --force"
    good = trained['paths'][:4]
    imgs = tmp_path/'imgs'; (imgs/'sub').mkdir(parents=True)
    for i, p in enumerate(good): ((imgs if i < 2 else imgs/'sub')/p.name).write_bytes(p.read_bytes())
    (imgs/'zero.jpg').write_bytes(b'')
    (imgs/'sub'/'truncated.jpg').write_bytes(good[0].read_bytes()[:700])
    (imgs/'text.jpg').write_text('this is not a JPEG')
    (imgs/'notes.txt').write_text('not an image file name: skipped by the folder walk')
    out, cams = tmp_path/'preds.csv', tmp_path/'cams'
    r = _run([trained['model_dir'], imgs, '-o', out, '--cam', cams, '--bs', 3], tmp_path)
    assert r.returncode == 1, r.stderr
    df = pd.read_csv(out, keep_default_na=False, na_values=[''])
    vocab = trained['vocab']
    assert list(df.columns) == ['path', 'pred'] + _prob_cols(vocab) + ['cam', 'error'] # `cam`: with --cam only
    names = [Path(p).name for p in df['path']]
    assert sorted(names) == sorted([p.name for p in good] + ['zero.jpg', 'truncated.jpg', 'text.jpg'])
    bad = df['error'].notna()
    assert sorted(Path(p).name for p in df.loc[bad, 'path']) == ['text.jpg', 'truncated.jpg', 'zero.jpg']
    err = dict(zip(names, df['error']))
    assert 'cannot identify image file' in err['zero.jpg'] and 'cannot identify image file' in err['text.jpg']
    assert 'truncated' in err['truncated.jpg']
    assert df.loc[bad, _prob_cols(vocab)].isna().all().all() and df.loc[bad, 'pred'].isna().all()
    ok = df[~bad]
    np.testing.assert_allclose(ok[_prob_cols(vocab)].sum(1), 1, atol=1e-5)
    # the same numbers as in training, from a fresh process
    ref = dict(zip([p.name for p in trained['paths']], trained['probs']))
    np.testing.assert_allclose(ok[_prob_cols(vocab)].to_numpy(), np.stack([ref[Path(p).name] for p in ok['path']]), atol=1e-4)
    assert sorted(os.listdir(cams)) == sorted(f"{Path(p).stem}_{l}.png" for p, l in zip(ok['path'], ok['pred']))
    assert [Path(c).name for c in ok['cam']] == [f"{Path(p).stem}_{l}.png" for p, l in zip(ok['path'], ok['pred'])]
    assert '3 unreadable' in r.stderr

    before = out.read_bytes() # (in this process, to save a start-up) an existing CSV is kept without --force
    assert defect_predict(str(trained['model_dir']), [str(good[0])], o=str(out)) == 2 and out.read_bytes() == before
    assert '--force' in capfd.readouterr().err
    assert defect_predict(str(trained['model_dir']), [str(good[0])], o=str(out), force=True) == 0
    assert len(pd.read_csv(out)) == 1


def test_cli_min_confidence(trained, tmp_path, capfd):
    "--min_confidence marks the images whose top probability is below it (and unreadable ones) in `review`, counts them, exit code unchanged"
    good = trained['paths'][:5]
    (tmp_path/'bad.jpg').write_text('not a JPEG')
    conf = load_model(trained['model_dir']).predict(good).filter(like='prob_').max(axis=1).to_numpy()
    t = float(np.median(conf))
    out = tmp_path/'p.csv'
    assert defect_predict(str(trained['model_dir']), [str(p) for p in good] + [str(tmp_path/'bad.jpg')], o=str(out), min_confidence=t) == 1
    df = pd.read_csv(out)
    assert df['review'].tolist() == [bool(c < t) for c in conf] + [True]
    assert f"{int((conf < t).sum()) + 1} of 6 images below confidence {t:g}: marked for manual review" in capfd.readouterr().err
    assert defect_predict(str(trained['model_dir']), [str(good[0])], o=str(out), force=True, min_confidence=1.5) == 2
    assert 'a probability in [0, 1]' in capfd.readouterr().err


def test_cli_auto_accept(trained, tmp_path, capfd):
    "--auto_accept: probabilities at calibration.json's temperature, review False exactly where the calibrated top probability reaches its threshold; no calibration: exit 2"
    import shutil
    from defect_nb.calibrate import apply_temperature, write_calibration, thresholds
    good = [str(p) for p in trained['paths']]
    assert defect_predict(str(trained['model_dir']), good, o=str(tmp_path/'none.csv'), auto_accept=True) == 2
    assert '--auto_accept needs calibration.json' in capfd.readouterr().err and not (tmp_path/'none.csv').exists()
    md = tmp_path/'m'; shutil.copytree(trained['model_dir'], md)
    raw = load_model(md).predict(good)[_prob_cols(trained['vocab'])].to_numpy(np.float64)
    cal_p = apply_temperature(raw, 0.5); t = float(np.median(cal_p.max(1)))
    rule = dict(threshold=t, bound=0.004, coverage=0.5)
    cal = dict(format='defect_nb.calibration/1', classes=trained['vocab'], temperature=0.5, alpha=0.005, delta=0.05, rule='overall',
               overall=rule, per_class={c: rule for c in trained['vocab']}, too_few=[])
    write_calibration(cal, md)
    assert defect_predict(str(md), good, o=str(tmp_path/'a.csv'), auto_accept=True) == 0
    df = pd.read_csv(tmp_path/'a.csv')
    np.testing.assert_allclose(df[_prob_cols(trained['vocab'])].to_numpy(), cal_p, atol=1e-6)
    assert df['review'].tolist() == [bool(c < thresholds(cal)[trained['vocab'][0]]) for c in cal_p.max(1)]
    assert 0 < df['review'].sum() < len(df)
    assert f"{int(df['review'].sum())} of {len(df)} images not auto-accepted (top probability ≥ {t:g}" in capfd.readouterr().err
    assert defect_predict(str(md), good[:1], o=str(tmp_path/'b.csv'), auto_accept=True, min_confidence=.9) == 2
    (md/'calibration.json').write_text(json.dumps(dict(cal, classes=['x', 'y'])))
    assert defect_predict(str(md), good[:1], o=str(tmp_path/'c.csv'), auto_accept=True) == 2
    assert 'belongs to another model' in capfd.readouterr().err


def test_cli_stdout_tta_exit_0(trained, tmp_path):
    "Without -o the CSV goes to stdout; all images read: exit 0; --tta averages the flips like the API"
    good = trained['paths'][:3]
    r = _run([trained['model_dir'].parent] + good + ['--tta', '--bs', 2], tmp_path) # the folder above the export
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(io.StringIO(r.stdout), keep_default_na=False)
    assert df['path'].tolist() == [str(p) for p in good] and (df['error'] == '').all()
    ref = load_model(trained['model_dir']).predict(good, tta=True)
    np.testing.assert_allclose(df[_prob_cols(trained['vocab'])].to_numpy(), ref[_prob_cols(trained['vocab'])].to_numpy(), atol=1e-5)


def test_load_errors(trained, tmp_path):
    "Clear errors for a folder without an export, an incomplete export and an unknown format"
    with pytest.raises(FileNotFoundError, match='no exported model'): load_model(tmp_path)
    (tmp_path/'model.json').write_bytes((trained['model_dir']/'model.json').read_bytes())
    with pytest.raises(FileNotFoundError, match='model.safetensors missing'): load_model(tmp_path)
    (tmp_path/'model.safetensors').write_bytes((trained['model_dir']/'model.safetensors').read_bytes())
    load_model(tmp_path)
    meta = json.loads((trained['model_dir']/'model.json').read_text())
    (tmp_path/'model.json').write_text(json.dumps({**meta, 'head': 'Fastai'}))
    with pytest.raises(ModelFormatError, match=r"model.json: head 'Fastai' is not one of Linear, fastai"): load_model(tmp_path)
    (tmp_path/'model.json').write_text('{"format": "someone-else/2"}')
    with pytest.raises(ModelFormatError, match="unknown model format 'someone-else/2'"): load_model(tmp_path)


def test_train_fold_run_folder(trained, tmp_path):
    "A `train_fold` run folder scores like its own oof.csv"
    train = pytest.importorskip('defect_nb.train')
    res = train.train_fold(CFG, 0, data=trained['folds_csv'], out_dir=tmp_path, quiet=True)
    oof = pd.read_csv(res.run_dir/'oof.csv', keep_default_na=False)
    pr = load_model(res.run_dir)
    df = pr.predict([trained['root']/p for p in oof['images']])
    cols = _prob_cols(pr.classes)
    np.testing.assert_allclose(df[cols].to_numpy(), oof[cols].to_numpy(), atol=1e-4, rtol=0)
    assert df['pred'].tolist() == oof['pred'].tolist()
