import * as http from 'http';
import type { AddressInfo } from 'net';
import { afterReportFailure, BotAgent, capOutput, FlowExecutor, MAX_OUTPUT_BYTES, REPORT_FAILURES_BEFORE_MINIMAL, ReportStep } from '../../../runtime/agent/agent';
import { ShellExecutor } from '../../../runtime/agent/shell-executor';
import { SimulatedExecutor } from '../../../runtime/agent/simulated-executor';

const task = (command: string, inputs: Record<string, unknown> = {}) => ({ runId: 'run_1', attempt: 1, flow: 'f', command, inputs, timeoutMinutes: 1 });

describe('agent', () => {
  test('output is capped at 64 KiB, keeping the end', () => {
    const big = 'a'.repeat(MAX_OUTPUT_BYTES) + 'THE END';
    const capped = capOutput(big);
    expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(MAX_OUTPUT_BYTES);
    expect(capped.endsWith('THE END')).toBe(true);
    expect(capped.startsWith('[first ')).toBe(true);
    expect(capOutput('short')).toBe('short');
  });

  test('output that JSON escapes (control characters, NULs as UTF-16 text has them) is capped by its size in the report, so the report fits the body limit', () => {
    const utf16 = Buffer.from('line of UTF-16 output\r\n'.repeat(10_000), 'utf16le').toString('latin1');
    for (const output of [utf16 + 'THE END', '\u0001'.repeat(MAX_OUTPUT_BYTES) + 'THE END']) {
      const capped = capOutput(output);
      expect(Buffer.byteLength(JSON.stringify(capped))).toBeLessThanOrEqual(MAX_OUTPUT_BYTES + 2);
      expect(capped.endsWith('THE END')).toBe(true);
      expect(capped).toMatch(/^\[first \d+ bytes cut\]\n/);
      expect(capped).not.toContain('\u0000');
    }
  });

  test('output is sent as the runtime keeps text: a NUL or a lone surrogate as U+FFFD, a cut never splits a surrogate pair', () => {
    expect(capOutput('a\u0000b\ud800c')).toBe('a\ufffdb\ufffdc');
    const capped = capOutput('😀'.repeat(MAX_OUTPUT_BYTES));
    expect(Buffer.from(capped, 'utf8').toString('utf8')).toBe(capped);
    expect(capped.endsWith('😀')).toBe(true);
  });

  test('the shell executor runs the command with the inputs as JSON and reports its exit code and output', async () => {
    const result = await new ShellExecutor().run(task('node -e "const i=JSON.parse(process.env.HOSTED_BOTS_INPUTS); console.log(\'n=\'+i.n); process.exit(3)"', { n: 7 }), new AbortController().signal);
    expect(result).toEqual({ exitCode: 3, output: 'n=7\n' });
  });

  test('aborting the shell executor kills the flow', async () => {
    const abort = new AbortController();
    const started = Date.now();
    const running = new ShellExecutor().run(task('sleep 30'), abort.signal);
    setTimeout(() => abort.abort(), 100);
    const result = await running;
    expect(result.exitCode).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('the simulated executor honours simulateSeconds and exitCode', async () => {
    const started = Date.now();
    const result = await new SimulatedExecutor('vm-1').run(task('x', { simulateSeconds: 0.2, exitCode: 4 }), new AbortController().signal);
    expect(result.exitCode).toBe(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });
});

describe('agent state', () => {
  test('an agent that restarts on the same VM goes on as the same bot, with its credential, without registering again', async () => {
    const http = await import('http');
    const fs = await import('fs');
    const os = await import('os');
    const path = await import('path');
    const { BotAgent, BOT_CREDENTIAL_HEADER } = await import('../../../runtime/agent/agent');
    const seen: Array<{ path: string; credential?: string }> = [];
    const server = http.createServer((req, res) => {
      seen.push({ path: req.url!, credential: req.headers[BOT_CREDENTIAL_HEADER] as string | undefined });
      if (req.url === '/v1/agent/register') {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ botId: 'bot_000000000000000000000001', credential: 'secret-credential-0123456789', heartbeatSeconds: 30 }));
      } else {
        // A bot the runtime retired: the agent stops.
        res.writeHead(410, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"bot_gone","message":"gone"}}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as import('net').AddressInfo).port}`;
    const stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'agent-state-')), 'bot-state.json');
    try {
      const run = async () => {
        const agent = new BotAgent({ url, token: 'group-token', group: 'finance', vmName: 'vm-1', stateFile, executor: new SimulatedExecutor('vm-1') });
        await agent.start();
        return agent.botId;
      };
      expect(await run()).toBe('bot_000000000000000000000001');
      expect(JSON.parse(fs.readFileSync(stateFile, 'utf8'))).toMatchObject({ vmName: 'vm-1', botId: 'bot_000000000000000000000001', credential: 'secret-credential-0123456789' });
      expect(await run()).toBe('bot_000000000000000000000001');
      expect(seen.map((s) => s.path)).toEqual(['/v1/agent/register', '/v1/agent/claim', '/v1/agent/claim']);
      expect(seen.slice(1).map((s) => s.credential)).toEqual(['secret-credential-0123456789', 'secret-credential-0123456789']);
    } finally {
      server.close();
    }
  });
});

describe('reports of a run\'s end', () => {
  test.each<[string, number | undefined, number, boolean, ReportStep]>([
    ['recorded elsewhere: the run moved on', 409, 1, false, 'stale'],
    ['the credential is not known', 401, 1, false, 'stop'],
    ['not allowed', 403, 1, false, 'stop'],
    ['no such route', 404, 1, false, 'stop'],
    ['the bot is gone', 410, 1, false, 'stop'],
    ['a bad request', 400, 1, false, 'minimal'],
    ['a body too large', 413, 1, false, 'minimal'],
    ['unprocessable', 422, 1, false, 'minimal'],
    ['a minimal report refused too', 400, 1, true, 'stop'],
    ['too many requests', 429, 9, false, 'retry'],
    ['no answer', undefined, 9, false, 'retry'],
    ['a runtime restarting', 503, 9, false, 'retry'],
    ['a gateway failing', 502, 9, false, 'retry'],
    ['a first 500', 500, 1, false, 'retry'],
    ['the last 500 before the limit', 500, REPORT_FAILURES_BEFORE_MINIMAL - 1, false, 'retry'],
    ['500s up to the limit', 500, REPORT_FAILURES_BEFORE_MINIMAL, false, 'minimal'],
    ['500s to a minimal report', 500, REPORT_FAILURES_BEFORE_MINIMAL * 2, true, 'retry'],
  ])('%s (%s, failure %s, minimal %s): %s', (_name, status, failures, minimal, step) => {
    expect(afterReportFailure(status, failures, minimal)).toBe(step);
  });

  /**
   * A runtime that hands out one run, answers its reports as `answer` says, and then retires the
   * bot (410), so the agent stops; it records every report.
   */
  async function runOnce(answer: (report: Record<string, any>, n: number) => number) {
    const reports: Array<Record<string, any>> = [];
    let claims = 0;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const send = (status: number, json?: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(json === undefined ? '' : JSON.stringify(json));
        };
        if (req.url === '/v1/agent/register') return send(201, { botId: 'bot_000000000000000000000001', credential: 'secret-credential-0123456789', heartbeatSeconds: 30 });
        if (req.url === '/v1/agent/claim') {
          if (claims++ > 0) return send(410, { error: { code: 'bot_gone', message: 'gone' } });
          return send(200, { run: { runId: 'run_000000000000000000000001', attempt: 1, flow: 'invoice-entry', command: 'x', inputs: {}, timeoutMinutes: 1 } });
        }
        const report = JSON.parse(body);
        reports.push(report);
        const status = answer(report, reports.length);
        if (status === 200) return send(200, { run: {}, duplicate: false });
        send(status, { error: { code: status === 400 ? 'invalid_request' : 'internal', message: status === 400 ? 'output: too long' : 'the runtime failed' } });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const executor: FlowExecutor = { run: async () => ({ exitCode: 0, output: 'invoice 42 entered' }) };
    const outcomes: string[] = [];
    const agent = new BotAgent({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: 'group-token',
      group: 'finance',
      vmName: 'vm-1',
      executor,
      retryDelayMs: 1,
      onReport: (_runId, outcome) => outcomes.push(outcome),
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      // An agent that never ends the run would run on: the test looks after 10 s.
      await Promise.race([agent.start(), new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
      return { reports, outcomes, stopped: agent.stopped };
    } finally {
      clearTimeout(timer);
      await agent.stop();
      server.close();
    }
  }

  test('a report the runtime refuses (4xx) is followed by a minimal one, and the run ends failed with report_refused', async () => {
    const { reports, outcomes, stopped } = await runOnce((report) => (report.output !== undefined ? 400 : 200));
    expect(reports).toHaveLength(2);
    expect(reports[0]).toMatchObject({ status: 'succeeded', exitCode: 0, output: 'invoice 42 entered' });
    expect(reports[1]).toEqual({
      botId: 'bot_000000000000000000000001',
      attempt: 1,
      status: 'failed',
      exitCode: 0,
      error: {
        code: 'report_refused',
        message: "the flow ended with exit code 0, but the runtime did not take the agent's report of it (HTTP 400 invalid_request: output: too long); its output is not kept",
      },
    });
    expect(outcomes).toEqual(['completed']);
    // The agent goes on to its next claim: here, the runtime retires the bot.
    expect(stopped).toBe('the runtime retired this bot');
  });

  test(`a report that fails the runtime ${REPORT_FAILURES_BEFORE_MINIMAL} times (500) is followed by a minimal one`, async () => {
    const { reports, outcomes } = await runOnce((report) => (report.output !== undefined ? 500 : 200));
    expect(reports.map((r) => r.status)).toEqual([...Array(REPORT_FAILURES_BEFORE_MINIMAL).fill('succeeded'), 'failed']);
    expect(reports[REPORT_FAILURES_BEFORE_MINIMAL].error).toMatchObject({ code: 'report_refused', message: expect.stringContaining('HTTP 500 internal: the runtime failed') });
    expect(outcomes).toEqual(['completed']);
  });

  test('a runtime that cannot answer for a while gets the same report again, output and all', async () => {
    const { reports, outcomes } = await runOnce((_report, n) => (n < 3 ? 503 : 200));
    expect(reports).toHaveLength(3);
    for (const report of reports) expect(report).toMatchObject({ status: 'succeeded', output: 'invoice 42 entered' });
    expect(outcomes).toEqual(['completed']);
  });
});

describe('agent registration', () => {
  /** A runtime that answers register with `answers` in turn, and the nonce route with fresh nonces. */
  async function runtime(answers: Array<{ status: number; body: unknown }>) {
    const http = await import('http');
    const seen: Array<{ path: string; body: any }> = [];
    let nonces = 0;
    const server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        seen.push({ path: req.url!, body: text ? JSON.parse(text) : undefined });
        const reply = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (req.url === '/v1/agent/register/nonce') return reply(201, { nonce: String(++nonces).padStart(10, '0') });
        if (req.url === '/v1/agent/register') {
          const answer = answers.shift() ?? { status: 201, body: { botId: 'bot_000000000000000000000001', credential: 'c'.repeat(43), heartbeatSeconds: 30 } };
          return reply(answer.status, answer.body);
        }
        reply(410, { error: { code: 'bot_gone', message: 'gone' } });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { seen, url: `http://127.0.0.1:${(server.address() as import('net').AddressInfo).port}`, close: () => server.close() };
  }
  const refusal = (status: number, code: string) => ({ status, body: { error: { code, message: code } } });

  test('with attest, the agent asks a nonce, attests it, and registers with the attested data only', async () => {
    const { BotAgent } = await import('../../../runtime/agent/agent');
    const rt = await runtime([]);
    const attested: string[] = [];
    try {
      const agent = new BotAgent({
        url: rt.url, token: 'identity-token', group: 'finance', vmName: 'vm-1', executor: new SimulatedExecutor('vm-1'),
        attest: async (nonce) => (attested.push(nonce), { encoding: 'pkcs7', signature: `signed-${nonce}` }),
      });
      await agent.start();
      expect(agent.botId).toBe('bot_000000000000000000000001');
      expect(attested).toEqual(['0000000001']);
      expect(rt.seen.slice(0, 2)).toEqual([
        { path: '/v1/agent/register/nonce', body: {} },
        { path: '/v1/agent/register', body: { attestedData: { encoding: 'pkcs7', signature: 'signed-0000000001' } } },
      ]);
    } finally {
      rt.close();
    }
  });

  test('a VM not listed yet (vm_not_created) or a void nonce is tried again, each time with a new nonce', async () => {
    const { BotAgent } = await import('../../../runtime/agent/agent');
    const rt = await runtime([refusal(403, 'vm_not_created'), refusal(401, 'nonce_invalid')]);
    try {
      const agent = new BotAgent({
        url: rt.url, token: 't', group: 'finance', vmName: 'vm-1', executor: new SimulatedExecutor('vm-1'), retryDelayMs: 5,
        attest: async (nonce) => ({ encoding: 'pkcs7', signature: nonce }),
      });
      await agent.start();
      expect(agent.botId).toBe('bot_000000000000000000000001');
      expect(rt.seen.filter((s) => s.path === '/v1/agent/register').map((s) => s.body.attestedData.signature)).toEqual(['0000000001', '0000000002', '0000000003']);
    } finally {
      rt.close();
    }
  });

  test('any other refusal ends the agent, naming it', async () => {
    const { BotAgent } = await import('../../../runtime/agent/agent');
    const rt = await runtime([refusal(403, 'vm_of_another_group')]);
    try {
      const agent = new BotAgent({ url: rt.url, token: 't', group: 'finance', vmName: 'vm-1', executor: new SimulatedExecutor('vm-1'), retryDelayMs: 5 });
      await agent.start();
      expect(agent.botId).toBeUndefined();
      expect(agent.stopped).toMatch(/^failed: HTTP 403: .*vm_of_another_group/);
      expect(rt.seen.map((s) => s.path)).toEqual(['/v1/agent/register']);
    } finally {
      rt.close();
    }
  });
});
