"""Tests of the recorder (python/bptt_lens). Run from the repository root:
    /usr/bin/python3 -m unittest discover -s test/python -t .
(npm test runs them too, through test/python/unittest.test.ts.)"""
import errno
import os
import sys
import tempfile
import unittest
import warnings

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'python'))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bptt_lens  # noqa: E402
from bptt_lens import Recorder, _safetensors  # noqa: E402
import bptt_lens.recorder as recorder_module  # noqa: E402
from unroll import grad_norms, relative_error  # noqa: E402


def captures_in(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith('.capture.safetensors')) if os.path.isdir(folder) else []


def load(folder, name):
    return _safetensors.load(os.path.join(folder, name))


class Net(nn.Module):
    """Embedding -> recurrent module -> mean-pooled output head + a head on the final state."""

    def __init__(self, rnn, vocab=11, use_final_state=True):
        super().__init__()
        self.embed = nn.Embedding(vocab, rnn.input_size)
        self.rnn = rnn
        D = 2 if rnn.bidirectional else 1
        self.head = nn.Linear(rnn.hidden_size * D, 3)
        self.state_head = nn.Linear(rnn.hidden_size, 3)
        self.use_final_state = use_final_state

    def forward(self, tokens, hx=None):
        x = self.embed(tokens)
        if not self.rnn.batch_first:
            x = x.transpose(0, 1)
        out, state = self.rnn(x, hx) if hx is not None else self.rnn(x)
        h_n = state[0] if isinstance(state, tuple) else state
        pooled = out.mean(dim=1 if self.rnn.batch_first else 0)
        y = self.head(pooled)
        if self.use_final_state:
            y = y + self.state_head(h_n[-1])
        return y


def batches(n, B=6, T=9, vocab=11, seed=3):
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        tokens = torch.randint(0, vocab, (B, T), generator=g)
        yield tokens, tokens[:, 0] % 3


def make_rnn(kind, I=4, H=5, layers=1, bidirectional=False, batch_first=True, nonlinearity='tanh', dtype=torch.float32):
    if kind == 'RNN':
        m = nn.RNN(I, H, layers, nonlinearity=nonlinearity, batch_first=batch_first, bidirectional=bidirectional)
    elif kind == 'LSTM':
        m = nn.LSTM(I, H, layers, batch_first=batch_first, bidirectional=bidirectional)
    else:
        m = nn.GRU(I, H, layers, batch_first=batch_first, bidirectional=bidirectional)
    return m.to(dtype)


def train(net, steps, recorder_dir=None, every=2, lr=0.1, hx_fn=None):
    """Plain training loop; returns the losses and the final weights."""
    torch.manual_seed(7)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    rec = Recorder(net.rnn, out_dir=recorder_dir, every=every, max_examples=4) if recorder_dir else None
    losses = []
    for tokens, y in batches(steps):
        opt.zero_grad()
        hx = hx_fn(tokens.shape[0]) if hx_fn else None
        loss = nn.functional.cross_entropy(net(tokens, hx), y)
        loss.backward()
        opt.step()
        losses.append(loss.detach().clone())
    if rec:
        rec.close()
    return torch.stack(losses), {k: v.detach().clone() for k, v in net.state_dict().items()}


class BitIdentical(unittest.TestCase):
    def test_training_is_unchanged_bit_for_bit(self):
        for kind in ('LSTM', 'GRU', 'RNN'):
            with self.subTest(kind=kind), tempfile.TemporaryDirectory() as d:
                torch.manual_seed(1)
                net = Net(make_rnn(kind, layers=2, bidirectional=True))
                start = {k: v.clone() for k, v in net.state_dict().items()}
                losses_with, weights_with = train(net, 8, recorder_dir=d, every=2)
                self.assertEqual(len(captures_in(d)), 4)
                net.load_state_dict(start)
                losses_without, weights_without = train(net, 8)
                self.assertTrue(torch.equal(losses_with, losses_without))
                for k in weights_with:
                    self.assertTrue(torch.equal(weights_with[k], weights_without[k]), k)


