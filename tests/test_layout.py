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


def _exports(p: Path) -> list:
    m = re.search(r"__all__ = (\[.*?\])", p.read_text(), re.S)
    return eval(m.group(1)) if m else []


def test_modules_small():
    "One job per module: none over ~450 lines or exporting more than 20 names"
    big = {p.name: (len(p.read_text().splitlines()), len(_exports(p))) for p in MODS}
    bad = {k: v for k, v in big.items() if v[0] > 450 or v[1] > 20}
    assert not bad, bad


def _nb_order() -> dict:
    "module -> position of its notebook in nbs/ (the reading order)"
    order = {}
    for i, p in enumerate(sorted((ROOT/'nbs').glob('*.ipynb'))):
        m = re.search(r'#\|\s*default_exp\s+(\w+)', p.read_text())
        if m: order[m.group(1)] = i
    return order


def test_imports_follow_reading_order():
    "A module imports only modules whose notebooks come before its own in nbs/ (no arrow back up), at the top or inside a function"
    order = _nb_order()
    back = []
    for p in MODS:
        for m in re.finditer(r'^\s*from\s+(?:\.|defect_nb\.)(\w+)\s+import', p.read_text(), re.M):
            if order[m.group(1)] >= order[p.stem]: back.append(f"{p.stem} -> {m.group(1)}")
    assert not back, back


def test_one_cli_style():
    "Every console script is a `command` (`.cli`), and no module exits by hand: the helper maps errors to exit codes"
    import configparser, importlib
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini')
    scripts = cfg['DEFAULT']['console_scripts'].split()
    assert len(scripts) >= 10
    for s in scripts:
        name, target = s.split('=')
        mod, attr = target.split(':')
        assert attr == f'{name}.cli', s
        assert callable(getattr(getattr(importlib.import_module(mod), name), 'cli')), s
    hand = {p.name: n for p in MODS if (n := len(re.findall(r'sys\.exit\(|SystemExit|call_parse', p.read_text())) - p.read_text().count("if __name__ == '__main__'"))}
    assert not hand, hand


def test_committed_records_stay_in_the_repository():
    "No committed run record points its folds file outside the repository (results/portable_paths.py --check)"
    import subprocess, sys
    r = subprocess.run([sys.executable, str(ROOT/'results'/'portable_paths.py'), '--check'], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
