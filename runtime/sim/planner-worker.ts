/**
 * A worker thread of planner-pool.ts: it is given the trace, the fleet and the planner's options
 * once, then simulates the jobs it is sent by index, and answers each with its report.
 */
import { parentPort, workerData } from 'worker_threads';
import { plannerJobs, runPlannerJob } from './planner';
import type { PlannerWorkerData, ToPool, ToWorker } from './planner-pool';

const data = workerData as PlannerWorkerData;
const jobs = plannerJobs(data.fleet, { whatIf: data.whatIf });
const port = parentPort!;

port.on('message', (message: ToWorker) => {
  const index = message.index;
  let sent = 0;
  const report = runPlannerJob(data.trace, jobs, index, data, (share) => {
    // A tenth at a time is enough for a progress line.
    if (share - sent >= 0.1) {
      sent = share;
      port.postMessage({ kind: 'progress', index, share } satisfies ToPool);
    }
  });
  port.postMessage({ kind: 'done', index, report } satisfies ToPool);
});
