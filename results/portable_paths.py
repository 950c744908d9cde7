"""Issue 28: no committed record points outside the repository. Runs made in snapshot checkouts (`../snap`, `../snap2`)
recorded their folds file there; this rewrites such a path to the checkout's own `data/neu_folds.csv`, relative to
the record's folder, but only when that file has the fingerprint the run recorded (`data_fingerprint`, the first 16
hex digits of its SHA-1). Every other path is left as recorded. Idempotent; prints what it changed.

Run from the repository root:  python results/portable_paths.py [--check]   (--check: change nothing, exit 1 if any)"""
import json, os, sys
from pathlib import Path
from defect_nb.env import file_sha1

ROOT = Path(__file__).resolve().parents[1]
FOLDS = ROOT/'data'/'neu_folds.csv'
KEYS = ('folds_file', 'folds_csv')

def outside(rec: Path, p: str) -> bool:
    "Whether relative path `p`, recorded in file `rec`, leads out of the repository"
    if not p or os.path.isabs(p) or ' ' in p: return False
    q = Path(os.path.normpath(rec.parent/p))
    return ROOT not in q.parents

def walk(d):
    "Every dict in a JSON record, nested ones too"
    if isinstance(d, dict):
        yield d
        for v in d.values(): yield from walk(v)
    elif isinstance(d, list):
        for v in d: yield from walk(v)

def main(check: bool) -> int:
    bad = 0
    for rec in sorted((ROOT/'results').rglob('*.json')):
        d = json.loads(rec.read_text()); fp = d.get('data_fingerprint') if isinstance(d, dict) else None
        if not fp and (rec.parent/'env.json').exists(): fp = json.loads((rec.parent/'env.json').read_text()).get('data_fingerprint')
        changed = False
        for node in walk(d):
            for k in KEYS:
                if isinstance(node.get(k), str) and outside(rec, node[k]):
                    bad += 1
                    if fp != file_sha1(FOLDS): print(f"{rec.relative_to(ROOT)}: {k} {node[k]} leads outside and its fingerprint {fp} is not data/neu_folds.csv's: left"); continue
                    new = Path(os.path.relpath(FOLDS, rec.parent)).as_posix()
                    print(f"{rec.relative_to(ROOT)}: {k} {node[k]} -> {new}"); node[k] = new; changed = True
        if changed and not check:
            text = rec.read_text(); rec.write_text(json.dumps(d, indent=2) + ('\n' if text.endswith('\n') else ''))
    print(f"{bad} path(s) leading outside the repository" + (' (fixed)' if bad and not check else ''))
    return 1 if check and bad else 0

if __name__ == '__main__': sys.exit(main('--check' in sys.argv))
