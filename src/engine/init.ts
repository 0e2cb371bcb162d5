// Weight initialisation schemes and the spectral-radius rescale of the recurrent matrix.
//
// Parameters are recognised by their PyTorch names (types.ts ParamSet). A stacked weight
// such as LSTM's weight_hh_l0 [4H x H] is G gate blocks of H rows each; the schemes that
// care about structure (xavier, orthogonal, identity, the spectral radius) treat each gate
// block as its own matrix, which is what each gate sees.
//
//   pytorch     every recurrent parameter ~ U(-1/sqrt(H), 1/sqrt(H)) (nn.RNN/LSTM/GRU
//               reset_parameters); head ~ U(-1/sqrt(D*H), 1/sqrt(D*H)) (nn.Linear's own
//               default: kaiming_uniform(a=sqrt 5) on the weight gives the same bound).
//   xavier      Glorot uniform per gate block, bound sqrt(6 / (fan_in + fan_out)), biases 0.
//   orthogonal  W_hh gate blocks orthogonal (QR of a Gaussian matrix, signs fixed as in
//               torch.nn.init.orthogonal_), W_ih Xavier, biases 0 (Saxe et al. 2014).
//   identity    W_hh gate blocks = I, biases 0 (IRNN, Le et al. 2015); W_ih Xavier.
// Under every scheme but 'pytorch' the head is Xavier with bias 0, and peephole weights
// (our own, PyTorch has none) start at 0 so a peephole LSTM starts as the vanilla one.
//
// The optional rescale multiplies each H x H gate block of W_hh by r / rho(block), where
// rho is the spectral radius (largest |eigenvalue|). See spectralRadius() for the method.
// The cells of design §8 (mingru, lru, s6, ...) start from their own §8 initialisation
// instead: see initializeModernModel.
// forgetBias sets the LSTM forget block of bias_ih to 1 and of bias_hh to 0, so the
// effective forget bias is exactly 1 (Jozefowicz et al. 2015).

import { layerCells, layerSuffix } from './model';
import type { InitScheme, Model, Tensor } from './types';
import type { Rng } from './rng';

export interface InitOptions {
  scheme: InitScheme;
  /** Rescale every H x H gate block of W_hh to this spectral radius; null leaves it. */
  spectralRadius: number | null;
  /** LSTM only: forget-gate bias 1. Ignored for RNN and GRU. */
  forgetBias: boolean;
}

type ParamRole = 'weight_ih' | 'weight_hh' | 'bias_ih' | 'bias_hh' | 'peephole' | 'head_weight' | 'head_bias';

const RECURRENT_NAME = /^(weight_ih|weight_hh|bias_ih|bias_hh|weight_ci|weight_cf|weight_co)_l\d+(_reverse)?$/;

function roleOf(name: string): ParamRole {
  if (name === 'head.weight') return 'head_weight';
  if (name === 'head.bias') return 'head_bias';
  const m = RECURRENT_NAME.exec(name);
  if (!m) throw new Error(`initializeModel: unknown parameter name '${name}'`);
  const base = m[1];
  if (base === 'weight_ci' || base === 'weight_cf' || base === 'weight_co') return 'peephole';
  return base as ParamRole;
}

/** Initialise every parameter of `model` in place, deterministically from `rng`. */
export function initializeModel(model: Model, options: InitOptions, rng: Rng): void {
  const { config } = model;
  if (config.cell !== 'rnn' && config.cell !== 'lstm' && config.cell !== 'gru') {
    initializeModernModel(model, options, rng);
    return;
  }
  const H = config.hiddenSize;
  const bound = 1 / Math.sqrt(H);
  // Visit parameters in the ParamSet's stable order so a seed always gives the same weights.
  for (const [name, tensor] of model.params) {
    const role = roleOf(name);
    const d = tensor.data;
    if (options.scheme === 'pytorch') {
      const b = role === 'head_weight' || role === 'head_bias' ? 1 / Math.sqrt(headFanIn(model)) : bound;
      for (let k = 0; k < d.length; k++) d[k] = rng.range(-b, b);
      continue;
    }
    switch (role) {
      case 'bias_ih':
      case 'bias_hh':
      case 'head_bias':
      case 'peephole':
        d.fill(0);
        break;
      case 'head_weight':
      case 'weight_ih':
        xavierBlocks(tensor, role === 'head_weight' ? tensor.shape[0] : H, rng);
        break;
      case 'weight_hh':
        if (options.scheme === 'xavier') xavierBlocks(tensor, H, rng);
        else if (options.scheme === 'orthogonal') forEachBlock(tensor, H, (off) => writeBlock(d, off, orthogonalMatrix(H, rng)));
        else forEachBlock(tensor, H, (off) => writeBlock(d, off, identityMatrix(H)));
        break;
    }
  }

  if (options.spectralRadius !== null) {
    const target = options.spectralRadius;
    if (!(target >= 0) || !Number.isFinite(target)) throw new Error(`initializeModel: spectralRadius must be a finite number >= 0, got ${target}`);
    for (const [name, tensor] of model.params) {
      if (roleOf(name) !== 'weight_hh') continue;
      forEachBlock(tensor, H, (off) => {
        const block = tensor.data.subarray(off, off + H * H);
        const rho = spectralRadius(block, H);
        // A nilpotent block (rho = 0) has no scale to set; leave it as initialised.
        if (rho > 0) for (let k = 0; k < block.length; k++) block[k] *= target / rho;
      });
    }
  }

  if (options.forgetBias && config.cell === 'lstm') {
    // Gate order i, f, g, o: the f block is rows H..2H-1.
    for (const [name, tensor] of model.params) {
      const role = roleOf(name);
      if (role === 'bias_ih') tensor.data.fill(1, H, 2 * H);
      else if (role === 'bias_hh') tensor.data.fill(0, H, 2 * H);
    }
  }
}

