"""The recorder under DistributedDataParallel: two processes, gloo backend on the CPU."""
import json
import os
import sys
import tempfile
import unittest

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'python'))
sys.path.insert(0, HERE)

from bptt_lens import Recorder, _safetensors  # noqa: E402
from unroll import grad_norms, relative_error  # noqa: E402
import test_cross_check  # noqa: E402  (a module, so its tests are not collected twice)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(13, 6)
        self.lstm = nn.LSTM(6, 8, num_layers=2, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, tokens):
        out, (h, _) = self.lstm(self.embed(tokens))
        return self.head(out.mean(dim=1) + h[-1])


def worker(rank, world, folder, init_file):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank, world_size=world)
    torch.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(Net())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(100 + rank)  # each rank its own shard
    with Recorder(model.module.lstm, out_dir=os.path.join(folder, 'captures'), every=2, max_examples=3,
                  name='lstm') as rec:
        for step in range(5):
            tokens = torch.randint(0, 13, (4, 7), generator=g)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(tokens), tokens[:, 0] % 2)
            loss.backward()
            opt.step()
    with open(os.path.join(folder, f'rank{rank}.json'), 'w') as f:
        json.dump({'written': len(rec.written)}, f)
    dist.destroy_process_group()


class DistributedDataParallelCaptures(unittest.TestCase):
    def test_two_gloo_processes_only_rank0_writes(self):
        with tempfile.TemporaryDirectory() as d:
            mp.spawn(worker, args=(2, d, os.path.join(d, 'init')), nprocs=2, join=True)
            written = []
            for r in (0, 1):
                with open(os.path.join(d, f'rank{r}.json')) as f:
                    written.append(json.load(f)['written'])
            self.assertEqual(written, [3, 0])
            folder = os.path.join(d, 'captures')
            files = sorted(os.listdir(folder))
            self.assertEqual(files, [f'step-{s:08d}.capture.safetensors' for s in (0, 2, 4)])
            for name in files:
                tensors, meta = _safetensors.load(os.path.join(folder, name))
                self.assertEqual((meta['rank'], meta['world_size']), ('0', '2'))
                self.assertEqual(meta['examples'], '3 of 4')
                # They replay like the single-process captures: an independent float64 unroll
                # reproduces the output and the framework's own dL/dinput.
                r = grad_norms(tensors, meta)
                self.assertLess(relative_error(r['output'], tensors['output']), 1e-5)
                self.assertLess(relative_error(r['grad_input'], tensors['grad_input']), 1e-5)
            # And through BPTT Lens itself, checked against the same unroll.
            report, worst = test_cross_check.CrossCheck().check_report(folder, 3)
            self.assertTrue(all(run['config']['worldSize'] == 2 and run['config']['rank'] == 0 for run in report['runs']))
            self.assertLessEqual(worst, 1e-6)


if __name__ == '__main__':
    unittest.main()
