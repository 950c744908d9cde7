"defect_nb.interpret: metrics against scikit-learn, confusion counts, plots on small tables, Grad-CAM localisation"
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np, pandas as pd, pytest, torch
from torch import nn
from PIL import Image
from sklearn.metrics import classification_report, confusion_matrix
from defect_nb.interpret import *
from defect_nb.cam import *
from defect_nb.evidence import *
from defect_nb.evidence import _inputs
from defect_nb.learner import build_model

torch.set_num_threads(1)
CLS = ['crazing', 'inclusion', 'patches']

@pytest.fixture(autouse=True)
def _close_figs():
    yield
    plt.close('all')

def make_oof(labels, preds, classes=CLS, seed=0):
    "An oof table as `train_fold` writes it, with the predicted class given the largest probability"
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(len(classes)), len(labels))
    for i, c in enumerate(preds):
        j, k = classes.index(c), p[i].argmax()
        p[i, [j, k]] = p[i, [k, j]]
    df = pd.DataFrame(dict(images=[f'{l}/{i}.png' for i, l in enumerate(labels)], label=labels, fold=0, pred=preds))
    for j, c in enumerate(classes): df[f'prob_{c}'] = p[:, j]
    df['loss'] = -np.log([p[i, classes.index(l)] for i, l in enumerate(labels)])
    df['correct'] = df['pred'] == df['label']
    return df

LABELS = ['crazing']*4 + ['inclusion']*3 + ['patches']*3
PREDS = ['crazing', 'crazing', 'crazing', 'inclusion', 'inclusion', 'inclusion', 'patches', 'patches', 'patches', 'crazing']

@pytest.fixture
def oof(): return make_oof(LABELS, PREDS)

def test_classes_from_prob_columns(oof):
    assert oof_classes(oof[['images', 'label', 'pred', 'prob_patches', 'prob_crazing', 'prob_inclusion']]) == ['patches', 'crazing', 'inclusion']
    assert oof_classes(oof[['images', 'label', 'pred']]) == CLS

def test_per_class_metrics_match_sklearn(oof, tmp_path):
    m = per_class_metrics(oof)
    rep = classification_report(oof['label'], oof['pred'], labels=CLS, output_dict=True, zero_division=0)
    assert list(m.index) == CLS + ['macro avg']
    for c in CLS + ['macro avg']:
        np.testing.assert_allclose(m.loc[c, ['precision', 'recall', 'f1']].to_numpy(float),
                                   [rep[c][k] for k in ('precision', 'recall', 'f1-score')])
        assert m.loc[c, 'support'] == rep[c]['support']
    oof.to_csv(tmp_path/'oof.csv', index=False) # a path works too
    pd.testing.assert_frame_equal(per_class_metrics(tmp_path/'oof.csv'), m)

def test_per_class_metrics_absent_class(oof):
    m = per_class_metrics(oof, CLS + ['scratches'])
    assert m.loc['scratches'].tolist() == [0, 0, 0, 0]
    assert m.loc['macro avg', 'support'] == len(oof)

def test_confusion_counts(oof):
    cm = confusion(oof)
    assert (cm.index.name, cm.columns.name) == ('Actual', 'Predicted')
    assert cm.to_numpy().tolist() == [[3, 1, 0], [0, 2, 1], [1, 0, 2]]
    np.testing.assert_array_equal(cm.to_numpy(), confusion_matrix(oof['label'], oof['pred'], labels=CLS))
    assert confusion(oof, ['patches', 'crazing', 'inclusion']).loc['patches', 'crazing'] == 1

@pytest.mark.parametrize('normalize', [False, True])
def test_plot_confusion(oof, normalize):
    fig = plot_confusion(oof, title='Fold 0', normalize=normalize)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ('Predicted', 'Actual')
    assert ax.get_title().startswith('Fold 0')
    assert len(ax.texts) == 9 and ax.texts[0].get_text().startswith('3')
    _, ax2 = plt.subplots()
    assert plot_confusion(oof, ax=ax2) is ax2.figure

