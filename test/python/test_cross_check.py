"""Cross-check of `bptt-lens captures` against PyTorch: captures written by the recorder during
real (short) training runs, replayed by BPTT Lens's float64 engine, compared with an
independent float64 unroll in PyTorch with the same captured tensors (test/python/unroll.py).

Needs the built CLI (dist/cli.js); builds it when missing or stale."""
import contextlib
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

import torch
import torch.nn as nn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'python'))
sys.path.insert(0, os.path.join(ROOT, 'examples'))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bptt_lens import Recorder, _safetensors  # noqa: E402
from unroll import grad_norms, relative_error  # noqa: E402
import train_brackets  # noqa: E402

CLI = os.path.join(ROOT, 'dist', 'cli.js')


def newest_source():
    return max(os.path.getmtime(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(ROOT, 'src')) for f in fs)


def run_cli(*args):
    # Build when dist/cli.js is missing or older than the sources (npm test has just built).
    if not os.path.exists(CLI) or os.path.getmtime(CLI) < newest_source():
        subprocess.run(['node', 'scripts/build.mjs'], cwd=ROOT, check=True)
    return subprocess.run(['node', CLI, *args], cwd=ROOT, capture_output=True, text=True)


def report_of(out_dir):
    [folder] = os.listdir(out_dir)
    with open(os.path.join(out_dir, folder, 'report.json')) as f:
        return json.load(f)


def elementwise_relative(a, b):
    worst = 0.0
    for x, y in zip(a, b):
        scale = max(abs(x), abs(y))
        if scale > 0:
            worst = max(worst, abs(x - y) / scale)
    return worst


