/**
 * The deployer's side of the runtime API (v1) over Node's fetch: health, groups, runs. API
 * errors keep their code and message so that the user sees what the runtime said.
 */
import { FINAL_RUN_STATES, RunState } from '../domain/run';

/** An answer of the API that is not a success, with the runtime's `{ error: { code, message } }`. */
export class RuntimeApiError extends Error {
  constructor(
    readonly method: string,
    readonly route: string,
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly retryAfterSeconds?: number,
    /** The parsed body, e.g. /healthz's `{ status }` on a 503. */
    readonly body?: unknown,
  ) {
    super(`${method} ${route} answered ${status} ${code}: ${detail}`);
    this.name = 'RuntimeApiError';
  }
}

/** The runtime could not be reached at all. */
export class RuntimeUnreachable extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${url}: ${reason}`);
    this.name = 'RuntimeUnreachable';
  }
}

/** A short reason for a failed fetch: ECONNREFUSED, ENOTFOUND, a time-out, a TLS error. */
function fetchFailure(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'no answer in time';
  const cause = e?.cause;
  return cause?.code ?? cause?.errors?.find((x) => x.code)?.code ?? cause?.message ?? e?.message ?? String(err);
}

/** A runtime URL from the user: http(s), no query, no trailing slash. */
export function runtimeUrl(value: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${flag} "${value}" is not a URL; give the runtime's address, e.g. https://hostedbots-rpa-northeurope.azurewebsites.net`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`${flag} "${value}" must be an http:// or https:// URL`);
  if (url.search || url.hash) throw new Error(`${flag} "${value}" must be the runtime's base address, without a query or fragment`);
  return url.toString().replace(/\/+$/, '');
}

export interface RunView {
  readonly id: string;
  readonly group: string;
  readonly flow: string;
  readonly state: RunState;
  readonly priority: string;
  readonly attempts: number;
  readonly waitMs: number;
  readonly runMs: number | null;
  readonly bot: { readonly id: string; readonly vmName: string | null } | null;
  readonly result: { readonly exitCode: number | null; readonly output: string | null; readonly errorCode: string | null; readonly errorMessage: string | null } | null;
}

export interface GroupView {
  readonly name: string;
  readonly state: string;
  readonly access: string;
  readonly maxBots: number;
  readonly committedBots: number;
  readonly bots: Readonly<Record<string, number>>;
  readonly queued: number;
  readonly running: number;
}

export interface EnvironmentView {
  readonly name: string;
  readonly geography: string;
  readonly region: string;
  readonly enabled: boolean;
  readonly plan: string;
  readonly botCapacity: number;
  readonly botsInUse: number;
}

export const isFinal = (state: RunState): boolean => FINAL_RUN_STATES.includes(state);

/** How a run ended, beyond its state: " (exit code 2, run_timeout, ...)", or "". */
export function describeRunEnd(run: RunView): string {
  const r = run.result;
  const exitCode = r?.exitCode ?? undefined;
  // The store's generic codes repeat what the state and exit code already say.
  const code = r?.errorCode && r.errorCode !== run.state && !(r.errorCode === 'exit_code' && exitCode !== undefined) ? r.errorCode : undefined;
  const details = [
    exitCode !== undefined ? `exit code ${exitCode}` : undefined,
    code,
    r?.errorMessage ?? undefined,
    run.state === 'expired' ? 'it waited longer than the queue time-out' : undefined,
  ].filter(Boolean);
  return details.length ? ` (${details.join(', ')})` : '';
}

const REQUEST_TIMEOUT_MS = 30_000;

export class RuntimeClient {
  constructor(
    readonly url: string,
    private readonly token?: string,
  ) {}

