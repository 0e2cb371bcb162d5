// Checks every recorded per-timestep quantity that is a gradient against the norm of the
// underlying vector computed by finite differences through the engine's test hooks:
//   gradNormState[t]    ‖∂L/∂s_t‖        perturb every state part (not held constant) after
//                                         the step, the output formed from the perturbed state
//   gradNormH[t]        ‖∂L/∂h_t‖        the output part's share of that (cells whose output
//                                         is read from the state: the whole state)
//   gradNormC[t]        ‖∂L/∂c_t‖        perturb c_t as a node, before h_t is formed from it
//   gateGradNorm[g][t]  ‖∂L/∂a_g,t‖      perturb the gate's pre-activation (its block of proj)
//   inputGradNorm[t]    ‖∂L/∂x_t‖        perturb the input
//   weightGradByStep[t] the per-step parts, entry by entry: perturb the copy of each
//                       parameter used at step t only; the parts also sum to the gradient
//   itemized[s][k]      ‖∂ℓ_s/∂s_k‖      perturb every state part of the top layer at k,
//                       differentiate the loss term of step s
// For truncated BPTT the objective is the sum of the passes' segment losses with frozen
// boundary states (fd.ts), whose gradient is what truncated BPTT computes.

import assert from 'node:assert/strict';
import { forwardDetailed, runPassWithHooks, type EngineHooks } from '../../src/engine/bptt';
import { layerCells } from '../../src/engine/model';
import type { ModelConfig, ParamSet, PassRecord } from '../../src/engine/types';
import { checkedErr, fdGradient, fdPerturbation, norm, objective, TOLERANCE, worst, type Case, type Objective } from './fd';

type Dir = 'forward' | 'reverse';

function close(analytic: number, numeric: number, what: string): void {
  const e = checkedErr(analytic, numeric);
  assert.ok(e <= TOLERANCE, `${what}: recorded ${analytic} vs FD ${numeric} (relErr ${e})`);
}

/**
 * What the probe checks need of a pass: a head-driven pass (a Case) or the injected-gradient
 * pass (inject.ts) both fit.
 */
export interface ProbeSubject {
  config: ModelConfig;
  B: number;
  T: number;
  I: number;
  /** The input, batch-first [B][T][I]; perturbed in place (and restored) for inputGradNorm. */
  x: Float64Array;
  /** The pass with all probes (jacobian off), per-step weight parts reported to the hook. */
  run(itemized: boolean, hooks: EngineHooks): { record: PassRecord };
  /** Parameter gradients by the other code path (weightGradByStep off). */
  batchedGrads(): ParamSet;
  /** L as a function of the test hooks. */
  objective: Objective;
  /** ℓ_s for every s, as a function of the test hooks (for itemized). */
  terms(hooks: EngineHooks): Float64Array;
}

export function caseSubject(c: Case): ProbeSubject {
  const { model, batch } = c;
  return {
    config: model.config,
    B: batch.batchSize,
    T: batch.steps,
    I: batch.inputSize,
    x: batch.x,
    run: (itemized, hooks) => runPassWithHooks(model, batch, { loss: c.loss, truncation: c.truncation, probes: { itemized, jacobian: false } }, hooks),
    batchedGrads: () => runPassWithHooks(model, batch, { loss: c.loss, truncation: c.truncation, probes: { weightGradByStep: false, jacobian: false } }, null).grads,
    objective: objective(c),
    terms: (hooks) => forwardDetailed(model, batch, c.loss, hooks).terms,
  };
}

export function checkProbes(c: Case, opts: { itemized: boolean }): void {
  checkSubjectProbes(caseSubject(c), opts);
}

