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
