"""Scoring benchmark of one run folder, side by side in one run on the same images: torch bf16 and fp32 (`defect_predict`'s
Predictor), ONNX fp32 and ONNX int8 (`defect_score`'s OnnxScorer on onnxruntime), and for the choice of int8 toolchain OpenVINO's
runtime on the same fp32 graph and on NNCF's int8 copy of it (optional: `pip install openvino nncf`), each at batch 1 and batch 32, each in its own process
(peak memory is the process's). Every configuration scores every validation image of the run at batch 32 (images/s,
ms/image, macro F1) and the first --n_b1 of them one at a time (images/s, latency p50/p99). The model's own test-time views
are used throughout (the recipe: all 8 dihedral views), as `defect_predict` and `defect_score` do by default.

  python results/deploy/bench_deploy.py RUN_FOLDER [--export DIR] [--n_b1 60] [--slow torch-bf16 --n_slow 64 --n_slow_b1 8] [--out results/deploy/bench.csv]

A configuration named in --slow (torch bf16 on a CPU without native bf16, where it is emulated) scores only the first
--n_slow validation images at batch 32 (its macro F1 is over those) and the first --n_slow_b1 at batch 1.

RUN_FOLDER needs model.json + model.safetensors; DIR (default: RUN_FOLDER) needs model.onnx and model-int8.onnx
(`defect_export RUN_FOLDER --int8`)."""
import argparse, json, os, platform, subprocess, sys, time
from pathlib import Path
import numpy as np, pandas as pd

