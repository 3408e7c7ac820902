/**
 * Prometheus metrics at /metrics (prom-client): queue depth and bots by state per group, run wait
 * and duration histograms, ARM calls by operation and outcome with latency, scaler decisions,
 * provisioning errors by code. Gauges are read from the store at each scrape, so every replica
 * reports the same fleet; counters and histograms count what this replica saw.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FleetManifest } from '../config/manifest';
import type { ComputeCallObserver } from '../azure/compute';
import type { QueueEvents } from '../queue/events';
import type { ScalerEvents } from '../scaler/loop';
import type { Store } from '../store/types';
import { BOT_STATES } from '../domain/bot';
import type { BotState } from '../domain/bot';

/** The gauge's states: every bot that still exists. */
const LIVE_STATES = BOT_STATES.filter((s) => s !== 'deleted');
/** Seconds: from a second (a warm bot) to several hours (a queue time-out). */
const WAIT_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600];
const RUN_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 86400];

/** Runs queued and running in each group of the manifest, read from the store (every replica reads the same). */
export async function runsByGroup(store: Pick<Store, 'queueCounts'>, manifest: FleetManifest): Promise<Array<{ group: string; queued: number; running: number; oldestQueuedAt?: number }>> {
  const counts = new Map((await store.queueCounts()).map((c) => [c.group, c]));
  return manifest.groups.map((g) => {
    const c = counts.get(g.name);
    return { group: g.name, queued: c?.queued ?? 0, running: c?.running ?? 0, ...(c?.oldestQueuedAt !== undefined ? { oldestQueuedAt: c.oldestQueuedAt } : {}) };
  });
}

/** Bots in each live state (all but `deleted`) in each group of the manifest, zeros included, read from the store. */
export async function botsByState(store: Pick<Store, 'bots'>, manifest: FleetManifest): Promise<Array<{ group: string; state: BotState; count: number }>> {
  const bots = await store.bots();
  return manifest.groups.flatMap((g) => LIVE_STATES.map((state) => ({ group: g.name, state, count: bots.filter((b) => b.group === g.name && b.state === state).length })));
}

/**
 * Subscribes to the queue's events (runs finished) and the scaler's (actions, provisioning errors),
 * and observes the compute driver's ARM calls (`armCall`).
 */
export class RuntimeMetrics implements Pick<QueueEvents, 'runFinished'>, ScalerEvents {
  readonly registry = new Registry();
  private readonly runWait: Histogram<'group'>;
  private readonly runDuration: Histogram<'group' | 'state'>;
  private readonly runsFinished: Counter<'group' | 'state'>;
  private readonly armCalls: Counter<'operation' | 'outcome' | 'code'>;
  private readonly armLatency: Histogram<'operation' | 'outcome'>;
  private readonly decisions: Counter<'group' | 'action' | 'reason'>;
  private readonly provisioningErrors: Counter<'group' | 'code'>;
  private readonly refusals: Counter<'reason'>;
  private readonly webhookDeliveries: Counter<'result'>;

