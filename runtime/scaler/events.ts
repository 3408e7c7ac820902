/**
 * What the scaler announces: the actions it carried out, the provisioning errors it met, and the
 * scale operations it runs (the ARM calls that create or delete a group's VMs). The scaler owns
 * this interface and imports none of its listeners: the metrics and the telemetry subscribe.
 */
import type { ScalerAction } from './plan';

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

export interface ScalerEvents {
  /** The scaler carried out an action. */
  scalerAction(action: ScalerAction): void;
  /** A provisioning error was recorded for a group. */
  provisioningError(group: string, code: string): void;
  /**
   * Wraps the work of one scale operation, so that a tracer can time it and see the provisioning
   * errors reported while it runs. It calls `work` once and settles as `work` does. Operations may
   * nest (a scale-out reconciles its group). @default runs `work`
   */
  scaleOperation?<T>(operation: ScaleOperation, work: () => Promise<T>): Promise<T>;
}

export const NO_SCALER_EVENTS: ScalerEvents = { scalerAction: () => undefined, provisioningError: () => undefined };

/**
 * One `ScalerEvents` that tells each subscriber, in order, what it listens to. A scale
 * operation's work runs inside every subscriber's wrapper, the first outermost.
 */
export function allScalerEvents(...subscribers: ReadonlyArray<Partial<ScalerEvents>>): ScalerEvents {
  return {
    scalerAction: (action) => subscribers.forEach((s) => s.scalerAction?.(action)),
    provisioningError: (group, code) => subscribers.forEach((s) => s.provisioningError?.(group, code)),
    scaleOperation: <T>(operation: ScaleOperation, work: () => Promise<T>) =>
      subscribers.reduceRight<() => Promise<T>>((inner, s) => (s.scaleOperation ? () => s.scaleOperation!(operation, inner) : inner), work)(),
  };
}

/** Runs `work` inside the subscriber's scale-operation wrapper, if it has one. */
export function inScaleOperation<T>(events: Pick<ScalerEvents, 'scaleOperation'>, operation: ScaleOperation, work: () => Promise<T>): Promise<T> {
  return events.scaleOperation ? events.scaleOperation(operation, work) : work();
}
