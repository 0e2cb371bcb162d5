// The runs of a study as they come back from the workers: what the panel shows while the
// study runs, and what a Cancel keeps (a partial study, marked `study.partial`, savable like
// any other). No vscode here, so it is unit-tested.
import { describeStudy, planRuns, attachSeedSpread, type StudySpec } from '../study/study';
import { resolveThresholds } from '../study/diagnosis';
import { recommend } from '../study/recommend';
import type { Report, ReportRun, RunConfig } from '../study/types';

export class PartialStudy {
  private readonly finished = new Map<string, ReportRun>();
  private readonly order: string[];
  private readonly plannedCount: number;
  private readonly description: string;
  private readonly createdAt = new Date().toISOString();

  constructor(private readonly spec: StudySpec) {
    const planned = planRuns(spec);
    this.order = planned.map((p) => p.id);
    this.plannedCount = planned.length;
    this.description = spec.description ?? describeStudy(spec, planned);
  }

  add(run: ReportRun): void {
    this.finished.set(run.id, run);
  }

  get done(): number {
    return this.finished.size;
  }

  /** Runs the study plans (before any re-runs that check recommendations). */
  get planned(): number {
    return this.plannedCount;
  }

  /**
   * The finished runs as a report: planned order first, then any others (check runs) in the
   * order they finished; each with its recommendations, as the whole study would give them.
   * `total` is how many runs the study has in all (it grows when re-runs are added);
   * `running`: the live view while the study goes on (else the study was cancelled).
   */
  report(total = this.plannedCount, running = false): Report {
    const rank = (id: string) => {
      const i = this.order.indexOf(id);
      return i < 0 ? this.order.length : i;
    };
    const runs = [...this.finished.values()]
      .map((r) => ({ ...r }))
      .sort((a, b) => rank(a.id) - rank(b.id));
    const thresholds = resolveThresholds(this.spec.thresholds);
    attachSeedSpread(runs);
    for (const r of runs) {
      if (!r.recommendations || r.recommendations.length === 0) {
        r.recommendations = recommend(r as ReportRun & { config: RunConfig }, { steps: this.spec.dataset.steps, vanishEpsilon: thresholds.vanishEpsilon });
      }
    }
    return {
      schema: 'bptt-lens/report@1',
      study: {
        kind: this.spec.kind,
        name: this.spec.name,
        source: this.spec.dataset.source,
        description: this.description,
        task: this.spec.dataset.task,
        createdAt: this.createdAt,
        thresholds,
        partial: { done: runs.length, total: Math.max(total, runs.length), ...(running ? { running: true } : {}) },
      } as Report['study'],
      runs,
    };
  }
}