/**
 * The cells of design §8 start from their own §8 initialisation (cells/*.ts `init`, layer by
 * layer, direction by direction, in parameter order): the schemes above are about full
 * W_ih/W_hh matrices of the classic cells, which most of these cells do not have. Where a cell
 * has a hidden-to-hidden matrix (slstm's R, `recurrent` in its contract), the scheme
 * ('xavier', 'orthogonal', 'identity') replaces its H×H gate blocks as for W_hh, and the
 * spectral-radius rescale applies to it. The scheme also sets the head (as for the classic
 * cells). forgetBias is LSTM only.
 */
function initializeModernModel(model: Model, options: InitOptions, rng: Rng): void {
  const { config } = model;
  const H = config.hiddenSize;
  const cells = layerCells(config);
  cells.forEach((cell, layer) => {
    for (let d = 0; d < (config.bidirectional ? 2 : 1); d++) {
      const suffix = layerSuffix(layer, d === 1);
      cell.init((base) => {
        const t = model.params.get(base + suffix);
        if (!t) throw new Error(`initializeModel: ${cell.name} has no parameter '${base + suffix}'`);
        return t.data;
      }, rng);
    }
  });
  if (options.scheme !== 'pytorch') {
    cells.forEach((cell, layer) => {
      if (!cell.recurrent) return;
      for (let d = 0; d < (config.bidirectional ? 2 : 1); d++) {
        const tensor = model.params.get(cell.recurrent.weight + layerSuffix(layer, d === 1))!;
        if (options.scheme === 'xavier') xavierBlocks(tensor, H, rng);
        else if (options.scheme === 'orthogonal') forEachBlock(tensor, H, (off) => writeBlock(tensor.data, off, orthogonalMatrix(H, rng)));
        else forEachBlock(tensor, H, (off) => writeBlock(tensor.data, off, identityMatrix(H)));
      }
    });
  }
  const hw = model.params.get('head.weight');
  const hb = model.params.get('head.bias');
  if (hw && hb) {
    if (options.scheme === 'pytorch') {
      const b = 1 / Math.sqrt(headFanIn(model));
      for (let k = 0; k < hw.data.length; k++) hw.data[k] = rng.range(-b, b);
      for (let k = 0; k < hb.data.length; k++) hb.data[k] = rng.range(-b, b);
    } else {
      xavierBlocks(hw, hw.shape[0], rng);
      hb.data.fill(0);
    }
  }
  if (options.spectralRadius !== null) {
    const target = options.spectralRadius;
    if (!(target >= 0) || !Number.isFinite(target)) throw new Error(`initializeModel: spectralRadius must be a finite number >= 0, got ${target}`);
    cells.forEach((cell, layer) => {
      const rec = cell.recurrent;
      if (!rec) return;
      for (let d = 0; d < (config.bidirectional ? 2 : 1); d++) {
        const tensor = model.params.get(rec.weight + layerSuffix(layer, d === 1))!;
        forEachBlock(tensor, H, (off) => {
          const block = tensor.data.subarray(off, off + H * H);
          const rho = spectralRadius(block, H);
          if (rho > 0) for (let k = 0; k < block.length; k++) block[k] *= target / rho;
        });
      }
    });
  }
}

function headFanIn(model: Model): number {
  const w = model.params.get('head.weight');
  return w ? w.shape[1] : model.config.hiddenSize * (model.config.bidirectional ? 2 : 1);
}