class CrossCheck(unittest.TestCase):
    def check_report(self, captures_dir, expect_runs, replay_tol=1e-5):
        with tempfile.TemporaryDirectory() as out:
            result = run_cli('captures', captures_dir, '--out-dir', out)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn('Report:', result.stdout)
            report = report_of(out)
        self.assertEqual(report['study']['kind'], 'captures')
        self.assertEqual(len(report['runs']), expect_runs)
        steps = [run['config']['step'] for run in report['runs']]
        self.assertEqual(steps, sorted(steps))
        worst = 0.0
        for run in report['runs']:
            tensors, meta = _safetensors.load(run['config']['capture'])
            self.assertEqual(int(meta['step']), run['config']['step'])
            ref = grad_norms(tensors, meta)
            D = 2 if meta['bidirectional'] == 'true' else 1
            self.assertEqual(len(run['layers']), int(meta['num_layers']) * D)
            for layer in run['layers']:
                key = (layer['layer'], 0 if layer['direction'] == 'forward' else 1)
                err = elementwise_relative(layer['gradNormH'], ref['gradNormH'][key])
                worst = max(worst, err)
                self.assertLessEqual(err, 1e-6, f"step {run['config']['step']} layer {key} gradNormH")
                if key in ref['gradNormC']:
                    self.assertLessEqual(elementwise_relative(layer['gradNormC'], ref['gradNormC'][key]), 1e-6)
            # directGradNorm is ||grad_output_t|| over the kept examples.
            g = tensors['grad_output'].double()
            direct = [g[:, t].norm().item() for t in range(g.shape[1])]
            self.assertLessEqual(elementwise_relative(run['directGradNorm'], direct), 1e-9)
            # The replay check, and the engine's replayed output against PyTorch's float64 one.
            self.assertLessEqual(run['replayError'], replay_tol)
            self.assertLessEqual(abs(run['replayError'] - relative_error(ref['output'], tensors['output'])), 1e-9)
            if 'grad_input' in tensors:
                self.assertLessEqual(run['inputGradError'], replay_tol)
            self.assertIn(run['diagnosis']['verdict'], ('vanishing', 'exploding', 'healthy'))
        return report, worst

    def test_example_script_captures_replay_exactly(self):
        with tempfile.TemporaryDirectory() as d:
            with contextlib.redirect_stdout(io.StringIO()):
                train_brackets.main(['--steps', '41', '--every', '20', '--length', '20', '--hidden', '24',
                                     '--batch', '16', '--out-dir', d])
            self.assertEqual(sorted(os.listdir(d)), [f'step-{s:08d}.capture.safetensors' for s in (0, 20, 40)])
            report, worst = self.check_report(d, 3)
            # The loop passed its loss to the recorder: the report's loss column is the training loss.
            for r in report['runs']:
                self.assertTrue(math.isfinite(r['config']['trainingLoss']))
                self.assertEqual(r['loss'], r['config']['trainingLoss'])
            print(f'\n  example: worst gradNormH relative difference {worst:.1e}', file=sys.stderr)

    def test_bidirectional_gru_with_initial_state_and_relu_rnn(self):
        for kind in ('GRU', 'RNN'):
            with self.subTest(kind=kind), tempfile.TemporaryDirectory() as d:
                torch.manual_seed(11)
                if kind == 'GRU':
                    rnn = nn.GRU(5, 7, num_layers=2, bidirectional=True)
                else:
                    rnn = nn.RNN(5, 7, num_layers=2, nonlinearity='relu', batch_first=True)
                head = nn.Linear(7 * (2 if rnn.bidirectional else 1), 1)
                opt = torch.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=0.05)
                with Recorder(rnn, out_dir=d, every=2, max_examples=3):
                    for step in range(4):
                        x = torch.randn(6, 4, 5, requires_grad=True)  # [T, B, I] or [B, T, I]
                        h0 = torch.randn(rnn.num_layers * (2 if rnn.bidirectional else 1), 4 if kind == 'GRU' else 6, 7)
                        out, h = rnn(x, h0)
                        loss = head(out).pow(2).mean() + h[-1].pow(2).mean()
                        opt.zero_grad()
                        loss.backward()
                        opt.step()
                self.check_report(d, 2)


    def test_packed_bidirectional_lstm(self):
        from torch.nn.utils.rnn import pack_padded_sequence
        with tempfile.TemporaryDirectory() as d:
            torch.manual_seed(12)
            lstm = nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True)
            with Recorder(lstm, out_dir=d, every=1, max_examples=3):
                x = torch.randn(5, 7, 4, requires_grad=True)
                packed = pack_padded_sequence(x, torch.tensor([7, 3, 7, 7, 5]), batch_first=True, enforce_sorted=False)
                out, (h, c) = lstm(packed)
                (out.data.pow(2).sum() + h.sum() + c.pow(2).sum()).backward()
            tensors, _ = _safetensors.load(os.path.join(d, os.listdir(d)[0]))
            self.assertEqual(tensors['lengths'].tolist(), [7, 7, 7])
            self.check_report(d, 1)


class BadCaptures(unittest.TestCase):
    def test_one_bad_capture_is_named_and_the_others_reported(self):
        with tempfile.TemporaryDirectory() as d, tempfile.TemporaryDirectory() as out:
            lstm = nn.LSTM(3, 4)
            with Recorder(lstm, out_dir=d, every=1, max_examples=2):
                for _ in range(3):
                    o, _ = lstm(torch.randn(5, 2, 3))
                    o.sum().backward()
            bad = os.path.join(d, 'step-00000001.capture.safetensors')
            with open(bad, 'r+b') as f:
                f.truncate(os.path.getsize(bad) - 7)
            result = run_cli('captures', d, '--out-dir', out)
            self.assertEqual(result.returncode, 2)
            lines = result.stderr.strip().split('\n')
            self.assertEqual(len(lines), 1, result.stderr)
            self.assertIn('step-00000001.capture.safetensors', lines[0])
            report = report_of(out)
            self.assertEqual([r['config']['step'] for r in report['runs']], [0, 2])


if __name__ == '__main__':
    unittest.main()