class CapturedTensors(unittest.TestCase):
    def run_one(self, rnn, d, hx=None, use_final_state=True, B=6, T=9):
        """One training step with the recorder and the test's own hook on the output."""
        torch.manual_seed(2)
        net = Net(rnn, use_final_state=use_final_state)
        seen = {}
        def own_hook(module, args, out):  # returns None: a forward hook's return value replaces the output
            out[0].register_hook(lambda g: seen.__setitem__('grad', g.detach().clone()))
        net.rnn.register_forward_hook(own_hook)
        with Recorder(net.rnn, out_dir=d, every=1, max_examples=4):
            tokens, y = next(batches(1, B=B, T=T))
            loss = nn.functional.cross_entropy(net(tokens, hx), y)
            loss.backward()
        files = captures_in(d)
        self.assertEqual(files, ['step-00000000.capture.safetensors'])
        tensors, meta = load(d, files[0])
        return tensors, meta, seen['grad']

    def check_replay(self, tensors, meta, tol=1e-5):
        """The capture holds everything a replay needs: an independent float64 unroll gives
        the captured output and the framework's own dL/dinput."""
        r = grad_norms(tensors, meta)
        self.assertLess(relative_error(r['output'], tensors['output']), tol)
        if 'grad_input' in tensors:
            self.assertLess(relative_error(r['grad_input'], tensors['grad_input']), tol)

    def test_every_module_kind_and_layout(self):
        cases = []
        for kind in ('RNN', 'LSTM', 'GRU'):
            for batch_first in (True, False):
                for bidirectional in (False, True):
                    cases.append(dict(kind=kind, batch_first=batch_first, bidirectional=bidirectional, layers=2))
        cases.append(dict(kind='RNN', nonlinearity='relu', layers=1))
        for case in cases:
            with self.subTest(**case), tempfile.TemporaryDirectory() as d:
                torch.manual_seed(4)
                rnn = make_rnn(**case)
                tensors, meta, hook_grad = self.run_one(rnn, d)
                D = 2 if rnn.bidirectional else 1
                self.assertEqual(meta['schema'], 'bptt-lens/capture@1')
                self.assertEqual(meta['module'], case['kind'])
                self.assertEqual(meta['num_layers'], '2' if case.get('layers') == 2 else '1')
                self.assertEqual(meta['bidirectional'], 'true' if rnn.bidirectional else 'false')
                self.assertEqual(meta['nonlinearity'], case.get('nonlinearity', 'tanh'))
                self.assertEqual(meta['examples'], '4 of 6')
                self.assertEqual((meta['rank'], meta['world_size']), ('0', '1'))
                self.assertEqual(tuple(tensors['input'].shape), (4, 9, 4))
                self.assertEqual(tuple(tensors['output'].shape), (4, 9, D * 5))
                self.assertEqual(tuple(tensors['grad_h_n'].shape), (rnn.num_layers * D, 4, 5))
                self.assertNotIn('h_0', tensors)
                # grad_output is what the test's own hook on the module's output saw (first 4 rows, batch-first).
                hook_bf = hook_grad if rnn.batch_first else hook_grad.transpose(0, 1)
                self.assertTrue(torch.equal(tensors['grad_output'], hook_bf[:4].contiguous()))
                for name, p in rnn.named_parameters():
                    self.assertTrue(torch.equal(tensors[name], p.detach()), name)
                self.check_replay(tensors, meta)

    def test_initial_state_and_unused_final_state(self):
        for kind in ('LSTM', 'GRU'):
            with self.subTest(kind=kind), tempfile.TemporaryDirectory() as d:
                torch.manual_seed(5)
                rnn = make_rnn(kind, layers=2, bidirectional=True)
                h0 = torch.randn(4, 6, 5)
                hx = (h0, torch.randn(4, 6, 5)) if kind == 'LSTM' else h0
                tensors, meta, _ = self.run_one(rnn, d, hx=hx, use_final_state=False)
                self.assertTrue(torch.equal(tensors['h_0'], h0[:, :4]))
                if kind == 'LSTM':
                    self.assertTrue(torch.equal(tensors['c_0'], hx[1][:, :4]))
                self.assertNotIn('grad_h_n', tensors)
                self.assertNotIn('grad_c_n', tensors)
                self.check_replay(tensors, meta)

    def test_lstm_final_cell_state_used(self):
        with tempfile.TemporaryDirectory() as d:
            torch.manual_seed(6)
            lstm = make_rnn('LSTM', layers=1)
            net = nn.Sequential()
            rec = Recorder(lstm, out_dir=d, every=1)
            x = torch.randn(3, 7, 4, requires_grad=True)
            out, (h, c) = lstm(x)
            (out.sum() + (h ** 2).sum() + (c ** 3).sum()).backward()
            rec.close()
            tensors, meta = load(d, captures_in(d)[0])
            self.assertIn('grad_c_n', tensors)
            self.assertTrue(torch.allclose(tensors['grad_c_n'], 3 * c.detach() ** 2))
            self.check_replay(tensors, meta)
            del net

    def test_only_the_final_state_used(self):
        with tempfile.TemporaryDirectory() as d:
            gru = make_rnn('GRU', layers=2)
            with Recorder(gru, out_dir=d, every=1):
                x = torch.randn(3, 7, 4)
                _, h = gru(x)
                h[-1].sum().backward()
            tensors, meta = load(d, captures_in(d)[0])
            self.assertTrue(torch.equal(tensors['grad_output'], torch.zeros(3, 7, 5)))
            self.assertNotIn('grad_input', tensors)  # the input did not require a gradient
            self.check_replay(tensors, meta)

    def test_packed_sequence_keeps_full_length_rows(self):
        with tempfile.TemporaryDirectory() as d:
            torch.manual_seed(8)
            lstm = make_rnn('LSTM', layers=2, bidirectional=True)
            x = torch.randn(5, 6, 4, requires_grad=True)
            lengths = torch.tensor([3, 6, 6, 2, 6])
            with Recorder(lstm, out_dir=d, every=1, max_examples=2):
                packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
                out, (h, c) = lstm(packed)
                (out.data.sum() + h.sum()).backward()
            tensors, meta = load(d, captures_in(d)[0])
            self.assertTrue(torch.equal(tensors['lengths'], torch.tensor([6, 6])))
            self.assertEqual(meta['examples'], '2 of 5 (full-length rows of a PackedSequence)')
            self.assertTrue(torch.equal(tensors['input'], x.detach()[[1, 2]]))
            self.assertTrue(torch.equal(tensors['grad_output'], torch.ones(2, 6, 10)))
            self.check_replay(tensors, meta)

    def test_float64_training_stores_float64(self):
        with tempfile.TemporaryDirectory() as d:
            rnn = make_rnn('LSTM', layers=2, dtype=torch.float64)
            with Recorder(rnn, out_dir=d, every=1):
                out, _ = rnn(torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True))
                out.pow(2).sum().backward()
            tensors, meta = load(d, captures_in(d)[0])
            self.assertEqual(tensors['grad_output'].dtype, torch.float64)
            self.assertEqual(meta['dtype'], 'float64')
            self.check_replay(tensors, meta, tol=1e-12)

    @unittest.skipUnless(hasattr(torch, 'autocast'), 'torch.autocast is missing')
    def test_autocast_bfloat16_on_cpu_stores_float32(self):
        with tempfile.TemporaryDirectory() as d:
            torch.manual_seed(9)
            lstm = make_rnn('LSTM', layers=1)
            with Recorder(lstm, out_dir=d, every=1):
                with torch.autocast('cpu', dtype=torch.bfloat16):
                    x = torch.randn(3, 6, 4).to(torch.bfloat16)
                    out, _ = lstm(x)
                    loss = out.float().pow(2).sum()
                loss.backward()
            tensors, meta = load(d, captures_in(d)[0])
            for name in ('input', 'output', 'grad_output', 'weight_ih_l0'):
                self.assertEqual(tensors[name].dtype, torch.float32, name)
            self.assertEqual(meta['dtype'], 'bfloat16 (autocast)')
            self.assertTrue(torch.equal(tensors['grad_output'], (2 * out.detach().float())[:3]))


