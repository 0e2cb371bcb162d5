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
import math
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


# ---------------------------------------------------------------------------------------------
# Modern recurrences (design section 8): indrnn, mingru, minlstm, lru, rglru, slstm, mlstm, s6.
#
# Each cell is written here from the section 8 equations in torch (float64, autograd), and run by
# a plain loop: proj_t = W_in u_t + b_in (the cell's projection blocks stacked), rec_t = W_hh h_{t-1}
# + b_hh (slstm only), the step, out_t = the state part h or the cell's readout, stacking and the
# reverse direction, then a linear head and the loss. Recorded per layer/direction and step:
#   gradNormState  ||dL/ds_t|| with the state parts as independent coordinates (design section 8):
#                  each part gets a zero tensor added after the step and its .grad is the part's
#                  gradient (paths through step t+1 and, where out_t is read from the state or is
#                  the part h, through out_t); held-constant parts (xLSTM's m) are not counted
#   gradNormH      ||dL/dh_t|| for cells whose output is the part h; = gradNormState for the
#                  readout cells (lru, mlstm, s6), as the cell contract defines it
#   gradNormC      slstm: ||dL/dc_t|| for c_t as a node (incl. the path through h_t = o c_t / n_t)
#   gateGradNorm   ||dL/d(pre-activation)|| per section 8 gate (a zero tensor added to proj_t)
#   gateMean       mean of the gate's value (the value the cell records, see gate_values())
#   weightGradByStep  ||the part of the layer/direction's parameter gradient contributed at step t||
#                  (every parameter of that layer/direction, through a per-step copy)
#   jacobianNorm   mean over the batch of sigma_max(ds_t/ds_{t-1}) (torch.linalg.svdvals of the
#                  autograd Jacobian), xLSTM cells with m_t held at its forward value
# xLSTM's stabiliser m is detached (held constant) as section 8 says; the script asserts that the
# loss and every parameter gradient equal those of the same network with m NOT detached, i.e.
# that holding m changes no parameter gradient (h does not depend on m).

MODERN_STATE = {
    'indrnn': [('h', 'H')], 'mingru': [('h', 'H')], 'minlstm': [('h', 'H')], 'lru': [('h', '2H')],
    'rglru': [('h', 'H')], 'slstm': [('h', 'H'), ('c', 'H'), ('n', 'H'), ('m', 'H')],
    'mlstm': [('C', 'HH'), ('n', 'H'), ('m', '1')], 's6': [('h', 'HN')],
}
MODERN_HELD = {'m'}
MODERN_OUT_PART = {'indrnn': 'h', 'mingru': 'h', 'minlstm': 'h', 'rglru': 'h', 'slstm': 'h', 'lru': None, 'mlstm': None, 's6': None}
MODERN_GATES = {'indrnn': ['a'], 'mingru': ['z', 'h'], 'minlstm': ['f', 'i', 'h'], 'lru': [], 'rglru': ['a', 'x'],
                'slstm': ['i', 'f', 'z', 'o'], 'mlstm': ['i', 'f', 'o'], 's6': ['dt']}


def modern_params(kind, I, H, N):
    """(name, shape, role) in section 8 order; projection blocks (weight, bias, rows); recurrent."""
    if kind == 'indrnn':
        return [('weight_ih', (H, I)), ('bias_ih', (H,)), ('weight_hh', (H,))], [('weight_ih', 'bias_ih', H)], None
    if kind in ('mingru', 'minlstm', 'rglru'):
        g = {'mingru': 2, 'minlstm': 3, 'rglru': 3}[kind]
        extra = [('a_param', (H,))] if kind == 'rglru' else []
        return [('weight_ih', (g * H, I)), ('bias_ih', (g * H,))] + extra, [('weight_ih', 'bias_ih', g * H)], None
    if kind == 'lru':
        return ([('nu_log', (H,)), ('theta_log', (H,)), ('gamma_log', (H,)), ('B_re', (H, I)), ('B_im', (H, I)),
                 ('C_re', (H, H)), ('C_im', (H, H)), ('D', (H, I))],
                [('B_re', None, H), ('B_im', None, H), ('D', None, H)], None)
    if kind == 'slstm':
        return ([('weight_ih', (4 * H, I)), ('weight_hh', (4 * H, H)), ('bias_ih', (4 * H,)), ('bias_hh', (4 * H,))],
                [('weight_ih', 'bias_ih', 4 * H)], ('weight_hh', 'bias_hh'))
    if kind == 'mlstm':
        ps, blocks = [], []
        for g in 'qkvo':
            ps += [(f'weight_{g}', (H, I)), (f'bias_{g}', (H,))]
            blocks.append((f'weight_{g}', f'bias_{g}', H))
        ps += [('weight_if', (2, I)), ('bias_if', (2,))]
        blocks.append(('weight_if', 'bias_if', 2))
        return ps, blocks, None
    if kind == 's6':
        return ([('weight_u', (H, I)), ('bias_u', (H,)), ('weight_dt', (H, I)), ('bias_dt', (H,)), ('weight_B', (N, I)),
                 ('weight_C', (N, I)), ('A_log', (H, N)), ('D', (H,))],
                [('weight_u', 'bias_u', H), ('weight_dt', 'bias_dt', H), ('weight_B', None, N), ('weight_C', None, N)], None)
    raise ValueError(kind)


