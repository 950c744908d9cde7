"""The difference table of the reproduction study: every fold-4 trial of `trials.csv`, plus the eight committed
runs of the seed config as the package ran it before (`old-seed`), against Hydrogen Torch's logged run.
Writes `differences.csv` (one row per variant: F1 mean ± std, mean training loss per epoch) and prints it as markdown.
python results/repro-fold4/make_table.py"""
import json
from pathlib import Path
import pandas as pd

HERE = Path(__file__).parent
OLD = ['neu-seed-cv/fold4', 'neu-fold4/seed42-cosine', 'neu-fold4/seed1-cosine', 'neu-fold4/seed2-cosine'] + \
      [f'neu-fold4/seeds3-6/Linear-seed{s}' for s in (3, 4, 5, 6)]
WHAT = {'old-seed': 'seed config as run before: torchvision ResNet50, 8 dihedral flips/turns + lighting ±10 %, training-fold channel stats',
        'norm-image': 'old-seed, per-image normalisation', 'aug-soft': 'old-seed, horizontal flips only (Hydrogen Torch Soft)',
        'arch-timm': "old-seed, timm's resnet50 (zero-init last BN per block)", 'ht': 'all three: the seed config as it now loads'}
HT = dict(variant='Hydrogen Torch (logged)', n=1, f1_macro='', accuracy=0.9792, train_loss=[0.874, 0.398, 0.216, 0.129, 0.093], valid_loss=0.1139)

def old_rows():
    for d in OLD:
        r = next((HERE.parent/d).glob('*/metrics.json')).parent
        m, s = json.loads((r/'metrics.json').read_text()), pd.read_csv(r/'steps.csv')
        yield dict(variant='old-seed', seed=m['seed'], f1_macro=m['f1_macro'], accuracy=m['accuracy'], valid_loss=m['valid_loss'],
                   train_loss=s.groupby('epoch').loss.mean().round(4).tolist())

def rows():
    t = pd.read_csv(HERE/'trials.csv')
    t = t[t.status == 'ok']
    new = [dict(variant=r.variant, seed=r.seed, f1_macro=r.f1_macro, accuracy=r.accuracy, valid_loss=r.valid_loss,
                train_loss=json.loads(r.train_loss_per_epoch)) for r in t.itertuples()]
    return pd.DataFrame(list(old_rows()) + new)

def table(df):
    out = []
    for v, g in df.groupby('variant', sort=False):
        tl = pd.DataFrame(g.train_loss.tolist()).mean()
        out.append(dict(variant=v, what=WHAT.get(v, ''), n=len(g), seeds=' '.join(map(str, g.seed)),
                        f1_macro=f"{g.f1_macro.mean():.4f} ± {g.f1_macro.std(ddof=1):.4f}" if len(g) > 1 else f"{g.f1_macro.mean():.4f}",
                        accuracy=round(g.accuracy.mean(), 4), valid_loss=round(g.valid_loss.mean(), 4),
                        **{f'train_loss_e{i+1}': round(x, 3) for i, x in enumerate(tl)}))
    ht = dict(variant='hydrogen-torch', what="Hydrogen Torch's own run (its split, T4 fp16; its 'F1' is accuracy)", n=1, seeds='875230',
              f1_macro='', accuracy=HT['accuracy'], valid_loss=HT['valid_loss'], **{f'train_loss_e{i+1}': x for i, x in enumerate(HT['train_loss'])})
    return pd.DataFrame(out + [ht])

if __name__ == '__main__':
    df = rows(); t = table(df)
    df.to_csv(HERE/'runs.csv', index=False); t.to_csv(HERE/'differences.csv', index=False)
    print(t.drop(columns='what').to_string(index=False))
