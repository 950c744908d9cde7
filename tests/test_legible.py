"""The reports' figures stay readable after slimming: every embedded image is scaled so that its longer side is at most
480 px (`results/reslim.py --max-side 480`), so a text of f points in a figure whose longer side is S inches ends up
f*480/(72*S) px tall. Every title and label of the image grids of `defect_nb.evidence` must keep 9 px, fit in its figure
(the notebook's inline images are cropped to what is drawn: text sticking out would make the image larger) and overlap no
other text; the legends of the line plots sit beside the axes, not over them"""
import shutil
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from matplotlib.text import Text
import numpy as np, pandas as pd, pytest, torch
from PIL import Image
from defect_nb.interpret import *
from defect_nb.cam import toy_net, toy_input
from defect_nb.evidence import *
from defect_nb.accept import plot_reliability

torch.set_num_threads(1)
SLIM, MIN_PX = 480, 9
# the toy network's classes (dark, bright, checker) under the longest NEU names, so that titles need wrapping
NAMES = dict(dark='rolled-in_scale', bright='pitted_surface', checker='inclusion')
CLS = list(NAMES.values())

@pytest.fixture(autouse=True)
def _close_figs():
    yield
    plt.close('all')

def _figs(out) -> list:
    "A function's figures: one Figure or a list of them"
    return [] if out is None else list(out) if isinstance(out, (list, tuple)) else [out]

def shown_texts(fig) -> list:
    "The non-empty texts `fig` draws: suptitle, titles, axis and tick labels of axes that show their axis, texts, legends"
    out = []
    for t in fig.findobj(Text):
        if not (t.get_visible() and t.get_text().strip()): continue
        ax = t.axes
        if ax is not None and not ax.get_visible(): continue
        if ax is not None and not ax.axison and any(t in a.findobj(Text) for a in (ax.xaxis, ax.yaxis)): continue
        out.append(t)
    return out

def legibility(fig) -> tuple[float, list]:
    "The smallest text's height in px once the longer side is slimmed to 480 px (S: the larger of the figure and what it draws), and problems: text outside the figure, texts overlapping"
    r = fig.canvas.get_renderer(); fig.draw(r)
    texts = shown_texts(fig)
    W, H = fig.get_size_inches(); bb = fig.get_tightbbox(r)
    side = max(W, H, bb.width, bb.height)
    px = min(t.get_fontsize() for t in texts)*SLIM/(72*side)
    full, bad = fig.bbox.padded(1), []
    ext = [(t, t.get_window_extent(r)) for t in texts]
    for t, e in ext:
        if not (full.contains(e.x0, e.y0) and full.contains(e.x1, e.y1)): bad.append(f'outside the figure: {t.get_text()!r}')
    for i, (t, e) in enumerate(ext):
        for u, f in ext[i+1:]:
            if e.overlaps(f) and (min(e.x1, f.x1) - max(e.x0, f.x0)) > 1 and (min(e.y1, f.y1) - max(e.y0, f.y0)) > 1:
                bad.append(f'overlap: {t.get_text()!r} / {u.get_text()!r}')
    return px, bad

@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    "The notebook's toy images (4 a class) in the NEU-DET layout with a box file each, an oof table with 8 of 12 wrong, the toy network"
    root = tmp_path_factory.mktemp('toy'); imgs = toy_images(root/'src', n=4)
    (root/'images').mkdir(); (root/'annotations').mkdir()
    labels = [NAMES[c] for c in imgs['label']]
    oof = toy_oof(labels, [CLS[(CLS.index(l) + (i % 3 != 0))%3] for i, l in enumerate(labels)], CLS)
    oof['images'] = [f"images/{l}_{i}.png" for i, l in enumerate(labels)]
    for (_, r), src, (y0, x0, s) in zip(oof.iterrows(), imgs['images'], imgs['box']):
        shutil.copy(root/'src'/src, root/r['images'])
        (root/'annotations'/f"{r['label']}_{r.name}.xml").write_text(
            f"<annotation><size><width>64</width><height>64</height></size><object><name>{r['label']}</name><bndbox>"
            f"<xmin>{x0+1}</xmin><ymin>{y0+1}</ymin><xmax>{x0+s}</xmax><ymax>{y0+s}</ymax></bndbox></object></annotation>")
    tfm = lambda p: toy_input(Image.open(p))
    return dict(root=root, oof=oof, net=toy_net(), tfm=tfm)

