/**
 * What happens in the runtime that metrics (and anything else watching) want to know. The queue
 * and the scaler report here; they know nothing of Prometheus.
 */
import type { ComputeCallObserver } from './azure/compute';
import type { ScalerAction } from './scaler/plan';
import type { Run } from './domain/run';

export interface RuntimeEvents {
  /** A run reached a final state (succeeded, failed, cancelled, expired). */
  runFinished(run: Run): void;
  /** The scaler carried out an action. */
  scalerAction(action: ScalerAction): void;
  /** A provisioning error was recorded for a group. */
  provisioningError(group: string, code: string): void;
  /** An ARM call finished. */
  armCall: ComputeCallObserver;
}

export const noEvents: RuntimeEvents = {
  runFinished: () => undefined,
  scalerAction: () => undefined,
  provisioningError: () => undefined,
  armCall: () => undefined,
};