def test_plot_history(tmp_path):
    st = np.arange(12)
    steps = pd.DataFrame(dict(step=st, epoch=st // 4, loss=np.exp(-st/5), lr=np.linspace(1e-3, 0, 12)))
    hist = pd.DataFrame(dict(epoch=[0, 1, 2], train_loss=[.9, .5, .3], valid_loss=[1., .7, .6],
                             f1_macro=[.4, .6, .7], accuracy=[.5, .6, .75], time=[1., 1., 1.]))
    steps.to_csv(tmp_path/'steps.csv', index=False); hist.to_csv(tmp_path/'history.csv', index=False)
    fig = plot_history(tmp_path/'steps.csv', tmp_path/'history.csv', title='run')
    assert fig.get_suptitle() == 'run'
    assert [ax.get_title() for ax in fig.axes] == ['Loss', 'Validation metrics', 'Learning rate']
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    assert fig.axes[0].lines[-1].get_xdata().tolist() == [3, 7, 11] # validation loss at each epoch's last step
    assert plot_history(None, hist).get_suptitle() == 'Training history'

def test_top_losses(oof):
    tl = top_losses(oof, 3)
    assert tl['loss'].tolist() == sorted(oof['loss'], reverse=True)[:3]
    r = tl.iloc[0]
    assert r['prob'] == oof.loc[tl.index[0], f"prob_{r['pred']}"]

def _write_images(root, oof, size=24):
    for p in oof['images']:
        (root/p).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (size, size), dtype=np.uint8)).save(root/p)

def test_plot_top_losses(oof, tmp_path):
    _write_images(tmp_path, oof)
    figs = plot_top_losses(oof, tmp_path, k=4, ncols=3)
    shown = [ax for f in figs for ax in f.axes if ax.images]
    assert len(shown) == 4 and all(ax.get_title() for ax in shown)
    with pytest.raises(FileNotFoundError, match='does not exist'): plot_top_losses(oof, tmp_path/'nowhere', k=1)

# --- Grad-CAM --------------------------------------------------------------------------------------

def half_net(c=4):
    "nn.Sequential(body, head): an identity body, and a head whose class-0 logit sums the left half of the map, class 1 the right"
    class Halves(nn.Module):
        def forward(self, f):
            w = f.shape[-1] // 2
            return torch.stack([f[..., :w].sum((1, 2, 3)), f[..., w:].sum((1, 2, 3))], 1)
    return nn.Sequential(nn.Sequential(nn.Conv2d(3, c, 1), nn.ReLU()), Halves())

def test_gradcam_weights_whole_channels():
    """Grad-CAM pools the gradient over space: a head that reads only the left half of the features gives the same
    map as one reading the right half (the channel-weighted activations), not a map confined to the left half"""
    torch.manual_seed(0)
    net = half_net()
    with torch.no_grad(): net[0][0].weight.abs_(); net[0][0].bias.zero_() # positive features for positive inputs
    x = torch.rand(3, 3, 8, 10)
    cam0, cam1 = gradcam(net, x, target=0), gradcam(net, x, target=1)
    assert cam0.shape == (3, 8, 10) and cam0.min() >= 0 and cam0.max() <= 1
    torch.testing.assert_close(cam0.amax((1, 2)), torch.ones(3))
    ref = net[0](x).detach().sum(1) # equal weights for all channels
    torch.testing.assert_close(cam0, ref / ref.amax((1, 2), keepdim=True))
    torch.testing.assert_close(cam1, cam0)
    assert cam0[..., 5:].sum() > 0

def square_net():
    "A 1x1-conv body with one channel per pure colour (x_c - other channels - 1), average pool + identity head"
    conv, lin = nn.Conv2d(3, 3, 1), nn.Linear(3, 3)
    with torch.no_grad():
        conv.weight.copy_((2*torch.eye(3) - 1)[:, :, None, None]); conv.bias.fill_(-1.)
        lin.weight.copy_(8*torch.eye(3)); lin.bias.zero_()
    return nn.Sequential(nn.Sequential(conv, nn.ReLU()), nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), lin))

def norm(a): return (torch.as_tensor(np.asarray(a, dtype=np.float32)/255).permute(2, 0, 1) - .5) / .25

