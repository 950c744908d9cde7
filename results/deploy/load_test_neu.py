"""Bounded load test of `defect_serve` on loopback with a run's validation images: starts the real server on an ONNX export,
sends --n_requests `POST /score` requests (one image each, the validation images in turn) from --clients concurrent clients,
stops by itself (after --max_seconds at the latest) and writes requests/s, latency p50/p99, failures and the server's
memory (RSS sampled every 50 requests) to --out, with the machine it ran on.

  python results/deploy/load_test_neu.py RUN_FOLDER --model EXPORT/model-int8.onnx [--clients 8] [--n_requests 2000]"""
import argparse, json, os, platform, socket, subprocess, sys, time
from pathlib import Path

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('run'); ap.add_argument('--model', required=True); ap.add_argument('--clients', type=int, default=8)
    ap.add_argument('--n_requests', type=int, default=2000); ap.add_argument('--max_seconds', type=float, default=900)
    ap.add_argument('--out', default=str(Path(__file__).parent/'load_test.json'))
    a = ap.parse_args()
    import httpx
    from defect_nb.deploy import run_images
    from defect_nb.serve import load_test
    images = list(map(str, run_images(a.run, 'valid')['path']))
    port = _free_port(); url = f'http://127.0.0.1:{port}'
    exe = Path(sys.executable).parent/'defect_serve'
    p = subprocess.Popen([str(exe), a.model, '--host', '127.0.0.1', '--port', str(port), '--log_level', 'warning'],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(240):
            try:
                if httpx.get(f'{url}/health', timeout=1).status_code == 200: break
            except httpx.HTTPError: time.sleep(0.5)
        else: raise SystemExit(f"defect_serve did not come up: {p.stderr.read()[-2000:]}")
        model = httpx.get(f'{url}/model').json()
        res = load_test(url, images, clients=a.clients, n_requests=a.n_requests, max_seconds=a.max_seconds, server_pid=p.pid)
        after = httpx.post(f'{url}/score', files=[('files', (Path(images[0]).name, Path(images[0]).read_bytes()))]).status_code
    finally: p.terminate(); p.wait(30)
    cpu = next((l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('model name')), platform.processor())
    out = dict(res, model=Path(a.model).name, model_id=model.get('model_id'), tta=model.get('tta'), images=len(images),
               status_after=after, cpu=cpu, cores=os.cpu_count(), time=time.strftime('%Y-%m-%dT%H:%M:%S'),
               command=' '.join(['python', 'results/deploy/load_test_neu.py'] + sys.argv[1:]).replace(str(Path(a.model).parent), 'EXPORT').replace(a.run, 'RUN'))
    Path(a.out).write_text(json.dumps(out, indent=2)); print(json.dumps(out, indent=2))

if __name__ == '__main__': main()
