"""A minimal safetensors writer and reader (the format is tiny: an 8-byte little-endian
header length, a JSON header, the raw little-endian bytes). Used when the `safetensors`
package is not installed; the reader is for tests and tools, not for untrusted files.
"""
import json
import struct

import torch

_DTYPES = {
    torch.float64: 'F64',
    torch.float32: 'F32',
    torch.float16: 'F16',
    torch.bfloat16: 'BF16',
    torch.int64: 'I64',
    torch.int32: 'I32',
}
_TORCH = {name: dtype for dtype, name in _DTYPES.items()}


def _tensor_bytes(tensor):
    t = tensor.detach().to('cpu').contiguous()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16: reinterpret the 16-bit pattern.
        return t.view(torch.int16).numpy().astype('<i2').tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder('<')).tobytes()


def serialize(tensors, metadata):
    """tensors: dict name -> torch.Tensor; metadata: dict str -> str. Returns bytes."""
    header = {}
    blobs = []
    offset = 0
    for name, tensor in tensors.items():
        if tensor.dtype not in _DTYPES:
            raise TypeError(f'tensor {name!r}: dtype {tensor.dtype} has no safetensors name here')
        blob = _tensor_bytes(tensor)
        header[name] = {
            'dtype': _DTYPES[tensor.dtype],
            'shape': list(tensor.shape),
            'data_offsets': [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)  # the data starts 8-byte aligned
    return struct.pack('<Q', len(text)) + text + b''.join(blobs)


def load(path):
    """Returns (dict name -> torch.Tensor, metadata dict)."""
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    metadata = header.pop('__metadata__', {})
    data = raw[8 + n:]
    tensors = {}
    for name, entry in header.items():
        begin, end = entry['data_offsets']
        dtype = _TORCH[entry['dtype']]
        chunk = bytearray(data[begin:end])
        if dtype == torch.bfloat16:
            t = torch.frombuffer(chunk, dtype=torch.int16).view(torch.bfloat16) if chunk else torch.empty(0, dtype=dtype)
        else:
            t = torch.frombuffer(chunk, dtype=dtype) if chunk else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(entry['shape'])
    return tensors, metadata
