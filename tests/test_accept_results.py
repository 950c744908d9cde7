"results/accept/*.csv (README's auto-accept tables) are what its scripts compute from the out-of-fold predictions committed under results/"
import shutil, subprocess, sys
from pathlib import Path
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

def test_committed_accept_tables_rederive_from_committed_oof(tmp_path):
    "neu_accept.py and coverage_need.py, run on a copy of results/, write the committed accept/*.csv again"
    src = ROOT/'results'; shutil.copytree(src, tmp_path/'results')
    out = tmp_path/'results'/'accept'
    for f in out.glob('*.csv'): f.unlink()
    for script in ('neu_accept.py', 'coverage_need.py'):
        r = subprocess.run([sys.executable, script], cwd=out, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
    committed = sorted((src/'accept').glob('*.csv'))
    assert {f.name for f in committed} == {f.name for f in out.glob('*.csv')}
    for f in committed: pd.testing.assert_frame_equal(pd.read_csv(out/f.name), pd.read_csv(f), obj=f.name)
