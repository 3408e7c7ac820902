/**
 * The built-in self-test flow, run for real: a child process of this Node.js calls a runtime's
 * /healthz over HTTP, and the agent reports what it found. The runtimes here are small HTTP
 * servers started by each test (the e2e test runs it through the real runtime and arm-sim).
 */
import * as http from 'http';
import * as os from 'os';
import { AddressInfo } from 'net';
import { BotAgent, FlowExecutor } from '../../../runtime/agent/agent';
import { runSelfTest, SELF_TEST_EXIT } from '../../../runtime/agent/self-test';
import { freePort } from '../../../runtime/cli/processes';
import { SELF_TEST_FLOW } from '../../../runtime/config/self-test-flow';

interface Seen {
  readonly path: string;
  readonly body: any;
}

/** An HTTP server answering each request with `answer`; it records what it was sent. */
async function server(answer: (req: http.IncomingMessage, body: any) => { status: number; body?: unknown } | undefined): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const srv = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const body = text ? JSON.parse(text) : undefined;
      seen.push({ path: req.url!, body });
      const reply = answer(req, body);
      if (!reply) return; // never answers
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      }),
  };
}

const healthy = () => server((req) => (req.url === '/healthz' ? { status: 200, body: { status: 'ok', store: 'sqlite', leader: true } } : { status: 404 }));
const never = new AbortController().signal;

describe('the self-test flow', () => {
  test('passes against a healthy runtime: a child process (not this one) called /healthz, and the report names host, OS, Node.js and the answer', async () => {
    const runtime = await healthy();
    try {
      const result = await runSelfTest({ runtimeUrl: `${runtime.url}/` }, never);
      expect(result.exitCode).toBe(SELF_TEST_EXIT.passed);
      expect(runtime.seen.map((s) => s.path)).toEqual(['/healthz']);
      const lines = result.output.trimEnd().split('\n');
      expect(lines[0]).toBe(`${SELF_TEST_FLOW} passed: this bot runs commands and reaches the runtime`);
      const pid = Number(/\(pid (\d+)\)/.exec(lines[1])?.[1]);
      expect(lines[1]).toBe(`  command: ran a child process on this bot: node ${process.version} (pid ${pid})`);
      expect(pid).not.toBe(process.pid);
      expect(lines[2]).toBe(`  host: ${os.hostname()}, ${os.type()} ${os.release()} (${process.platform} ${process.arch})`);
      expect(lines[3]).toMatch(new RegExp(`^ {2}runtime: GET ${runtime.url}/healthz answered HTTP 200 in \\d+ ms: \\{"status":"ok","store":"sqlite","leader":true\\}$`));
    } finally {
      await runtime.close();
    }
  });

  test('a runtime nobody answers at: exit code 1, naming the URL and the network error', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await runSelfTest({ runtimeUrl: url }, never);
    expect(result.exitCode).toBe(SELF_TEST_EXIT.runtime);
    expect(result.output).toMatch(new RegExp(`^${SELF_TEST_FLOW} failed: this bot cannot reach the runtime\\n`));
    expect(result.output).toMatch(new RegExp(`runtime: GET ${url}/healthz failed after \\d+ ms: ECONNREFUSED`));
    // The command part worked, and says so.
    expect(result.output).toContain(`command: ran a child process on this bot: node ${process.version}`);
  });

  test('an unhealthy runtime: exit code 1, with its status and answer', async () => {
    const runtime = await server(() => ({ status: 503, body: { status: 'unavailable', store: 'postgres', leader: false } }));
    try {
      const result = await runSelfTest({ runtimeUrl: runtime.url }, never);
      expect(result.exitCode).toBe(SELF_TEST_EXIT.runtime);
      expect(result.output).toMatch(new RegExp(`^${SELF_TEST_FLOW} failed: the runtime answered HTTP 503, not 200\\n`));
      expect(result.output).toContain('{"status":"unavailable","store":"postgres","leader":false}');
    } finally {
      await runtime.close();
    }
  });

  test('a runtime that does not answer in time: exit code 1, naming the time-out', async () => {
    const runtime = await server(() => undefined);
    try {
      const result = await runSelfTest({ runtimeUrl: runtime.url, requestTimeoutMs: 300 }, never);
      expect(result.exitCode).toBe(SELF_TEST_EXIT.runtime);
      expect(result.output).toMatch(/runtime: GET .*\/healthz failed after \d+ ms: TimeoutError/);
    } finally {
      await runtime.close();
    }
  });

  test('no command can start on the bot: exit code 2, naming the executable', async () => {
    const result = await runSelfTest({ runtimeUrl: 'http://127.0.0.1:9', node: '/no/such/node' }, never);
    expect(result).toEqual({
      exitCode: SELF_TEST_EXIT.command,
      output: `${SELF_TEST_FLOW} failed: no command could run on this bot\n  command: cannot start /no/such/node: spawn /no/such/node ENOENT\n`,
    });
  });

  test('aborting (a cancel, the time-out) stops the child and reports that it was stopped', async () => {
    const runtime = await server(() => undefined);
    try {
      const abort = new AbortController();
      const running = runSelfTest({ runtimeUrl: runtime.url }, abort.signal);
      // Once the child's request has arrived, the child is running.
      while (runtime.seen.length === 0) await new Promise((r) => setTimeout(r, 20));
      abort.abort();
      const result = await running;
      expect(result.exitCode).toBe(SELF_TEST_EXIT.command);
      expect(result.output).toMatch(new RegExp(`^${SELF_TEST_FLOW} failed: stopped before it finished\\n  command: the child process was stopped \\(SIGKILL\\)`));
    } finally {
      await runtime.close();
    }
  });
});

describe('the agent and the self-test flow', () => {
  test('a claimed run of hosted-bots-self-test runs the built-in self-test over the agent\'s own URL, not the group\'s executor, and reports exit code 0', async () => {
    let claims = 0;
    const runtime = await server((req) => {
      if (req.url === '/v1/agent/register') return { status: 201, body: { botId: 'bot_000000000000000000000001', credential: 'credential-0123456789', heartbeatSeconds: 30 } };
      if (req.url === '/v1/agent/claim') {
        claims += 1;
        if (claims === 1) return { status: 200, body: { run: { runId: 'run_000000000000000000000001', attempt: 1, flow: SELF_TEST_FLOW, command: '(built in)', inputs: {}, timeoutMinutes: 5 } } };
        return { status: 410, body: { error: { code: 'bot_gone', message: 'gone' } } };
      }
      if (req.url === '/healthz') return { status: 200, body: { status: 'ok', store: 'sqlite', leader: true } };
      if (req.url?.endsWith('/complete')) return { status: 200, body: {} };
      return { status: 404 };
    });
    const executor: FlowExecutor = {
      run: () => Promise.reject(new Error('the group executor must not run the self-test')),
    };
    try {
      const agent = new BotAgent({ url: runtime.url, token: 'group-token', group: 'finance', vmName: 'vm-1', executor });
      await agent.start();
      expect(agent.stopped).toBe('the runtime retired this bot');
      const complete = runtime.seen.find((s) => s.path === '/v1/agent/runs/run_000000000000000000000001/complete');
      expect(complete?.body).toMatchObject({ status: 'succeeded', exitCode: 0, attempt: 1 });
      expect(complete?.body.output).toMatch(new RegExp(`^${SELF_TEST_FLOW} passed`));
      expect(complete?.body.output).toContain(`runtime: GET ${runtime.url}/healthz answered HTTP 200`);
      expect(runtime.seen.map((s) => s.path)).toContain('/healthz');
    } finally {
      await runtime.close();
    }
  });
});
