/**
 * Two runtime replicas on one PostgreSQL, behind a round-robin proxy, against one arm-sim, under
 * a burst of runs: no run is claimed twice, exactly one replica scales, arm-sim stays within the
 * caps, and when the leader is killed with SIGKILL the other takes over within the lease time.
 */
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';
import { FlowExecutor, FlowResult, FlowTask } from '../../runtime/agent/agent';
import { SimulatedExecutor } from '../../runtime/agent/simulated-executor';
import { ArmSim, sharedSimCertificate } from '../../runtime/arm-sim';
import { localManifest, randomToken } from '../../runtime/cli/local-fleet';
import { freePort, startRuntimeProcess } from '../../runtime/cli/processes';
import { startSimFleet } from '../../runtime/cli/sim-bots';
import { sha256Hex } from '../../runtime/config/manifest';
import { eventually, runtimeArgs, synthesizedFleetJson } from '../helpers/local-fleet';
import { ReplicaProxy, startProxy } from '../helpers/proxy';

const PG_URL = process.env.BOTS_TEST_PG_URL;
const describePg = PG_URL ? describe : describe.skip;
if (!PG_URL) {
  if (process.env.CI === 'true') throw new Error('BOTS_TEST_PG_URL is not set: the two-replica test needs PostgreSQL (.ci/run sets it)');
  console.warn('two-replica test skipped: set BOTS_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test to run it');
}

class CountingExecutor implements FlowExecutor {
  constructor(private readonly inner: FlowExecutor, private readonly counts: Map<string, number>) {}
  run(task: FlowTask, signal: AbortSignal): Promise<FlowResult> {
    this.counts.set(task.runId, (this.counts.get(task.runId) ?? 0) + 1);
    return this.inner.run(task, signal);
  }
}

