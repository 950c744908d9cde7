#!/usr/bin/env bash
# Issue 14: re-render the committed pages that can be rebuilt from their run folders alone (no weights needed): the
# CV summaries, the comparisons and the sweep leaderboards, so that they get the current first screen (verdict with
# bootstrap interval, links), the dot plots and the slim HTML. Fold reports need their model (Grad-CAM, top losses
# on the fly) and their weights are not committed: they stay as they were rendered. Nothing is retrained.
# Run from the repository root, NEU at ../shared/data/neu-det (error thumbnails), then python results/reslim.py results
set -euo pipefail
R=results
pm() { papermill "$@" --log-level WARNING; }
cvr() { # CV folder, output folder
  pm nbs/cv_report.ipynb "$2/cv_report.ipynb" -p cv_dir "$1"
  rm -f "$2/cv_report.ipynb" "$2"/cv_report-old-*.html "$2"/cv_report.render.log "$2/cv_oof.csv"
}
for d in neu-ht-cv neu-seed-cv neu-fastai-head-cv neu-cam/seed neu-cam/fastai_head; do rm "$R/$d/cv_report.html"; cvr "$R/$d" "$R/$d"; done  # the old pages are in git
rm "$R/recipe-cv/cv_report.html"; cvr "$R/recipe-cv/img_size=128_epochs=18-546251e6" "$R/recipe-cv"
F=$R/neu-fold4
rm "$F/compare-seed42.html" "$F/compare-heads-fold4.html"
pm nbs/compare.ipynb "$F/compare-seed42.ipynb" -p names "cosine (seed),one_cycle,cosine + zero-init residual" \
   -p runs "$(ls -d $F/seed42-cosine/*/),$(ls -d $F/seed42-one_cycle/*/),$(ls -d $F/seed42-cosine-zero-init/*/)"
pm nbs/compare.ipynb "$F/compare-heads-fold4.ipynb" -p names "Linear head (seed config),fastai head" \
   -p runs "$(ls -d $R/neu-seed-cv/fold4/*/),$(ls -d $R/neu-fastai-head-cv/fold4/*/)"
pm nbs/compare.ipynb "$R/compare-seed-vs-recipe.ipynb" -p names "seed (Hydrogen Torch settings),recipe" \
   -p cvs "$R/neu-ht-cv,$R/recipe-cv/img_size=128_epochs=18-546251e6"
rm -f "$F"/compare-*.ipynb "$R"/compare-*.ipynb "$F"/*.render.log "$R"/*.render.log
for s in recipe-cv recipe-search; do  # the leaderboards, from the finished trial folds (nothing is run)
  python - "$R/$s/spec.yaml" "$s" <<'PY'
import sys
from defect_nb.sweep import load_spec, sweep_trials, collect_sweep, leaderboard, write_leaderboard
spec = load_spec(sys.argv[1]); trials = sweep_trials(spec); folds = collect_sweep(trials)  # read-only: each trial's config.yaml stays as its runs were made
write_leaderboard(leaderboard(trials, folds, spec['out_dir']), folds, spec['out_dir'], f'Sweep {sys.argv[2]}')
PY
  rm -f "$R/$s"/*-old-*
done
python results/reslim.py results; python results/reslim.py --max-side 480 --quality 30 results/*/fold* results/recipe-search results/neu-cam results/recipe-cv/*/  # du -sh results < 10 MB
