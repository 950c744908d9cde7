"papermill, run from this environment, executes notebooks with this environment's Python"
import json, os, subprocess, sys
from pathlib import Path
import nbformat

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def _nb(path):
    nb = nbformat.v4.new_notebook()
    nb.metadata['kernelspec'] = dict(name='python3', display_name='Python 3', language='python')
    p = nbformat.v4.new_code_cell("x = 1"); p.metadata['tags'] = ['parameters']
    nb.cells = [p, nbformat.v4.new_code_cell("import sys, defect_nb; print('EXE', sys.executable, x)")]
    nbformat.write(nb, path)

def test_papermill_uses_this_venv(tmp_path):
    "Even with a stale user-level `python3` kernelspec pointing elsewhere, the venv's Python runs the notebook"
    user = tmp_path/'userdata'; k = user/'kernels'/'python3'; k.mkdir(parents=True)
    (k/'kernel.json').write_text(json.dumps(dict(argv=['/nonexistent/python', '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
                                                 display_name='stale', language='python')))
    env = {**os.environ, 'JUPYTER_DATA_DIR': str(user)}
    env.pop('JUPYTER_PATH', None)
    _nb(tmp_path/'in.ipynb')
    r = subprocess.run([str(BIN/'papermill'), str(tmp_path/'in.ipynb'), str(tmp_path/'out.ipynb'), '-p', 'x', '7'],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = nbformat.read(tmp_path/'out.ipynb', as_version=4)
    text = ''.join(o.get('text', '') for c in out.cells if c.cell_type == 'code' for o in c.get('outputs', []))
    exe = text.split('EXE ')[1].split()[0]
    assert Path(exe).parent.resolve() == BIN.resolve() or Path(exe).resolve() == Path(sys.executable).resolve(), (exe, sys.executable)
    assert text.strip().endswith('7')