def modern_init(kind, params, H, N, gen):
    """Section 8's init where it states one (lru ring, rglru Lambda, s6 A_log and D), U(-1/sqrt H, 1/sqrt H)
    elsewhere, then U(-0.3, 0.3) added to every entry so that no parameter sits at a special value."""
    b = 1 / math.sqrt(H)
    with torch.no_grad():
        for name, p in params.items():
            p.uniform_(-b, b, generator=gen)
        if kind == 'lru':
            r2 = 0.9 ** 2 + torch.rand(H, generator=gen) * (0.999 ** 2 - 0.9 ** 2)
            params['nu_log'].copy_(torch.log(-0.5 * torch.log(r2)))
            params['theta_log'].copy_(torch.log(2 * math.pi * torch.rand(H, generator=gen).clamp_min(1e-3)))
            params['gamma_log'].copy_(0.5 * torch.log(1 - r2))
        if kind == 'rglru':
            rho2 = 0.9 ** 2 + torch.rand(H, generator=gen) * (0.999 ** 2 - 0.9 ** 2)
            y = -0.5 * torch.log(rho2)
            params['a_param'].copy_(y + torch.log(-torch.expm1(-y)))
        if kind == 's6':
            params['A_log'].copy_(torch.log(torch.arange(1, N + 1, dtype=torch.float64)).repeat(H, 1))
            params['D'].fill_(1.0)
        if kind == 'mlstm':
            params['bias_if'].copy_(torch.tensor([0.0, 3.0]))
        for p in params.values():
            p.add_(torch.rand(p.shape, generator=gen) * 0.6 - 0.3)