/** Calls fn(offset) for each block of H rows of a 2-D tensor. */
function forEachBlock(t: Tensor, H: number, fn: (offset: number) => void): void {
  const [rows, cols] = t.shape;
  if (rows % H !== 0) throw new Error(`init: ${rows} rows are not a whole number of ${H}-row gate blocks`);
  for (let r = 0; r < rows; r += H) fn(r * cols);
}

function writeBlock(dst: Float64Array, offset: number, src: Float64Array): void {
  dst.set(src, offset);
}

/** Glorot uniform on each block of `blockRows` rows (fan_in = cols, fan_out = blockRows). */
function xavierBlocks(t: Tensor, blockRows: number, rng: Rng): void {
  const cols = t.shape[1];
  const b = Math.sqrt(6 / (cols + blockRows));
  forEachBlock(t, blockRows, (off) => {
    for (let k = 0; k < blockRows * cols; k++) t.data[off + k] = rng.range(-b, b);
  });
}

function identityMatrix(n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}

/**
 * A random n x n orthogonal matrix: Q of the QR factorisation of a standard Gaussian matrix,
 * with column j multiplied by sign(R_jj) so that Q is Haar-distributed (as torch's
 * orthogonal_ does). QR by modified Gram-Schmidt with one re-orthogonalisation pass,
 * which keeps Q orthogonal to machine precision for these small n.
 */
export function orthogonalMatrix(n: number, rng: Rng): Float64Array {
  const a = new Float64Array(n * n);
  for (let k = 0; k < a.length; k++) a[k] = rng.normal();
  // Work on columns: q[j] is column j of A, orthogonalised in place.
  const q: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = a[i * n + j];
    for (let pass = 0; pass < 2; pass++) {
      for (const u of q) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += u[i] * v[i];
        for (let i = 0; i < n; i++) v[i] -= dot * u[i];
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    // R_jj = <q_j, a_j>; with v = a_j minus its projections, R_jj = ||v|| > 0, so Q's signs
    // already match the positive-diagonal convention. A degenerate column (probability 0)
    // would give norm 0: replace it by a fresh Gaussian column.
    if (norm === 0) {
      for (let i = 0; i < n; i++) a[i * n + j] = rng.normal();
      j--;
      continue;
    }
    for (let i = 0; i < n; i++) v[i] /= norm;
    q.push(v);
  }
  const out = new Float64Array(n * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) out[i * n + j] = q[j][i];
  return out;
}

/**
 * Spectral radius (largest |eigenvalue|) of an n x n row-major matrix.
 *
 * Method: Gelfand's formula rho(A) = lim ||A^k||^(1/k), evaluated at k = 2^m by repeated
 * squaring with renormalisation (B <- (B/||B||)^2, accumulating log||A^k|| exactly).
 * Unlike power iteration on a vector, this converges whatever the dominant eigenvalues
 * are: complex pairs, several of equal modulus, defective (Jordan) blocks. The error
 * factor is (C k^(s-1))^(1/k) for a Jordan block of size s and eigenvector condition C:
 * at the cap k = 2^48 that is below 1e-13 relative for C up to 1e6. Stops earlier once
 * successive estimates agree to 1e-14. Cost: O(n^3) per squaring, at most 49 squarings
 * (about 0.2 s for n = 128, 1.5 s for n = 256); it runs once per gate block at init.
 */
export function spectralRadius(matrix: Float64Array, n: number): number {
  if (matrix.length !== n * n) throw new Error(`spectralRadius: expected ${n * n} entries, got ${matrix.length}`);
  let b = Float64Array.from(matrix);
  let logNormPower = 0; // log ||A^k|| where k = 2^m
  let k = 1;
  let estimate = Number.NaN;
  let tmp = new Float64Array(n * n);
  for (let m = 0; m <= 48; m++) {
    const norm = frobenius(b);
    if (norm === 0) return 0; // nilpotent (or zero): every eigenvalue is 0
    if (!Number.isFinite(norm)) return Number.NaN;
    for (let i = 0; i < b.length; i++) b[i] /= norm;
    logNormPower += Math.log(norm); // now ||A^k|| = exp(logNormPower) exactly
    const next = Math.exp(logNormPower / k);
    if (m >= 3 && Math.abs(next - estimate) <= 1e-14 * next) return next;
    estimate = next;
    // B = A^k / ||A^k||, so B^2 = A^(2k) / exp(2 logNormPower).
    matmul(b, b, tmp, n);
    [b, tmp] = [tmp, b];
    logNormPower *= 2;
    k *= 2;
  }
  return estimate;
}

function frobenius(a: Float64Array): number {
  // Scaled sum of squares: entries of a normalised power can span hundreds of decades.
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i] / scale;
    s += v * v;
  }
  return scale * Math.sqrt(s);
}

function matmul(a: Float64Array, b: Float64Array, out: Float64Array, n: number): void {
  out.fill(0);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  }
}
