#!/usr/bin/env python3
"""An example of recording captures from a real training run for BPTT Lens.

Task: are the brackets of a string balanced? Strings of '(' and ')' (length T, padded on the
left), e.g. '(()())' -> balanced, '())(' -> not. The answer depends on the whole string, the
first character as much as the last, so the gradient has to travel back through time.

Model: Embedding -> 2-layer LSTM -> attention pooling over the outputs + a head on the final
state (the shape of many real sequence classifiers: the LSTM is one module among several).

    /usr/bin/python3 examples/train_brackets.py --steps 400 --every 20
    bptt-lens captures bptt-captures            # or in VS Code: BPTT Lens: Open Training Captures

Trains on the CPU in about a minute. Runs with PYTHONPATH=python from the repository root (the
script adds it itself) or with the recorder installed (`pip install ./python`).
"""
import argparse
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'python'))
from bptt_lens import Recorder  # noqa: E402

PAD, OPEN, CLOSE = 0, 1, 2


def make_batch(batch, length, generator):
    """Half balanced, half not; lengths vary, padded on the left so the last step is real."""
    tokens = torch.full((batch, length), PAD, dtype=torch.long)
    labels = torch.zeros(batch, dtype=torch.long)
    for b in range(batch):
        n = 2 * int(torch.randint(2, length // 2 + 1, (1,), generator=generator))
        seq = _balanced(n, generator)
        if b % 2 == 1:
            seq = _unbalance(seq, generator)
        labels[b] = int(_is_balanced(seq))
        tokens[b, length - len(seq):] = torch.tensor(seq)
    return tokens, labels


def _balanced(n, g):
    seq, depth, opens = [], 0, n // 2
    for i in range(n):
        remaining = n - i
        can_open, can_close = opens > 0, depth > 0
        if can_open and (not can_close or depth < remaining - 1 and torch.rand(1, generator=g).item() < 0.5):
            seq.append(OPEN)
            opens -= 1
            depth += 1
        else:
            seq.append(CLOSE)
            depth -= 1
    return seq


def _unbalance(seq, g):
    seq = list(seq)
    i = int(torch.randint(0, len(seq), (1,), generator=g))
    if torch.rand(1, generator=g).item() < 0.3:
        seq[i] = OPEN if seq[i] == CLOSE else CLOSE  # one flipped bracket: the counts differ
        return seq
    # A rotation keeps the counts equal; it is unbalanced unless it cuts at depth 0, so only
    # the order tells (the label is computed, not assumed).
    return seq[i:] + seq[:i]


def _is_balanced(seq):
    depth = 0
    for s in seq:
        depth += 1 if s == OPEN else -1
        if depth < 0:
            return False
    return depth == 0


class BracketClassifier(nn.Module):
    def __init__(self, hidden=32, embed=8):
        super().__init__()
        self.embed = nn.Embedding(3, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=2, batch_first=True)
        self.attention = nn.Linear(hidden, 1)
        self.pooled_head = nn.Linear(hidden, 2)
        self.state_head = nn.Linear(hidden, 2)

    def forward(self, tokens):
        out, (h_n, _) = self.lstm(self.embed(tokens))            # out: [B, T, H]
        weights = torch.softmax(self.attention(out).squeeze(-1), dim=1)
        pooled = (weights.unsqueeze(-1) * out).sum(dim=1)        # attention pooling
        return self.pooled_head(pooled) + self.state_head(h_n[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=400)
    parser.add_argument('--every', type=int, default=20, help='capture every N-th step')
    parser.add_argument('--examples', type=int, default=8, help='rows of the batch kept per capture')
    parser.add_argument('--out-dir', default='bptt-captures')
    parser.add_argument('--length', type=int, default=32, help='sequence length T')
    parser.add_argument('--hidden', type=int, default=32)
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--lr', type=float, default=0.01)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--sleep', type=float, default=0.0, help='seconds to wait after each step (demos)')
    parser.add_argument('--no-recorder', action='store_true')
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    model = BracketClassifier(hidden=args.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    rec = None if args.no_recorder else Recorder(
        model.lstm, out_dir=args.out_dir, every=args.every, max_examples=args.examples, name='lstm')
    started = time.perf_counter()
    accuracy = 0.0
    for step in range(args.steps):
        tokens, labels = make_batch(args.batch, args.length, gen)
        if rec:
            rec.set_step(step)
        logits = model(tokens)
        loss = nn.functional.cross_entropy(logits, labels)
        if rec:
            rec.set_loss(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        accuracy = 0.9 * accuracy + 0.1 * (logits.argmax(1) == labels).float().mean().item()
        if step % 50 == 0 or step == args.steps - 1:
            print(f'step {step:5d}  loss {loss.item():.4f}  accuracy (running) {accuracy:.2f}', flush=True)
        if args.sleep:
            time.sleep(args.sleep)
    if rec:
        rec.close()
        print(f'{len(rec.written)} captures in {args.out_dir}/', flush=True)
    print(f'{args.steps} steps in {time.perf_counter() - started:.1f} s', flush=True)


if __name__ == '__main__':
    main()
