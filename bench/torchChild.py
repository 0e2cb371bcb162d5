# The benchmark's PyTorch side: a persistent child process that `npm run bench` drives over
# stdin/stdout (one JSON object per line each way), so PyTorch is timed in the same run as
# the engine and TF.js, interleaved with them, on the same weights and data.
#
# Variants (one thread; the parent also sets OMP/OpenBLAS/MKL_NUM_THREADS=1):
#   fused32     nn.LSTM / nn.RNN / nn.GRU + nn.Linear + F.mse_loss, forward + backward, float32
#   fused64     the same in float64
#   unrolled64  nn.LSTMCell / RNNCell / GRUCell unrolled over t in float64, retain_grad() on
#               every h_t (and c_t), and after backward the per-step norms ‖∂L/∂h_t‖ (‖∂L/∂c_t‖)
#               read out of them: the honest equivalent of the engine's per-step probes.
# Each timed call is one forward + backward from fresh .grad (set to None), timed inside
# this process with perf_counter (wall) and process_time (CPU), so the pipe is not timed.
#
# Requests: {"op": "hello"} | {"op": "setup", "id", "cell", "nonlinearity", "hidden", "batch",
# "steps", "weights": {name: base64 float64 LE}, "x", "y"} | {"op": "grads", "id", "variant"} |
# {"op": "time", "id", "variant"} | {"op": "drop", "id"} | {"op": "quit"}.
# Replies: {"ok": true, ...} or {"ok": false, "error": "..."}.

import base64
import json
import re
import sys
import time
import traceback

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass  # already set (only allowed before any parallel work)

PARAMS = ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'head.weight', 'head.bias']


def decode(b64, dtype, shape):
    raw = bytearray(base64.b64decode(b64))
    return torch.frombuffer(raw, dtype=torch.float64).reshape(shape).to(dtype).clone()


def encode(t):
    return base64.b64encode(t.detach().to(torch.float64).contiguous().numpy().tobytes()).decode('ascii')


def blas_info():
    """BLAS_INFO from torch's build config, and the BLAS libraries mapped into this process."""
    config = torch.__config__.show()
    match = re.search(r'BLAS_INFO=([^,\s]+)', config)
    info = match.group(1) if match else 'not stated'
    a = torch.ones(64, 64, dtype=torch.float64)
    (a @ a).sum().item()  # make sure the BLAS is loaded and used
    libs = []
    try:
        with open('/proc/self/maps') as maps:
            for line in maps:
                path = line.split()[-1] if len(line.split()) >= 6 else ''
                name = path.rsplit('/', 1)[-1].lower()
                if ('blas' in name or 'mkl' in name) and path not in libs:
                    libs.append(path)
    except OSError:
        pass
    return info, libs


