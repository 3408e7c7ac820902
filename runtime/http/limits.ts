/**
 * Limits against abuse: request rates per token, open long-polls per bot, and URL length.
 */
import type { Request } from 'express';
import { RuntimeError } from '../errors';

export interface RateLimits {
  /** Sustained requests per second for one user token. @default 50 */
  readonly userPerSecond?: number;
  /** Burst for one user token. @default 200 */
  readonly userBurst?: number;
  /** Sustained requests per second for one group's bot token (shared by its bots). @default 500 */
  readonly botPerSecond?: number;
  /** @default 1000 */
  readonly botBurst?: number;
  /** Long-polling claims one bot may hold open at once. @default 2 */
  readonly claimsPerBot?: number;
}

export const MAX_URL_LENGTH = 2048;

/**
 * What a request costs against its token's rate limit, in requests. A page of runs or a whole
 * group costs more than a single run, so that the limit bounds the work one token can cause,
 * not only its number of requests.
 */
export const COST = { groupView: 5, groupList: 2, perPage: 50, perEnqueueBytes: 8 * 1024, perHistoryRowsRead: 100 } as const;

/**
 * The most runs one page of a group's history reads. A page whose filters match few of them
 * answers fewer runs and a `next` cursor; its cost grows with the runs it read (COST.perHistoryRowsRead).
 */
export const HISTORY_SCAN_ROWS = 2000;
export type RouteCost = number | ((req: Request) => number);

/** A page of runs: one, plus one per 50 runs asked for. */
export const pageCost = (limit: unknown): number => 1 + Math.ceil((Number(limit) || 50) / COST.perPage);

/** Keys a limiter keeps before it forgets the ones whose bucket is full again. */
export const RATE_LIMITER_KEYS = 10_000;

/**
 * A token bucket per key; answers the seconds to wait when a request must be refused. Keys may
 * come from clients (addresses), so the map is bounded: past `maxKeys`, buckets that have filled
 * up again are forgotten (a forgotten key starts full, which is what it would have been), and
 * if that is not enough, the keys added first, down to nine tenths of `maxKeys`.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; perSecond: number; burst: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = RATE_LIMITER_KEYS,
  ) {}

  /** Keys held now. */
  get size(): number {
    return this.buckets.size;
  }

  private forget(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * b.perSecond >= b.burst) this.buckets.delete(key);
    }
    for (const key of this.buckets.keys()) {
      // Down to nine tenths, so that a sweep comes at most once per tenth of the keys added.
      if (this.buckets.size < this.maxKeys * 0.9) break;
      this.buckets.delete(key);
    }
  }

  /**
   * Takes `cost` tokens for `key` (a request's cost in requests, at most the burst); returns 0
   * when allowed, else the seconds until enough are free.
   */
  take(key: string, perSecond: number, burst: number, cost = 1): number {
    const now = this.now();
    const units = Math.min(Math.max(cost, 1), burst);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.forget(now);
      bucket = { tokens: burst, at: now, perSecond, burst };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    bucket.perSecond = perSecond;
    bucket.burst = burst;
    if (bucket.tokens >= units) {
      bucket.tokens -= units;
      return 0;
    }
    return Math.max(1, Math.ceil((units - bucket.tokens) / perSecond));
  }

  /**
   * Takes `units` more from `key` for work a request turned out to cost, after it was let through:
   * the bucket may go into debt (down to minus the burst), which the key's next requests wait for.
   */
  charge(key: string, units: number): void {
    const bucket = this.buckets.get(key);
    if (!bucket || units <= 0) return;
    bucket.tokens = Math.max(-bucket.burst, bucket.tokens - units);
  }
}

/** How long a refused request waits for its 429, at most. */
export const REFUSAL_DELAY_MS = 1000;
/** Refusals held back per token at once; past that they are answered at once, so a flood holds no more. */
const HELD_REFUSALS_PER_KEY = 32;

/**
 * Holds back the 429s of a token past its rate limit. A client that keeps sending then waits
 * for each refusal instead of making the runtime answer thousands a second, which is what keeps
 * /healthz and other users' requests quick during a flood.
 */
export class RefusalDelays {
  private readonly held = new Map<string, number>();

  /**
   * The delay for the next refusal of `key`: between half of `ms` and `ms`, spread so that held
   * clients do not all come back at once; 0 once that key already has enough held.
   */
  hold(key: string, ms: number): number {
    const n = this.held.get(key) ?? 0;
    if (n >= HELD_REFUSALS_PER_KEY || ms <= 0) return 0;
    this.held.set(key, n + 1);
    return Math.round(ms / 2 + Math.random() * (ms / 2));
  }

  release(key: string): void {
    const n = (this.held.get(key) ?? 1) - 1;
    if (n <= 0) this.held.delete(key);
    else this.held.set(key, n);
  }
}

export class TooManyRequests extends RuntimeError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(429, 'too_many_requests', message);
  }
}

/** Counts open long-polls per bot. */
export class PollGate {
  private readonly open = new Map<string, number>();

  enter(botId: string, max: number): boolean {
    const n = this.open.get(botId) ?? 0;
    if (n >= max) return false;
    this.open.set(botId, n + 1);
    return true;
  }

  leave(botId: string): void {
    const n = (this.open.get(botId) ?? 1) - 1;
    if (n <= 0) this.open.delete(botId);
    else this.open.set(botId, n);
  }
}
