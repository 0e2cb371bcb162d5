"""Recorder: captures what BPTT Lens needs to replay one nn.RNN / nn.LSTM / nn.GRU exactly.

The gradient through time inside a recurrent module is fixed by its weights, its input, its
initial state and the gradient the rest of the network sends into its outputs. On every
`every`-th training forward the recorder keeps those for the first `max_examples` rows of the
batch (detached copies on the CPU), collects the upstream gradients with tensor hooks during
the backward pass, and when that backward pass ends writes one file,
`<out_dir>/step-<8 digits>.capture.safetensors`, atomically (design.md section 9).

It never changes training: the hooks return nothing (the gradients pass unchanged), the copies
are detached, and on steps that are not captured the hooks return at once. A failure to write
(unwritable folder, full disk) or any other error inside a hook is reported once as a warning
and training goes on.
"""
import os
import threading
import warnings

import torch
import torch.nn as nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from . import _safetensors

SCHEMA = 'bptt-lens/capture@1'
__version__ = '0.1.0'

_KINDS = ((nn.LSTM, 'LSTM'), (nn.GRU, 'GRU'), (nn.RNN, 'RNN'))


def _module_kind(module):
    for cls, kind in _KINDS:
        if type(module) is cls or isinstance(module, cls):
            return kind
    return None


def _queue_end_of_backward(callback):
    """Runs callback once the current backward pass has finished (what DDP itself uses)."""
    engine = torch.autograd.Variable._execution_engine
    engine.queue_callback(callback)


def _compute_dtype(out):
    """The precision the module ran in: under autocast the output may be float32 while the
    recurrence ran in bfloat16/float16."""
    name = str(out.dtype).replace('torch.', '')
    try:
        if out.device.type == 'cpu' and torch.is_autocast_cpu_enabled():
            return str(torch.get_autocast_cpu_dtype()).replace('torch.', '') + ' (autocast)'
        if out.device.type == 'cuda' and torch.is_autocast_enabled():
            return str(torch.get_autocast_gpu_dtype()).replace('torch.', '') + ' (autocast)'
    except AttributeError:
        pass
    return name


def _dist_rank_world():
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _batch_first(cap, t):
    """A gradient w.r.t. the module's output or input, as [batch, time, ...] like the captured
    tensors: unpacked when the module ran on a PackedSequence, else transposed when it is time-major."""
    if cap.packed is not None:
        batch_sizes, sorted_idx, unsorted_idx = cap.packed
        t, _ = pad_packed_sequence(PackedSequence(t, batch_sizes, sorted_idx, unsorted_idx), batch_first=True)
        return t
    return t if cap.batch_first else t.transpose(0, 1)


class _Capture:
    """One captured step: the forward copies, then the gradients as autograd delivers them."""

    def __init__(self, step, epoch):
        self.step = step
        self.epoch = epoch
        self.tensors = {}
        self.metadata = {}
        self.rows = None  # which batch rows are kept (a LongTensor), batch-first
        self.packed = None  # (batch_sizes, sorted_indices, unsorted_indices) of a PackedSequence output
        self.batch_first = False
        self.store_dtype = torch.float32
        self.grads = {}
        self.queued = False
        self.done = False