describePg('two replicas on one PostgreSQL', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicas-'));
  const schema = `hb_replicas_${randomToken().replace(/[^a-z0-9]/gi, '').slice(0, 10).toLowerCase()}`;
  const replicas: Array<{ name: string; port: number; proc?: ChildProcess; log: string[] }> = [];
  let sim: ArmSim | undefined;
  let proxy: ReplicaProxy | undefined;
  const agents: Array<{ stop(): Promise<void> }> = [];

  afterAll(async () => {
    for (const r of replicas) r.proc?.kill('SIGKILL');
    await Promise.all(agents.map((a) => a.stop()));
    await sim?.stop();
    await proxy?.close();
    const client = new Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a burst on two replicas, then the leader is killed', async () => {
    const { manifest, botTokens } = localManifest(synthesizedFleetJson(), {
      environment: { botCapacity: 4 },
      scaling: { heartbeatSeconds: 5, idleMinutes: 0.05, bootTimeoutMinutes: 1 },
    });
    const admin = randomToken();
    fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(manifest));
    fs.writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify([{ principal: 'ops-admin', sha256: sha256Hex(admin) }]));
    const executions = new Map<string, number>();

    for (const name of ['replica-a', 'replica-b']) replicas.push({ name, port: await freePort(), log: [] });
    proxy = await startProxy(replicas.map((r) => r.port));
    const started = await startSimFleet({
      manifest,
      botTokens,
      runtimeUrl: proxy.url,
      claimWaitSeconds: 2,
      retryDelayMs: 100,
      executor: (vm) => new CountingExecutor(new SimulatedExecutor(vm.name), executions),
      onAgent: (_vm, agent) => agents.push(agent),
    });
    sim = started.sim;
    const armUrl = started.url;
    fs.writeFileSync(path.join(dir, 'ca.pem'), (await sharedSimCertificate()).cert);

    const start = async (r: (typeof replicas)[number]) => {
      r.proc = await startRuntimeProcess(
        [
          ...runtimeArgs(dir, { store: PG_URL!, port: r.port, armUrl }), '--store-schema', schema,
          '--tick-seconds', '0.5', '--backoff-seconds', '0.5',
          '--holder', r.name, '--lease-seconds', '3', '--rate-limit-user', '100000',
        ],
        { log: (line) => r.log.push(line) },
      );
    };
    for (const r of replicas) await start(r);

    const api = async (method: string, route: string, body?: unknown) => {
      const res = await fetch(`${proxy!.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return res.json() as Promise<any>;
    };
    const leaderOf = async () => {
      const states = await Promise.all(
        replicas.map(async (r) => {
          try {
            return ((await (await fetch(`http://127.0.0.1:${r.port}/healthz`)).json()) as { leader: boolean }).leader;
          } catch {
            return false;
          }
        }),
      );
      return states;
    };

    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const group = i % 2 ? 'sales' : 'finance';
      ids.push((await api('POST', `/v1/groups/${group}/runs`, { flow: group === 'sales' ? 'lead-sync' : 'invoice-entry', inputs: { simulateSeconds: 0.4 } })).id);
    }
    // Both replicas serve: the proxy spread the requests over both.
    expect([...proxy.forwarded.values()].every((n) => n > 5)).toBe(true);
    // Exactly one replica holds the lease and scales.
    const leaders = await eventually('one leader', async () => {
      const l = await leaderOf();
      return l.filter(Boolean).length === 1 ? l : undefined;
    });
    const leader = replicas[leaders.indexOf(true)];
    const follower = replicas[leaders.indexOf(false)];
    await eventually('some runs done', async () => (await Promise.all(ids.map((id) => api('GET', `/v1/runs/${id}`)))).filter((r) => r.state === 'succeeded').length >= 8, 20_000);
    const scaled = (r: (typeof replicas)[number]) => r.log.filter((l) => /"event":"scaler\.scale_(out|in)"/.test(l)).length;
    expect(scaled(leader)).toBeGreaterThan(0);
    expect(scaled(follower)).toBe(0);

    // Kill the leader; the follower takes over within the lease time (3 s) plus a tick.
    leader.proc!.kill('SIGKILL');
    const killedAt = Date.now();
    await eventually('the follower leads', async () => ((await fetch(`http://127.0.0.1:${follower.port}/healthz`).then((r) => r.json())) as { leader: boolean }).leader === true, 10_000);
    const takeover = Date.now() - killedAt;
    expect(takeover).toBeLessThanOrEqual(3000 + 1500);

    // More runs after the failover, so the new leader must scale too.
    for (let i = 0; i < 10; i++) ids.push((await api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.2 } })).id);
    let last: any[] = [];
    let problem = '';
    const runs = await eventually('every run final', async () => {
      const all = await Promise.all(ids.map((id) => api('GET', `/v1/runs/${id}`).catch((e) => { problem = `${id}: ${String(e)} ${String(e?.cause)}`; throw e; })));
      last = all;
      return all.every((r) => ['succeeded', 'failed', 'cancelled', 'expired'].includes(r.state)) ? all : undefined;
    }, 60_000, 200).catch(async (err) => {
      const counts: Record<string, number> = {};
      for (const r of last) counts[r.state] = (counts[r.state] ?? 0) + 1;
      const groups = await Promise.all(['finance', 'sales'].map((g) => api('GET', `/v1/groups/${g}`)));
      throw new Error(`${(err as Error).message} (${problem}): ${JSON.stringify(counts)}; groups ${JSON.stringify(groups.map((g) => ({ name: g.name, bots: g.bots, waiting: g.waitingBecause, errors: g.provisioningErrors?.slice(0, 3) })))}; vms ${JSON.stringify(sim!.vms().map((v) => [v.name, v.provisioningState, v.agentRunning]))}; follower log tail ${follower.log.slice(-15).join('\n')}`);
    });
    expect(runs.filter((r) => r.state !== 'succeeded').map((r) => `${r.id} ${r.state} ${r.result?.errorCode}`)).toEqual([]);
    // No run ran twice: each was claimed by one bot, once (runs on the killed replica's side included).
    expect(ids.filter((id) => (executions.get(id) ?? 0) !== 1)).toEqual([]);
    // The new leader scales: the idle bots are its to delete.
    await eventually('the new leader scales in', () => scaled(follower) > 0, 15_000);
    expect(sim.stats.maxInstances).toBeLessThanOrEqual(4);
    expect(sim.stats.blindScaleIns).toBe(0);
  }, 120_000);
});
