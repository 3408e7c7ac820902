import { capOutput, MAX_OUTPUT_BYTES } from '../../../runtime/agent/agent';
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
