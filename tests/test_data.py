"Tests of `defect_nb.data`, `synth` and `loaders`: discovery, validation, folds, demo data, DataLoaders and the CLIs (fast: < 60 s on 2 cores)"
import os, sys, shutil, subprocess, time
from pathlib import Path

import numpy as np, pandas as pd, pytest, torch
from PIL import Image

from defect_nb.core import Config, shared_dir, NEU_CLASSES, NEU_CLS_ABBR, DataError
from defect_nb.synth import synth_dataset
from defect_nb.data import (build_folds, detect_layout, discover, excluded_path, load_folds, load_image, make_folds,
                            subsample_folds, validate_images)
from defect_nb.sources import resolve_data
from defect_nb.loaders import get_dls, inference_tfms
import defect_nb.sources as sources_mod

REPO = Path(__file__).resolve().parents[1]
NEU = (shared_dir() or REPO/'no-shared-folder')/'data'/'neu-det'  # $DEFECT_NB_SHARED, else shared/ beside the checkout
COMMITTED = REPO/'data'/'neu_folds.csv'
needs_neu = pytest.mark.skipif(not NEU.is_dir(), reason=f"NEU data not at {NEU}")


# ---------------------------------------------------------------- fixtures and helpers

@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    "A small demo set (6 classes x 6 images, 64 px) in the NEU-DET layout"
    return synth_dataset(tmp_path_factory.mktemp('demo'), per_class=6, size=64, verbose=False)

@pytest.fixture(scope='module')
def source(tmp_path_factory, demo):
    "NEU-DET layout folder with 10 NEU images per class when NEU is here, else the demo set"
    if not NEU.is_dir(): return demo
    d = tmp_path_factory.mktemp('neu_subset')
    (d/'images').mkdir()
    for c in NEU_CLASSES:
        for i in range(1, 11): shutil.copy(NEU/'images'/f'{c}_{i}.jpg', d/'images')
    return d

def _cli(name, *args):
    "Run console script `name` (the installed one, else the same entry point through `python -c`)"
    exe = shutil.which(name, path=str(Path(sys.executable).parent))
    mod = {'defect_synth': 'synth'}.get(name, 'data')
    cmd = [exe] if exe else [sys.executable, '-c', f'from defect_nb.{mod} import {name}; {name}()']
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')])}
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, env=env, timeout=120)

def _num(p): return Path(p).stem.rsplit('_', 1)[1]
def _pairs(df): return sorted(zip(df.images.map(_num), df.label))


# ---------------------------------------------------------------- NEU folds file

@needs_neu
def test_neu_folds(tmp_path):
    a = build_folds(NEU, tmp_path/'a.csv', verbose=False)
    f = load_folds(a)
    assert len(f) == 1800 and list(f.columns) == ['images', 'label', 'fold', 'dup_group']
    assert f.label.value_counts().to_dict() == {c: 300 for c in NEU_CLASSES}
    assert sorted(f.fold.unique()) == [0, 1, 2, 3, 4]
    assert (f.groupby('fold').size() == 360).all()
    ct = pd.crosstab(f.label, f.fold)
    assert ct.to_numpy().min() >= 59 and ct.to_numpy().max() <= 61
    pair = f.set_index('images').loc[['images/patches_101.jpg', 'images/patches_105.jpg']]
    assert pair.fold.nunique() == 1 and pair.dup_group.nunique() == 1
    assert f.dup_group.nunique() == 1799 # the pair is the only duplicate
    assert not excluded_path(a).exists()
    b = build_folds(NEU, tmp_path/'b.csv', verbose=False)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() == COMMITTED.read_bytes(), "data/neu_folds.csv is stale: regenerate it with `defect_folds ../shared/data/neu-det -o data/neu_folds.csv`"

def test_committed_neu_folds_file():
    "The committed file is well formed even where the images are absent"
    f = load_folds(COMMITTED)
    assert len(f) == 1800 and (pd.crosstab(f.label, f.fold).to_numpy() == 60).all()
    assert (f.images == sorted(f.images)).all()


# ---------------------------------------------------------------- layouts

