"""Shrink the committed HTML reports further (results/ must stay under 10 MB): every embedded JPEG (the image grids)
re-encoded by the package's own `small_image` (what `render_html` does) at most 560 px a side, quality 35 by
default. Plots (PNG) are left as they are. Run from the repository root:
    python results/reslim.py [--max-side N] [--quality Q] results/<folder> ...   (only files that shrink are rewritten)
Session 8: everything at 560 px / q35, then the fold reports of neu-seed-cv, neu-fastai-head-cv, neu-fold4 and
neu-ht-cv (the older experiments) at 480 px / q30 to stay under 10 MB."""
import re, sys
from pathlib import Path
from defect_nb.render import small_image
args, side, q = sys.argv[1:], 560, 35
while args and args[0].startswith('--'):
    k, v, args = args[0], int(args[1]), args[2:]
    if k == '--max-side': side = v
    elif k == '--quality': q = v
    else: sys.exit(f"unknown option {k}")
for root in args:
    for p in sorted(Path(root).rglob('*.html')):
        h = p.read_text(encoding='utf-8')
        s = re.sub(r'data:image/jpeg;base64,([A-Za-z0-9+/=]+)', lambda m: small_image('jpeg', m.group(1), max_side=side, quality=q), h)
        if len(s) < len(h): p.write_text(s, encoding='utf-8'); print(f"{p}: {len(h)//1024} -> {len(s)//1024} KB")
