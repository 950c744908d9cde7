"""Issue 18: the leaderboard of every NEU training run committed under results/ -- every trial of the reproduction
and the recipe search, whatever tool ran it (papermill fold reports, defect_cv, defect_sweep, the study scripts) --
ranked by macro F1 within each fold. Failed, killed or unfinished runs are listed too (`train.run_status`).

Run from the repository root:  python results/all_trials.py
Writes results/all_trials.csv and prints the fold-4 part as markdown. Columns: where (run folder, relative to
results/), fold, seed, status, macro F1, accuracy, training minutes, img/s, CPU share of the training phase (when
recorded; < 0.7 means something else ran beside it), and `differs from seed`: the config keys whose value differs
from the seed experiment (`load_config('seed')`, the Hydrogen Torch YAML); keys a run's config.yaml predates are
taken as the seed's (they were introduced with the seed's value as the only behaviour)."""
from pathlib import Path
import json, yaml, pandas as pd
from defect_nb.hydrogen import load_config
from defect_nb.runs import run_status
from dataclasses import asdict

HERE = Path(__file__).parent
SEED = asdict(load_config('seed', verbose=False))
SKIP = {'experiment_name', 'seed', 'folds', 'num_workers', 'n_show', 'build_scoring_pipelines', 'run_interpretations'}

def short(v): return json.dumps(v) if isinstance(v, (list, dict)) else str(v)

rows = []
runs = sorted({p.parent for p in [*HERE.rglob('status.json'), *HERE.rglob('metrics.json')]})
for run in runs:
    s = run_status(run)  # done | failed | killed (a `running` record whose process is gone) | running; older runs: metrics.json only
    cfg = yaml.safe_load((run/'config.yaml').read_text()) if (run/'config.yaml').exists() else {}
    m = json.loads((run/'metrics.json').read_text()) if (run/'metrics.json').exists() else {}
    diff = {k: v for k, v in cfg.items() if k not in SKIP and k in SEED and v != SEED[k]}
    wall, cpu, th = m.get('train_time_s'), m.get('train_cpu_s'), m.get('threads')
    rows.append({'where': run.relative_to(HERE).as_posix(), 'fold': m.get('fold', s.get('fold')), 'seed': m.get('seed', cfg.get('seed')),
                 'status': s.get('state', s.get('status')), 'f1_macro': m.get('f1_macro'), 'accuracy': m.get('accuracy'),
                 'train_min': round(wall/60, 2) if wall else None, 'img_s': m.get('train_img_s'),
                 'cpu_share': round(cpu/(wall*th), 2) if cpu and wall and th else None,
                 'differs from seed': '; '.join(f"{k}={short(v)}" for k, v in diff.items()) or '(the seed experiment)',
                 'error': s.get('error', '')})
t = pd.DataFrame(rows).sort_values(['fold', 'f1_macro'], ascending=[True, False], na_position='last', kind='stable')
t.to_csv(HERE/'all_trials.csv', index=False)
f4 = t[t.fold == 4]
print(f"{len(t)} runs ({(t.status != 'done').sum()} not done), {len(f4)} on fold 4\n")
with pd.option_context('display.width', 250, 'display.max_colwidth', 120): print(f4.drop(columns=['error']).to_string(index=False))
