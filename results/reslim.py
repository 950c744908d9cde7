"""Shrink the committed HTML reports further (results/ must stay under 10 MB): every embedded JPEG (the image grids)
re-encoded at most 700 px a side, quality 45. Plots (PNG) are left as they are. Run from the repository root:
    python results/reslim.py results/<folder> ...      (only files that shrink are rewritten)"""
import re, sys, base64, io
from pathlib import Path
from PIL import Image

def small(m, side=700, q=45):
    b = m.group(1)
    im = Image.open(io.BytesIO(base64.b64decode(b))).convert('RGB')
    im.thumbnail((side, side))
    buf = io.BytesIO(); im.save(buf, 'JPEG', quality=q, optimize=True)
    new = base64.b64encode(buf.getvalue()).decode()
    return f"data:image/jpeg;base64,{new if len(new) < len(b) else b}"

for root in sys.argv[1:]:
    for p in sorted(Path(root).rglob('*.html')):
        h = p.read_text(encoding='utf-8')
        s = re.sub(r'data:image/jpeg;base64,([A-Za-z0-9+/=]+)', small, h)
        if len(s) < len(h): p.write_text(s, encoding='utf-8'); print(f"{p}: {len(h)//1024} -> {len(s)//1024} KB")