def test_gradcam_localises_evidence_and_follows_target():
    a = np.full((32, 32, 3), 128, np.uint8); a[2:10, 2:10] = (255, 0, 0); a[20:30, 22:30] = (0, 255, 0)
    x = norm(a)[None].expand(3, -1, -1, -1)
    cams = gradcam(square_net(), x, target=[0, 1, 2])
    assert cams.shape == (3, 32, 32)
    assert torch.isclose(cams[0, 2:10, 2:10].sum(), cams[0].sum()) and cams[0].sum() > 0 # red on the red square
    assert torch.isclose(cams[1, 20:30, 22:30].sum(), cams[1].sum()) and cams[1].sum() > 0 # green on the green one
    assert cams[2].sum() == 0 # no blue: an empty map
    default = gradcam(square_net(), norm(a)) # one image, predicted class (green: the larger square)
    assert torch.equal(default[0], cams[1])

def test_gradcam_resnet_leaves_model_as_it_was():
    torch.manual_seed(0)
    m = build_model('resnet18', 3).train()
    for p in m[0].parameters(): p.requires_grad_(False)
    req = [p.requires_grad for p in m.parameters()]
    xb = torch.randn(2, 3, 64, 64)
    with torch.no_grad(): cams = gradcam(m, xb, target=[0, 2])
    assert cams.shape == (2, 2, 2) and cams.dtype == torch.float32
    assert 0 <= cams.min() and cams.max() <= 1
    assert m.training and [p.requires_grad for p in m.parameters()] == req
    assert all(p.grad is None for p in m.parameters())
    assert all(len(mod._forward_hooks) == 0 and len(mod._backward_hooks) == 0 for mod in m.modules())
    m.eval() # reference: Grad-CAM by hand
    f = m[0](xb).detach().requires_grad_(); logits = m[1](f)
    g, = torch.autograd.grad(logits[:, [0, 2]].diagonal().sum(), f)
    ref = torch.relu((g.mean((2, 3), keepdim=True)*f).sum(1))
    mx = ref.amax((1, 2), keepdim=True)
    ref = torch.where(mx > 0, ref / mx.clamp_min(1e-12), 0.) # a map with no positive evidence stays 0
    torch.testing.assert_close(cams, ref, atol=1e-5, rtol=1e-4)
    with torch.inference_mode(): xi = xb*1
    torch.testing.assert_close(gradcam(m, xi, target=[0, 2]), cams) # works inside inference mode too
    m.train(); m[0][1].eval() # a module in another mode than its parent keeps it
    gradcam(m, xb)
    assert m.training and not m[0][1].training and m[0][0].training

def test_gradcam_needs_layer_for_other_models():
    with pytest.raises(ValueError, match='layer='): gradcam(nn.Conv2d(3, 3, 1), torch.randn(1, 3, 8, 8))
    net = half_net()
    assert gradcam(net, torch.rand(1, 3, 8, 8), 0, layer=net[0][0]).shape == (1, 8, 8)

def test_cam_overlay():
    img = Image.fromarray(np.full((40, 30, 3), 100, np.uint8))
    cam = torch.zeros(4, 3); cam[0, 0] = 1
    ov = cam_overlay(img, cam, alpha=.5)
    assert ov.size == img.size and ov.mode == 'RGB'
    assert np.array_equal(np.asarray(cam_overlay(img, cam, alpha=0.)), np.asarray(img))
    hot = np.asarray(cam_overlay(img, cam, alpha=1.)).astype(int)
    assert hot[0, 0, 0] > hot[0, 0, 2] and hot[-1, -1, 2] > hot[-1, -1, 0]

def test_plot_gradcam():
    x = torch.randn(3, 3, 16, 16)
    figs = plot_gradcam(half_net(), x, classes=['left', 'right'], ncols=2)
    shown = [ax for f in figs for ax in f.axes if ax.images]
    assert len(shown) == 3 and all(ax.get_title().split()[0] in ('left', 'right') for ax in shown)
    assert [f.get_suptitle() for f in figs] == ['Grad-CAM']