class WhenToCapture(unittest.TestCase):
    def test_every_and_eval_and_no_grad_are_ignored(self):
        with tempfile.TemporaryDirectory() as d:
            rnn = make_rnn('GRU')
            with Recorder(rnn, out_dir=d, every=3) as rec:
                for i in range(7):
                    rnn.train()
                    out, _ = rnn(torch.randn(2, 4, 4))
                    out.sum().backward()
                    rnn.eval()
                    rnn(torch.randn(2, 4, 4))  # eval: not counted
                    rnn.train()
                    with torch.no_grad():
                        rnn(torch.randn(2, 4, 4))  # no grad: not counted
            self.assertEqual(captures_in(d), [f'step-{s:08d}.capture.safetensors' for s in (0, 3, 6)])
            self.assertEqual(len(rec.written), 3)

    def test_set_step_names_the_file_and_captures_once_per_step(self):
        with tempfile.TemporaryDirectory() as d:
            rnn = make_rnn('LSTM')
            rec = Recorder(rnn, out_dir=d, every=50)
            for step in (99, 100, 100, 150, 200):  # 100 twice: gradient accumulation
                rec.set_step(step, epoch=2)
                out, _ = rnn(torch.randn(2, 4, 4))
                loss = out.sum()
                rec.set_loss(loss)
                loss.backward()
            rec.close()
            self.assertEqual(captures_in(d), ['step-00000100.capture.safetensors', 'step-00000150.capture.safetensors',
                                              'step-00000200.capture.safetensors'])
            _, meta = load(d, 'step-00000150.capture.safetensors')
            self.assertEqual((meta['step'], meta['epoch']), ('150', '2'))
            _, last = load(d, 'step-00000200.capture.safetensors')
            self.assertEqual(float(last['loss']), float(loss.item()))

    def test_loss_is_recorded(self):
        with tempfile.TemporaryDirectory() as d:
            rnn = make_rnn('RNN')
            with Recorder(rnn, out_dir=d, every=1) as rec:
                out, _ = rnn(torch.randn(2, 4, 4))
                loss = out.pow(2).mean()
                rec.set_loss(loss)
                loss.backward()
            _, meta = load(d, captures_in(d)[0])
            self.assertEqual(float(meta['loss']), float(loss.item()))

    def test_closed_recorder_captures_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            rnn = make_rnn('RNN')
            Recorder(rnn, out_dir=d, every=1).close()
            out, _ = rnn(torch.randn(2, 4, 4))
            out.sum().backward()
            self.assertEqual(captures_in(d), [])
            self.assertEqual(len(rnn._forward_hooks) + len(rnn._forward_pre_hooks), 0)

    def test_data_parallel_wrapper_on_cpu(self):
        with tempfile.TemporaryDirectory() as d:
            net = Net(make_rnn('LSTM'))
            dp = nn.DataParallel(net)  # no GPU here: runs the module itself
            with Recorder(net.rnn, out_dir=d, every=1):
                tokens, y = next(batches(1))
                nn.functional.cross_entropy(dp(tokens), y).backward()
            self.assertEqual(len(captures_in(d)), 1)


