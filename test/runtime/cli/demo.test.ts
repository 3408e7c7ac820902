/** The demo's status output: one block per change of state, one line when back to zero. */
import { DemoStatus, DemoWatcher, GroupRow, atZero, renderStatus } from '../../../runtime/cli/demo';
import { stripAnsi } from '../../../runtime/cli/terminal';

const BACK = 'back to zero (test)';

function group(name: string, bots: Partial<Record<'provisioning' | 'idle' | 'busy' | 'deleting', number>>, queued = 0, running = 0): GroupRow {
  return { name, bots: { provisioning: 0, idle: 0, busy: 0, deleting: 0, ...bots }, queued, running, state: 'active' };
}

function status(finance: GroupRow, done: number, vms: number): DemoStatus {
  return { groups: [finance], done: { finance: { succeeded: done, failed: 0 } }, vms };
}

/** A burst as the demo sees it twice a second: each state repeated, as an idle poll would. */
const burst: DemoStatus[] = [
  status(group('finance', {}, 3), 0, 0),
  status(group('finance', { provisioning: 2 }, 3), 0, 2),
  status(group('finance', { busy: 2 }, 1, 2), 0, 2),
  status(group('finance', { busy: 1, idle: 1 }, 0, 1), 2, 2),
  status(group('finance', { idle: 2 }), 3, 2),
  status(group('finance', { deleting: 2 }), 3, 2),
  status(group('finance', {}), 3, 0),
];
const repeated = burst.flatMap((s, i) => Array.from({ length: 2 + (i % 3) }, () => s));

function capture(isTTY = false) {
  const chunks: string[] = [];
  return { out: { isTTY, write: (t: string) => chunks.push(t) }, text: () => chunks.join(''), chunks };
}

const blocks = (text: string) => stripAnsi(text).split('\n').filter((l) => /^group\s+provisioning/.test(l)).length;
const backLines = (text: string) => text.split('\n').filter((l) => l === BACK).length;

describe('demo status', () => {
  test('renders no clock: the same status renders the same block', () => {
    expect(renderStatus(burst[2])).toEqual(renderStatus(JSON.parse(JSON.stringify(burst[2]))));
  });

  test('a log gets one block per change of state, however often the state is looked at', () => {
    const c = capture();
    const watcher = new DemoWatcher(c.out, BACK);
    repeated.forEach((s, i) => watcher.update(s, `[${i} s]`));
    expect(repeated.length).toBeGreaterThan(burst.length);
    expect(blocks(c.text())).toBe(burst.length);
  });

  test('a terminal is redrawn only when the state changes', () => {
    const c = capture(true);
    const watcher = new DemoWatcher(c.out, BACK);
    repeated.forEach((s) => watcher.update(s));
    expect(blocks(c.text())).toBe(burst.length);
  });

  test('back to zero is said once, then the demo waits quietly', () => {
    const c = capture();
    const watcher = new DemoWatcher(c.out, BACK);
    repeated.forEach((s) => watcher.update(s));
    const before = c.chunks.length;
    for (let i = 0; i < 20; i++) expect(watcher.update(burst[burst.length - 1])).toBe(true);
    expect(backLines(c.text())).toBe(1);
    expect(c.chunks.length).toBe(before);
    expect(c.text().trimEnd().endsWith(BACK)).toBe(true);
  });

  test('a fleet at zero before anything ran is not called back to zero', () => {
    const c = capture();
    const watcher = new DemoWatcher(c.out, BACK);
    expect(watcher.update(status(group('finance', {}), 0, 0))).toBe(false);
    expect(backLines(c.text())).toBe(0);
  });

  test('new work after zero prints blocks again and says back to zero once more', () => {
    const c = capture();
    const watcher = new DemoWatcher(c.out, BACK);
    [...repeated, ...repeated].forEach((s) => watcher.update(s));
    expect(backLines(c.text())).toBe(2);
    // The zero block repeated across the seam is not reprinted: the first burst's queued state is.
    expect(blocks(c.text())).toBe(2 * burst.length);
  });

  test('a bot in any state, a VM, or a queued run is not zero', () => {
    expect(atZero(status(group('finance', {}), 3, 0))).toBe(true);
    expect(atZero(status(group('finance', { deleting: 1 }), 3, 0))).toBe(false);
    expect(atZero(status(group('finance', {}), 3, 1))).toBe(false);
    expect(atZero(status(group('finance', {}, 1), 3, 0))).toBe(false);
  });
});

