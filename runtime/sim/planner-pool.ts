/**
 * The planner's simulations side by side, in worker threads: each what-if is a simulation of its
 * own, so they run in any order and on any thread and give the same reports (every simulation is
 * seeded). Without the compiled worker (running from the TypeScript sources) they run one after
 * the other on this thread.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { PlannerOptions, plannerJobs, plannerResult, PlannerResult, runPlanner } from './planner';
import type { SimFleet, SimReport } from './simulate';
import type { TraceRun } from './trace';

export interface PlannerWorkerData {
  readonly trace: readonly TraceRun[];
  readonly fleet: SimFleet;
  readonly whatIf?: boolean;
  readonly seed?: number;
  readonly boot?: PlannerOptions['boot'];
  readonly series?: boolean;
}

export type ToWorker = { readonly index: number };
export type ToPool = { readonly kind: 'progress'; readonly index: number; readonly share: number } | { readonly kind: 'done'; readonly index: number; readonly report: SimReport };

const WORKER = path.join(__dirname, 'planner-worker.js');

/** runPlanner with up to `threads` simulations at once. */
export async function runPlannerInParallel(trace: readonly TraceRun[], fleet: SimFleet, options: PlannerOptions & { readonly threads: number }): Promise<PlannerResult> {
  const jobs = plannerJobs(fleet, options);
  const threads = Math.min(options.threads, jobs.count);
  if (threads <= 1 || !fs.existsSync(WORKER)) return runPlanner(trace, fleet, options);

  const reports: SimReport[] = new Array(jobs.count);
  const inFlight = new Map<number, number>();
  let next = 0;
  let done = 0;
  const progress = (index: number) => {
    if (!options.onProgress) return;
    const running = [...inFlight.values()].reduce((s, share) => s + share, 0);
    options.onProgress((done + running) / jobs.count, jobs.labelOf(index));
  };
  const data: PlannerWorkerData = { trace, fleet, whatIf: options.whatIf, seed: options.seed, boot: options.boot, series: options.series };
  const workers = Array.from({ length: threads }, () => new Worker(WORKER, { workerData: data }));
  try {
    await new Promise<void>((resolve, reject) => {
      const give = (worker: Worker) => {
        if (next >= jobs.count) return;
        const index = next++;
        inFlight.set(index, 0);
        worker.postMessage({ index } satisfies ToWorker);
      };
      for (const worker of workers) {
        worker.on('message', (message: ToPool) => {
          if (message.kind === 'progress') {
            inFlight.set(message.index, message.share);
            progress(message.index);
            return;
          }
          reports[message.index] = message.report;
          inFlight.delete(message.index);
          done++;
          progress(message.index);
          if (done === jobs.count) resolve();
          else give(worker);
        });
        worker.on('error', reject);
        worker.on('exit', (code) => {
          if (done < jobs.count) reject(new Error(`a planner worker stopped (exit code ${code}) before the simulations were done`));
        });
        give(worker);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  options.onProgress?.(1, 'done');
  return plannerResult(trace, jobs, reports, options);
}