export function checkSubjectProbes(subject: ProbeSubject, opts: { itemized: boolean }): void {
  const { B, T, config } = subject;
  const H = config.hiddenSize;
  const cells = layerCells(config);
  const parts = new Map<string, Map<string, Float64Array>>();
  const rec: PassRecord = subject.run(opts.itemized, { onWeightGradPart: (layer, dir, t, p) => parts.set(`${layer}:${dir}:${t}`, p) }).record;
  const batched = subject.batchedGrads();
  const obj = subject.objective;

  for (const lr of rec.layers) {
    const where = { layer: lr.layer, direction: lr.direction as Dir };
    const tag = `layer ${lr.layer} ${lr.direction}`;
    const cell = cells[lr.layer];
    const P = cell.projection.reduce((n, b) => n + b.rows, 0);
    const free = cell.state.filter((s) => !s.heldConstant);
    for (let t = 0; t < T; t++) {
      // The state gradient: every part (not held constant) as an independent coordinate,
      // perturbed after the step (the output is formed from the perturbed state).
      const byPart = new Map(free.map((s) => [s.name, fdPerturbation(obj, { ...where, t, target: 'state', part: s.name }, B * s.size)]));
      const whole = norm(free.flatMap((s) => [...byPart.get(s.name)!]));
      close(lr.gradNormState![t], whole, `${tag} gradNormState[${t}]`);
      close(lr.gradNormH[t], cell.outPart !== null ? norm(byPart.get(cell.outPart)!) : whole, `${tag} gradNormH[${t}]`);
      if (cell.nodeC) {
        close(lr.gradNormC![t], norm(fdPerturbation(obj, { ...where, t, target: 'node' }, B * H)), `${tag} gradNormC[${t}]`);
      } else {
        assert.equal(lr.gradNormC, null);
      }
      // All gates at once: the proj perturbation is [B][P]; each gate's pre-activation is a column block.
      const dA = fdPerturbation(obj, { ...where, t, target: 'proj' }, B * P);
      assert.deepEqual(Object.keys(lr.gateGradNorm), cell.gates.map((g) => g.name));
      for (const gate of cell.gates) {
        const v: number[] = [];
        for (let b = 0; b < B; b++) for (let j = 0; j < gate.width; j++) v.push(dA[b * P + gate.gradOffset + j]);
        close(lr.gateGradNorm[gate.name][t], norm(v), `${tag} gateGradNorm.${gate.name}[${t}]`);
      }
    // weightGradByStep: every entry of every per-step part against FD of that step's copy.
      const stepParts = parts.get(`${lr.layer}:${lr.direction}:${t}`)!;
      let sq = 0;
      for (const [name, part] of stepParts) {
        const fd = fdGradient(part.length, (delta) => obj({ stepParams: [{ ...where, t, name, delta }] }));
        const { err, at } = worst(part, fd);
        assert.ok(err <= TOLERANCE, `${tag} weight part ${name} at t=${t} [${at}]: ${part[at]} vs FD ${fd[at]} (relErr ${err})`);
        sq += norm(part) ** 2;
      }
      close(lr.weightGradByStep[t], Math.sqrt(sq), `${tag} weightGradByStep[${t}]`);
    }
    // The parts sum to the layer's gradient, here as computed by the other code path (one
    // product over all steps, with the weightGradByStep probe off).
    for (const name of parts.get(`${lr.layer}:${lr.direction}:0`)!.keys()) {
      const sum = new Float64Array(batched.get(name)!.data.length);
      for (let t = 0; t < T; t++) {
        const p = parts.get(`${lr.layer}:${lr.direction}:${t}`)!.get(name)!;
        for (let k = 0; k < sum.length; k++) sum[k] += p[k];
      }
      const full = batched.get(name)!.data;
      for (let k = 0; k < sum.length; k++) {
        // Relative to the size of the terms summed (Σ_t |part_t|): the scale of rounding.
        let scale = 0;
        for (let t = 0; t < T; t++) scale += Math.abs(parts.get(`${lr.layer}:${lr.direction}:${t}`)!.get(name)![k]);
        assert.ok(Math.abs(sum[k] - full[k]) <= 1e-12 * scale, `${name}[${k}]: Σ_t parts ${sum[k]} vs gradient ${full[k]}`);
      }
    }
  }

  // inputGradNorm: perturb x directly.
  const { I, x } = subject;
  for (let t = 0; t < T; t++) {
    const v: number[] = [];
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < I; i++) {
        const k = (b * T + t) * I + i;
        const x0 = x[k];
        v.push(
          fdGradient(1, (d) => {
            x[k] = x0 + d[0];
            const l = obj();
            x[k] = x0;
            return l;
          })[0],
        );
      }
    }
    close(rec.inputGradNorm[t], norm(v), `inputGradNorm[${t}]`);
  }

  if (opts.itemized) checkItemized(subject, rec);
}

/** itemized[s][k] against FD of the loss term ℓ_s w.r.t. the top layer's whole state at k. */
function checkItemized(subject: ProbeSubject, rec: PassRecord): void {
  const { B, T, config } = subject;
  const top = config.numLayers - 1;
  const cell = layerCells(config)[top];
  const dirs: Dir[] = config.bidirectional ? ['forward', 'reverse'] : ['forward'];
  const free = cell.state.filter((s) => !s.heldConstant);
  assert.ok(rec.itemized);
  assert.equal(rec.itemized.length, T);
  // sq[s][k] accumulates Σ (∂ℓ_s/∂ state entry)² over every state entry at step k.
  const sq = Array.from({ length: T }, () => new Float64Array(T));
  for (let k = 0; k < T; k++) {
    for (const direction of dirs) {
      for (const part of free) {
        for (let e = 0; e < B * part.size; e++) {
          const delta = new Float64Array(B * part.size);
          // One FD per state entry gives ∂ℓ_s for every s at once.
          const at = (eps: number): Float64Array => {
            delta[e] = eps;
            return subject.terms({ perturb: [{ layer: top, direction, t: k, target: 'state', part: part.name, delta }] });
          };
          const h = 1e-2;
          const [p1, m1, p2, m2, p3, m3] = [at(h), at(-h), at(2 * h), at(-2 * h), at(3 * h), at(-3 * h)];
          for (let s = 0; s < T; s++) {
            const d = (45 * (p1[s] - m1[s]) - 9 * (p2[s] - m2[s]) + (p3[s] - m3[s])) / (60 * h);
            sq[s][k] += d * d;
          }
        }
      }
    }
  }
  for (let s = 0; s < T; s++) {
    assert.equal(rec.itemized[s].length, s + 1);
    for (let k = 0; k <= s; k++) close(rec.itemized[s][k], Math.sqrt(sq[s][k]), `itemized[${s}][${k}]`);
  }
}
