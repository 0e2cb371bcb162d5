// One colour per configuration of a study, the same in the panel, report.html, the SVGs and
// report.md, so a reader who learns "lstm-cifg is teal" in one figure finds it teal in all.
//
// How: the study's configurations are sorted by cell family (classic, gated-modern, linear),
// then cell, then the remaining settings (forget bias, clipping, seed), and laid out around the
// CIE LCh hue circle in that order, so each family owns a contiguous range of hues and its cells
// are shades within it. Lightness alternates between two levels from one configuration to the
// next, which separates hue neighbours further. Colours are pure functions of the set of
// configurations (not of run order), and runs that differ only by seed share their colour.
//
// Measure: CIEDE2000 (ΔE00, Sharma et al. 2005). The unit test checks every pair of 20
// configurations is at least MIN_DELTA_E00 = 11 apart (a just-noticeable difference is about 2;
// above 10 reads as "clearly a different colour" side by side). Both lightness levels sit mid-range so every colour reads on
// white (report.html, SVGs) and on VS Code's dark and high-contrast backgrounds.
import type { ReportRun } from '../../study/types';

export type CellFamily = 'classic' | 'gated-modern' | 'linear';

/**
 * Cell names in display order with their family. Mirrors the engine's registry
 * (src/engine/cells/index.ts), which the webview cannot import (it would bundle every cell);
 * a unit test compares the two. Unknown names sort last as 'classic'.
 */
export const PALETTE_CELLS: readonly [string, CellFamily][] = [
  ['rnn-tanh', 'classic'], ['rnn-relu', 'classic'], ['indrnn', 'classic'],
  ['lstm', 'classic'], ['lstm-peephole', 'classic'], ['lstm-cifg', 'classic'], ['lstm-nfg', 'classic'], ['lstm-nig', 'classic'],
  ['lstm-nog', 'classic'], ['lstm-niaf', 'classic'], ['lstm-noaf', 'classic'], ['gru', 'classic'],
  ['mingru', 'gated-modern'], ['minlstm', 'gated-modern'], ['slstm', 'gated-modern'], ['mlstm', 'gated-modern'],
  ['lru', 'linear'], ['rglru', 'linear'], ['s6', 'linear'],
];
const FAMILY_ORDER: Record<CellFamily, number> = { classic: 0, 'gated-modern': 1, linear: 2 };

/** Pairwise ΔE00 the palette keeps for up to 20 configurations (tested; 24 keep ≥ 9.5). */
export const MIN_DELTA_E00 = 11;

export function cellName(run: Pick<ReportRun, 'config'>): string {
  const c = run.config as Record<string, unknown>;
  if (typeof c.cellChoice === 'string') return c.cellChoice;
  if (typeof c.cell === 'string') return c.cell === 'rnn' ? `rnn-${typeof c.nonlinearity === 'string' ? c.nonlinearity : 'tanh'}` : c.cell;
  return '';
}

export function cellFamily(name: string): CellFamily {
  return PALETTE_CELLS.find(([n]) => n === name)?.[1] ?? 'classic';
}

function cellRank(name: string): number {
  const i = PALETTE_CELLS.findIndex(([n]) => n === name);
  return i < 0 ? PALETTE_CELLS.length : i;
}

/** What makes a configuration: everything but the seed. */
function configKey(run: ReportRun): string {
  if (run.group) return run.group;
  const { seed: _seed, ...rest } = run.config as Record<string, unknown>;
  return JSON.stringify(rest, Object.keys(rest).sort());
}

function clipRank(run: ReportRun): [number, number] {
  const clip = run.config.clip as { kind?: string; threshold?: number } | undefined;
  const kind = !clip || clip.kind === 'none' ? 0 : clip.kind === 'norm' ? 1 : 2;
  return [kind, typeof clip?.threshold === 'number' ? clip.threshold : 0];
}

function compareRuns(a: ReportRun, b: ReportRun): number {
  const ca = cellName(a);
  const cb = cellName(b);
  const fa = FAMILY_ORDER[cellFamily(ca)];
  const fb = FAMILY_ORDER[cellFamily(cb)];
  if (fa !== fb) return fa - fb;
  if (cellRank(ca) !== cellRank(cb)) return cellRank(ca) - cellRank(cb);
  if (ca !== cb) return ca < cb ? -1 : 1;
  const fba = a.config.forgetBias ? 1 : 0;
  const fbb = b.config.forgetBias ? 1 : 0;
  if (fba !== fbb) return fba - fbb;
  const [ka, ta] = clipRank(a);
  const [kb, tb] = clipRank(b);
  if (ka !== kb) return ka - kb;
  if (ta !== tb) return ta - tb;
  const ga = configKey(a);
  const gb = configKey(b);
  return ga < gb ? -1 : ga > gb ? 1 : 0;
}

/** The colour of configuration i of n (in the sorted order). */
export function paletteColor(i: number, n: number): string {
  // Start at blue for the first classic cell; step evenly round the hue circle, stopping short
  // of a full turn so the last configuration does not land back next to the first.
  // With n odd the last and the first share a lightness, so they get two steps between them.
  const step = n <= 1 ? 0 : 360 / (n % 2 === 1 ? n + 1 : n);
  const hue = (255 + i * step) % 360;
  const light = n > 2 && i % 2 === 1 ? 72 : 52;
  return lchToHex(light, 58, hue);
}

/** Run id -> colour (#rrggbb) for every run of a study. */
export function runColors(runs: readonly ReportRun[]): Map<string, string> {
  const firstOfKey = new Map<string, ReportRun>();
  for (const r of runs) if (!firstOfKey.has(configKey(r))) firstOfKey.set(configKey(r), r);
  const order = [...firstOfKey.values()].sort(compareRuns).map(configKey);
  const colorOfKey = new Map(order.map((k, i) => [k, paletteColor(i, order.length)]));
  return new Map(runs.map((r) => [r.id, colorOfKey.get(configKey(r))!]));
}