def _one(kind, run, export, n_b1, threads, images, n_b32=None):
    "Run one configuration in this process (the ONNX ones without importing torch) and print its row as JSON"
    from sklearn.metrics import f1_score
    v = json.loads(Path(images).read_text()); files, labels = v['path'], v['label']
    if kind.startswith('torch'):
        import torch; torch.set_num_threads(threads)
        from defect_nb.predict import load_model
        m = load_model(run, device='cpu', precision=kind.split('-')[1])
        score = lambda fs, bs: m.predict(fs, bs=bs)
    elif kind.startswith('onnx'):
        from defect_nb.score import OnnxScorer
        m = OnnxScorer(Path(export)/('model.onnx' if kind == 'onnx-fp32' else 'model-int8.onnx'), threads=threads)
        score = lambda fs, bs: m.score(fs, bs=bs)
    else: # OpenVINO's runtime on the fp32 graph, or on NNCF's int8 copy of it; the scorer's preprocessing and views
        import openvino as ov
        from defect_nb.score import OnnxScorer
        m = OnnxScorer(Path(export)/'model.onnx', threads=threads)
        f = Path(export)/('model.onnx' if kind == 'openvino-fp32' else 'model-int8-nncf.onnx')
        cm = ov.Core().compile_model(str(f), 'CPU', {'INFERENCE_NUM_THREADS': threads})
        m.run = lambda x: cm(np.ascontiguousarray(x, dtype=np.float32))[0]
        score = lambda fs, bs: m.score(fs, bs=bs)
    score(files[:2], 2) # warm-up
    row = dict(config=kind)
    if n_b32: files, labels = files[:n_b32], labels[:n_b32] # a slow configuration: the first n_b32 images (the CSV says how many)
    for bs, fs in ((32, files), (1, files[:n_b1])):
        lat, preds = [], []
        t0 = time.perf_counter()
        for s in range(0, len(fs), bs):
            t = time.perf_counter(); df = score(fs[s:s+bs], bs); lat.append((time.perf_counter() - t) / len(fs[s:s+bs]))
            preds += df['pred'].tolist()
        wall = time.perf_counter() - t0
        ms = np.array(lat) * 1000
        row.update({f'b{bs}_img_s': round(len(fs) / wall, 2), f'b{bs}_ms_p50': round(float(np.percentile(ms, 50)), 1),
                    f'b{bs}_ms_p99': round(float(np.percentile(ms, 99)), 1), f'b{bs}_images': len(fs)})
        if bs == 32: row['macro_f1'] = round(float(f1_score(labels, preds, average='macro')), 4)
    # this process's own high-water mark (VmHWM): getrusage's ru_maxrss would carry the parent's RSS over the exec
    row['peak_rss_mb'] = round(int(next(l.split()[1] for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM:'))) / 1024, 1)
    row['torch_imported'] = 'torch' in sys.modules
    print('ROW ' + json.dumps(row))

def make_nncf(run, export, n_calib=256):
    "NNCF's static int8 copy of model.onnx (its default preset), calibrated on the same training images as `defect_export --int8`"
    import nncf, onnx
    from defect_nb.deploy import run_images, spread
    from defect_nb.score import OnnxScorer
    sc = OnnxScorer(Path(export)/'model.onnx')
    cal = list(spread(run_images(run, 'train'), n_calib)['path'])
    q = nncf.quantize(onnx.load(str(Path(export)/'model.onnx')), nncf.Dataset(cal, lambda f: {sc.input: sc.prepare(f)[None]}), subset_size=len(cal))
    onnx.save(q, str(Path(export)/'model-int8-nncf.onnx'))

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('run'); ap.add_argument('--export'); ap.add_argument('--n_b1', type=int, default=60)
    ap.add_argument('--threads', type=int, default=os.cpu_count()); ap.add_argument('--out', default=str(Path(__file__).parent/'bench.csv'))
    ap.add_argument('--configs', default='torch-bf16,torch-fp32,onnx-fp32,onnx-int8,openvino-fp32,openvino-int8'); ap.add_argument('--_one')
    ap.add_argument('--_images'); ap.add_argument('--_n_b32', type=int)
    ap.add_argument('--slow', default='', help='configurations scored on only the first --n_slow images at batch 32 and --n_slow_b1 at batch 1')
    ap.add_argument('--n_slow', type=int, default=64); ap.add_argument('--n_slow_b1', type=int, default=8)
    a = ap.parse_args()
    if a._one: return _one(a._one, a.run, a.export or a.run, a.n_b1, a.threads, a._images, a._n_b32)
    import tempfile
    from defect_nb.deploy import run_images
    v = run_images(a.run, 'valid') # the run's validation images, from its oof.csv
    images = Path(tempfile.mkstemp(suffix='.json')[1]); images.write_text(json.dumps(dict(path=list(map(str, v['path'])), label=list(v['label']))))
    if 'openvino-int8' in a.configs and not (Path(a.export or a.run)/'model-int8-nncf.onnx').exists(): make_nncf(a.run, a.export or a.run)
    rows = []
    for k in a.configs.split(','):
        slow = k in a.slow.split(',')
        r = subprocess.run([sys.executable, __file__, a.run, '--export', a.export or a.run, '--n_b1', str(a.n_slow_b1 if slow else a.n_b1),
                            '--threads', str(a.threads), '--_one', k, '--_images', str(images)] + (['--_n_b32', str(a.n_slow)] if slow else []),
                           capture_output=True, text=True)
        line = [l for l in r.stdout.splitlines() if l.startswith('ROW ')]
        if not line: print(r.stderr[-3000:], file=sys.stderr); rows.append(dict(config=k, error=r.stderr.strip().splitlines()[-1][:200])); continue
        rows.append(json.loads(line[0][4:])); print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    cpu = next((l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('model name')), platform.processor())
    flags = set(next((l.split(':', 1)[1].split() for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('flags')), []))
    import onnxruntime, torch
    try: import openvino; ovv = openvino.__version__
    except ImportError: ovv = None
    env = dict(cpu=cpu, cores=os.cpu_count(), threads=a.threads, isa=sorted(f for f in flags if f.startswith(('avx512', 'amx', 'avx_vnni', 'avx2'))),
               torch=torch.__version__, onnxruntime=onnxruntime.__version__, openvino=ovv, python=platform.python_version(),
               time=time.strftime('%Y-%m-%dT%H:%M:%S'), command=' '.join(['python', 'results/deploy/bench_deploy.py'] + sys.argv[1:]).replace(a.export or a.run, 'EXPORT').replace(a.run, 'RUN'))
    images.unlink()
    df.to_csv(a.out, index=False); Path(a.out).with_suffix('.env.json').write_text(json.dumps(env, indent=2))
    print(df.to_string(index=False)); print(env)

if __name__ == '__main__': main()
