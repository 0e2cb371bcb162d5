"""Writes the capture the captures bench processes: a 2-layer nn.LSTM (H = 512 by default) of
an Embedding -> LSTM -> Linear model, one training step on random tokens, recorded by the real
recorder (every step, max_examples examples). Usage: makeCapture.py OUT_DIR [H] [T] [EXAMPLES]."""
import sys

import torch
from torch import nn

from bptt_lens import Recorder


def main():
    out_dir = sys.argv[1]
    hidden = int(sys.argv[2]) if len(sys.argv) > 2 else 512
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    examples = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    torch.manual_seed(0)
    emb = nn.Embedding(64, 128)
    lstm = nn.LSTM(128, hidden, num_layers=2, batch_first=True)
    head = nn.Linear(hidden, 64)
    params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
    opt = torch.optim.SGD(params, lr=0.1)
    tokens = torch.randint(0, 64, (examples, steps + 1))
    with Recorder(lstm, out_dir=out_dir, every=1, max_examples=examples):
        out, _ = lstm(emb(tokens[:, :-1]))
        loss = nn.functional.cross_entropy(head(out).reshape(-1, 64), tokens[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()


if __name__ == '__main__':
    main()
