import sys
from pathlib import Path

# Let the tests import the package from this checkout even when it is not installed
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
