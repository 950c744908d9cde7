"""Issue 28: which machine made which committed run, from the runs' own records (`env.json`: `device`, `torch_threads`,
`packages.torch`), so that no page has to state it from memory. Writes results/machines.csv: one row per results/
folder and device, with the number of runs and the first and last run folder's time stamp.

Run from the repository root:  python results/machines.py"""
import json, re
from pathlib import Path
import pandas as pd

ROOT = Path(__file__).resolve().parent
rows = []
for e in sorted(ROOT.rglob('env.json')):
    d = json.loads(e.read_text()); rel = e.relative_to(ROOT)
    stamp = re.search(r'(\d{8}-\d{6})', str(rel.parent))
    rows.append(dict(folder=rel.parts[0], device=d.get('device'), torch=(d.get('packages') or {}).get('torch'),
                     threads=d.get('torch_threads'), when=stamp.group(1) if stamp else None))
t = (pd.DataFrame(rows).groupby(['folder', 'device', 'torch', 'threads'], dropna=False)
     .agg(runs=('when', 'size'), first=('when', 'min'), last=('when', 'max')).reset_index())
t.to_csv(ROOT/'machines.csv', index=False)
md = lambda df: '\n'.join('| ' + ' | '.join(map(str, r)) + ' |' for r in [list(df.columns), ['---']*len(df.columns), *df.astype(str).values.tolist()])
print(md(t))  # README's table (by hand: pandas' to_markdown needs tabulate, which is not a dependency)
