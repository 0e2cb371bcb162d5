#!/usr/bin/env python3
"""Reference numbers from PyTorch autograd for BPTT Lens's engine tests.

Writes test/fixtures/torch/: for each small network (nn.RNN tanh/relu, nn.LSTM with two
layers, a bidirectional nn.LSTM, nn.GRU, each followed by an nn.Linear head)
  <name>.safetensors   the state_dict (F64; one file F32), safetensors written by hand
  <name>.input.json    {"x": [B][T][I], "y": [B][T][O] | [B][O]} (design section 5)
  <name>.expected.json loss, every parameter gradient, and per layer, direction and step
                       ||dL/dh_t||, ||dL/dc_t||, ||dL/d(gate pre-activation)_t||, the norm
                       of step t's part of the weight gradient; ||dL/dx_t||; the global norm
plus optim.json (torch.optim SGD / momentum / Adam trajectories), eig.json (spectral
radii from numpy.linalg.eigvals) and train.json (three training steps, with clipping and
an optimizer, on three of the saved cases). The tests need no torch: run this script only to
regenerate, with Debian's python3-torch: `/usr/bin/python3 scripts/make-torch-fixtures.py`.

Per-step gradients come from an unrolled copy of the network (see unrolled()), with
retain_grad() on every h_t, c_t and gate pre-activation and a per-step copy of the weights;
the script asserts that its loss and parameter gradients equal those of the fused
nn.RNN/LSTM/GRU module, so the per-step numbers belong to PyTorch's own computation.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch')


def write_safetensors(path, tensors, dtype):
    """tensors: list of (name, torch.Tensor); dtype 'F64' or 'F32'. The format, by hand."""
    np_dtype = {'F64': '<f8', 'F32': '<f4'}[dtype]
    header, blobs, offset = {}, [], 0
    for name, t in tensors:
        blob = t.detach().cpu().numpy().astype(np_dtype).tobytes(order='C')
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header['__metadata__'] = {'format': 'pt', 'source': 'scripts/make-torch-fixtures.py', 'torch': torch.__version__}
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


class Net(nn.Module):
    def __init__(self, kind, rnn_attr, head_attr, I, H, O, layers, bidirectional, nonlinearity):
        super().__init__()
        self.kind, self.rnn_attr, self.head_attr = kind, rnn_attr, head_attr
        if kind == 'rnn':
            rnn = nn.RNN(I, H, layers, nonlinearity=nonlinearity, batch_first=True, bidirectional=bidirectional)
        elif kind == 'lstm':
            rnn = nn.LSTM(I, H, layers, batch_first=True, bidirectional=bidirectional)
        else:
            rnn = nn.GRU(I, H, layers, batch_first=True, bidirectional=bidirectional)
        self.add_module(rnn_attr, rnn)
        self.add_module(head_attr, nn.Linear(H * (2 if bidirectional else 1), O))

    def rnn_module(self):
        return getattr(self, self.rnn_attr)

    def head_module(self):
        return getattr(self, self.head_attr)


def loss_fn(logits, y, loss, mode):
    """logits: [B, T, O]. mse: mean over every scored output element; xent: softmax
    cross-entropy against target probabilities, mean over the scored outputs."""
    if mode == 'many-to-one':
        scored, target = logits[:, -1, :], y
    else:
        scored, target = logits.reshape(-1, logits.shape[-1]), y.reshape(-1, y.shape[-1])
    if loss == 'mse':
        return F.mse_loss(scored, target)
    return F.cross_entropy(scored, target)


GATES = {'rnn': ['a'], 'lstm': ['i', 'f', 'g', 'o'], 'gru': ['r', 'z', 'n']}


def unrolled(net, x, nonlinearity):
    """The same network step by step, written from the PyTorch equations (design section 2)
    so that every gate pre-activation is a tensor of its own (retain_grad gives
    dL/d(pre-activation)), and with each step using its own leaf copy of the layer's
    weights, whose .grad is then the part of the weight gradient contributed at that step.
    Returns logits and, per layer and direction, the per-step tensors."""
    rnn = net.rnn_module()
    B, T, _ = x.shape
    H, L = rnn.hidden_size, rnn.num_layers
    dirs = ['forward', 'reverse'] if rnn.bidirectional else ['forward']
    states = []
    layer_in = [x[:, t, :] for t in range(T)]
    for l in range(L):
        outs = {}
        for d in dirs:
            suffix = f'_l{l}' + ('_reverse' if d == 'reverse' else '')
            shared = [getattr(rnn, n + suffix) for n in ('weight_ih', 'weight_hh', 'bias_ih', 'bias_hh')]
            h = torch.zeros(B, H, dtype=x.dtype)
            c = torch.zeros(B, H, dtype=x.dtype)
            rec = {'layer': l, 'direction': d, 'h': [None] * T, 'c': [None] * T, 'pre': [None] * T, 'weights': [None] * T}
            order = range(T) if d == 'forward' else range(T - 1, -1, -1)
            for t in order:
                # A per-step copy that still feeds the shared parameter's gradient.
                w_ih, w_hh, b_ih, b_hh = [w.clone() for w in shared]
                for w in (w_ih, w_hh, b_ih, b_hh):
                    w.retain_grad()
                rec['weights'][t] = (w_ih, w_hh, b_ih, b_hh)
                inp = layer_in[t]
                gi = [F.linear(inp, w_ih[k * H:(k + 1) * H], b_ih[k * H:(k + 1) * H]) for k in range(len(GATES[net.kind]))]
                gh = [F.linear(h, w_hh[k * H:(k + 1) * H], b_hh[k * H:(k + 1) * H]) for k in range(len(GATES[net.kind]))]
                if net.kind == 'rnn':
                    pre = [gi[0] + gh[0]]
                    h = torch.tanh(pre[0]) if nonlinearity == 'tanh' else torch.relu(pre[0])
                elif net.kind == 'lstm':
                    pre = [gi[k] + gh[k] for k in range(4)]
                    i, f, g, o = torch.sigmoid(pre[0]), torch.sigmoid(pre[1]), torch.tanh(pre[2]), torch.sigmoid(pre[3])
                    c = f * c + i * g
                    h = o * torch.tanh(c)
                    c.retain_grad()
                    rec['c'][t] = c
                else:
                    pre_r, pre_z = gi[0] + gh[0], gi[1] + gh[1]
                    r, z = torch.sigmoid(pre_r), torch.sigmoid(pre_z)
                    pre_n = gi[2] + r * gh[2]
                    pre = [pre_r, pre_z, pre_n]
                    h = (1 - z) * torch.tanh(pre_n) + z * h
                for p in pre:
                    p.retain_grad()
                h.retain_grad()
                rec['h'][t] = h
                rec['pre'][t] = pre
            outs[d] = rec['h']
            states.append(rec)
        layer_in = [torch.cat([outs[d][t] for d in dirs], dim=1) for t in range(T)]
    top = torch.stack(layer_in, dim=1)
    return net.head_module()(top), states


def make_case(name, kind, *, I=3, H=4, O=2, B=2, T=6, layers=1, bidirectional=False, nonlinearity='tanh',
              loss='mse', mode='many-to-many', rnn_attr='rnn', head_attr='head', dtype='F64', seed=0, scale=1.0,
              soft_targets=False):
    torch.manual_seed(seed)
    net = Net(kind, rnn_attr, head_attr, I, H, O, layers, bidirectional, nonlinearity)
    if dtype == 'F32':
        net = net.float()  # the weights as saved are float32 values ...
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(scale)
    state = [(k, v.detach().clone()) for k, v in net.state_dict().items()]
    write_safetensors(os.path.join(OUT, f'{name}.safetensors'), state, dtype)
    net = net.double()  # ... and every reference number is computed from them in float64

    x = torch.randn(B, T, I, dtype=torch.float64)
    yshape = (B, O) if mode == 'many-to-one' else (B, T, O)
    if loss == 'mse':
        y = torch.randn(*yshape, dtype=torch.float64)
    elif soft_targets:
        y = torch.softmax(torch.randn(*yshape, dtype=torch.float64), dim=-1)
    else:
        y = F.one_hot(torch.randint(0, O, yshape[:-1]), O).to(torch.float64)
    with open(os.path.join(OUT, f'{name}.input.json'), 'w') as f:
        json.dump({'x': x.tolist(), 'y': y.tolist()}, f)

    # Reference 1: the fused module, as users run it.
    net.zero_grad()
    out, _ = net.rnn_module()(x)
    fused_loss = loss_fn(net.head_module()(out), y, loss, mode)
    fused_loss.backward()
    fused_grads = {k: p.grad.detach().clone() for k, p in net.named_parameters()}

    # Reference 2: the unrolled copy, for per-step norms; must agree with reference 1.
    net.zero_grad()
    xs = x.clone().requires_grad_(True)
    logits, states = unrolled(net, xs, nonlinearity)
    step_loss = loss_fn(logits, y, loss, mode)
    step_loss.backward()
    assert abs(step_loss.item() - fused_loss.item()) <= 1e-13 * abs(fused_loss.item()), name
    for k, p in net.named_parameters():
        assert torch.allclose(p.grad, fused_grads[k], rtol=1e-11, atol=1e-14), (name, k)

    def norm(t):
        return 0.0 if t is None or t.grad is None else t.grad.norm().item()

    layer_records = []
    for rec in states:
        layer_records.append({
            'layer': rec['layer'],
            'direction': rec['direction'],
            'gradNormH': [norm(h) for h in rec['h']],
            'gradNormC': [norm(c) for c in rec['c']] if net.kind == 'lstm' else None,
            'gateGradNorm': {g: [norm(pre[k]) for pre in rec['pre']] for k, g in enumerate(GATES[net.kind])},
            'weightGradByStep': [torch.cat([w.grad.reshape(-1) for w in ws]).norm().item() for ws in rec['weights']],
        })
    all_grads = torch.cat([g.reshape(-1) for g in fused_grads.values()])
    expected = {
        'name': name,
        'torch': torch.__version__,
        'weights': f'{name}.safetensors',
        'weightsDtype': dtype,
        'input': f'{name}.input.json',
        'config': {'cell': kind, 'nonlinearity': nonlinearity, 'variant': 'vanilla', 'inputSize': I, 'hiddenSize': H,
                   'numLayers': layers, 'bidirectional': bidirectional, 'outputSize': O},
        'statePrefix': rnn_attr + '.',
        'headPrefix': head_attr + '.',
        'lossKind': loss,
        'mode': mode,
        'loss': fused_loss.item(),
        'globalGradNorm': all_grads.norm().item(),
        # Keys are state_dict names as saved in the safetensors file.
        'grads': {k: g.reshape(-1).tolist() for k, g in fused_grads.items()},
        'layers': layer_records,
        'inputGradNorm': [xs.grad[:, t, :].norm().item() for t in range(T)],
    }
    with open(os.path.join(OUT, f'{name}.expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
    print(f'{name}: loss {fused_loss.item():.6g}, |g| {expected["globalGradNorm"]:.6g}')


def make_optim():
    torch.manual_seed(42)
    p0 = torch.randn(5, dtype=torch.float64)
    grads = [torch.randn(5, dtype=torch.float64) * s for s in (1.0, 0.1, 3.0, 0.5)]
    out = {'initial': p0.tolist(), 'grads': [g.tolist() for g in grads], 'runs': []}
    specs = [
        ('sgd', {'learningRate': 0.1}, lambda p: torch.optim.SGD([p], lr=0.1)),
        ('momentum', {'learningRate': 0.05, 'momentum': 0.9}, lambda p: torch.optim.SGD([p], lr=0.05, momentum=0.9)),
        ('adam', {'learningRate': 0.01}, lambda p: torch.optim.Adam([p], lr=0.01)),
        ('adam', {'learningRate': 0.003, 'beta1': 0.8, 'beta2': 0.99, 'eps': 1e-6},
         lambda p: torch.optim.Adam([p], lr=0.003, betas=(0.8, 0.99), eps=1e-6)),
    ]
    for kind, spec, make in specs:
        p = p0.clone().requires_grad_(True)
        opt = make(p)
        traj = []
        for g in grads:
            p.grad = g.clone()
            opt.step()
            traj.append(p.detach().tolist())
        out['runs'].append({'kind': kind, 'spec': spec, 'params': traj})
    with open(os.path.join(OUT, 'optim.json'), 'w') as f:
        json.dump(out, f, indent=1)


def make_train(name, kind, nonlinearity, loss, mode, rnn_attr, head_attr, opt_name, clip, steps=3, **sizes):
    """A few training steps on a saved case: loss, backward, clip, optimizer step. Norm
    clipping is written out as g <- g * theta / ||g|| (our definition: clip_grad_norm_
    without its 1e-6 eps); value clipping is clip_grad_value_."""
    torch.manual_seed(0)
    I, H, O, layers, bidirectional = sizes['I'], sizes['H'], sizes['O'], sizes.get('layers', 1), sizes.get('bidirectional', False)
    net = Net(kind, rnn_attr, head_attr, I, H, O, layers, bidirectional, nonlinearity).double()
    with open(os.path.join(OUT, f'{name}.expected.json')) as f:
        ex = json.load(f)
    with open(os.path.join(OUT, f'{name}.input.json')) as f:
        data = json.load(f)
    x, y = torch.tensor(data['x']), torch.tensor(data['y'])
    with torch.no_grad():
        state = net.state_dict()
        # The saved weights, read back through our own writer's format.
        raw = open(os.path.join(OUT, ex['weights']), 'rb').read()
        n = struct.unpack('<Q', raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        for k, meta in header.items():
            if k == '__metadata__':
                continue
            b, e = meta['data_offsets']
            arr = np.frombuffer(raw[8 + n + b:8 + n + e], dtype={'F64': '<f8', 'F32': '<f4'}[meta['dtype']])
            state[k].copy_(torch.tensor(arr.astype(np.float64)).reshape(meta['shape']))
    params = list(net.parameters())
    if opt_name == 'adam':
        opt = torch.optim.Adam(params, lr=0.01)
    elif opt_name == 'momentum':
        opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    else:
        opt = torch.optim.SGD(params, lr=0.1)
    losses, pre, post = [], [], []
    for _ in range(steps):
        opt.zero_grad()
        out, _ = net.rnn_module()(x)
        l = loss_fn(net.head_module()(out), y, loss, mode)
        l.backward()
        grads = [p.grad for p in params]
        norm = torch.cat([g.reshape(-1) for g in grads]).norm().item()
        if clip['kind'] == 'norm' and norm > clip['threshold']:
            for g in grads:
                g.mul_(clip['threshold'] / norm)
        elif clip['kind'] == 'value':
            torch.nn.utils.clip_grad_value_(params, clip['threshold'])
        losses.append(l.item())
        pre.append(norm)
        post.append(torch.cat([g.reshape(-1) for g in grads]).norm().item())
        opt.step()
    return {
        'case': name, 'optimizer': opt_name, 'learningRate': opt.param_groups[0]['lr'], 'clip': clip,
        'losses': losses, 'preClipNorm': pre, 'postClipNorm': post,
        'params': {k: v.detach().reshape(-1).tolist() for k, v in net.state_dict().items()},
    }


def make_eig():
    rng = np.random.default_rng(7)
    cases = []
    for n in (2, 3, 5, 8, 16):
        for _ in range(3):
            a = rng.standard_normal((n, n)) / np.sqrt(n)
            cases.append({'n': n, 'matrix': a.reshape(-1).tolist(), 'spectralRadius': float(np.max(np.abs(np.linalg.eigvals(a))))})
    with open(os.path.join(OUT, 'eig.json'), 'w') as f:
        json.dump(cases, f)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_default_dtype(torch.float64)
    make_case('rnn_tanh', 'rnn', nonlinearity='tanh', loss='mse', mode='many-to-many', seed=1)
    make_case('rnn_relu', 'rnn', nonlinearity='relu', loss='mse', mode='many-to-one', seed=2, T=7,
              rnn_attr='rnn', head_attr='fc')
    make_case('lstm_2layer', 'lstm', layers=2, loss='xent', mode='many-to-many', seed=3, O=3,
              rnn_attr='lstm', head_attr='linear')
    make_case('lstm_bidir', 'lstm', bidirectional=True, layers=2, loss='mse', mode='many-to-one', seed=4, T=5)
    make_case('gru', 'gru', loss='xent', mode='many-to-one', seed=5, O=3, soft_targets=True, rnn_attr='gru', head_attr='fc')
    make_case('lstm_f32', 'lstm', loss='mse', mode='many-to-many', seed=6, dtype='F32', T=4)
    make_optim()
    make_eig()
    runs = [
        make_train('lstm_2layer', 'lstm', 'tanh', 'xent', 'many-to-many', 'lstm', 'linear', 'adam', {'kind': 'norm', 'threshold': 0.05},
                   I=3, H=4, O=3, layers=2),
        make_train('gru', 'gru', 'tanh', 'xent', 'many-to-one', 'gru', 'fc', 'momentum', {'kind': 'value', 'threshold': 0.02},
                   I=3, H=4, O=3),
        make_train('rnn_tanh', 'rnn', 'tanh', 'mse', 'many-to-many', 'rnn', 'head', 'sgd', {'kind': 'none'}, I=3, H=4, O=2),
    ]
    with open(os.path.join(OUT, 'train.json'), 'w') as f:
        json.dump(runs, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
