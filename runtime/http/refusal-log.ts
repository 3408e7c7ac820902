/**
 * Log lines that requests without a valid credential cause (a refused sign-in, for now), limited
 * per client address and in all. A stranger can send thousands of bad requests a minute; each
 * would otherwise write a warning, and the log would both cost the process and bury what matters.
 * Every refusal is counted (the `hosted_bots_unauthenticated_refusals_total` metric, per reason);
 * a line is written for at most `perAddressPerMinute` of them per address and `totalPerMinute` in
 * all, and the rest are summed in one `log.suppressed` line with the next line after a minute.
 */
import { RateLimiter } from './limits';

export const REFUSAL_LOG_LIMITS = { perAddressPerMinute: 10, totalPerMinute: 100 } as const;

export type LogFn = (event: string, fields?: Record<string, unknown>) => void;

export class RefusalLog {
  private readonly limiter: RateLimiter;
  private suppressed = new Map<string, number>();
  private suppressedSince: number | undefined;

  constructor(
    private readonly log: LogFn,
    private readonly now: () => number = Date.now,
    private readonly count: (reason: string) => void = () => undefined,
    private readonly limits: { readonly perAddressPerMinute: number; readonly totalPerMinute: number } = REFUSAL_LOG_LIMITS,
  ) {
    this.limiter = new RateLimiter(now);
  }

  /** Counts a refusal of `reason` from `address`, and logs `event` when the limits allow. */
  refused(address: string, reason: string, event: string, fields: Record<string, unknown> = {}): void {
    this.count(reason);
    const t = this.now();
    const perAddress = this.limits.perAddressPerMinute;
    const total = this.limits.totalPerMinute;
    // The address's bucket first, so one noisy address does not use up the shared allowance.
    const allowed = this.limiter.take(`address:${address}`, perAddress / 60, perAddress) === 0 && this.limiter.take('all', total / 60, total) === 0;
    if (!allowed) {
      this.suppressed.set(reason, (this.suppressed.get(reason) ?? 0) + 1);
      this.suppressedSince ??= t;
      return;
    }
    this.flush(t);
    this.log(event, { ...fields, reason, address });
  }

  /** Writes the `log.suppressed` line once a minute has passed since the first line left out. */
  private flush(t: number): void {
    if (this.suppressedSince === undefined || t - this.suppressedSince < 60_000) return;
    const byReason = Object.fromEntries(this.suppressed);
    const lines = [...this.suppressed.values()].reduce((a, b) => a + b, 0);
    this.log('log.suppressed', { lines, byReason, since: new Date(this.suppressedSince).toISOString(), hint: 'refusals of requests without a valid credential; every one is counted in hosted_bots_unauthenticated_refusals_total' });
    this.suppressed = new Map();
    this.suppressedSince = undefined;
  }
}
