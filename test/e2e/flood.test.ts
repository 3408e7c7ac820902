/**
 * Two user tokens flood one runtime process at their full allowed rate for 20 s, on the heaviest
 * read there is (a group with 100 queued runs of 30 KiB inputs and 20 finished runs of 60 KiB
 * output), while another user enqueues and a monitor polls /healthz. The runtime stays
 * responsive: /healthz p99 under 100 ms, the process under 300 MB, every enqueue answered.
 */
import { testCredential } from '../helpers/credentials';
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { ArmSim, sharedSimCertificate } from '../../runtime/arm-sim';
import { localManifest, randomToken } from '../../runtime/cli/local-fleet';
import { freePort, startRuntimeProcess } from '../../runtime/cli/processes';
import { sha256Hex } from '../../runtime/config/manifest';
import { newId } from '../../runtime/store/ids';
import { SqliteStore } from '../../runtime/store/sqlite';
import { runtimeArgs, synthesizedFleetJson, USERS } from '../helpers/local-fleet';

const FLOOD_MS = 20_000;
const CONNECTIONS_PER_TOKEN = 6;

function request(port: number, agent: http.Agent, method: string, route: string, token?: string, body?: unknown): Promise<{ status: number; ms: number; bytes: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port, method, path: route, agent, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) } },
      (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, bytes }));
      },
    );
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started, bytes: 0 }));
    req.end(payload);
  });
}

/** The resident set of a process, from /proc. */
function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];

describe('a flood from two user tokens', () => {
  let runtime: ChildProcess | undefined;
  let sim: ArmSim | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flood-'));
  afterAll(async () => {
    runtime?.kill('SIGKILL');
    await sim?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('leaves /healthz under 100 ms p99, the process under 300 MB, and other users served', async () => {
    const { manifest } = localManifest(synthesizedFleetJson());
    const tokens = Object.fromEntries(Object.values(USERS).map((u) => [u, randomToken()]));
    fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(manifest));
    fs.writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify(Object.entries(tokens).map(([principal, token]) => ({ principal, sha256: sha256Hex(token) }))));

    // The heaviest group there can be, written before the runtime starts.
    const db = path.join(dir, 'runtime.db');
    const store = new SqliteStore({ file: db });
    const t0 = Date.now();
    await store.syncGroups(manifest.groups.map((g) => ({ name: g.name, vmss: g.vmss })), t0);
    const caps = { maxBots: 3, capacity: 4 };
    await store.bindVms('finance', [{ name: 'vm-setup' }], 'image', caps, t0);
    await store.register('finance', { vmName: 'vm-setup' }, t0, testCredential());
    const [bot] = await store.bots('finance');
    for (let i = 0; i < 20; i++) {
      await store.enqueue({ id: newId('run'), group: 'finance', flow: 'invoice-entry', inputs: {}, priority: 'normal', createdBy: USERS.financeClerk, timeoutMinutes: 30, now: t0 + i });
      const claimed = await store.claim({ botId: bot.id, group: 'finance', now: t0 + i, enabled: true });
      if (claimed.kind !== 'claimed') throw new Error(`setup could not claim: ${claimed.kind}`);
      await store.complete({ botId: bot.id, runId: claimed.run.id, attempt: 1, status: 'succeeded', exitCode: 0, output: 'o'.repeat(60_000), now: t0 + i + 1 });
    }
    await store.markDeleting([bot.id], ['idle'], t0 + 30);
    await store.markDeleted([bot.id], t0 + 31, { finance: 3 });
    await store.setPaused('finance', true, t0 + 32, { id: USERS.admin, via: 'api' });
    for (let i = 0; i < 100; i++) {
      await store.enqueue({ id: newId('run'), group: 'finance', flow: 'invoice-entry', inputs: { blob: 'i'.repeat(30_000) }, priority: 'normal', createdBy: USERS.financeClerk, timeoutMinutes: 30, now: t0 + 100 + i });
    }
    await store.close();

    sim = new ArmSim({ bootSeconds: 3600 });
    for (const g of manifest.groups) sim.addScaleSet(g.vmss);
    const { url: armUrl } = await sim.start();
    fs.writeFileSync(path.join(dir, 'ca.pem'), (await sharedSimCertificate()).cert);
    const port = await freePort();
    runtime = await startRuntimeProcess([
      ...runtimeArgs(dir, { store: db, port, armUrl }),
    ]);
    const pid = runtime.pid!;

    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const deadline = Date.now() + FLOOD_MS;
    const answered = new Map<number, number>();
    let largest = 0;
    const flooders = [USERS.financeClerk, USERS.financeLead].flatMap((who) =>
      Array.from({ length: CONNECTIONS_PER_TOKEN }, async () => {
        while (Date.now() < deadline) {
          const r = await request(port, agent, 'GET', '/v1/groups/finance', tokens[who]);
          answered.set(r.status, (answered.get(r.status) ?? 0) + 1);
          largest = Math.max(largest, r.bytes);
        }
      }),
    );
    const health: number[] = [];
    const monitor = (async () => {
      while (Date.now() < deadline) {
        const r = await request(port, agent, 'GET', '/healthz');
        if (r.status !== 200) throw new Error(`/healthz answered ${r.status}`);
        health.push(r.ms);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const enqueues: number[] = [];
    const other = (async () => {
      while (Date.now() < deadline) {
        enqueues.push((await request(port, agent, 'POST', '/v1/groups/finance/runs', tokens[USERS.admin], { flow: 'invoice-entry' })).status);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(rssMb(pid)), 200);
    await Promise.all([...flooders, monitor, other]);
    clearInterval(sampler);
    agent.destroy();

    const p99 = percentile(health, 99);
    console.log(
      `flood: ${[...answered].map(([s, n]) => `${n}×${s}`).join(', ')}; largest answer ${largest} bytes; /healthz p50 ${percentile(health, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms over ${health.length}; peak RSS ${Math.max(...rss).toFixed(0)} MB; other user's enqueues ${enqueues.length}`,
    );
    expect(answered.get(200) ?? 0).toBeGreaterThan(0);
    expect(answered.get(429) ?? 0).toBeGreaterThan(0);
    expect(health.length).toBeGreaterThan(200);
    expect(p99).toBeLessThan(100);
    expect(Math.max(...rss)).toBeLessThan(300);
    expect(enqueues.length).toBeGreaterThan(20);
    expect(enqueues.every((s) => s === 202)).toBe(true);
  }, 90_000);
});
