"""Shrink the committed HTML reports further (results/ must stay under 10 MB): every embedded JPEG (the image grids)
re-encoded by the package's own `_small_image` (what `render_html` does) at most 560 px a side, quality 35. Plots
(PNG) are left as they are. Run from the repository root:
    python results/reslim.py results/<folder> ...      (only files that shrink are rewritten)"""
import re, sys
from pathlib import Path
from defect_nb.report import _small_image

for root in sys.argv[1:]:
    for p in sorted(Path(root).rglob('*.html')):
        h = p.read_text(encoding='utf-8')
        s = re.sub(r'data:image/jpeg;base64,([A-Za-z0-9+/=]+)', lambda m: _small_image('jpeg', m.group(1), max_side=560, quality=35), h)
        if len(s) < len(h): p.write_text(s, encoding='utf-8'); print(f"{p}: {len(h)//1024} -> {len(s)//1024} KB")