def test_layouts_give_the_same_pairs(tmp_path, source):
    base = discover(source, verbose=False)
    assert detect_layout(source) == 'neu-det'
    hashes = lambda root, df: sorted(zip(validate_images(df, root, verbose=False)[0].dup_group, df.label))
    ref_hash = hashes(source, base)
    abbr = {v: k for k, v in NEU_CLS_ABBR.items()}
    cls, fol, spl = tmp_path/'neu-cls', tmp_path/'folders', tmp_path/'split'
    for d in (cls, fol): d.mkdir()
    rows = []
    for i, (p, l) in enumerate(zip(base.images, base.label)):
        load_image(source/p).convert('L').save(cls/f'{abbr[l]}_{_num(p)}.bmp') # NEU-CLS: single-channel BMPs
        (fol/l).mkdir(exist_ok=True); shutil.copy(source/p, fol/l)
        s = spl/('train', 'valid', 'test')[i % 3]/l; s.mkdir(parents=True, exist_ok=True); shutil.copy(source/p, s)
        rows.append((f'data/{Path(p).name}', l, i % 5))
    ht = tmp_path/'ht'; (ht/'data').mkdir(parents=True)
    for p in base.images: shutil.copy(source/p, ht/'data')
    pd.DataFrame(rows, columns=['path', 'class', 'my_fold']).to_csv(ht/'train.csv', index=False)
    (fol/'notes.txt').write_text('x'); (fol/'crazing'/'.DS_Store').write_bytes(b'\0\0\0\1Bud1')
    (fol/'masks').mkdir(); Image.new('L', (16, 16)).save(fol/'masks'/'crazing_1.png')

    assert detect_layout(cls) == 'neu-cls' and detect_layout(fol) == 'folders' and detect_layout(spl) == 'split-folders'
    assert detect_layout(ht/'train.csv') == 'csv'
    dc, df_, ds = discover(cls, verbose=False), discover(fol, verbose=False), discover(spl, verbose=False)
    dh = discover(ht, csv='train.csv', image_col='path', label_col='class', fold_col='my_fold', verbose=False)
    for d in (dc, df_, ds, dh): assert _pairs(d) == _pairs(base)
    assert sorted(ds.split.unique()) == ['test', 'train', 'valid'] and 'split' not in df_
    assert list(dh.columns) == ['images', 'label', 'fold']
    assert hashes(fol, df_) == ref_hash and hashes(spl, ds) == ref_hash and hashes(ht, dh) == ref_hash
    # the CSV's own folds are kept
    f = load_folds(build_folds(ht/'train.csv', tmp_path/'ht_folds.csv', csv=None, image_col='path', label_col='class',
                               fold_col='my_fold', verbose=False))
    assert f.set_index('images').fold.to_dict() == dict(zip(dh.images, dh.fold))


# ---------------------------------------------------------------- validation, CLI

