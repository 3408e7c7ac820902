/**
 * The bot agent: runs on each bot VM (and, under arm-sim, in process for each simulated VM).
 * It registers, long-polls for a claim, runs the flow's declared command with the run's inputs
 * as JSON (or, for the built-in hosted-bots-self-test, its own self-test), sends heartbeats,
 * and reports the exit code and at most 64 KiB of output. When the runtime says the bot is gone
 * (410), it stops.
 */

import * as fs from 'fs';
import { SELF_TEST_FLOW } from '../config/self-test-flow';
import { storableText } from '../domain/text';
import { HttpClient } from './http-client';
import type { AttestedDocument } from './identity';
import { runSelfTest } from './self-test';

/** The header that carries the bot's own credential (the runtime's BOT_CREDENTIAL_HEADER). */
export const BOT_CREDENTIAL_HEADER = 'x-bot-credential';

export const MAX_OUTPUT_BYTES = 64 * 1024;

export interface FlowTask {
  readonly runId: string;
  readonly attempt: number;
  readonly flow: string;
  readonly command: string;
  readonly inputs: Record<string, unknown>;
  readonly timeoutMinutes: number;
}

export interface FlowResult {
  readonly exitCode: number;
  readonly output: string;
}

/** Runs one flow. It must stop promptly when `signal` aborts (cancel, time-out). */
export interface FlowExecutor {
  run(task: FlowTask, signal: AbortSignal): Promise<FlowResult>;
}

export interface BotAgentOptions {
  /** The runtime's base URL, e.g. https://hostedbots-demo.azurewebsites.net */
  readonly url: string;
  /**
   * What proves the bot's group on every call: the group's token, or a function that returns a
   * current access token of the group's managed identity (see managedIdentityToken).
   */
  readonly token: string | (() => Promise<string>);
  /**
   * Where the bot's own credential is kept, so that an agent that restarts on the same VM goes on
   * as the same bot (the runtime lets no second agent register a VM name). @default memory only
   */
  readonly stateFile?: string;
  readonly group: string;
  readonly vmName: string;
  /**
   * Proves the VM the agent runs on, for groups that prove themselves by managed identity: the
   * VM's attested data for a nonce the runtime issued (see imdsAttestedData). The runtime then
   * registers the bot as the VM of that data's vmId. @default none: the agent registers by `vmName`
   */
  readonly attest?: (nonce: string) => Promise<AttestedDocument>;
  readonly executor: FlowExecutor;
  /** @default 30 */
  readonly claimWaitSeconds?: number;
  /** First retry delay after a network error; doubles up to 30 s. @default 500 */
  readonly retryDelayMs?: number;
  readonly log?: (event: string, fields?: Record<string, unknown>) => void;
  /** Told how the runtime took each report: recorded, a repeat of one recorded, or ignored as stale. */
  readonly onReport?: (runId: string, outcome: 'completed' | 'duplicate' | 'stale') => void;
}

/**
 * The bytes one UTF-16 unit of well-formed text takes inside a JSON string, as JSON.stringify
 * writes it: a control character other than \b \f \n \r \t is escaped as \u00XX (6 bytes), so a
 * flow's output of 64 KiB may take 384 KiB in a report; each half of a surrogate pair counts 2.
 */
function jsonBytes(unit: number): number {
  if (unit === 0x22 || unit === 0x5c) return 2;
  if (unit < 0x20) return unit === 0x08 || unit === 0x09 || unit === 0x0a || unit === 0x0c || unit === 0x0d ? 2 : 6;
  if (unit < 0x80) return 1;
  if (unit < 0x800) return 2;
  return unit >= 0xd800 && unit <= 0xdfff ? 2 : 3;
}

/** The bytes a string takes inside a JSON string (JSON.stringify is native, and fast). */
function jsonSize(text: string): number {
  return Buffer.byteLength(JSON.stringify(text)) - 2;
}

/**
 * A flow's output as the agent reports it: as the runtime keeps text (storableText: a NUL or a
 * lone surrogate becomes U+FFFD), and its last `max` bytes as they travel in the report's JSON,
 * marking the cut; so a report always fits the runtime's body limit, whatever the flow printed.
 */