class Problem:
    def __init__(self, req):
        self.cell = req['cell']
        self.nonlinearity = req['nonlinearity']
        H, B, T = req['hidden'], req['batch'], req['steps']
        G = {'rnn': 1, 'lstm': 4, 'gru': 3}[self.cell]
        shapes = {
            'weight_ih_l0': (G * H, 1), 'weight_hh_l0': (G * H, H), 'bias_ih_l0': (G * H,),
            'bias_hh_l0': (G * H,), 'head.weight': (1, H), 'head.bias': (1,),
        }
        w64 = {n: decode(req['weights'][n], torch.float64, shapes[n]) for n in PARAMS}
        x64 = decode(req['x'], torch.float64, (B, T, 1))
        y64 = decode(req['y'], torch.float64, (B, 1))
        self.variants = {
            'fused32': self._fused(w64, x64, y64, torch.float32),
            'fused64': self._fused(w64, x64, y64, torch.float64),
            'unrolled64': self._unrolled(w64, x64, y64),
        }

    def _fused(self, w, x, y, dtype):
        H = w['weight_hh_l0'].shape[1]
        if self.cell == 'lstm':
            rnn = torch.nn.LSTM(1, H, batch_first=True)
        elif self.cell == 'gru':
            rnn = torch.nn.GRU(1, H, batch_first=True)
        else:
            rnn = torch.nn.RNN(1, H, nonlinearity=self.nonlinearity, batch_first=True)
        head = torch.nn.Linear(H, 1)
        rnn, head = rnn.to(dtype), head.to(dtype)
        with torch.no_grad():
            for n in PARAMS[:4]:
                getattr(rnn, n).copy_(w[n])
            head.weight.copy_(w['head.weight'])
            head.bias.copy_(w['head.bias'])
        named = {**{n: getattr(rnn, n) for n in PARAMS[:4]}, 'head.weight': head.weight, 'head.bias': head.bias}
        xd, yd = x.to(dtype), y.to(dtype)

        def step():
            for p in named.values():
                p.grad = None
            out, _ = rnn(xd)
            loss = F.mse_loss(head(out[:, -1]), yd)
            loss.backward()
            return loss.item()

        return step, named

    def _unrolled(self, w, x, y):
        H = w['weight_hh_l0'].shape[1]
        B, T = x.shape[0], x.shape[1]
        if self.cell == 'lstm':
            cell = torch.nn.LSTMCell(1, H)
        elif self.cell == 'gru':
            cell = torch.nn.GRUCell(1, H)
        else:
            cell = torch.nn.RNNCell(1, H, nonlinearity=self.nonlinearity)
        head = torch.nn.Linear(H, 1)
        cell, head = cell.double(), head.double()
        with torch.no_grad():
            for n in PARAMS[:4]:
                getattr(cell, n[:-3]).copy_(w[n])
            head.weight.copy_(w['head.weight'])
            head.bias.copy_(w['head.bias'])
        named = {**{n: getattr(cell, n[:-3]) for n in PARAMS[:4]}, 'head.weight': head.weight, 'head.bias': head.bias}
        xs = [x[:, t] for t in range(T)]
        lstm = self.cell == 'lstm'

        def step():
            for p in named.values():
                p.grad = None
            h = torch.zeros(B, H, dtype=torch.float64)
            c = torch.zeros(B, H, dtype=torch.float64)
            hs, cs = [], []
            for xt in xs:
                if lstm:
                    h, c = cell(xt, (h, c))
                    c.retain_grad()
                    cs.append(c)
                else:
                    h = cell(xt, h)
                h.retain_grad()
                hs.append(h)
            loss = F.mse_loss(head(h), y)
            loss.backward()
            # The per-step gradient norms the engine records (∂L/∂h_t; ∂L/∂c_t for the LSTM).
            # The last c_T has no gradient (h_T's path only), as in the engine it is zero.
            norms = torch.stack([t.grad for t in hs]).norm(dim=(1, 2))
            if lstm:
                torch.stack([t.grad if t.grad is not None else torch.zeros_like(t) for t in cs]).norm(dim=(1, 2))
            norms.sum().item()
            return loss.item()

        return step, named


def main():
    problems = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req['op']
            if op == 'hello':
                info, libs = blas_info()
                reply = {'torch': torch.__version__, 'blasInfo': info, 'blasLibraries': libs,
                         'threads': torch.get_num_threads(), 'python': sys.version.split()[0]}
            elif op == 'setup':
                problems[req['id']] = Problem(req)
                reply = {}
            elif op == 'grads':
                step, named = problems[req['id']].variants[req['variant']]
                loss = step()
                reply = {'loss': loss, 'grads': {n: encode(p.grad) for n, p in named.items()}}
            elif op == 'time':
                step, _ = problems[req['id']].variants[req['variant']]
                c0 = time.process_time()
                t0 = time.perf_counter()
                loss = step()
                wall = (time.perf_counter() - t0) * 1000
                cpu = (time.process_time() - c0) * 1000
                reply = {'wallMs': wall, 'cpuMs': cpu, 'loss': loss}
            elif op == 'drop':
                problems.pop(req['id'], None)
                reply = {}
            elif op == 'quit':
                sys.stdout.write(json.dumps({'ok': True}) + '\n')
                sys.stdout.flush()
                return
            else:
                raise ValueError(f'unknown op {op!r}')
            reply['ok'] = True
        except Exception as err:  # report to the parent, keep serving
            reply = {'ok': False, 'error': f'{type(err).__name__}: {err}', 'trace': traceback.format_exc()}
        sys.stdout.write(json.dumps(reply) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