  constructor(store: Store, manifest: FleetManifest) {
    const registers = [this.registry];
    new Gauge({
      name: 'hosted_bots_queue_runs',
      help: 'Runs queued or running, per group and state.',
      labelNames: ['group', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const { group, queued, running } of await runsByGroup(store, manifest)) {
          this.set({ group, state: 'queued' }, queued);
          this.set({ group, state: 'running' }, running);
        }
      },
    });
    new Gauge({
      name: 'hosted_bots_bots',
      help: 'Bots per group and state.',
      labelNames: ['group', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const { group, state, count } of await botsByState(store, manifest)) this.set({ group, state }, count);
      },
    });
    new Gauge({
      name: 'hosted_bots_capacity',
      help: 'The bot capacity of the environment (bots that may run at once).',
      registers,
      collect() {
        this.set(manifest.environment.botCapacity);
      },
    });
    this.runWait = new Histogram({ name: 'hosted_bots_run_wait_seconds', help: 'Time from enqueue to start, per group.', labelNames: ['group'], buckets: WAIT_BUCKETS, registers });
    this.runDuration = new Histogram({
      name: 'hosted_bots_run_duration_seconds',
      help: 'Time from start to end of runs that started, per group and final state.',
      labelNames: ['group', 'state'],
      buckets: RUN_BUCKETS,
      registers,
    });
    this.runsFinished = new Counter({ name: 'hosted_bots_runs_finished_total', help: 'Runs that reached a final state, per group and state.', labelNames: ['group', 'state'], registers });
    this.armCalls = new Counter({ name: 'hosted_bots_arm_calls_total', help: 'ARM calls by operation and outcome (and ARM error code).', labelNames: ['operation', 'outcome', 'code'], registers });
    this.armLatency = new Histogram({
      name: 'hosted_bots_arm_call_seconds',
      help: 'ARM call latency, long-running operations included.',
      labelNames: ['operation', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.decisions = new Counter({ name: 'hosted_bots_scaler_actions_total', help: 'Scaler actions carried out, per group, kind and reason.', labelNames: ['group', 'action', 'reason'], registers });
    this.provisioningErrors = new Counter({ name: 'hosted_bots_provisioning_errors_total', help: 'Provisioning errors per group and code.', labelNames: ['group', 'code'], registers });
    this.refusals = new Counter({
      name: 'hosted_bots_unauthenticated_refusals_total',
      help: 'Requests without a valid credential that were refused (401s, refused sign-ins, bodies not JSON or too large, URLs too long), per reason; their log lines are rate-limited.',
      labelNames: ['reason'],
      registers,
    });
    this.webhookDeliveries = new Counter({
      name: 'hosted_bots_webhook_deliveries_total',
      help: 'Webhook delivery attempts by result: delivered, retry (failed, tried again later), failed (given up).',
      labelNames: ['result'],
      registers,
    });
    new Gauge({
      name: 'hosted_bots_webhook_failing',
      help: 'Webhook deliveries not delivered after at least one failed attempt (retried, or given up and kept until retention), per group.',
      labelNames: ['group'],
      registers,
      async collect() {
        this.reset();
        const failing = new Map<string, number>();
        for (const s of await store.webhooks.subscriptions()) failing.set(s.group, (failing.get(s.group) ?? 0) + s.health.failing);
        for (const g of manifest.groups) this.set({ group: g.name }, failing.get(g.name) ?? 0);
      },
    });
  }

  /** One webhook attempt's result: delivered, failed and retried later, or failed and given up. */
  webhookDelivery = (result: 'delivered' | 'retry' | 'failed'): void => {
    this.webhookDeliveries.inc({ result });
  };

  /** A request without a valid credential was refused; `reason` is an error code or a sign-in refusal. */
  unauthenticatedRefusal = (reason: string): void => {
    this.refusals.inc({ reason });
  };

  runFinished: QueueEvents['runFinished'] = (run) => {
    this.runsFinished.inc({ group: run.group, state: run.state });
    if (run.startedAt !== undefined) {
      this.runWait.observe({ group: run.group }, Math.max(0, run.startedAt - run.enqueuedAt) / 1000);
      if (run.finishedAt !== undefined) this.runDuration.observe({ group: run.group, state: run.state }, Math.max(0, run.finishedAt - run.startedAt) / 1000);
    }
  };

  scalerAction: ScalerEvents['scalerAction'] = (action) => {
    const count = action.kind === 'create' ? action.count : action.botIds.length;
    this.decisions.inc({ group: action.group, action: action.kind, reason: action.kind === 'create' ? 'demand' : action.reason }, count);
  };

  provisioningError: ScalerEvents['provisioningError'] = (group, code) => {
    this.provisioningErrors.inc({ group, code });
  };

  armCall: ComputeCallObserver = (call) => {
    this.armCalls.inc({ operation: call.operation, outcome: call.outcome, code: call.code ?? '' });
    this.armLatency.observe({ operation: call.operation, outcome: call.outcome }, call.ms / 1000);
  };
}
