/**
 * The built-in self-test flow (runtime/config/self-test-flow.ts), as the agent runs it. It starts
 * a real child process, the agent's own Node.js with a small script, which proves that a command
 * runs on the bot; the child then calls the runtime's /healthz over the URL the agent itself
 * uses, which proves that the bot reaches the runtime. It reports the host name, the OS, the
 * Node.js version and the runtime's answer and answer time, and exits 0; or names what did not
 * work: exit code 2 when no command could run, 1 when the runtime could not be reached or did
 * not answer 200.
 */
import { spawn } from 'child_process';
import { SELF_TEST_FLOW } from '../config/self-test-flow';
import type { FlowResult } from './agent';

export interface SelfTestOptions {
  /** The runtime's base URL, as the agent calls it. */
  readonly runtimeUrl: string;
  /** The Node.js to start the child with. @default this process's own executable */
  readonly node?: string;
  /** How long the child waits for /healthz. @default 30 s */
  readonly requestTimeoutMs?: number;
}

/** What the child prints: one JSON line. */
interface ChildReport {
  readonly host: string;
  readonly os: string;
  readonly node: string;
  readonly pid: number;
  readonly runtime: { readonly url: string; readonly ms: number; readonly status?: number; readonly body?: string; readonly error?: string };
}

/** Exit codes of a failed self-test, by what did not work. */
export const SELF_TEST_EXIT = { passed: 0, runtime: 1, command: 2 } as const;

/**
 * The child's script. It has no dependencies: `fetch` is Node's own (18 and later), and the
 * error's cause carries the network code (ECONNREFUSED, ENOTFOUND, a TLS failure), or the name
 * of a time-out (a DOMException, whose numeric code says nothing).
 */
const CHILD_SCRIPT = `
const os = require('os');
const url = process.env.HOSTED_BOTS_SELF_TEST_URL;
const timeoutMs = Number(process.env.HOSTED_BOTS_SELF_TEST_TIMEOUT_MS);
const report = { host: os.hostname(), os: os.type() + ' ' + os.release() + ' (' + process.platform + ' ' + process.arch + ')', node: process.version, pid: process.pid };
const started = performance.now();
const ms = () => Math.round(performance.now() - started);
fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } })
  .then(async (res) => { report.runtime = { url, ms: ms(), status: res.status, body: (await res.text()).slice(0, 500) }; })
  .catch((err) => { const cause = err.cause || err; const kind = typeof cause.code === 'string' ? cause.code : cause.name; report.runtime = { url, ms: ms(), error: String(kind || 'Error') + (cause.message ? ': ' + cause.message : '') }; })
  .finally(() => process.stdout.write(JSON.stringify(report) + '\\n'));
`;

function describeReport(report: ChildReport): string[] {
  return [
    `  command: ran a child process on this bot: node ${report.node} (pid ${report.pid})`,
    `  host: ${report.host}, ${report.os}`,
    report.runtime.error !== undefined
      ? `  runtime: GET ${report.runtime.url} failed after ${report.runtime.ms} ms: ${report.runtime.error}`
      : `  runtime: GET ${report.runtime.url} answered HTTP ${report.runtime.status} in ${report.runtime.ms} ms: ${report.runtime.body}`,
  ];
}

function parseReport(stdout: string): ChildReport | undefined {
  try {
    const report = JSON.parse(stdout.trim().split('\n').pop() ?? '');
    return typeof report?.host === 'string' && typeof report?.runtime?.url === 'string' ? report : undefined;
  } catch {
    return undefined;
  }
}

/** Runs the self-test; it stops the child when `signal` aborts (cancel, time-out, the agent stopping). */
export function runSelfTest(options: SelfTestOptions, signal: AbortSignal): Promise<FlowResult> {
  const healthz = `${options.runtimeUrl.replace(/\/+$/, '')}/healthz`;
  const node = options.node ?? process.execPath;
  const failed = (what: string, lines: string[], exitCode: number): FlowResult => ({
    exitCode,
    output: [`${SELF_TEST_FLOW} failed: ${what}`, ...lines, ''].join('\n'),
  });
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(node, ['-e', CHILD_SCRIPT], {
        env: { ...process.env, HOSTED_BOTS_SELF_TEST_URL: healthz, HOSTED_BOTS_SELF_TEST_TIMEOUT_MS: String(options.requestTimeoutMs ?? 30_000) },
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (err) {
      resolve(failed('no command could run on this bot', [`  command: cannot start ${node}: ${(err as Error).message}`], SELF_TEST_EXIT.command));
      return;
    }
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-2000)));
    const stop = () => child.kill('SIGKILL');
    signal.addEventListener('abort', stop, { once: true });
    let settled = false;
    const finish = (result: FlowResult) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', stop);
      resolve(result);
    };
    child.once('error', (err) => finish(failed('no command could run on this bot', [`  command: cannot start ${node}: ${err.message}`], SELF_TEST_EXIT.command)));
    child.once('close', (code, sig) => {
      if (signal.aborted) return finish(failed('stopped before it finished', [`  command: the child process was stopped (${sig ?? `exit code ${code}`})`], SELF_TEST_EXIT.command));
      const report = code === 0 ? parseReport(stdout) : undefined;
      if (!report) {
        const tail = stderr.trim() ? stderr.trim().split('\n').slice(-5).map((l) => `    ${l}`) : [];
        const ended = code === 0 ? 'printed no report' : `ended with ${sig ?? `exit code ${code}`}`;
        return finish(failed('the command on this bot did not finish', [`  command: ${node} -e <self-test> ${ended}${tail.length ? ':' : ''}`, ...tail], SELF_TEST_EXIT.command));
      }
      const lines = describeReport(report);
      if (report.runtime.error !== undefined) return finish(failed('this bot cannot reach the runtime', lines, SELF_TEST_EXIT.runtime));
      if (report.runtime.status !== 200) return finish(failed(`the runtime answered HTTP ${report.runtime.status}, not 200`, lines, SELF_TEST_EXIT.runtime));
      finish({ exitCode: SELF_TEST_EXIT.passed, output: [`${SELF_TEST_FLOW} passed: this bot runs commands and reaches the runtime`, ...lines, ''].join('\n') });
    });
  });
}
