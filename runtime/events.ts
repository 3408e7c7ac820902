/**
 * What happens in the runtime that metrics (and anything else watching) want to know. The queue
 * and the scaler report here; they know nothing of Prometheus or OpenTelemetry.
 */
import type { ComputeCallObserver } from './azure/compute';
import type { ScalerAction } from './scaler/plan';
import type { Run } from './domain/run';

/** A scale-out or scale-in the scaler carries out: the ARM calls that create or delete bots' VMs. */
export interface ScaleOperation {
  readonly kind: 'create' | 'delete';
  readonly group: string;
  /** Bots created, or bots whose VMs are deleted. */
  readonly count: number;
  /**
   * Why: `demand` for a scale-out; `reconcile` for VMs created for bots still waiting for one; the
   * scale-in's reason (idle, rebalance, …) for a scale-in; `orphan` for VMs no bot owns; `retry` for
   * deletions sent again.
   */
  readonly reason: string;
}

export interface RuntimeEvents {
  /** A run reached a final state (succeeded, failed, cancelled, expired). */
  runFinished(run: Run): void;
  /** A bot claimed a run, which is running now. @default ignored */
  runClaimed?(run: Run): void;
  /** The scaler carried out an action. */
  scalerAction(action: ScalerAction): void;
  /** A provisioning error was recorded for a group. */
  provisioningError(group: string, code: string): void;
  /** An ARM call finished. */
  armCall: ComputeCallObserver;
  /**
   * Wraps the work of one scale operation, so that a tracer can time it and see the provisioning
   * errors reported while it runs. It calls `work` once and settles as `work` does. Operations may
   * nest (a scale-out reconciles its group). @default runs `work`
   */
  scaleOperation?<T>(operation: ScaleOperation, work: () => Promise<T>): Promise<T>;
}

export const noEvents: RuntimeEvents = {
  runFinished: () => undefined,
  scalerAction: () => undefined,
  provisioningError: () => undefined,
  armCall: () => undefined,
};

/**
 * One `RuntimeEvents` that tells each subscriber, in order, what it listens to. A scale
 * operation's work runs inside every subscriber's wrapper, the first outermost.
 */
export function allEvents(...subscribers: ReadonlyArray<Partial<RuntimeEvents>>): RuntimeEvents {
  return {
    runFinished: (run) => subscribers.forEach((s) => s.runFinished?.(run)),
    runClaimed: (run) => subscribers.forEach((s) => s.runClaimed?.(run)),
    scalerAction: (action) => subscribers.forEach((s) => s.scalerAction?.(action)),
    provisioningError: (group, code) => subscribers.forEach((s) => s.provisioningError?.(group, code)),
    armCall: (call) => subscribers.forEach((s) => s.armCall?.(call)),
    scaleOperation: <T>(operation: ScaleOperation, work: () => Promise<T>) =>
      subscribers.reduceRight<() => Promise<T>>((inner, s) => (s.scaleOperation ? () => s.scaleOperation!(operation, inner) : inner), work)(),
  };
}

/** Runs `work` inside the subscriber's scale-operation wrapper, if it has one. */
export function inScaleOperation<T>(events: Pick<RuntimeEvents, 'scaleOperation'>, operation: ScaleOperation, work: () => Promise<T>): Promise<T> {
  return events.scaleOperation ? events.scaleOperation(operation, work) : work();
}
