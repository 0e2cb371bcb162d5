"""An independent float64 replay of a capture, written from the PyTorch equations (design.md
section 2) step by step, so that every h_t and c_t is a tensor of its own whose .grad is the
total derivative dL/dh_t. The loss is the injected one of design.md section 9:
L = <output, grad_output> + <h_n, grad_h_n> + <c_n, grad_c_n>, so dL/doutput = grad_output.

Used by the recorder tests (the capture holds everything the replay needs) and by the
cross-check of `bptt-lens captures` against PyTorch.
"""
import torch
import torch.nn.functional as F


def _weights(tensors, suffix, H, gates, I_l, bias):
    w_ih = tensors['weight_ih' + suffix].double()
    w_hh = tensors['weight_hh' + suffix].double()
    if bias:
        b_ih = tensors['bias_ih' + suffix].double()
        b_hh = tensors['bias_hh' + suffix].double()
    else:
        b_ih = torch.zeros(gates * H, dtype=torch.float64)
        b_hh = torch.zeros(gates * H, dtype=torch.float64)
    assert w_ih.shape == (gates * H, I_l) and w_hh.shape == (gates * H, H)
    return w_ih, w_hh, b_ih, b_hh


def replay(tensors, meta):
    """Returns {'output', 'input', 'h': {(l, d): [h_t]}, 'c': ..., 'h_n', 'c_n', 'loss'}; call
    result['loss'].backward() for the gradients."""
    kind = meta['module']
    L = int(meta['num_layers'])
    H = int(meta['hidden_size'])
    D = 2 if meta['bidirectional'] == 'true' else 1
    bias = meta.get('bias', 'true') == 'true'
    gates = {'RNN': 1, 'LSTM': 4, 'GRU': 3}[kind]
    x = tensors['input'].double().clone().requires_grad_(True)
    B, T, _ = x.shape
    h0 = tensors['h_0'].double() if 'h_0' in tensors else torch.zeros(L * D, B, H, dtype=torch.float64)
    c0 = tensors['c_0'].double() if 'c_0' in tensors else torch.zeros(L * D, B, H, dtype=torch.float64)
    hs, cs, h_n, c_n = {}, {}, [], []
    layer_in = x
    for l in range(L):
        outs = []
        for d in range(D):
            suffix = f'_l{l}' + ('_reverse' if d == 1 else '')
            w_ih, w_hh, b_ih, b_hh = _weights(tensors, suffix, H, gates, layer_in.shape[2], bias)
            h, c = h0[l * D + d], c0[l * D + d]
            seq_h, seq_c = [None] * T, [None] * T
            for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
                gi = F.linear(layer_in[:, t], w_ih, b_ih).chunk(gates, dim=1)
                gh = F.linear(h, w_hh, b_hh).chunk(gates, dim=1)
                if kind == 'RNN':
                    pre = gi[0] + gh[0]
                    h = torch.relu(pre) if meta['nonlinearity'] == 'relu' else torch.tanh(pre)
                elif kind == 'LSTM':
                    i, f = torch.sigmoid(gi[0] + gh[0]), torch.sigmoid(gi[1] + gh[1])
                    g, o = torch.tanh(gi[2] + gh[2]), torch.sigmoid(gi[3] + gh[3])
                    c = f * c + i * g
                    h = o * torch.tanh(c)
                    c.retain_grad()
                    seq_c[t] = c
                else:
                    r, z = torch.sigmoid(gi[0] + gh[0]), torch.sigmoid(gi[1] + gh[1])
                    n = torch.tanh(gi[2] + r * gh[2])
                    h = (1 - z) * n + z * h
                h.retain_grad()
                seq_h[t] = h
            hs[(l, d)], cs[(l, d)] = seq_h, seq_c
            h_n.append(h)
            c_n.append(c)
            outs.append(torch.stack(seq_h, dim=1))
        layer_in = torch.cat(outs, dim=2)
    output = layer_in
    h_n = torch.stack(h_n)
    c_n = torch.stack(c_n)
    loss = (output * tensors['grad_output'].double()).sum()
    if 'grad_h_n' in tensors:
        loss = loss + (h_n * tensors['grad_h_n'].double()).sum()
    if 'grad_c_n' in tensors:
        loss = loss + (c_n * tensors['grad_c_n'].double()).sum()
    return {'output': output, 'input': x, 'h': hs, 'c': cs, 'h_n': h_n, 'c_n': c_n, 'loss': loss}


def grad_norms(tensors, meta):
    """Per (layer, direction): [||dL/dh_t||] and, for the LSTM, [||dL/dc_t||]; and ||dL/dx_t||."""
    r = replay(tensors, meta)
    r['loss'].backward()
    T = r['input'].shape[1]
    out = {'gradNormH': {}, 'gradNormC': {}, 'output': r['output'].detach(), 'grad_input': r['input'].grad}
    for key, seq in r['h'].items():
        out['gradNormH'][key] = [seq[t].grad.norm().item() for t in range(T)]
    for key, seq in r['c'].items():
        if seq[0] is not None:
            out['gradNormC'][key] = [seq[t].grad.norm().item() for t in range(T)]
    return out


def relative_error(a, b):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    scale = b.abs().max().item()
    return (a - b).abs().max().item() / (scale if scale > 0 else 1.0)