def g_pos(x):
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def modern_step(kind, P, proj, rec, prev, first, H, N, detach_m=True, eps_node=None, m_fixed=None):
    """One step from section 8. Returns (parts in MODERN_STATE order, gate values, readout or None)."""
    B = proj.shape[0]
    if kind == 'indrnn':
        a = proj + P['weight_hh'] * prev[0]
        h = torch.relu(a) if P['_act'] == 'relu' else torch.tanh(a)
        return [h], {'a': h}, None
    if kind == 'mingru':
        z, ht = torch.sigmoid(proj[:, :H]), g_pos(proj[:, H:])
        return [(1 - z) * prev[0] + z * ht], {'z': z, 'h': ht}, None
    if kind == 'minlstm':
        f, i, ht = torch.sigmoid(proj[:, :H]), torch.sigmoid(proj[:, H:2 * H]), g_pos(proj[:, 2 * H:])
        fn, inn = f / (f + i), i / (f + i)
        return [fn * prev[0] + inn * ht], {'f': fn, 'i': inn, 'h': ht}, None
    if kind == 'lru':
        r, phi = torch.exp(-torch.exp(P['nu_log'])), torch.exp(P['theta_log'])
        lr, li, gam = r * torch.cos(phi), r * torch.sin(phi), torch.exp(P['gamma_log'])
        re, im = prev[0][:, :H], prev[0][:, H:]
        nre = lr * re - li * im + gam * proj[:, :H]
        nim = lr * im + li * re + gam * proj[:, H:2 * H]
        dx = proj[:, 2 * H:]

        def readout(parts):
            h = parts[0]
            return h[:, :H] @ P['C_re'].T - h[:, H:] @ P['C_im'].T + dx
        return [torch.cat([nre, nim], 1)], {}, readout
    if kind == 'rglru':
        r, i, u = torch.sigmoid(proj[:, :H]), torch.sigmoid(proj[:, H:2 * H]), proj[:, 2 * H:]
        log_a = -8 * r * F.softplus(P['a_param'])
        a = torch.exp(log_a)
        m = torch.ones_like(a) if first else torch.sqrt(-torch.expm1(2 * log_a))
        return [a * prev[0] + m * (i * u)], {'a': r, 'x': i}, None
    if kind == 'slstm':
        pre = proj + rec
        pi, pf, pz, po = pre[:, :H], pre[:, H:2 * H], pre[:, 2 * H:3 * H], pre[:, 3 * H:]
        lfm = F.logsigmoid(pf) + prev[3]
        m = pi if first else torch.maximum(lfm, pi)
        if m_fixed is not None:
            m = m_fixed
        elif detach_m:
            m = m.detach()
        i, f = torch.exp(pi - m), torch.exp(lfm - m)
        z, o = torch.tanh(pz), torch.sigmoid(po)
        c = f * prev[1] + i * z
        n = f * prev[2] + i
        if eps_node is not None:
            c = c + eps_node
        return [o * c / n, c, n, m], {'i': i, 'f': f, 'z': z, 'o': o}, None
    if kind == 'mlstm':
        q, k, v, o = proj[:, :H], proj[:, H:2 * H] / math.sqrt(H), proj[:, 2 * H:3 * H], torch.sigmoid(proj[:, 3 * H:4 * H])
        pi, pf = proj[:, 4 * H], proj[:, 4 * H + 1]
        lfm = F.logsigmoid(pf) + prev[2][:, 0]
        m = pi if first else torch.maximum(lfm, pi)
        if m_fixed is not None:
            m = m_fixed[:, 0]
        elif detach_m:
            m = m.detach()
        i, f = torch.exp(pi - m), torch.exp(lfm - m)
        C = f[:, None, None] * prev[0].reshape(B, H, H) + i[:, None, None] * v[:, :, None] * k[:, None, :]
        n = f[:, None] * prev[1] + i[:, None] * k

        def readout(parts):
            Cs, ns, ms = parts[0].reshape(B, H, H), parts[1], parts[2][:, 0]
            s = (ns * q).sum(1)
            den = torch.maximum(s.abs(), torch.exp(-ms))
            return o * torch.bmm(Cs, q[:, :, None])[:, :, 0] / den[:, None]
        return [C.reshape(B, H * H), n, m[:, None]], {'i': i[:, None], 'f': f[:, None], 'o': o}, readout
    if kind == 's6':
        u, dt = proj[:, :H], F.softplus(proj[:, H:2 * H])
        Bt, Ct = proj[:, 2 * H:2 * H + N], proj[:, 2 * H + N:]
        A = -torch.exp(P['A_log'])
        h = torch.exp(dt[:, :, None] * A) * prev[0].reshape(B, H, N) + dt[:, :, None] * Bt[:, None, :] * u[:, :, None]

        def readout(parts):
            return (parts[0].reshape(B, H, N) * Ct[:, None, :]).sum(2) + P['D'] * u
        return [h.reshape(B, H * N)], {'dt': dt}, readout
    raise ValueError(kind)


def modern_sizes(kind, H, N):
    return [{'H': H, '2H': 2 * H, 'HH': H * H, 'HN': H * N, '1': 1}[s] for _, s in MODERN_STATE[kind]]


def modern_project(P, blocks, u, eps=None):
    parts = [F.linear(u, P[w], P[b] if b else None) for w, b, _ in blocks]
    proj = torch.cat(parts, 1)
    return proj if eps is None else proj + eps