export function capOutput(text: string, max = MAX_OUTPUT_BYTES): string {
  const clean = storableText(text);
  if (jsonSize(clean) <= max) return clean;
  const total = Buffer.byteLength(clean);
  const marker = (cut: number) => `[first ${cut} bytes cut]\n`;
  // The marker of the whole output is the longest one the cut can need.
  const budget = max - jsonSize(marker(total));
  let start = clean.length;
  for (let kept = 0; start > 0 && kept + jsonBytes(clean.charCodeAt(start - 1)) <= budget; start--) kept += jsonBytes(clean.charCodeAt(start - 1));
  // Never keep the second half of a pair without its first.
  if (start < clean.length && clean.charCodeAt(start) >= 0xdc00 && clean.charCodeAt(start) <= 0xdfff) start++;
  const tail = clean.slice(start);
  return marker(total - Buffer.byteLength(tail)) + tail;
}

/** What the agent does after a report of a run's end was not taken (see afterReportFailure). */
export type ReportStep = 'retry' | 'minimal' | 'stale' | 'stop';

/** Answers of 500 in a row to one report before the agent sends the minimal one instead. */
export const REPORT_FAILURES_BEFORE_MINIMAL = 5;

/**
 * After the `failures`th failure in a row of a report (`status` undefined: no answer at all), the
 * agent:
 * - `stale`: 409, the run moved on without this bot (time-out, loss); nothing more to report;
 * - `stop`: 401, 403, 404 or 410, this bot is not known or not allowed, and no report will be;
 *   the runtime's loss detection ends the run;
 * - `minimal`: any other 4xx (400, 413, 422: the runtime refuses this report and always will), or
 *   the `REPORT_FAILURES_BEFORE_MINIMAL`th 500 in a row (the runtime fails on this report): it
 *   reports the run failed with code `report_refused` and no output instead, so that the run
 *   ends; a minimal report refused too stops the agent;
 * - `retry`: no answer, 429, 502 to 504 (a runtime restarting), or a 500 before the limit: the
 *   same report again, after a back-off.
 */
export function afterReportFailure(status: number | undefined, failures: number, minimal: boolean): ReportStep {
  if (status === 409) return 'stale';
  if (status === 401 || status === 403 || status === 404 || status === 410) return 'stop';
  if (status === 500 && failures >= REPORT_FAILURES_BEFORE_MINIMAL && !minimal) return 'minimal';
  if (status === undefined || status === 429 || status >= 500) return 'retry';
  return minimal ? 'stop' : 'minimal';
}

