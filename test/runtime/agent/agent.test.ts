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