def modern_forward(kind, lds, x, H, N, D, L, detach_m=True, record=False):
    """lds[l*D+d] = {'P': params dict, 'blocks', 'rec'}; x [B, T, I]. Returns the top outputs [B, T, D*outSize]
    and, with record, per ld the per-step tensors whose .grad the fixture records."""
    B, T, _ = x.shape
    layer_in = [x[:, t, :] for t in range(T)]
    recs = []
    for l in range(L):
        outs = []
        for d in range(D):
            ld = lds[l * D + d]
            P0 = ld['P']
            sizes = modern_sizes(kind, H, N)
            names = [n for n, _ in MODERN_STATE[kind]]
            state = [torch.zeros(B, s, dtype=torch.float64) for s in sizes]
            r = {'eps_state': [None] * T, 'eps_node': [None] * T, 'eps_proj': [None] * T, 'gates': [None] * T,
                 'copies': [None] * T, 'prev': [None] * T, 'after': [None] * T, 'u': [None] * T}
            out = [None] * T
            order = range(T) if d == 0 else range(T - 1, -1, -1)
            for k, t in enumerate(order):
                first = k == 0
                if record:
                    # A per-step copy of every parameter: its .grad is step t's part of the gradient.
                    P = {n: (p.clone() if isinstance(p, torch.Tensor) else p) for n, p in P0.items()}
                    for p in P.values():
                        if isinstance(p, torch.Tensor):
                            p.retain_grad()
                    r['copies'][t] = [p for p in P.values() if isinstance(p, torch.Tensor)]
                else:
                    P = P0
                rows = sum(rw for _, _, rw in ld['blocks'])
                eps_proj = torch.zeros(B, rows, dtype=torch.float64, requires_grad=True) if record else None
                proj = modern_project(P, ld['blocks'], layer_in[t], eps_proj)
                rec = F.linear(state[0], P['weight_hh'], P['bias_hh']) if ld['rec'] else None
                eps_node = torch.zeros(B, H, dtype=torch.float64, requires_grad=True) if (record and kind == 'slstm') else None
                r['prev'][t] = state
                r['u'][t] = layer_in[t]
                parts, gates, readout = modern_step(kind, P, proj, rec, state, first, H, N, detach_m, eps_node)
                if record:
                    eps = [None if n in MODERN_HELD else torch.zeros(B, s, dtype=torch.float64, requires_grad=True)
                           for n, s in zip(names, sizes)]
                    parts = [p if e is None else p + e for p, e in zip(parts, eps)]
                    r['eps_state'][t], r['eps_node'][t], r['eps_proj'][t], r['gates'][t] = eps, eps_node, eps_proj, gates
                r['after'][t] = parts
                state = parts
                op = MODERN_OUT_PART[kind]
                out[t] = parts[names.index(op)] if op else readout(parts)
            outs.append(out)
            recs.append(r)
        layer_in = [torch.cat([o[t] for o in outs], 1) for t in range(T)]
    return torch.stack(layer_in, 1), recs


def modern_jacobian_norm(kind, ld, r, t, first, H, N):
    """Mean over the batch of sigma_max of ds_t/ds_{t-1} (non-held parts), m_t held at its forward value."""
    P = {n: (p.detach() if isinstance(p, torch.Tensor) else p) for n, p in ld['P'].items()}
    names = [n for n, _ in MODERN_STATE[kind]]
    sizes = modern_sizes(kind, H, N)
    keep = [i for i, n in enumerate(names) if n not in MODERN_HELD]
    prev = [p.detach() for p in r['prev'][t]]
    u = r['u'][t].detach()
    B = u.shape[0]
    m_fixed = r['after'][t][names.index('m')].detach() if 'm' in names else None
    proj = modern_project(P, ld['blocks'], u)

    def step(flat):
        st, off = list(prev), 0
        for i in keep:
            st[i] = flat[:, off:off + sizes[i]]
            off += sizes[i]
        rec = F.linear(st[0], P['weight_hh'], P['bias_hh']) if ld['rec'] else None
        parts, _, _ = modern_step(kind, P, proj, rec, st, first, H, N, True, None, m_fixed)
        return torch.cat([parts[i] for i in keep], 1)
    flat0 = torch.cat([prev[i] for i in keep], 1)
    J = torch.autograd.functional.jacobian(step, flat0)  # [B, S, B, S]
    return sum(torch.linalg.svdvals(J[b, :, b, :])[0].item() for b in range(B)) / B