  async request<T>(method: string, route: string, options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ status: number; body: T; headers: Headers }> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.url}${route}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new RuntimeUnreachable(this.url, fetchFailure(err));
    }
    const text = await response.text();
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const retryAfter = Number(response.headers.get('retry-after'));
      const code = typeof body?.error?.code === 'string' ? body.error.code : `http_${response.status}`;
      const message = typeof body?.error?.message === 'string' ? body.error.message : text.slice(0, 200) || response.statusText;
      throw new RuntimeApiError(method, route, response.status, code, message, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined, body);
    }
    return { status: response.status, body: body as T, headers: response.headers };
  }

  async environment(): Promise<EnvironmentView> {
    return (await this.request<EnvironmentView>('GET', '/v1/environment')).body;
  }

  async groups(): Promise<GroupView[]> {
    return (await this.request<{ groups: GroupView[] }>('GET', '/v1/groups')).body.groups;
  }

  async enqueue(group: string, body: { flow: string; inputs?: Record<string, unknown>; priority?: string }, idempotencyKey: string): Promise<{ run: RunView; replayed: boolean }> {
    const res = await this.request<RunView>('POST', `/v1/groups/${encodeURIComponent(group)}/runs`, { body, headers: { 'idempotency-key': idempotencyKey } });
    return { run: res.body, replayed: res.headers.get('idempotent-replayed') === 'true' };
  }

  async run(id: string): Promise<RunView> {
    return (await this.request<RunView>('GET', `/v1/runs/${encodeURIComponent(id)}`)).body;
  }

  async cancel(id: string): Promise<RunView> {
    return (await this.request<RunView>('POST', `/v1/runs/${encodeURIComponent(id)}/cancel`)).body;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a call may be tried again: the network, 5xx and 429 may pass; other answers will not. */
function transient(err: unknown): boolean {
  return err instanceof RuntimeUnreachable || (err instanceof RuntimeApiError && (err.status >= 500 || err.status === 429));
}

export type HealthResult = { readonly ok: true; readonly ms: number; readonly attempts: number } | { readonly ok: false; readonly last: string; readonly attempts: number };

/**
 * Polls `GET <url>/healthz` until it answers 200 with `status: ok`, backing off from 0.5 s to
 * 10 s between tries, for at most `timeoutMs`. A fresh App Service takes a while to start.
 */
export async function waitForHealth(url: string, timeoutMs: number, onAttempt?: (last: string) => void): Promise<HealthResult> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const client = new RuntimeClient(url);
  let delay = 500;
  let attempts = 0;
  let last = 'no answer yet';
  for (;;) {
    attempts += 1;
    try {
      const res = await client.request<{ status?: string }>('GET', '/healthz', { timeoutMs: Math.max(1000, Math.min(10_000, deadline - Date.now())) });
      if (res.body?.status === 'ok') return { ok: true, ms: Date.now() - started, attempts };
      last = `HTTP ${res.status} with status ${JSON.stringify(res.body?.status ?? null)}`;
    } catch (err) {
      if (err instanceof RuntimeApiError) {
        const status = (err.body as { status?: unknown } | undefined)?.status;
        last = `HTTP ${err.status}${status === undefined ? (err.code.startsWith('http_') ? '' : ` ${err.code}`) : ` with status ${JSON.stringify(status)}`}`;
      } else {
        last = err instanceof RuntimeUnreachable ? err.reason : (err as Error).message;
      }
    }
    onAttempt?.(last);
    const left = deadline - Date.now();
    if (left <= 0) return { ok: false, last, attempts };
    await sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, 10_000);
  }
}

export type FollowResult = { readonly run: RunView; readonly timedOut: false } | { readonly run: RunView; readonly timedOut: true };

/**
 * Polls a run until it ends or `timeoutMs` passes, calling `onChange` when its state or bot
 * changes. Network errors, 5xx and 429 answers are retried until the time-out.
 */
export async function followRun(client: RuntimeClient, first: RunView, timeoutMs: number, onChange?: (run: RunView) => void, onRetry?: (err: Error) => void): Promise<FollowResult> {
  const deadline = Date.now() + timeoutMs;
  let run = first;
  let seen = `${run.state}/${run.bot?.id ?? ''}/${run.attempts}`;
  let delay = 250;
  while (!isFinal(run.state)) {
    const left = deadline - Date.now();
    if (left <= 0) return { run, timedOut: true };
    await sleep(Math.min(delay, left));
    delay = Math.min(Math.round(delay * 1.5), 2000);
    try {
      run = await client.run(run.id);
    } catch (err) {
      if (!transient(err)) throw err;
      onRetry?.(err as Error);
      if (err instanceof RuntimeApiError && err.retryAfterSeconds) delay = Math.max(delay, err.retryAfterSeconds * 1000);
      continue;
    }
    const now = `${run.state}/${run.bot?.id ?? ''}/${run.attempts}`;
    if (now !== seen) {
      seen = now;
      onChange?.(run);
    }
  }
  return { run, timedOut: false };
}

/**
 * Calls `call` until it succeeds, retrying transient failures until `deadline` (epoch ms). Only
 * for idempotent calls: an enqueue qualifies through its Idempotency-Key.
 */
export async function retryTransient<T>(call: () => Promise<T>, deadline: number, onRetry?: (err: Error) => void): Promise<T> {
  let delay = 500;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const left = deadline - Date.now();
      if (!transient(err) || left <= 0) throw err;
      onRetry?.(err as Error);
      const retryAfter = err instanceof RuntimeApiError && err.retryAfterSeconds ? err.retryAfterSeconds * 1000 : 0;
      await sleep(Math.min(Math.max(delay, retryAfter), left));
      delay = Math.min(delay * 2, 5000);
    }
  }
}