class Recorder:
    """Capture the gradient arriving at a recurrent module during real training.

        rec = Recorder(model.encoder.lstm, out_dir="bptt-captures", every=100, max_examples=8)
        ...                      # the training loop, unchanged
        rec.close()              # or: with Recorder(...) as rec:

    module        an nn.RNN, nn.LSTM (without proj_size) or nn.GRU (not the DDP wrapper: pass
                  the recurrent module inside it, e.g. ddp_model.module.encoder.lstm)
    out_dir       the capture folder (created when the first capture is written)
    every         capture every `every`-th training step (training forwards counted from 0,
                  or the step given to set_step)
    max_examples  keep the first `max_examples` rows of the batch
    name          the module's path in the model, written into the capture's metadata
    """

    def __init__(self, module, out_dir='bptt-captures', every=100, max_examples=8, name=None):
        kind = _module_kind(module)
        if kind is None:
            raise TypeError(
                f'bptt_lens.Recorder: expected an nn.RNN, nn.LSTM or nn.GRU module, got {type(module).__name__}'
                + (' (pass the recurrent module inside the wrapper, e.g. model.module.lstm)'
                   if hasattr(module, 'module') else ''))
        if kind == 'LSTM' and getattr(module, 'proj_size', 0) > 0:
            raise ValueError(
                f'bptt_lens.Recorder: LSTM with proj_size={module.proj_size} cannot be replayed by BPTT Lens '
                '(projected LSTMs are not supported); use proj_size=0')
        if not isinstance(every, int) or every < 1:
            raise ValueError(f'bptt_lens.Recorder: every must be a positive integer, got {every!r}')
        if not isinstance(max_examples, int) or max_examples < 1:
            raise ValueError(f'bptt_lens.Recorder: max_examples must be a positive integer, got {max_examples!r}')
        if module.num_layers > 1 and module.dropout > 0:
            warnings.warn(
                f'bptt_lens.Recorder: the module applies dropout {module.dropout} between layers; the replay '
                'cannot know the dropout masks, so its replayError will show the difference', RuntimeWarning,
                stacklevel=2)
        self._module = module
        self._kind = kind
        self.out_dir = os.fspath(out_dir)
        self.every = every
        self.max_examples = max_examples
        self.name = name if name is not None else kind.lower()
        self._forward_count = 0
        self._step = None
        self._epoch = None
        self._loss = None
        self._last_step_captured = None
        self._arming = None
        self._pending = []
        self._warned = set()
        self._lock = threading.Lock()
        self.written = []  # paths of the captures written, in order
        self._handles = [
            module.register_forward_pre_hook(self._before_forward),
            module.register_forward_hook(self._after_forward),
        ]

    # ----- public API -----

    def set_step(self, step, epoch=None):
        """Name the next captures by the training framework's global step (and epoch)."""
        self._step = int(step)
        if epoch is not None:
            self._epoch = int(epoch)

    def set_loss(self, loss):
        """Optional: the batch loss, written into the metadata of a capture of this step."""
        if self._pending:
            try:
                value = float(loss.detach().float().item()) if torch.is_tensor(loss) else float(loss)
            except Exception:  # noqa: BLE001 - a bad loss value must not stop training
                return
            for cap in self._pending:
                if not cap.done:
                    cap.metadata['loss'] = repr(value)

    def close(self):
        """Removes the hooks and writes a capture whose backward pass has already run."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._flush_pending()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ----- hooks -----

    def _before_forward(self, module, args):
        if not module.training or not torch.is_grad_enabled() or not self._handles:
            return None
        if not self._is_primary_replica(module):
            return None
        rank, world = _dist_rank_world()
        if rank != 0:
            return None  # only rank 0 writes; the other ranks pay nothing
        if self._step is not None:
            step = self._step
            capture = step % self.every == 0 and step != self._last_step_captured
        else:
            step = self._forward_count
            self._forward_count += 1
            capture = step % self.every == 0
        if not capture:
            return None
        try:
            self._flush_pending()
            self._last_step_captured = step
            cap = _Capture(step, self._epoch)
            cap.metadata.update(rank=str(rank), world_size=str(world))
            self._arming = cap
            # An identity view in front of the module: its gradient is exactly the module's own
            # share of dL/dinput (the input may feed other parts of the network too).
            x = args[0]
            if isinstance(x, PackedSequence) and x.data.requires_grad:
                x = PackedSequence(x.data.view_as(x.data), x.batch_sizes, x.sorted_indices, x.unsorted_indices)
                x.data.register_hook(lambda g, c=cap: self._on_grad(c, 'grad_input', g))
                return (x,) + tuple(args[1:])
            if torch.is_tensor(x) and x.requires_grad:
                x = x.view_as(x)
                x.register_hook(lambda g, c=cap: self._on_grad(c, 'grad_input', g))
                return (x,) + tuple(args[1:])
        except Exception as e:  # noqa: BLE001 - never stop training
            self._arming = None
            self._warn_once('hook', f'bptt_lens.Recorder: capture of step {step} skipped ({e})')
        return None

    def _after_forward(self, module, args, output):
        cap = self._arming
        if cap is None:
            return None
        self._arming = None
        try:
            self._record_forward(cap, module, args, output)
            self._pending.append(cap)
        except Exception as e:  # noqa: BLE001 - never stop training
            self._warn_once('hook', f'bptt_lens.Recorder: capture of step {cap.step} skipped ({e})')
        return None

    # ----- forward side -----

    def _is_primary_replica(self, module):
        if module is self._module:
            return True
        # nn.DataParallel runs copies of the module on every device; keep the one on the
        # original module's device (device_ids[0]) so that one step counts once.
        name = module._flat_weights_names[0]
        return getattr(module, name).device == getattr(self._module, name).device

    def _record_forward(self, cap, module, args, output):
        x = args[0]
        hx = args[1] if len(args) > 1 else None
        out, h_n = output
        c_n = None
        if self._kind == 'LSTM':
            h_n, c_n = h_n
            if hx is not None:
                hx = tuple(hx)
        cap.store_dtype = torch.float64 if getattr(module, module._flat_weights_names[0]).dtype == torch.float64 \
            else torch.float32
        store = cap.store_dtype

        def keep(t):
            return t.detach().to(device='cpu', dtype=store).contiguous()

        with torch.no_grad():
            if isinstance(x, PackedSequence):
                x_pad, lengths = pad_packed_sequence(x, batch_first=True)
                total_batch = x_pad.shape[0]
                # Only rows that run the whole (padded) length replay like an unpacked batch;
                # the longest row always does. Their indices are in the caller's batch order.
                full = torch.nonzero(lengths == lengths.max()).flatten()
                cap.rows = full[:self.max_examples]
                cap.packed = (out.batch_sizes, out.sorted_indices, out.unsorted_indices)
                cap.tensors['input'] = keep(x_pad[cap.rows])
                cap.tensors['lengths'] = lengths[cap.rows].to(torch.int64).contiguous()
                out_pad, _ = pad_packed_sequence(out, batch_first=True)
                cap.tensors['output'] = keep(out_pad[cap.rows])
                kept_note = f'{len(cap.rows)} of {total_batch} (full-length rows of a PackedSequence)'
            else:
                batch_dim = 0 if module.batch_first else 1
                if x.dim() == 2:
                    raise ValueError('unbatched input (2-D) is not captured; feed a batch')
                total_batch = x.shape[batch_dim]
                cap.rows = torch.arange(min(self.max_examples, total_batch))
                cap.batch_first = module.batch_first
                xb = x if module.batch_first else x.transpose(0, 1)
                ob = out if module.batch_first else out.transpose(0, 1)
                cap.tensors['input'] = keep(xb[:len(cap.rows)])
                cap.tensors['output'] = keep(ob[:len(cap.rows)])
                kept_note = f'{len(cap.rows)} of {total_batch}'
            rows = cap.rows
            if hx is not None:
                if self._kind == 'LSTM':
                    cap.tensors['h_0'] = keep(hx[0][:, rows])
                    cap.tensors['c_0'] = keep(hx[1][:, rows])
                else:
                    cap.tensors['h_0'] = keep(hx[:, rows])
            for pname in module._flat_weights_names:
                cap.tensors[pname] = keep(getattr(module, pname))

        rank, world = cap.metadata['rank'], cap.metadata['world_size']
        cap.metadata.update({
            'schema': SCHEMA,
            'module': self._kind,
            'nonlinearity': getattr(module, 'nonlinearity', 'tanh') if self._kind == 'RNN' else 'tanh',
            'num_layers': str(module.num_layers),
            'bidirectional': 'true' if module.bidirectional else 'false',
            'hidden_size': str(module.hidden_size),
            'input_size': str(module.input_size),
            'bias': 'true' if module.bias else 'false',
            'batch_first': 'true' if module.batch_first else 'false',
            'step': str(cap.step),
            'epoch': '' if cap.epoch is None else str(cap.epoch),
            'rank': rank,
            'world_size': world,
            'loss': '',
            'dtype': _compute_dtype(out.data if isinstance(out, PackedSequence) else out),
            'dropout': repr(float(module.dropout)),
            'framework': f'torch {torch.__version__}',
            'recorder': f'bptt_lens {__version__}',
            'name': self.name,
            'examples': kept_note,
        })

        # Gradient hooks: each fires once with the total gradient autograd delivers to that tensor.
        out_tensor = out.data if isinstance(out, PackedSequence) else out
        if out_tensor.requires_grad:
            out_tensor.register_hook(lambda g, c=cap: self._on_grad(c, 'grad_output', g))
        if h_n.requires_grad:
            h_n.register_hook(lambda g, c=cap: self._on_grad(c, 'grad_h_n', g))
        if c_n is not None and c_n.requires_grad:
            c_n.register_hook(lambda g, c=cap: self._on_grad(c, 'grad_c_n', g))

    # ----- backward side -----

    def _on_grad(self, cap, key, grad):
        try:
            with torch.no_grad():
                cap.grads[key] = grad.detach()
            if not cap.queued:
                cap.queued = True
                try:
                    _queue_end_of_backward(lambda c=cap: self._finish(c))
                except Exception:  # noqa: BLE001 - no engine callback: written at the next capture or close()
                    cap.queued = False
        except Exception as e:  # noqa: BLE001 - never stop training
            self._warn_once('hook', f'bptt_lens.Recorder: gradient of step {cap.step} not captured ({e})')
        return None

    def _finish(self, cap):
        with self._lock:
            if cap.done:
                return
            cap.done = True
            if cap in self._pending:
                self._pending.remove(cap)
        try:
            tensors = self._assemble(cap)
        except Exception as e:  # noqa: BLE001 - never stop training
            self._warn_once('assemble', f'bptt_lens.Recorder: capture of step {cap.step} not written ({e})')
            return
        self._write(cap, tensors)

    def _assemble(self, cap):
        store = cap.store_dtype
        rows = cap.rows
        tensors = dict(cap.tensors)
        with torch.no_grad():
            g = cap.grads.get('grad_output')
            if g is not None:
                tensors['grad_output'] = _batch_first(cap, g)[rows].to(device='cpu', dtype=store).contiguous()
            else:
                # The output was not used downstream (only the final state was): its gradient is zero.
                tensors['grad_output'] = torch.zeros_like(tensors['output'])
            for key in ('grad_h_n', 'grad_c_n'):
                if key in cap.grads:
                    tensors[key] = cap.grads[key][:, rows].to(device='cpu', dtype=store).contiguous()
            if 'grad_input' in cap.grads:
                tensors['grad_input'] = _batch_first(cap, cap.grads['grad_input'])[rows].to(device='cpu', dtype=store).contiguous()
        return tensors

    def _flush_pending(self):
        """Writes captures whose gradients arrived but whose end-of-backward callback did not run."""
        for cap in list(self._pending):
            if cap.grads:
                self._finish(cap)
            else:
                self._pending.remove(cap)  # no backward pass reached the module: nothing to write

    def _write(self, cap, tensors):
        path = os.path.join(self.out_dir, f'step-{cap.step:08d}.capture.safetensors')
        tmp = os.path.join(self.out_dir, f'.step-{cap.step:08d}.{os.getpid()}.tmp')
        try:
            os.makedirs(self.out_dir, exist_ok=True)
            data = _serialize(tensors, cap.metadata)
            with open(tmp, 'wb') as f:
                f.write(data)
            os.replace(tmp, path)
            self.written.append(path)
        except OSError as e:
            try:
                os.remove(tmp)
            except OSError:
                pass
            self._warn_once('write', f'bptt_lens.Recorder: cannot write captures to {self.out_dir!r} ({e}); '
                                     'training goes on without them')
        except Exception as e:  # noqa: BLE001 - never stop training
            self._warn_once('write', f'bptt_lens.Recorder: capture of step {cap.step} not written ({e})')

    def _warn_once(self, key, message):
        if key in self._warned:
            return
        self._warned.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=2)


def _serialize(tensors, metadata):
    try:
        from safetensors.torch import save as st_save  # the reference writer when installed
    except ImportError:
        return _safetensors.serialize(tensors, metadata)
    return st_save(tensors, metadata=metadata)