def make_modern_case(name, kind, *, I=3, H=3, O=2, B=2, T=5, layers=1, bidirectional=False, loss='mse',
                     mode='many-to-many', seed=0, N=4, act='relu'):
    gen = torch.Generator().manual_seed(seed)
    D = 2 if bidirectional else 1
    lds, state = [], []
    for l in range(layers):
        In = I if l == 0 else D * H
        for d in range(D):
            specs, blocks, recurrent = modern_params(kind, In, H, N)
            P = {n: torch.empty(*shape, dtype=torch.float64) for n, shape in specs}
            modern_init(kind, P, H, N, gen)
            for p in P.values():
                p.requires_grad_(True)
            suffix = f'_l{l}' + ('_reverse' if d == 1 else '')
            for n, _ in specs:
                state.append((f'rnn.{n}{suffix}', P[n]))
            P['_act'] = act
            lds.append({'P': P, 'blocks': blocks, 'rec': recurrent is not None, 'suffix': suffix, 'layer': l, 'd': d})
    head = nn.Linear(D * H, O).double()
    with torch.no_grad():
        head.weight.uniform_(-0.5, 0.5, generator=gen)
        head.bias.uniform_(-0.5, 0.5, generator=gen)
    state += [('head.weight', head.weight), ('head.bias', head.bias)]
    write_safetensors(os.path.join(OUT, f'{name}.safetensors'), state, 'F64')

    x = torch.randn(B, T, I, dtype=torch.float64, generator=gen)
    yshape = (B, O) if mode == 'many-to-one' else (B, T, O)
    y = torch.randn(*yshape, dtype=torch.float64, generator=gen) if loss == 'mse' else \
        torch.softmax(torch.randn(*yshape, dtype=torch.float64, generator=gen), dim=-1)
    with open(os.path.join(OUT, f'{name}.input.json'), 'w') as f:
        json.dump({'x': x.tolist(), 'y': y.tolist()}, f)
    leaves = [p for _, p in state]

    # Reference 1: m not detached (xLSTM), no recording; the parameter gradients must not change.
    top, _ = modern_forward(kind, lds, x, H, N, D, layers, detach_m=False)
    plain_loss = loss_fn(head(top), y, loss, mode)
    plain = torch.autograd.grad(plain_loss, leaves)

    # Reference 2: m held (section 8), with the per-step recording.
    xs = x.clone().requires_grad_(True)
    top, recs = modern_forward(kind, lds, xs, H, N, D, layers, detach_m=True, record=True)
    the_loss = loss_fn(head(top), y, loss, mode)
    the_loss.backward()
    assert abs(the_loss.item() - plain_loss.item()) <= 1e-14 * abs(plain_loss.item()), name
    invariance = 0.0
    for (pname, p), g in zip(state, plain):
        diff = (p.grad - g).abs().max().item() / max(g.abs().max().item(), 1e-300)
        invariance = max(invariance, diff)
        assert torch.allclose(p.grad, g, rtol=1e-10, atol=1e-13), (name, pname, diff)

    def gnorm(t):
        return 0.0 if t is None or t.grad is None else t.grad.norm().item()

    names = [n for n, _ in MODERN_STATE[kind]]
    layer_records = []
    for ld, r in zip(lds, recs):
        gns, gnh, gnc = [], [], []
        for t in range(T):
            parts = [e for n, e in zip(names, r['eps_state'][t]) if e is not None]
            gns.append(math.sqrt(sum(gnorm(e) ** 2 for e in parts)))
            gnh.append(gnorm(r['eps_state'][t][names.index('h')]) if MODERN_OUT_PART[kind] else gns[-1])
            gnc.append(gnorm(r['eps_node'][t]))
        gate_grad, gate_mean = {}, {}
        # Gate pre-activation blocks in proj (the cell contract's gradOffset), per gate.
        offs = {'indrnn': {'a': (0, H)}, 'mingru': {'z': (0, H), 'h': (H, H)},
                'minlstm': {'f': (0, H), 'i': (H, H), 'h': (2 * H, H)}, 'lru': {},
                'rglru': {'a': (0, H), 'x': (H, H)},
                'slstm': {'i': (0, H), 'f': (H, H), 'z': (2 * H, H), 'o': (3 * H, H)},
                'mlstm': {'i': (4 * H, 1), 'f': (4 * H + 1, 1), 'o': (3 * H, H)}, 's6': {'dt': (H, H)}}[kind]
        for g in MODERN_GATES[kind]:
            o, w = offs[g]
            gate_grad[g] = [r['eps_proj'][t].grad[:, o:o + w].norm().item() for t in range(T)]
            gate_mean[g] = [r['gates'][t][g].mean().item() for t in range(T)]
        wgbs = [torch.cat([c.grad.reshape(-1) for c in r['copies'][t] if c.grad is not None]).norm().item() for t in range(T)]
        order = list(range(T)) if ld['d'] == 0 else list(range(T - 1, -1, -1))
        jac = [0.0] * T
        for k, t in enumerate(order):
            jac[t] = modern_jacobian_norm(kind, ld, r, t, k == 0, H, N)
        layer_records.append({
            'layer': ld['layer'], 'direction': 'forward' if ld['d'] == 0 else 'reverse',
            'gradNormState': gns, 'gradNormH': gnh, 'gradNormC': gnc if kind == 'slstm' else None,
            'gateGradNorm': gate_grad, 'gateMean': gate_mean, 'weightGradByStep': wgbs, 'jacobianNorm': jac,
        })
    grads = {n: p.grad.reshape(-1).tolist() for n, p in state}
    all_grads = torch.cat([p.grad.reshape(-1) for _, p in state])
    options = {}
    if kind == 'indrnn':
        options['activation'] = act
    if kind == 's6':
        options['stateSize'] = N
    expected = {
        'name': name, 'torch': torch.__version__, 'weights': f'{name}.safetensors', 'weightsDtype': 'F64',
        'input': f'{name}.input.json',
        'config': {'cell': kind, 'inputSize': I, 'hiddenSize': H, 'numLayers': layers, 'bidirectional': bidirectional,
                   'outputSize': O, 'cellOptions': options},
        'statePrefix': 'rnn.', 'headPrefix': 'head.', 'lossKind': loss, 'mode': mode,
        'loss': the_loss.item(), 'globalGradNorm': all_grads.norm().item(), 'grads': grads, 'layers': layer_records,
        'inputGradNorm': [xs.grad[:, t, :].norm().item() for t in range(T)],
        'heldStabiliserMaxRelDiff': invariance if kind in ('slstm', 'mlstm') else None,
    }
    with open(os.path.join(OUT, f'{name}.expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
    print(f'{name}: loss {the_loss.item():.6g}, |g| {expected["globalGradNorm"]:.6g}'
          + (f', m held vs not: max rel diff {invariance:.2e}' if kind in ('slstm', 'mlstm') else ''))


MODERN_CASES = [
    ('modern_indrnn', 'indrnn', dict(loss='mse', mode='many-to-many', seed=11)),
    ('modern_indrnn_tanh', 'indrnn', dict(loss='xent', mode='many-to-one', seed=12, act='tanh', layers=2)),
    ('modern_mingru', 'mingru', dict(loss='xent', mode='many-to-one', seed=13, layers=2, bidirectional=True, O=3)),
    ('modern_minlstm', 'minlstm', dict(loss='mse', mode='many-to-many', seed=14)),
    ('modern_lru', 'lru', dict(loss='mse', mode='many-to-many', seed=15, layers=2)),
    ('modern_rglru', 'rglru', dict(loss='mse', mode='many-to-many', seed=16, bidirectional=True)),
    ('modern_slstm', 'slstm', dict(loss='mse', mode='many-to-many', seed=17, layers=2)),
    ('modern_slstm_bidir', 'slstm', dict(loss='xent', mode='many-to-one', seed=18, bidirectional=True, O=3)),
    ('modern_mlstm', 'mlstm', dict(loss='mse', mode='many-to-many', seed=19, bidirectional=True)),
    ('modern_s6', 's6', dict(loss='mse', mode='many-to-many', seed=20, N=4, layers=2)),
]


def make_modern():
    for name, kind, kw in MODERN_CASES:
        make_modern_case(name, kind, **kw)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_default_dtype(torch.float64)
    if '--modern' in sys.argv[1:]:
        make_modern()  # only the section 8 cells' fixtures
        return
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
    make_modern()


if __name__ == '__main__':
    sys.exit(main())
