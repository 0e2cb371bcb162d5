"""bptt_lens: capture what BPTT Lens needs to show the exact gradient through time inside an
nn.RNN / nn.LSTM / nn.GRU of a real PyTorch training run (design.md section 9)."""
from .recorder import SCHEMA, Recorder, __version__

__all__ = ['Recorder', 'SCHEMA', '__version__']