def _evidence_figures(toy) -> dict:
    "Each image grid as the fold and CV reports draw it (their defaults), and with more panels than one figure holds"
    root, oof, net, tfm = toy['root'], toy['oof'], toy['net'], toy['tfm']
    loc = cam_localisation(net, oof, root, tfm, classes=CLS)
    x = torch.stack([tfm(root/p) for p in oof['images']])
    return {'plot_top_losses': plot_top_losses(oof, root, k=9),
            'plot_top_losses ncols=6': plot_top_losses(oof, root, k=12, ncols=6),
            'plot_errors': plot_errors(oof, root),
            'plot_errors max_n=60': plot_errors(oof, root, max_n=60),
            'plot_gradcam': plot_gradcam(net, x[:8], classes=CLS),
            'gradcam_examples': gradcam_examples(net, oof, root, tfm, n_per_class=1, classes=CLS),
            'gradcam_examples n_per_class=2': gradcam_examples(net, oof, root, tfm, n_per_class=2, classes=CLS),
            'plot_localisation': plot_localisation(loc, net, root, tfm, classes=CLS)}

def test_image_grids_readable_after_slimming(toy):
    "Every figure of every image grid: its smallest text ≥ 9 px at 480 px, inside the figure, overlapping nothing"
    res = {}
    for name, out in _evidence_figures(toy).items():
        figs = _figs(out); assert figs, name
        for i, f in enumerate(figs): res[f'{name} [{i+1}/{len(figs)}]'] = legibility(f)
    small = {k: round(float(px), 1) for k, (px, _) in res.items() if px < MIN_PX}
    bad = {k: b for k, (_, b) in res.items() if b}
    assert not small, small
    assert not bad, bad

def test_the_check_catches_small_text():
    "The check itself: 8 pt titles in a 19 in wide figure (the old Grad-CAM grid) are 2.8 px; 10 pt in 7 in are 9.5 px; a long title runs out"
    fig, axs = plt.subplots(1, 8, figsize=(19.2, 3)); axs[0].set_title('x', fontsize=8)
    assert abs(legibility(fig)[0] - 8*480/(72*19.2)) < .01
    fig, ax = plt.subplots(figsize=(7, 3)); ax.set_title('x', fontsize=10); ax.set_xticks([]); ax.set_yticks([])
    assert legibility(fig) == (pytest.approx(10*480/(72*7)), [])
    ax.set_title('a title far too long to fit into a figure seven inches wide at ten points: it runs out of the figure on both sides', fontsize=10)
    assert legibility(fig)[1] == [f'outside the figure: {ax.get_title()!r}']
    ax.set_title('x'); ax.set_xlabel('x'); ax.text(.5, 1.01, 'x', transform=ax.transAxes, va='bottom', ha='center', fontsize=10) # on the title
    assert legibility(fig)[1] == ["overlap: 'x' / 'x'"]

def _steps_history():
    st = np.arange(40)
    steps = pd.DataFrame(dict(step=st, epoch=st // 8, loss=np.exp(-st/10) + .05, lr=np.r_[np.linspace(1e-4, 1e-3, 8), np.linspace(1e-3, 0, 32)]))
    hist = pd.DataFrame(dict(epoch=range(5), train_loss=[.9, .5, .3, .2, .15], valid_loss=[1., .7, .6, .55, .5],
                             f1_macro=[.4, .6, .7, .75, .8], accuracy=[.5, .6, .75, .8, .85]))
    return steps, hist

def _legend_clear(fig) -> list:
    "Legends that overlap an axes (its data area or tick labels)"
    r = fig.canvas.get_renderer(); fig.draw(r)
    legs = [l for l in fig.legends] + [a.get_legend() for a in fig.axes if a.get_legend()]
    bad = []
    for l in legs:
        e = l.get_window_extent(r)
        for a in fig.axes:
            boxes = [a.bbox] + [t.get_window_extent(r) for t in a.get_xticklabels() + a.get_yticklabels() if t.get_visible() and t.get_text()]
            if any(e.overlaps(b) for b in boxes): bad.append(f"{[t.get_text() for t in l.get_texts()]} over the axes {a.get_title()!r}")
    return bad

def test_legends_beside_the_axes(toy):
    "The legends of the training history, the run beside Hydrogen Torch, the coverage and the reliability plots cover no axes"
    steps, hist = _steps_history()
    rng = np.random.default_rng(0); p = rng.dirichlet(np.ones(3)*.3, 200); y = rng.integers(0, 3, 200)
    figs = {'plot_history': plot_history(steps, hist), 'plot_history per epoch': plot_history(None, hist),
            'plot_vs_ht': plot_vs_ht(steps, hist), 'plot_coverage': plot_coverage(toy['oof']),
            'plot_reliability': plot_reliability(p, p**.8/(p**.8).sum(1, keepdims=True), y)}
    bad = {k: b for k, f in figs.items() if (b := _legend_clear(f))}
    assert not bad, bad