class Refusals(unittest.TestCase):
    def test_refuses_what_it_cannot_replay(self):
        with self.assertRaisesRegex(ValueError, 'proj_size=3'):
            Recorder(nn.LSTM(4, 5, proj_size=3))
        with self.assertRaisesRegex(TypeError, 'expected an nn.RNN, nn.LSTM or nn.GRU module, got Linear'):
            Recorder(nn.Linear(3, 3))
        with self.assertRaisesRegex(TypeError, 'inside the wrapper'):
            Recorder(nn.DataParallel(nn.LSTM(4, 5)))
        with self.assertRaisesRegex(ValueError, 'every must be a positive integer'):
            Recorder(nn.GRU(4, 5), every=0)

    def test_inter_layer_dropout_warns(self):
        with self.assertWarnsRegex(RuntimeWarning, 'dropout 0.5 between layers'):
            Recorder(nn.LSTM(4, 5, num_layers=2, dropout=0.5)).close()


class WriteFailures(unittest.TestCase):
    def test_unwritable_folder_warns_once_and_training_goes_on(self):
        with tempfile.TemporaryDirectory() as d:
            blocker = os.path.join(d, 'not-a-folder')
            with open(blocker, 'w') as f:
                f.write('x')
            rnn = make_rnn('GRU')
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter('always')
                with Recorder(rnn, out_dir=os.path.join(blocker, 'captures'), every=1) as rec:
                    for _ in range(3):
                        out, _ = rnn(torch.randn(2, 4, 4))
                        out.sum().backward()
            messages = [str(w.message) for w in caught if 'cannot write captures' in str(w.message)]
            self.assertEqual(len(messages), 1)
            self.assertEqual(rec.written, [])
            self.assertEqual(sorted(os.listdir(d)), ['not-a-folder'])

    def test_full_disk_warns_once_leaves_no_partial_file(self):
        with tempfile.TemporaryDirectory() as d:
            real_open = open
            calls = {'n': 0}

            class FullFile:
                def __init__(self, path):
                    self.f = real_open(path, 'wb')

                def write(self, data):
                    self.f.write(data[:10])
                    raise OSError(errno.ENOSPC, 'No space left on device')

                def __enter__(self):
                    return self

                def __exit__(self, *a):
                    self.f.close()

            def fake_open(path, mode='r', *a, **k):
                if 'b' in mode and 'w' in mode:
                    calls['n'] += 1
                    return FullFile(path)
                return real_open(path, mode, *a, **k)

            rnn = make_rnn('LSTM')
            recorder_module.open = fake_open
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter('always')
                    with Recorder(rnn, out_dir=d, every=1):
                        for _ in range(3):
                            out, _ = rnn(torch.randn(2, 4, 4))
                            out.sum().backward()
            finally:
                del recorder_module.open
            self.assertEqual(calls['n'], 3)
            self.assertEqual(len([w for w in caught if 'No space left' in str(w.message)]), 1)
            self.assertEqual(os.listdir(d), [])


