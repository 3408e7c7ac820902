/**
 * A crash: the runtime process is killed with SIGKILL in the middle of a burst and restarted on
 * the same SQLite file. Every run ends exactly once, none lost, none completed twice, and the
 * bots are reconciled from arm-sim.
 */
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BotAgent, FlowExecutor, FlowResult, FlowTask } from '../../runtime/agent/agent';
import { SimulatedExecutor } from '../../runtime/agent/simulated-executor';
import type { ArmSim } from '../../runtime/arm-sim';
import { localManifest, randomToken } from '../../runtime/cli/local-fleet';
import { freePort, startRuntimeProcess } from '../../runtime/cli/processes';
import { startSimFleet } from '../../runtime/cli/sim-bots';
import { sha256Hex } from '../../runtime/config/manifest';
import { eventually, runtimeArgs, synthesizedFleetJson } from '../helpers/local-fleet';


/** Counts how many times each run was executed on a bot. */
class CountingExecutor implements FlowExecutor {
  constructor(
    private readonly inner: FlowExecutor,
    private readonly counts: Map<string, number>,
  ) {}
  run(task: FlowTask, signal: AbortSignal): Promise<FlowResult> {
    this.counts.set(task.runId, (this.counts.get(task.runId) ?? 0) + 1);
    return this.inner.run(task, signal);
  }
}

describe('a runtime crash', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crash-'));
  let child: ChildProcess | undefined;
  let sim: ArmSim | undefined;
  const agents: BotAgent[] = [];
  const executions = new Map<string, number>();

  afterAll(async () => {
    child?.kill('SIGKILL');
    await sim?.stop();
    await Promise.all(agents.map((a) => a.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('SIGKILL mid-burst and a restart: every run ends exactly once, bots reconciled', async () => {
    const { manifest, botTokens } = localManifest(synthesizedFleetJson(), {
      environment: { botCapacity: 4 },
      scaling: { heartbeatSeconds: 5, idleMinutes: 0.05, bootTimeoutMinutes: 1 },
    });
    const adminToken = randomToken();
    fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(manifest));
    fs.writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify([{ principal: 'ops-admin', sha256: sha256Hex(adminToken) }]));
    const port = await freePort();
    const runtimeUrl = `http://127.0.0.1:${port}`;

    const started = await startSimFleet({
      manifest,
      botTokens,
      runtimeUrl,
      executor: (vm) => new CountingExecutor(new SimulatedExecutor(vm.name), executions),
      claimWaitSeconds: 2,
      retryDelayMs: 100,
      onAgent: (_vm, agent) => agents.push(agent),
    });
    sim = started.sim;
    const { url: armUrl, ca } = started;
    fs.writeFileSync(path.join(dir, 'ca.pem'), ca);

    const start = () =>
      startRuntimeProcess([
        ...runtimeArgs(dir, { store: path.join(dir, 'runtime.db'), port, armUrl }),
        '--tick-seconds', '0.2', '--backoff-seconds', '0.5', '--rate-limit-user', '100000',
      ]);
    const api = async (method: string, route: string, body?: unknown, key?: string) => {
      const res = await fetch(`${runtimeUrl}${route}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return res.json() as Promise<any>;
    };

    child = await start();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const group = i % 3 === 0 ? 'sales' : 'finance';
      const flow = group === 'sales' ? 'lead-sync' : 'invoice-entry';
      ids.push((await api('POST', `/v1/groups/${group}/runs`, { flow, inputs: { simulateSeconds: 0.3 + (i % 4) * 0.2 } }, `burst-${i}`)).id);
    }
    await eventually('some runs done before the crash', async () => {
      const states = await Promise.all(ids.map(async (id) => (await api('GET', `/v1/runs/${id}`)).state));
      return states.filter((s) => s === 'succeeded').length >= 6 && states.some((s) => s === 'running');
    }, 20_000, 50);

    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    await new Promise((r) => setTimeout(r, 300));
    child = await start();

    // Retried submissions after the restart return the same runs.
    const again = await api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, 'burst-1');
    expect(again.id).toBe(ids[1]);

    const runs = await eventually('every run final', async () => {
      const all = await Promise.all(ids.map((id) => api('GET', `/v1/runs/${id}`)));
      return all.every((r) => ['succeeded', 'failed', 'cancelled', 'expired'].includes(r.state)) ? all : undefined;
    }, 40_000, 100);
    expect(runs.map((r) => r.state)).toEqual(ids.map(() => 'succeeded'));
    // Exactly once: each run ran on one bot, once.
    expect(ids.filter((id) => executions.get(id) !== 1)).toEqual([]);
    expect(new Set(runs.map((r) => r.id)).size).toBe(30);

    // Bots reconciled: the store's bots are exactly arm-sim's VMs.
    await eventually('store and arm-sim agree', async () => {
      const groups = await Promise.all(['finance', 'sales'].map((g) => api('GET', `/v1/groups/${g}`)));
      const storeVms = groups.flatMap((g) => g.bots.map((b: { vmName: string }) => b.vmName)).sort();
      const simVms = sim!.vms().map((vm) => vm.name).sort();
      return JSON.stringify(storeVms) === JSON.stringify(simVms);
    }, 20_000);
    expect(sim.stats.maxInstances).toBeLessThanOrEqual(4);
  }, 120_000);
});