def _broken_folder(dst, demo):
    "Class folders of demo images plus every broken/odd kind of file"
    for p in (demo/'images').iterdir():
        (dst/p.stem.rsplit('_', 1)[0]).mkdir(parents=True, exist_ok=True)
        shutil.copy(p, dst/p.stem.rsplit('_', 1)[0]/p.name)
    c, pa = dst/'crazing', dst/'patches'
    (c/'zero.jpg').write_bytes(b'')
    b = (c/'crazing_1.jpg').read_bytes(); (c/'truncated.jpg').write_bytes(b[:len(b)//2])
    (c/'text.jpg').write_text('this is not an image')
    Image.new('RGB', (1, 1), (9, 9, 9)).save(c/'one_pixel.png')
    Image.fromarray((np.arange(32*32, dtype=np.uint16).reshape(32, 32) * 60)).save(pa/'sixteen_bit.png')
    Image.new('CMYK', (32, 32), (10, 200, 30, 0)).save(pa/'cmyk.jpg')
    Image.new('RGBA', (32, 32), (90, 90, 90, 128)).save(pa/'rgba.png')
    Image.new('RGB', (32, 32), (1, 2, 3)).convert('P').save(pa/'palette.png')
    (dst/'readme.txt').write_text('stray'); (c/'.DS_Store').write_bytes(b'\0\0\0\1Bud1')
    return dst

BROKEN = {'crazing/zero.jpg': 'empty file', 'crazing/truncated.jpg': 'truncated or corrupt',
          'crazing/text.jpg': 'not an image', 'crazing/one_pixel.png': 'too small'}
ODD = ['patches/sixteen_bit.png', 'patches/cmyk.jpg', 'patches/rgba.png', 'patches/palette.png']

def test_validate_and_convert(tmp_path, demo):
    root = _broken_folder(tmp_path/'b', demo)
    df = discover(root, verbose=False)
    assert 'readme.txt' not in set(df.images) and not any('.DS_Store' in p for p in df.images)
    good, bad = validate_images(df, root, verbose=False)
    assert dict(zip(bad.images, [r.split(':')[0].split(' (')[0] for r in bad.reason])) == BROKEN
    assert set(ODD) <= set(good.images) and len(good) == 36 + 4
    for p in ODD: assert load_image(root/p).mode == 'RGB'
    a = np.asarray(load_image(root/'patches'/'sixteen_bit.png'))[..., 0] # 16-bit scaled, not clipped at 255
    assert a.min() == 0 and 230 < a.max() <= 255 and len(np.unique(a)) > 100
    with pytest.raises(DataError, match='crazing/one_pixel.png: too small'): validate_images(df, root, strict=True, verbose=False)

def test_cli_folds(tmp_path, demo):
    root = _broken_folder(tmp_path/'b', demo)
    out = tmp_path/'folds.csv'
    r = _cli('defect_folds', root, '-o', out, '--n-folds', 3, '--seed', 7)
    assert r.returncode == 0, r.stderr
    f = load_folds(out)
    assert not set(BROKEN) & set(f.images) and set(ODD) <= set(f.images) and sorted(f.fold.unique()) == [0, 1, 2]
    exc = pd.read_csv(excluded_path(out))
    assert list(exc.columns) == ['images', 'label', 'reason'] and sorted(exc.images) == sorted(BROKEN)
    for p, why in BROKEN.items(): assert exc.set_index('images').reason[p].startswith(why)
    assert '4 excluded' in r.stdout and str(out) in r.stdout and 'crazing 10' in r.stdout # class counts printed
    r = _cli('defect_folds', root, '-o', tmp_path/'strict.csv', '--strict')
    assert r.returncode != 0 and 'crazing/' in r.stderr and 'Traceback' not in r.stderr
    assert not (tmp_path/'strict.csv').exists()


# ---------------------------------------------------------------- one-line errors

def _one_line(e): 
    msg = str(e.value); assert '\n' not in msg; return msg

def test_errors(tmp_path, demo):
    (tmp_path/'empty').mkdir()
    with pytest.raises(DataError) as e: build_folds(tmp_path/'empty', verbose=False)
    assert 'no images' in _one_line(e) and 'accepted layouts' in _one_line(e)
    one = tmp_path/'one'/'crazing'; one.mkdir(parents=True)
    for i in range(1, 4): shutil.copy(demo/'images'/f'crazing_{i}.jpg', one)
    with pytest.raises(DataError) as e: discover(tmp_path/'one', verbose=False)
    assert 'only one class' in _one_line(e) and 'crazing' in _one_line(e)
    csv = tmp_path/'t.csv'; pd.DataFrame({'file': ['images/crazing_1.jpg'], 'label': ['crazing']}).to_csv(csv, index=False)
    with pytest.raises(DataError) as e: discover(demo, csv=csv, verbose=False)
    assert "lacks column(s) 'images'" in _one_line(e) and 'image_col' in _one_line(e)
    pd.DataFrame({'images': ['images/crazing_1.jpg', 'images/nope.jpg'], 'label': ['crazing', 'scratches']}).to_csv(csv, index=False)
    with pytest.raises(DataError) as e: discover(demo, csv=csv, verbose=False)
    assert "'images/nope.jpg'" in _one_line(e) and 'does not exist' in _one_line(e)
    with pytest.raises(DataError) as e: load_folds(csv)
    assert 'lacks column(s) fold' in _one_line(e)

def test_cli_error_is_one_line(tmp_path, capsys):
    from defect_nb.data import defect_folds
    (tmp_path/'empty').mkdir()
    assert defect_folds.cli([str(tmp_path/'empty')]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('defect_folds: error: no images') and '\n' not in err


# ---------------------------------------------------------------- folds

def test_make_folds_deterministic_and_grouped(tmp_path, demo):
    root = tmp_path/'d'; shutil.copytree(demo, root)
    load_image(root/'images'/'scratches_2.jpg').save(root/'images'/'scratches_77.png') # same pixels, other bytes
    good, _ = validate_images(discover(root, verbose=False), root, verbose=False)
    f = make_folds(good, 3, seed=1)
    r = f.set_index('images').loc[['images/scratches_2.jpg', 'images/scratches_77.png']]
    assert r.fold.nunique() == 1 and r.dup_group.nunique() == 1
    assert make_folds(good.sample(frac=1, random_state=0), 3, seed=1).equals(f) # row order does not matter
    sub = subsample_folds(f, 3)
    assert (sub.label.value_counts() == 3).all() and subsample_folds(sub, 3).equals(sub)


# ---------------------------------------------------------------- demo data

def test_synth(tmp_path):
    t0 = time.perf_counter()
    a = synth_dataset(tmp_path/'a', per_class=20, seed=3, verbose=False)
    dt = time.perf_counter() - t0
    print(f"\nsynth_dataset: {120/dt:.0f} images/s (200 px, 120 images)")
    b = synth_dataset(tmp_path/'b', per_class=20, seed=3, verbose=False)
    c = synth_dataset(tmp_path/'c', per_class=20, seed=4, verbose=False)
    fa = sorted(p.name for p in (a/'images').iterdir())
    assert fa == sorted(p.name for p in (b/'images').iterdir()) and len(fa) == 120
    assert all((a/'images'/n).read_bytes() == (b/'images'/n).read_bytes() for n in fa)
    assert sum((a/'images'/n).read_bytes() == (c/'images'/n).read_bytes() for n in fa) == 0
    df = discover(a, verbose=False)
    assert df.label.value_counts().to_dict() == {k: 20 for k in NEU_CLASSES}
    assert Image.open(a/'images'/'crazing_1.jpg').size == (200, 200)


# ---------------------------------------------------------------- data source, DataLoaders

def test_resolve_demo(tmp_path, monkeypatch):
    monkeypatch.setattr(sources_mod, 'find_neu', lambda: None)
    src = resolve_data(cache=tmp_path, n_per_class=5, verbose=False)
    assert src.is_demo and src.root.parent == tmp_path/'demo' and src.root.name.startswith('seed0-n5-v') and len(src.load()) == 30
    assert sorted(load_folds(src.folds_csv).fold.unique()) == [0, 1, 2, 3, 4]
    m = src.folds_csv.stat().st_mtime_ns
    assert resolve_data(cache=tmp_path, n_per_class=5, verbose=False) == src and src.folds_csv.stat().st_mtime_ns == m

@needs_neu
def test_resolve_neu_uses_committed_file(tmp_path):
    src = resolve_data(NEU, cache=tmp_path, verbose=False)
    assert src.folds_csv == COMMITTED and src.name == 'neu-det' and not src.is_demo

@pytest.mark.parametrize('norm', ['Channel', 'Image', 'Dataset', 'Imagenet', 'None'])
def test_dls_and_inference_match(tmp_path, demo, norm):
    f = build_folds(demo, tmp_path/'f.csv', n_folds=3, verbose=False)
    cfg = Config(img_height=32, img_width=48, bs=4, normalization=norm, augmentation='Hard')
    dls = get_dls(cfg, 2, f, root=demo, device='cpu')
    xb, yb = dls.one_batch()
    assert xb.shape == (4, 3, 32, 48) and list(dls.vocab) == sorted(NEU_CLASSES)
    assert dls.normalization == norm and (dls.norm_stats is None) == (norm in ('Channel', 'Image', 'None'))
    assert len(dls.valid_ds) == (load_folds(f).fold == 2).sum()
    files = [demo/p for p in dls.valid.items.images[:4]]
    pre = inference_tfms(cfg, stats=dls.norm_stats)
    assert torch.allclose(pre.batch(files), dls.valid.one_batch()[0], atol=1e-4)
