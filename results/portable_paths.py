"""Rewrite the absolute paths of the machine that made the committed results into paths relative to the
folder of the file that holds them (a run folder, a CV folder, a report's folder), as `defect_nb` now
records them. Run from the repository root (again after adding results; files already portable are left as they are): python results/portable_paths.py
Mapping: run folders and CV folders to where they are committed under results/; any clone's
`data/neu_folds.csv` and `defect_nb/configs/*` to this repository's; `/work/shared/...` and the venv to
their place beside / in this checkout (the layout the README assumes: ../shared next to the clone);
anything else (scratch files of the day) to its file name."""
import os, re, subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RES = REPO/'results'
CV = {'cv-neu-seed': RES/'neu-seed-cv', 'cv-fastai-head': RES/'neu-fastai-head-cv', 'neu-ht-cv': RES/'neu-ht-cv', 'recipe-cv': RES/'recipe-cv'}
RUNS = {p.name: p for p in RES.rglob('*') if p.is_dir() and re.search(r'-fold\d-\d{8}-\d{6}', p.name)}
ABS = re.compile(r"/(?:work|root|tmp|home)/[^\s\"'<>`,()\]]*")

def target(p:str) -> Path:
    "Where the thing at absolute path `p` (of the machine that made it) is in this checkout"
    parts = Path(p.rstrip('/:')).parts
    for i in range(len(parts) - 1, 0, -1): # the deepest committed run or CV folder on the path, plus what is below it
        if parts[i] in RUNS: return RUNS[parts[i]].joinpath(*parts[i+1:])
        if parts[i] in CV: return CV[parts[i]].joinpath(*parts[i+1:])
        if parts[i] == 'neu-cam' and parts[i-1] == 'results': return (RES/'neu-cam').joinpath(*parts[i+1:])
    for anchor in ('data', 'defect_nb', '.venv'):
        if anchor in parts and parts[1] == 'work' and parts[2] != 'shared':
            return REPO.joinpath(*parts[parts.index(anchor):])
    if len(parts) > 2 and parts[:3] == ('/', 'work', 'shared'): return REPO.parent.joinpath(*parts[2:])
    return None

def fix(text:str, where:Path) -> str:
    def sub(m):
        p = m.group(0); tail = p[len(p.rstrip('/:')):]
        t = target(p)
        return (os.path.relpath(t, where) if t is not None else Path(p.rstrip('/:')).name) + tail
    return ABS.sub(sub, text)

if __name__ == '__main__':
    files = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard', 'results'], cwd=REPO, capture_output=True, text=True).stdout.split()
    n = 0
    for f in files:
        f = REPO/f
        if f.suffix not in ('.json', '.csv', '.html', '.yaml') : continue
        s = f.read_text(encoding='utf-8'); new = fix(s, f.parent)
        if new != s: f.write_text(new, encoding='utf-8'); n += 1
    print(f"{n} files rewritten")