describe('demo --manifest', () => {
  const fs = jest.requireActual('fs') as typeof import('fs');
  const os = jest.requireActual('os') as typeof import('os');
  const path = jest.requireActual('path') as typeof import('path');

  test.each([
    ['a path that does not exist', (dir: string) => path.join(dir, 'missing'), 'no such file or folder'],
    ['a folder without stacks', (dir: string) => dir, 'no stacks/<stack>/fleet.json in this folder'],
    [
      'a fleet.json that is not JSON',
      (dir: string) => {
        fs.mkdirSync(path.join(dir, 'stacks', 'broken'), { recursive: true });
        fs.writeFileSync(path.join(dir, 'stacks', 'broken', 'fleet.json'), '{ not json');
        return dir;
      },
      'fleet.json is not JSON',
    ],
  ])('refuses %s, naming it, before anything starts', async (_name, target, message) => {
    const { readDemoStacks } = await import('../../../runtime/cli/demo');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-manifest-'));
    const given = target(dir);
    expect(() => readDemoStacks(given)).toThrow(`--manifest ${given}: `);
    expect(() => readDemoStacks(given)).toThrow(message);
  });

  test('runs every stack of a multi-geography synth, each with its own runtime, and /metrics answers as deployed', async () => {
    const { App } = await import('cdktf');
    const { buildMultiGeo } = await import('../../../examples/multi-geo/main');
    const { runDemo } = await import('../../../runtime/cli/demo');
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-multi-'));
    const app = new App({ outdir, stackTraces: false });
    buildMultiGeo(app);
    app.synth();

    const out = capture();
    const finished = runDemo({ manifest: outdir, port: 0, bootSeconds: 0.5, idleSeconds: 1, sampleRuns: true, duration: 0, exitWhenIdle: true, out: out.out as unknown as NodeJS.WriteStream });
    // While it runs: each stack's /metrics, with the token the demo printed.
    const metrics = await (async () => {
      for (let i = 0; i < 200; i++) {
        const found = [...out.text().matchAll(/^(\S+): metrics: +curl -s -H "Authorization: Bearer (\S+)" (\S+)$/gm)];
        if (found.length === 2) return Promise.all(found.map(async ([, stack, token, url]) => ({ stack, res: await fetch(url, { headers: { authorization: `Bearer ${token}` } }) })));
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no metrics lines in:\n${out.text()}`);
    })();
    for (const { res } of metrics) {
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^hosted_bots_capacity \d+$/m);
    }
    expect(metrics.map((m) => m.stack)).toEqual(['bots-europe', 'bots-us']);
    await finished;
    // exitWhenIdle: done once both stacks ran their samples and are back to zero.
    for (let i = 0; i < 600 && !out.text().includes('stopped.'); i++) await new Promise((r) => setTimeout(r, 100));
    const text = stripAnsi(out.text());
    expect(text).toContain('2 stacks (bots-europe, bots-us)');
    expect(text).toMatch(/bots-europe: environment \S+ in Europe/);
    expect(text).toMatch(/bots-us: environment \S+ in US/);
    expect(text).toMatch(/^bots-europe\/finance\s+0\s+0\s+0\s+0\s+0\s+0\s+3\s+active$/m);
    expect(text).toMatch(/^bots-us\/finance\s+0\s+0\s+0\s+0\s+0\s+0\s+3\s+active$/m);
    expect(text).toContain('stopped.');
  }, 120_000);
});
