import sys
from pathlib import Path

# Let the tests import the package from this checkout even when it is not installed
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))

import os, pytest

@pytest.fixture(scope='module')
def tiny_env(tmp_path_factory):
    "Environment for subprocesses of a test module: one demo-data cache, this checkout's package everywhere (papermill kernels and Ray workers too), one thread"
    # one thread per fold whichever the backend (Ray gives a 1-CPU task OMP_NUM_THREADS=1): same seed, same arithmetic, same metrics
    e = {**os.environ, 'DEFECT_NB_CACHE': str(tmp_path_factory.mktemp('cache')), 'MPLBACKEND': 'Agg', 'OMP_NUM_THREADS': '1',
         'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep)}
    e.pop('DEFECT_NB_DATA', None)
    return e
