"""Shrink the committed per-step logs (steps.csv: step, epoch, loss, lr) without changing what they say: the loss is a
float32 (the training step's value), written by older runs with 17 digits; 9 significant digits give back exactly the same
float32. lr is rounded to 9 significant digits too (its schedule's value, not read back by any table). Idempotent;
run from the repository root:  python results/slim_steps.py [--check]   (--check: exit 1 if any file would change)"""
import sys
from pathlib import Path
import numpy as np, pandas as pd

def slim(p: Path) -> str:
    d = pd.read_csv(p)
    l32 = d['loss'].to_numpy().astype(np.float32)
    back = np.array([float(f"{v:.9g}") for v in d['loss']], dtype=np.float32)
    if not np.array_equal(back, l32): raise ValueError(f"{p}: the loss does not survive 9 digits as float32; left as it is")
    return d.to_csv(index=False, float_format='%.9g', lineterminator='\n')

if __name__ == '__main__':
    check, n, saved = '--check' in sys.argv, 0, 0
    for p in sorted(Path('results').rglob('steps.csv')):
        old, new = p.read_text(), slim(p)
        if new != old:
            n += 1; saved += len(old) - len(new)
            if not check: p.write_text(new)
    print(f"{n} steps.csv {'would change' if check else 'rewritten'}, {saved/1e3:.0f} kB smaller")
    sys.exit(1 if check and n else 0)