def test_gradcam_picks(oof):
    p = gradcam_picks(oof, 1)
    assert p['kind'].tolist() == ['correct', 'wrong']*3
    for c in CLS:
        ok, bad = oof[(oof.label == c) & oof.correct], oof[(oof.label == c) & ~oof.correct]
        assert p[(p.label == c) & (p.kind == 'correct')]['loss'].item() == ok['loss'].min()
        assert p[(p.label == c) & (p.kind == 'wrong')]['loss'].item() == bad['loss'].max()

def test_gradcam_examples(tmp_path):
    "Colour-square images, the square net as the model, a callable and a fastai DataLoaders as `tfm`"
    cls, rows, rng = ['red', 'green', 'blue'], [], np.random.default_rng(0)
    for c, rgb in zip(cls, [(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        (tmp_path/c).mkdir()
        for i in range(2):
            a = np.full((32, 32, 3), 128, np.uint8); y, x = rng.integers(0, 24, 2); a[y:y+8, x:x+8] = rgb
            if (c, i) == ('blue', 1): a[:12, :12] = (255, 0, 0) # a bigger red square: predicted red
            Image.fromarray(a).save(tmp_path/c/f'{i}.png'); rows.append(dict(images=f'{c}/{i}.png', label=c, fold=0))
    df, net = pd.DataFrame(rows), square_net()
    with torch.no_grad(): logits = net(torch.stack([norm(Image.open(tmp_path/p)) for p in df['images']]))
    df['pred'] = [cls[i] for i in logits.argmax(1)]
    for j, c in enumerate(cls): df[f'prob_{c}'] = logits.softmax(1)[:, j].numpy()
    df['loss'] = torch.nn.functional.cross_entropy(logits, torch.tensor([cls.index(l) for l in df['label']]), reduction='none').numpy()
    df['correct'] = df['pred'] == df['label']
    assert df['correct'].tolist() == [True]*5 + [False]
    tfm = lambda p: norm(Image.open(p).convert('RGB'))
    axes = [ax for f in gradcam_examples(net, df, tmp_path, tfm, n_per_class=1) for ax in f.axes]
    titles = [ax.get_title() for ax in axes if ax.images]
    assert len(titles) == 8 and titles[-2:] == ["wrong: blue→red", f"Grad-CAM (p={df.loc[5, 'prob_red']:.2f})"]  # image + overlay pairs
    assert [ax.get_ylabel() for ax in axes[::4]] == cls
    from fastai.vision.all import DataBlock, ImageBlock, CategoryBlock, ColReader, IndexSplitter, Normalize
    dls = DataBlock(blocks=(ImageBlock, CategoryBlock), get_x=ColReader('images', pref=f'{tmp_path}/'), get_y=ColReader('label'),
                    splitter=IndexSplitter([]), batch_tfms=Normalize.from_stats([.5]*3, [.25]*3)
                   ).dataloaders(df, bs=2, device='cpu', num_workers=0)
    picks = gradcam_picks(df)
    paths = [tmp_path/p for p in picks['images']]
    torch.testing.assert_close(_inputs(dls, picks, paths), _inputs(tfm, picks, paths), atol=1e-4, rtol=1e-4)
    figs = gradcam_examples(net, df, tmp_path, dls, explain='actual')
    assert all(f.get_suptitle().startswith('Grad-CAM of the actual class') for f in figs)
    with pytest.raises(ValueError, match='pass `tfm`'): gradcam_examples(net, df, tmp_path)
    from fastai.learner import Learner
    learn = Learner(dls, net, loss_func=nn.CrossEntropyLoss()) # tfm defaults to the Learner's dls
    titles2 = [ax.get_title() for f in gradcam_examples(learn, df, tmp_path) for ax in f.axes if ax.images]
    assert titles2 == titles

# --- Grad-CAM against boxes --------------------------------------------------------------------------

def _voc(path, boxes, size=(32, 32)):
    obj = ''.join(f"<object><name>d</name><bndbox><xmin>{a}</xmin><ymin>{b}</ymin><xmax>{c}</xmax><ymax>{d}</ymax></bndbox></object>"
                  for a, b, c, d in boxes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<annotation><size><width>{size[0]}</width><height>{size[1]}</height></size>{obj}</annotation>")

def test_cam_scores_known_answers():
    "A map with all its mass in the box, none of it, a uniform map (energy = chance) and an empty one (no score)"
    m = torch.zeros(10, 10, dtype=torch.bool); m[2:7, 2:7] = True
    hit = torch.zeros(10, 10); hit[3, 4] = 1.
    miss = torch.zeros(10, 10); miss[9, 0] = 1.
    assert cam_scores(hit, m) == dict(pointing=1., energy=1., chance=.25)
    assert cam_scores(miss, m) == dict(pointing=0., energy=0., chance=.25)
    assert abs(cam_scores(torch.ones(5, 5), m)['energy'] - .25) < 1e-6
    assert np.isnan(cam_scores(torch.zeros(5, 5), m)['energy'])

def test_box_mask_follows_the_validation_resize():
    "VOC pixels are 1-based and inclusive; a 64x32 image into a 16x16 input is centre-cropped to x 16..48 first"
    m = box_mask([('d', 1, 1, 16, 32)], (32, 32), (8, 8)) # the left half, at a quarter of the size
    assert m[:, :4].all() and not m[:, 4:].any()
    assert not box_mask([('d', 1, 1, 16, 32)], (64, 32), (16, 16)).any() # cropped away
    m = box_mask([('d', 17, 1, 32, 32)], (64, 32), (16, 16)) # x 16..32 of the image = the left half of the crop
    assert m[:, :8].all() and not m[:, 8:].any()

def test_cam_localisation_with_the_square_net(tmp_path):
    """The square net's evidence is the coloured square: with a box drawn around it, the map of the predicted class points
    into it and keeps all its mass there; a box drawn elsewhere gets neither; images without a box file are left out"""
    rows = []
    for i, (y, x) in enumerate([(2, 2), (20, 18), (10, 4)]):
        a = np.full((32, 32, 3), 128, np.uint8); a[y:y+8, x:x+8] = (255, 0, 0)
        p = tmp_path/'images'/f'red_{i}.png'; p.parent.mkdir(exist_ok=True); Image.fromarray(a).save(p)
        rows.append(dict(images=f'images/red_{i}.png', label='red', pred='red', correct=True))
    _voc(tmp_path/'annotations'/'red_0.xml', [(3, 3, 10, 10)]) # around the square
    _voc(tmp_path/'annotations'/'red_1.xml', [(1, 1, 8, 8)]) # elsewhere
    oof = pd.DataFrame(rows)
    loc = cam_localisation(square_net(), oof, tmp_path, tfm=lambda p: norm(Image.open(p).convert('RGB')), classes=['red', 'green', 'blue'])
    assert loc['images'].tolist() == ['images/red_0.png', 'images/red_1.png']
    assert loc['pointing'].tolist() == [1., 0.] and loc['energy'][0] > .99 and loc['energy'][1] < .01
    assert loc['chance'].tolist() == [64/1024]*2
    s = localisation_summary(loc)
    assert s.loc[('red', 'correct'), 'n'] == 2 and s.loc[('all', 'correct'), 'pointing game'] == .5
    assert localisation_section(loc).startswith('## Does the model look at the defect?')
    figs = plot_localisation(loc, square_net(), tmp_path, tfm=lambda p: norm(Image.open(p).convert('RGB')), k=1, classes=['red', 'green', 'blue'])
    assert [ax.get_title().split('\n')[0] for f in figs for ax in f.axes if ax.images][::2] == ['red_0.png', 'red_1.png'] # best | worst
    import shutil; shutil.rmtree(tmp_path/'annotations') # a data set without annotations: nothing, no error
    assert len(cam_localisation(square_net(), oof, tmp_path, tfm=lambda p: norm(Image.open(p).convert('RGB')), classes=['red', 'green', 'blue'])) == 0

def test_read_voc_errors(tmp_path):
    (tmp_path/'bad.xml').write_text('<annotation><object><bndbox><xmin>a</xmin></bndbox></object></annotation>')
    with pytest.raises(ValueError, match='bad.xml'): read_voc(tmp_path/'bad.xml')
    (tmp_path/'cut.xml').write_text('<annotation>')
    with pytest.raises(ValueError, match='cut.xml'): read_voc(tmp_path/'cut.xml')