/** Colours in run order (index i = runs[i]). */
export function runColorList(runs: readonly ReportRun[]): string[] {
  const m = runColors(runs);
  return runs.map((r) => m.get(r.id)!);
}

// ---------------------------------------------------------------- colour science

/** CIE L*a*b* (D65) -> sRGB hex; chroma is reduced until the colour fits the sRGB gamut. */
export function lchToHex(L: number, C: number, hueDeg: number): string {
  const h = (hueDeg * Math.PI) / 180;
  for (let c = C; c >= 0; c -= 1) {
    const rgb = labToRgb(L, c * Math.cos(h), c * Math.sin(h));
    if (rgb.every((v) => v >= -0.5 && v <= 255.5)) return toHex(rgb);
  }
  return toHex(labToRgb(L, 0, 0));
}

function toHex(rgb: number[]): string {
  return '#' + rgb.map((v) => Math.round(Math.max(0, Math.min(255, v))).toString(16).padStart(2, '0')).join('');
}

const WHITE = [0.95047, 1, 1.08883];

function labToRgb(L: number, a: number, b: number): number[] {
  const fy = (L + 16) / 116;
  const fx = fy + a / 500;
  const fz = fy - b / 200;
  const inv = (t: number) => (t ** 3 > 0.008856 ? t ** 3 : (t - 16 / 116) / 7.787);
  const [X, Y, Z] = [inv(fx) * WHITE[0]!, inv(fy) * WHITE[1]!, inv(fz) * WHITE[2]!];
  const lin = [3.2404542 * X - 1.5371385 * Y - 0.4985314 * Z, -0.969266 * X + 1.8760108 * Y + 0.041556 * Z, 0.0556434 * X - 0.2040259 * Y + 1.0572252 * Z];
  return lin.map((v) => 255 * (v <= 0.0031308 ? 12.92 * v : 1.055 * Math.sign(v) * Math.abs(v) ** (1 / 2.4) - 0.055));
}

/** sRGB hex -> CIE L*a*b* (D65). */
export function hexToLab(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  const lin = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => {
    const s = v / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  const [r, g, b] = lin as [number, number, number];
  const X = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / WHITE[0]!;
  const Y = (0.2126729 * r + 0.7151522 * g + 0.072175 * b) / WHITE[1]!;
  const Z = (0.0193339 * r + 0.119192 * g + 0.9503041 * b) / WHITE[2]!;
  const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  return [116 * f(Y) - 16, 500 * (f(X) - f(Y)), 200 * (f(Y) - f(Z))];
}

/** CIEDE2000 colour difference (kL = kC = kH = 1), after Sharma, Wu & Dalal 2005. */
export function ciede2000(lab1: readonly number[], lab2: readonly number[]): number {
  const [L1, a1, b1] = lab1 as [number, number, number];
  const [L2, a2, b2] = lab2 as [number, number, number];
  const rad = Math.PI / 180;
  const C1 = Math.hypot(a1, b1);
  const C2 = Math.hypot(a2, b2);
  const Cm = (C1 + C2) / 2;
  const G = 0.5 * (1 - Math.sqrt(Cm ** 7 / (Cm ** 7 + 25 ** 7)));
  const a1p = (1 + G) * a1;
  const a2p = (1 + G) * a2;
  const C1p = Math.hypot(a1p, b1);
  const C2p = Math.hypot(a2p, b2);
  const hue = (b: number, a: number) => (b === 0 && a === 0 ? 0 : ((Math.atan2(b, a) / rad) + 360) % 360);
  const h1p = hue(b1, a1p);
  const h2p = hue(b2, a2p);
  const dLp = L2 - L1;
  const dCp = C2p - C1p;
  let dhp = 0;
  if (C1p * C2p !== 0) {
    dhp = h2p - h1p;
    if (dhp > 180) dhp -= 360;
    else if (dhp < -180) dhp += 360;
  }
  const dHp = 2 * Math.sqrt(C1p * C2p) * Math.sin((dhp * rad) / 2);
  const Lpm = (L1 + L2) / 2;
  const Cpm = (C1p + C2p) / 2;
  let hpm = h1p + h2p;
  if (C1p * C2p !== 0) {
    if (Math.abs(h1p - h2p) > 180) hpm = h1p + h2p < 360 ? (h1p + h2p + 360) / 2 : (h1p + h2p - 360) / 2;
    else hpm = (h1p + h2p) / 2;
  }
  const T = 1 - 0.17 * Math.cos((hpm - 30) * rad) + 0.24 * Math.cos(2 * hpm * rad) + 0.32 * Math.cos((3 * hpm + 6) * rad) - 0.2 * Math.cos((4 * hpm - 63) * rad);
  const dTheta = 30 * Math.exp(-(((hpm - 275) / 25) ** 2));
  const Rc = 2 * Math.sqrt(Cpm ** 7 / (Cpm ** 7 + 25 ** 7));
  const Sl = 1 + (0.015 * (Lpm - 50) ** 2) / Math.sqrt(20 + (Lpm - 50) ** 2);
  const Sc = 1 + 0.045 * Cpm;
  const Sh = 1 + 0.015 * Cpm * T;
  const Rt = -Math.sin(2 * dTheta * rad) * Rc;
  return Math.sqrt((dLp / Sl) ** 2 + (dCp / Sc) ** 2 + (dHp / Sh) ** 2 + Rt * (dCp / Sc) * (dHp / Sh));
}
