"""Checks by reading the code: no module imports another module's private names, and the README's notebook table
lists exactly the notebooks in nbs/ with the module each exports to"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODS = sorted(p for p in (ROOT/'defect_nb').glob('*.py') if p.name not in ('__init__.py', '_modidx.py'))


def _private_imports(text: str) -> list:
    "Private names (`_x`) imported from a defect_nb module, relative or absolute, and `module._x` attribute uses"
    out = []
    for m in re.finditer(r'from\s+(?:\.|defect_nb\.)(\w+)\s+import\s+\(?([^)\n]+)', text):
        out += [f"{m.group(1)}.{n.strip()}" for n in m.group(2).split(',') if n.strip().startswith('_')]
    names = '|'.join(p.stem for p in MODS)
    out += re.findall(rf'\b(?:{names})\._[a-z]\w*', text)
    return out


def test_the_check_finds_private_imports():
    "The check itself: it catches the forms a private import takes"
    assert _private_imports("from .core import ConfigError, _stash\nfrom defect_nb.cv import (_abs)\nx = core._value(1)") == \
        ['core._stash', 'cv._abs', 'core._value']
    assert _private_imports("from .core import ConfigError, stash_aside\nfrom __future__ import annotations") == []


def test_no_private_names_across_modules():
    "What another module needs is public where it lives"
    bad = {p.name: found for p in MODS if (found := _private_imports(p.read_text()))}
    assert not bad, bad


def test_readme_notebook_table_matches_nbs():
    "Every library notebook of nbs/ is in the README's table with the module it exports to, and nothing else is"
    rows = dict(re.findall(r'^\| `(\w+)` \| `(defect_nb\.\w+)` \|', (ROOT/'README.md').read_text(), re.M))
    nbs = {}
    for p in sorted((ROOT/'nbs').glob('*.ipynb')):
        m = re.search(r'#\|\s*default_exp\s+(\w+)', p.read_text())
        if m: nbs[p.stem] = f'defect_nb.{m.group(1)}'
    assert rows == nbs
