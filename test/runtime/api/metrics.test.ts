/** /metrics after a burst: the counts and histograms match what the API says. */
import { SqliteStore } from '../../../runtime/store/sqlite';
import { eventually, startTestFleet, TestFleet, USERS } from '../../helpers/local-fleet';

type Sample = { name: string; labels: Record<string, string>; value: number };

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);

describe('metrics', () => {
  let t: TestFleet;
  afterAll(async () => t?.stop());
  const scrape = async (token = 'metrics-secret') => {
    const res = await fetch(`${t.fleet.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, text: await res.text() };
  };

  test('a scrape after a burst matches the API', async () => {
    // No bot should be taken for lost or stuck in boot because a loaded machine delayed its
    // heartbeat, so those limits are generous here.
    // Every bot the store creates, counted as it is created: a bot that ends before the scrape
    // (replaced after a slow boot on a loaded machine) was still created.
    const createBots = jest.spyOn(SqliteStore.prototype, 'createBots');
    t = await startTestFleet({ scaling: { idleMinutes: 10, heartbeatSeconds: 10, bootTimeoutMinutes: 5 } }, { metricsToken: 'metrics-secret' });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const group = i % 3 === 2 ? 'sales' : 'finance';
      const flow = group === 'sales' ? 'lead-sync' : 'invoice-entry';
      ids.push((await t.api('POST', `/v1/groups/${group}/runs`, { flow, inputs: { simulateSeconds: 0.1 + (i % 2) * 0.2, exitCode: i === 4 ? 3 : 0 } })).body.id);
    }
    const runs = await eventually('every run final', async () => {
      const all = await Promise.all(ids.map(async (id) => (await t.api('GET', `/v1/runs/${id}`)).body));
      return all.every((r) => r.finishedAt) ? all : undefined;
    }, 20_000);
    // Two runs left waiting in a paused group, so the queue gauge has something to show.
    await t.api('POST', '/v1/groups/sales/pause', undefined, USERS.admin);
    await t.api('POST', '/v1/groups/sales/runs', { flow: 'lead-sync' });
    await t.api('POST', '/v1/groups/sales/runs', { flow: 'lead-sync' });

    // The fleet can still move while the test reads it (a spare bot, a late boot): compare a scrape
    // with group views read just before and after it that agree with each other.
    const groupViews = async () => Object.fromEntries(await Promise.all(['finance', 'sales'].map(async (g) => [g, (await t.api('GET', `/v1/groups/${g}`)).body] as const)));
    const gauges = (views: Record<string, { queued: number; running: number; botCounts: unknown }>) => JSON.stringify(Object.values(views).map((v) => [v.queued, v.running, v.botCounts]));
    const { samples, views } = await eventually('a scrape between two group views that agree', async () => {
      const before = await groupViews();
      const scraped = parse((await scrape()).text);
      const after = await groupViews();
      return gauges(before) === gauges(after) ? { samples: scraped, views: after } : undefined;
    });
    for (const group of ['finance', 'sales']) {
      const mine = runs.filter((r) => r.group === group);
      for (const state of ['succeeded', 'failed']) {
        expect([group, state, value(samples, 'hosted_bots_runs_finished_total', { group, state })]).toEqual([group, state, mine.filter((r) => r.state === state).length]);
      }
      expect(value(samples, 'hosted_bots_run_wait_seconds_count', { group })).toBe(mine.length);
      expect(value(samples, 'hosted_bots_run_wait_seconds_sum', { group })).toBeCloseTo(mine.reduce((s, r) => s + r.waitMs, 0) / 1000, 1);
      expect(value(samples, 'hosted_bots_run_duration_seconds_count', { group })).toBe(mine.length);
      expect(value(samples, 'hosted_bots_run_duration_seconds_sum', { group })).toBeCloseTo(mine.reduce((s, r) => s + r.runMs, 0) / 1000, 1);
      const view = views[group];
      expect(value(samples, 'hosted_bots_queue_runs', { group, state: 'queued' })).toBe(view.queued);
      expect(value(samples, 'hosted_bots_queue_runs', { group, state: 'running' })).toBe(view.running);
      for (const state of ['provisioning', 'idle', 'busy', 'failed', 'deleting']) {
        expect([group, state, value(samples, 'hosted_bots_bots', { group, state })]).toEqual([group, state, view.botCounts[state]]);
      }
    }
    expect(value(samples, 'hosted_bots_queue_runs', { group: 'sales', state: 'queued' })).toBe(2);
    // Every ARM call is counted, with its latency, and scale-outs show as scaler actions.
    const calls = value(samples, 'hosted_bots_arm_calls_total');
    expect(calls).toBeGreaterThan(0);
    expect(value(samples, 'hosted_bots_arm_call_seconds_count')).toBe(calls);
    expect(value(samples, 'hosted_bots_arm_calls_total', { operation: 'setCapacity', outcome: 'ok' })).toBeGreaterThan(0);
    const created = value(samples, 'hosted_bots_scaler_actions_total', { action: 'create' });
    const stored = await Promise.all(createBots.mock.results.map((r) => r.value as Promise<unknown[]>));
    createBots.mockRestore();
    expect(created).toBeGreaterThan(0);
    expect(created).toBe(stored.reduce((n, bots) => n + bots.length, 0));
    expect(value(samples, 'hosted_bots_capacity')).toBe(4);
  }, 40_000);

  test('provisioning errors are counted by code', async () => {
    const fresh = await startTestFleet({}, { metricsToken: 'm' });
    try {
      fresh.fleet.sim.injectFault({ operation: 'setCapacity', kind: 'operation-failed', code: 'QuotaExceeded' });
      await fresh.api('POST', '/v1/groups/sales/runs', { flow: 'lead-sync', inputs: { simulateSeconds: 0.05 } });
      const count = async () => {
        const res = await fetch(`${fresh.fleet.url}/metrics`, { headers: { authorization: 'Bearer m' } });
        return value(parse(await res.text()), 'hosted_bots_provisioning_errors_total', { group: 'sales', code: 'QuotaExceeded' });
      };
      await eventually('a QuotaExceeded error counted', async () => (await count()) === 1, 10_000);
      expect((await fresh.api('GET', '/v1/groups/sales')).body.provisioningErrors.filter((e: { code: string }) => e.code === 'QuotaExceeded')).toHaveLength(1);
    } finally {
      await fresh.stop();
    }
  }, 20_000);

  test('without the token: 401; when metrics are off: 404', async () => {
    expect((await scrape('wrong')).status).toBe(401);
    const off = await startTestFleet();
    try {
      expect((await fetch(`${off.fleet.url}/metrics`)).status).toBe(404);
    } finally {
      await off.stop();
    }
  });
});