class Packaging(unittest.TestCase):
    def test_pip_install_of_the_python_folder(self):
        # Offline (no index here): --no-build-isolation uses the installed setuptools. The folder is
        # copied first so that the build leaves nothing in the source tree.
        import shutil
        import subprocess
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, 'src')
            shutil.copytree(os.path.join(ROOT, 'python'), src, ignore=shutil.ignore_patterns('__pycache__', 'build', '*.egg-info'))
            target = os.path.join(d, 'site')
            run = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-build-isolation', '--no-deps', '--no-index',
                                  '--target', target, src], capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, run.stderr)
            probe = subprocess.run([sys.executable, '-c', 'import bptt_lens, sys; print(bptt_lens.__file__, bptt_lens.Recorder.__name__)'],
                                   capture_output=True, text=True, cwd=d, env={**os.environ, 'PYTHONPATH': target})
            self.assertEqual(probe.returncode, 0, probe.stderr)
            self.assertTrue(probe.stdout.startswith(os.path.join(target, 'bptt_lens')), probe.stdout)


class SafetensorsFormat(unittest.TestCase):
    def test_own_writer_round_trips_and_aligns(self):
        tensors = {'a': torch.randn(2, 3), 'b': torch.arange(4, dtype=torch.int64), 'c': torch.randn(5, dtype=torch.float64)}
        raw = _safetensors.serialize(tensors, {'schema': 'x'})
        n = int.from_bytes(raw[:8], 'little')
        self.assertEqual(n % 8, 0)
        with tempfile.NamedTemporaryFile(suffix='.safetensors', delete=False) as f:
            f.write(raw)
        try:
            back, meta = _safetensors.load(f.name)
        finally:
            os.remove(f.name)
        self.assertEqual(meta, {'schema': 'x'})
        for k in tensors:
            self.assertTrue(torch.equal(back[k], tensors[k]), k)

    def test_version(self):
        self.assertEqual(bptt_lens.__version__, '0.1.0')


if __name__ == '__main__':
    unittest.main()