/** What a report that was refused said, in a line: its code and message, else its status. */
function refusalOf(err: HttpStatusError): string {
  try {
    const { error } = JSON.parse(err.body) as { error?: { code?: string; message?: string } };
    if (error?.code) return `HTTP ${err.status} ${error.code}: ${error.message ?? ''}`.slice(0, 500);
  } catch {
    // not the runtime's JSON error
  }
  return `HTTP ${err.status}`;
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}: ${body.slice(0, 300)}`);
  }

  /** The error code of the runtime's answer, if it sent one. */
  get code(): string | undefined {
    try {
      return JSON.parse(this.body)?.error?.code;
    } catch {
      return undefined;
    }
  }
}

/**
 * Refusals a new VM's agent outlives: its VM is not listed yet (the scaler records a VM when it
 * lists the scale set, which may come after the VM booted), or the nonce went void while the
 * metadata service was slow. Any other refusal ends the agent.
 */
const REGISTRATION_RETRIES = new Set(['vm_not_created', 'nonce_invalid']);

export class BotAgent {
  private readonly options: BotAgentOptions;
  private readonly http: HttpClient;
  private readonly stopper = new AbortController();
  private botIdValue?: string;
  private credential?: string;
  private heartbeatMs = 30_000;
  private loop?: Promise<void>;
  private stoppedReason?: string;

  constructor(options: BotAgentOptions) {
    this.options = options;
    this.http = new HttpClient(options.url);
  }

  get botId(): string | undefined {
    return this.botIdValue;
  }

  /** Why the agent stopped, once it has. */
  get stopped(): string | undefined {
    return this.stoppedReason;
  }

  /** Starts the agent loop; resolves when the agent stops. */
  start(): Promise<void> {
    this.loop ??= this.run().finally(() => {
      this.stoppedReason ??= 'stopped';
      this.http.close();
    });
    return this.loop;
  }

  /** Stops the agent: a running flow is aborted and its run is left to the runtime's loss detection. */
  async stop(reason = 'stopped'): Promise<void> {
    this.stoppedReason ??= reason;
    this.stopper.abort();
    await this.loop?.catch(() => undefined);
  }

  private log(event: string, fields: Record<string, unknown> = {}): void {
    this.options.log?.(event, { group: this.options.group, vmName: this.options.vmName, botId: this.botIdValue, ...fields });
  }

  private async call(path: string, body: unknown): Promise<{ status: number; json?: any }> {
    const token = typeof this.options.token === 'string' ? this.options.token : await this.options.token();
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (this.credential) headers[BOT_CREDENTIAL_HEADER] = this.credential;
    const response = await this.http.request('POST', path, body, headers, this.stopper.signal);
    if (response.status >= 400) throw new HttpStatusError(response.status, response.text);
    return { status: response.status, json: response.text ? JSON.parse(response.text) : undefined };
  }

  /** Retries network errors and 5xx with back-off; 4xx errors are returned to the caller. */
  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let delay = this.options.retryDelayMs ?? 500;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (this.stopper.signal.aborted) throw err;
        if (err instanceof HttpStatusError && err.status < 500 && err.status !== 429) throw err;
        this.log('agent.retry', { what, error: (err as Error).message, delayMs: delay });
        await sleep(delay, this.stopper.signal);
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  /** Registers, or goes on as the bot this VM's agent registered before a restart. */
  private async register(): Promise<void> {
    const saved = this.readState();
    if (saved) {
      this.botIdValue = saved.botId;
      this.credential = saved.credential;
      this.heartbeatMs = saved.heartbeatMs;
      this.log('agent.resumed');
      return;
    }
    let delay = this.options.retryDelayMs ?? 500;
    let json: any;
    for (;;) {
      try {
        json = (await this.registerOnce()).json;
        break;
      } catch (err) {
        if (this.stopper.signal.aborted) throw err;
        if (!(err instanceof HttpStatusError && REGISTRATION_RETRIES.has(err.code ?? ''))) throw err;
        this.log('agent.register_waiting', { code: err.code, delayMs: delay });
        await sleep(delay, this.stopper.signal);
        delay = Math.min(delay * 2, 30_000);
      }
    }
    this.botIdValue = json.botId;
    this.credential = json.credential;
    this.heartbeatMs = Math.max(100, Number(json.heartbeatSeconds ?? 30) * 1000);
    this.writeState();
    this.log('agent.registered', { registeredAs: json.vmName });
  }

  /**
   * One registration: by VM name, or by the VM's attested data for a fresh nonce. A failed attempt
   * with attested data starts over with a new nonce, since the runtime uses a nonce up whatever
   * it answers.
   */
  private registerOnce(): Promise<{ status: number; json?: any }> {
    const attest = this.options.attest;
    if (!attest) return this.retrying('register', () => this.call('/v1/agent/register', { vmName: this.options.vmName }));
    return this.retrying('register', async () => {
      const { json } = await this.call('/v1/agent/register/nonce', {});
      const attestedData = await attest(String(json.nonce));
      return this.call('/v1/agent/register', { attestedData });
    });
  }

  private readState(): { botId: string; credential: string; heartbeatMs: number } | undefined {
    if (!this.options.stateFile || !fs.existsSync(this.options.stateFile)) return undefined;
    try {
      const state = JSON.parse(fs.readFileSync(this.options.stateFile, 'utf8'));
      if (state.vmName !== this.options.vmName || typeof state.botId !== 'string' || typeof state.credential !== 'string') return undefined;
      return { botId: state.botId, credential: state.credential, heartbeatMs: Number(state.heartbeatMs) || 30_000 };
    } catch {
      return undefined;
    }
  }

  private writeState(): void {
    if (!this.options.stateFile) return;
    const state = { vmName: this.options.vmName, botId: this.botIdValue, credential: this.credential, heartbeatMs: this.heartbeatMs };
    fs.writeFileSync(this.options.stateFile, JSON.stringify(state), { mode: 0o600 });
  }

  private async run(): Promise<void> {
    try {
      await this.register();
      while (!this.stopper.signal.aborted) {
        let claimed;
        try {
          claimed = await this.retrying('claim', () =>
            this.call('/v1/agent/claim', { botId: this.botIdValue, waitSeconds: this.options.claimWaitSeconds ?? 30 }),
          );
        } catch (err) {
          if (err instanceof HttpStatusError && err.status === 410) {
            this.stoppedReason = 'the runtime retired this bot';
            this.log('agent.retired');
            return;
          }
          if (err instanceof HttpStatusError && err.status === 401) {
            // The credential no longer names a live bot (deleted, or the store was reset): nothing to go on as.
            this.stoppedReason = 'the runtime no longer knows this bot';
            this.log('agent.unknown_bot');
            return;
          }
          throw err;
        }
        if (claimed.status === 204 || !claimed.json?.run) continue;
        await this.execute(claimed.json.run as FlowTask);
      }
    } catch (err) {
      if (!this.stopper.signal.aborted) {
        this.stoppedReason = `failed: ${(err as Error).message}`;
        this.log('agent.failed', { error: (err as Error).message });
      }
    }
  }

  private async execute(task: FlowTask): Promise<void> {
    const flowAbort = new AbortController();
    const onStop = () => flowAbort.abort();
    this.stopper.signal.addEventListener('abort', onStop, { once: true });
    let cancelled = false;
    const beat = setInterval(() => {
      this.call(`/v1/agent/runs/${task.runId}/heartbeat`, { botId: this.botIdValue, attempt: task.attempt })
        .then(({ json }) => {
          if (json?.cancel && !flowAbort.signal.aborted) {
            cancelled = true;
            flowAbort.abort();
          }
        })
        .catch((err) => {
          if (err instanceof HttpStatusError && err.status === 409) {
            cancelled = true;
            flowAbort.abort();
          }
        });
    }, this.heartbeatMs);
    this.log('agent.run_started', { runId: task.runId, flow: task.flow });
    let result: FlowResult;
    try {
      // The built-in self-test runs here, on every bot, whatever executor runs the group's own flows.
      result = task.flow === SELF_TEST_FLOW ? await runSelfTest({ runtimeUrl: this.options.url }, flowAbort.signal) : await this.options.executor.run(task, flowAbort.signal);
    } catch (err) {
      result = { exitCode: -1, output: `the flow could not run: ${(err as Error).message}` };
    } finally {
      clearInterval(beat);
      this.stopper.signal.removeEventListener('abort', onStop);
    }
    if (this.stopper.signal.aborted) return;
    const status = cancelled ? 'cancelled' : result.exitCode === 0 ? 'succeeded' : 'failed';
    const outcome = await this.report(task, { botId: this.botIdValue, attempt: task.attempt, status, exitCode: result.exitCode, output: capOutput(result.output) });
    this.options.onReport?.(task.runId, outcome);
    this.log('agent.run_finished', { runId: task.runId, status, exitCode: result.exitCode });
  }

  /**
   * Reports a run's end, as afterReportFailure() says: again after a back-off while the runtime
   * cannot answer, and once as a minimal report when it refuses this one, so that the run ends.
   */
  private async report(task: FlowTask, full: { botId?: string; attempt: number; status: string; exitCode: number; output: string }): Promise<'completed' | 'duplicate' | 'stale'> {
    let body: Record<string, unknown> = full;
    let minimal = false;
    let failures = 0;
    let delay = this.options.retryDelayMs ?? 500;
    for (;;) {
      try {
        const reply = await this.call(`/v1/agent/runs/${task.runId}/complete`, body);
        return reply.json?.duplicate ? 'duplicate' : 'completed';
      } catch (err) {
        if (this.stopper.signal.aborted) throw err;
        const status = err instanceof HttpStatusError ? err.status : undefined;
        const step = afterReportFailure(status, ++failures, minimal);
        if (step === 'stale') return 'stale';
        if (step === 'stop') throw err;
        if (step === 'minimal') {
          const refusal = err instanceof HttpStatusError ? refusalOf(err) : 'no answer';
          this.log('agent.report_refused', { runId: task.runId, refusal });
          body = {
            botId: full.botId,
            attempt: full.attempt,
            status: 'failed',
            exitCode: full.exitCode,
            error: {
              code: 'report_refused',
              message: `the flow ended with exit code ${full.exitCode}, but the runtime did not take the agent's report of it (${refusal}); its output is not kept`,
            },
          };
          minimal = true;
          failures = 0;
          continue;
        }
        this.log('agent.retry', { what: 'complete', error: (err as Error).message, delayMs: delay });
        await sleep(delay, this.stopper.signal);
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
