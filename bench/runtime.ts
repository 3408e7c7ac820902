/**
 * bench/runtime: the runtime's hot path over HTTP on SQLite.
 *
 * The runtime runs alone in its own process (`hosted-bots runtime`), as deployed. This process
 * plays arm-sim and the real agents of its simulated bots; the clients that enqueue runs are
 * separate processes (bench/load-client.ts), so that they are not the bottleneck. It measures
 *   1. full enqueue → claim → complete cycles per second (flows that take no time), against
 *   2. the floor: a bare Express 5 app in its own process, loaded by the same client processes;
 *   3. dispatch latency: from sending an enqueue until a bot that was already long-polling
 *      receives the run; and
 *   4. the scale decision delay: from sending an enqueue that needs a new bot until the
 *      scale-out (the capacity PATCH) reaches arm-sim.
 * Writes its section of BENCHMARKS.md.
 *
 *   npm run build && node dist/bench/runtime.js [--runs 3] [--cycles 4000] [--samples 400] [--clients 2] [--delay-samples 10]
 */
import { fork, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'cdktf';
import { BotAgent, FlowExecutor, FlowResult, FlowTask } from '../runtime/agent/agent';
import { HttpClient } from '../runtime/agent/http-client';
import { localManifest, randomToken } from '../runtime/cli/local-fleet';
import { freePort, startRuntimeProcess } from '../runtime/cli/processes';
import { startSimFleet } from '../runtime/cli/sim-bots';
import { sha256Hex } from '../runtime/config/manifest';
import { buildSingleGeo } from '../examples/single-geo/main';
import type { LoadConfig, LoadMessage } from './load-client';
import { machine, median, percentile, table, writeSection } from './report';

const BOTS = 8;
/** Requests in flight at once, across all client processes. */
const CONCURRENCY = 32;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** A flow that takes no time, and notes when each run reached its bot. */
class InstantExecutor implements FlowExecutor {
  constructor(private readonly claimedAt: Map<string, number>) {}
  async run(task: FlowTask): Promise<FlowResult> {
    this.claimedAt.set(task.runId, performance.now());
    return { exitCode: 0, output: '' };
  }
}

async function main(): Promise<void> {
  const runs = arg('runs', 3);
  const cycles = arg('cycles', 4000);
  const samples = arg('samples', 400);
  const clients = arg('clients', 2);
  const delaySamples = arg('delay-samples', 10);
  for (const [name, value, min, max] of [['runs', runs, 1, 50], ['cycles', cycles, 10, 1_000_000], ['samples', samples, 1, 100_000], ['clients', clients, 1, 16], ['delay-samples', delaySamples, 1, 50]] as const) {
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  // The cores are shared: the load at the start says how much of them the figures had.
  const loadAtStart = os.loadavg()[0];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-runtime-'));

  // A manifest from a real synth of the single-geo example, with room for BOTS warm bots.
  const app = new App({ outdir: path.join(dir, 'cdktf.out'), stackTraces: false });
  buildSingleGeo(app);
  app.synth();
  const raw = JSON.parse(fs.readFileSync(path.join(dir, 'cdktf.out/stacks/demo/fleet.json'), 'utf8'));
  const { manifest, botTokens } = localManifest(raw, {
    environment: { botCapacity: BOTS },
    // One token plays 32 clients here: its share of the queue must hold what they keep queued.
    groups: { finance: { maxBots: BOTS, queue: { maxQueuedPerUser: 10_000, highPriority: 'co-owners' } } },
    scaling: { idleMinutes: 60, heartbeatSeconds: 30, bootTimeoutMinutes: 5 },
  });
  const token = randomToken();
  fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(manifest));
  fs.writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify([{ principal: 'ops-admin', sha256: sha256Hex(token) }]));

  const claimedAt = new Map<string, number>();
  const agents: BotAgent[] = [];
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { sim, url: armUrl, ca } = await startSimFleet(
    { manifest, botTokens, runtimeUrl: url, executor: () => new InstantExecutor(claimedAt), onAgent: (_vm, agent) => agents.push(agent) },
    { bootSeconds: 0.2, operationSeconds: 0.05, deleteSeconds: undefined },
  );
  fs.writeFileSync(path.join(dir, 'ca.pem'), ca);

  const runtime = await startRuntimeProcess(
    [
      '--manifest', path.join(dir, 'fleet.json'), '--store', path.join(dir, 'runtime.db'),
      '--port', String(port), '--host', '127.0.0.1', '--tokens-file', path.join(dir, 'tokens.json'),
      '--arm-endpoint', armUrl, '--arm-ca', path.join(dir, 'ca.pem'), '--tick-seconds', '1',
      // The benchmark's clients share one token; lift its rate limit out of the way.
      '--rate-limit-user', '1000000', '--rate-limit-bot', '1000000',
    ],
    { nodeOptions: (process.env.BENCH_RUNTIME_NODE_OPTIONS ?? '').split(' ').filter(Boolean) },
  );

  const client = new HttpClient(url);
  const enqueue = async (): Promise<string> => {
    const res = await client.request('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0 } }, { authorization: `Bearer ${token}` });
    if (res.status !== 202) throw new Error(`enqueue answered ${res.status}: ${res.text}`);
    return (JSON.parse(res.text) as { id: string }).id;
  };
  const waitFor = async (what: string, check: () => boolean, ms = 60_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  try {
    // Warm up: enough runs to bring all bots up, then let them go back to long-polling.
    process.stdout.write('warming up the bots ...\n');
    const warm = await Promise.all(Array.from({ length: BOTS * 4 }, enqueue));
    await waitFor('warm-up runs', () => warm.every((id) => claimedAt.has(id)));
    await waitFor(`${BOTS} bots`, () => agents.length >= BOTS);
    await new Promise((r) => setTimeout(r, 500));

    const throughput: number[] = [];
    const floors: number[] = [];
    for (let r = 0; r < runs; r++) {
      const before = claimedAt.size;
      const load = loadFromProcesses(clients, {
        url,
        method: 'POST',
        path: '/v1/groups/finance/runs',
        body: { flow: 'invoice-entry', inputs: { simulateSeconds: 0 } },
        headers: { authorization: `Bearer ${token}` },
        requests: cycles,
        status: 202,
      });
      const started = await load.go;
      await load.done;
      await waitFor('every run claimed', () => claimedAt.size >= before + cycles, 120_000);
      // Completion follows the claim: wait for the queue and the bots to drain.
      await waitFor('completions', () => agents.every((a) => a.botId !== undefined), 10_000);
      const done = await drained(client, token);
      throughput.push((cycles / (done - started)) * 1000);
      process.stdout.write(`throughput run ${r + 1}/${runs}: ${throughput[r].toFixed(0)} cycles/s\n`);
      // The floor in the same round, so that both see the same machine.
      floors.push(await expressFloor(clients, cycles * 3));
      process.stdout.write(`floor run ${r + 1}/${runs}: ${floors[r].toFixed(0)} requests/s\n`);
    }

    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      const sent = performance.now();
      const id = await enqueue();
      await waitFor('claim', () => claimedAt.has(id), 10_000);
      latencies.push(claimedAt.get(id)! - sent);
      await new Promise((r) => setTimeout(r, 2));
    }
    await drained(client, token);
    client.close();
    const floorCycles = median(floors) / 3;
    const cyclesOverFloor = median(throughput.map((t, i) => t / (floors[i] / 3)));

    process.stdout.write('scale decision delay ...\n');
    const delays = await scaleDecisionDelays(raw, delaySamples);

    const body = [
      '## Runtime: enqueue → claim → complete over HTTP, SQLite',
      '',
      `Command: \`npm run build && node dist/bench/runtime.js --runs ${runs} --cycles ${cycles} --samples ${samples} --clients ${clients} --delay-samples ${delaySamples}\``,
      `Machine: ${machine()}; load average ${loadAtStart.toFixed(1)} when it started (the cores are shared, so absolute figures vary from run to run more than the ratios)`,
      '',
      `The runtime runs alone in its own process (\`hosted-bots runtime\`, SQLite in WAL mode). The benchmark process holds arm-sim and the ${BOTS} bots' real agents (long-polling, flows that take no time); the clients that enqueue runs are ${clients} separate processes with ${CONCURRENCY / clients} requests in flight each (${CONCURRENCY} in all), on keep-alive HTTP connections. A cycle is three HTTP requests: the enqueue, the claim and the completion, each one store transaction.`,
      '',
      `The floor is a bare Express 5 app (parse a JSON body, answer \`{ ok: true }\`) alone in its own process, loaded by the same ${clients} client processes with ${cycles * 3} requests; it is measured right after each runtime run, and the ratio is taken within each round, then the median.`,
      '',
      table(
        ['measure', 'median', 'runs', 'target'],
        [
          ['full cycles per second', `${median(throughput).toFixed(0)} /s`, `${runs} × ${cycles} cycles (${throughput.map((t) => t.toFixed(0)).join(', ')})`, '≥ 1,000 /s'],
          ['bare Express 5, requests per second', `${median(floors).toFixed(0)} /s`, `${runs} × ${cycles * 3} requests (${floors.map((t) => t.toFixed(0)).join(', ')})`, 'the ceiling of any Express app here'],
          ['bare Express 5, 3 requests per cycle', `${floorCycles.toFixed(0)} /s`, 'the row above ÷ 3', ''],
          ['runtime ÷ floor (cycles per second)', `${cyclesOverFloor.toFixed(2)}×`, `${runs} rounds (${throughput.map((t, i) => (t / (floors[i] / 3)).toFixed(2)).join(', ')})`, ''],
          ['dispatch latency p50', `${percentile(latencies, 50).toFixed(1)} ms`, `${samples} runs, one at a time`, '≤ 10 ms'],
          ['dispatch latency p99', `${percentile(latencies, 99).toFixed(1)} ms`, `${samples} runs, one at a time`, '≤ 50 ms'],
          ['scale decision delay, median', `${median(delays).toFixed(0)} ms`, `${delays.length} scale-outs, one at a time (${delays.map((d) => d.toFixed(0)).join(', ')})`, '≤ 1,000 ms'],
          ['scale decision delay, max', `${Math.max(...delays).toFixed(0)} ms`, `${delays.length} scale-outs`, '≤ 1,000 ms'],
        ],
      ),
      '',
      'Dispatch latency is measured from sending the enqueue request until a bot that was already long-polling receives the run: the enqueue round trip, the wake-up of the waiting claim, the claim transaction and its answer.',
      '',
      `The scale decision delay is measured from sending an enqueue that needs a new bot (every bot busy with a run that does not end, none booting, predictive warm-up off) until the scale-out, the PATCH of the scale set's capacity, reaches arm-sim. It runs on a second runtime process with the default 15-second scaler tick, so what it shows is the enqueue triggering a scaler cycle, not the tick. For comparison, an Azure DevOps scale-set agent pool samples its queue every 5 minutes.`,
      '',
      `The runtime reaches ${(cyclesOverFloor * 100).toFixed(0)}% of the cycles per second a bare Express 5 app answering the same requests reaches on this machine, each loaded from separate processes. The 1,000 cycles/s target needs 3,000 requests/s.`,
    ].join('\n');
    writeSection('runtime', body);
    process.stdout.write(`${body}\n`);
  } finally {
    runtime.kill('SIGTERM');
    await Promise.all(agents.map((a) => a.stop()));
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Forks `clients` load-client processes sharing `requests` and CONCURRENCY between them. `go`
 * resolves with the time all were told to start (after every one had started up and was
 * ready), `done` when every one has finished.
 */
function loadFromProcesses(clients: number, config: Omit<LoadConfig, 'kind' | 'requests' | 'concurrency'> & { requests: number }): { go: Promise<number>; done: Promise<void> } {
  const script = path.join(__dirname, 'load-client.js');
  const children = Array.from({ length: clients }, () => fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const messages = children.map(
    (child) =>
      (kind: 'ready' | 'done') =>
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: LoadMessage) => {
            if (m.kind === 'error') reject(new Error(`load client: ${m.message}`));
            else if (m.kind === kind) {
              child.off('message', onMessage);
              resolve();
            }
          };
          child.on('message', onMessage);
          child.once('exit', (code) => reject(new Error(`load client exited with ${code} before "${kind}"`)));
        }),
  );
  const waiting = messages.map((m) => m('ready'));
  children.forEach((child, i) => {
    const share = Math.floor(config.requests / clients) + (i < config.requests % clients ? 1 : 0);
    const message: LoadConfig = { kind: 'config', ...config, requests: share, concurrency: Math.max(1, Math.floor(CONCURRENCY / clients)) };
    child.send(message);
  });
  const go = Promise.all(waiting).then(() => {
    const finished = messages.map((m) => m('done'));
    const started = performance.now();
    for (const child of children) child.send({ kind: 'go' });
    done = Promise.all(finished).then(() => undefined);
    return started;
  });
  let done: Promise<void> = Promise.resolve();
  return { go, done: go.then(() => done) };
}

/** Requests per second a bare Express 5 app, alone in its process, answers to the client processes. */
async function expressFloor(clients: number, requests: number): Promise<number> {
  const server = spawn(process.execPath, [path.join(__dirname, 'express-floor.js')], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const port = await new Promise<number>((resolve) => server.stdout!.once('data', (c: Buffer) => resolve(JSON.parse(c.toString()).port)));
    const load = loadFromProcesses(clients, {
      url: `http://127.0.0.1:${port}`,
      method: 'POST',
      path: '/echo',
      body: { botId: 'bot_x', attempt: 1 },
      headers: { authorization: 'Bearer x' },
      requests,
      status: 200,
    });
    const started = await load.go;
    await load.done;
    return (requests / (performance.now() - started)) * 1000;
  } finally {
    server.kill();
  }
}

/** A flow that holds its bot until released, so that every next enqueue needs a new bot. */
class HoldingExecutor implements FlowExecutor {
  constructor(
    private readonly claimedAt: Map<string, number>,
    private readonly held: Array<() => void>,
  ) {}
  run(task: FlowTask): Promise<FlowResult> {
    this.claimedAt.set(task.runId, performance.now());
    return new Promise((resolve) => this.held.push(() => resolve({ exitCode: 0, output: '' })));
  }
}

/**
 * Milliseconds from sending an enqueue that needs a new bot until the capacity PATCH reaches
 * arm-sim, `samples` times, on a runtime process of its own (default tick, predictive off).
 */
async function scaleDecisionDelays(raw: unknown, samples: number): Promise<number[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-scale-delay-'));
  const { manifest, botTokens } = localManifest(raw, {
    environment: { botCapacity: samples + 1 },
    groups: { finance: { maxBots: samples + 1 } },
    scaling: { idleMinutes: 60, standbyBots: 0, predictive: false, heartbeatSeconds: 30, bootTimeoutMinutes: 5 },
  });
  const finance = manifest.groups.find((g) => g.name === 'finance')!;
  const token = randomToken();
  fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(manifest));
  fs.writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify([{ principal: 'ops-admin', sha256: sha256Hex(token) }]));
  const claimedAt = new Map<string, number>();
  const held: Array<() => void> = [];
  const agents: BotAgent[] = [];
  // Each capacity PATCH on finance's scale set as it reaches arm-sim: when, and to what capacity.
  const patches: Array<{ at: number; capacity: number }> = [];
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { sim, url: armUrl, ca } = await startSimFleet(
    { manifest, botTokens, runtimeUrl: url, executor: () => new HoldingExecutor(claimedAt, held), onAgent: (_vm, agent) => agents.push(agent) },
    {
      bootSeconds: 0.2,
      operationSeconds: 0.05,
      deleteSeconds: undefined,
      log: (line) => {
        const at = performance.now();
        const match = /^PATCH \S*\/virtualMachineScaleSets\/([^/?\s]+)\S* -> 2\d\d .*"capacity":(\d+)/.exec(line);
        if (match && match[1] === finance.vmss.name) patches.push({ at, capacity: Number(match[2]) });
      },
    },
  );
  fs.writeFileSync(path.join(dir, 'ca.pem'), ca);
  const runtime = await startRuntimeProcess([
    '--manifest', path.join(dir, 'fleet.json'), '--store', path.join(dir, 'runtime.db'),
    '--port', String(port), '--host', '127.0.0.1', '--tokens-file', path.join(dir, 'tokens.json'),
    '--arm-endpoint', armUrl, '--arm-ca', path.join(dir, 'ca.pem'),
  ]);
  const client = new HttpClient(url);
  const waitFor = async (what: string, check: () => boolean, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`scale decision delay: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  const delays: number[] = [];
  try {
    for (let i = 1; i <= samples; i++) {
      const sent = performance.now();
      const res = await client.request('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0 } }, { authorization: `Bearer ${token}` });
      if (res.status !== 202) throw new Error(`enqueue answered ${res.status}: ${res.text}`);
      const id = (JSON.parse(res.text) as { id: string }).id;
      await waitFor(`a scale-out to ${i} bots`, () => patches.some((p) => p.at >= sent && p.capacity >= i));
      delays.push(patches.find((p) => p.at >= sent && p.capacity >= i)!.at - sent);
      // The new bot takes the run and keeps it, so the next enqueue needs another bot.
      await waitFor(`run ${i} claimed`, () => claimedAt.has(id));
      await new Promise((r) => setTimeout(r, 300));
      process.stdout.write(`scale decision delay ${i}/${samples}: ${delays[i - 1].toFixed(0)} ms\n`);
    }
    return delays;
  } finally {
    client.close();
    held.forEach((release) => release());
    runtime.kill('SIGTERM');
    await Promise.all(agents.map((a) => a.stop()));
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits until no run is queued or running, and returns the time it saw that. */
async function drained(client: HttpClient, token: string): Promise<number> {
  for (;;) {
    const res = await client.request('GET', '/v1/groups', undefined, { authorization: `Bearer ${token}` });
    const group = (JSON.parse(res.text) as { groups: Array<{ name: string; queued: number; running: number }> }).groups.find((g) => g.name === 'finance')!;
    if (group.queued === 0 && group.running === 0) return performance.now();
    await new Promise((r) => setTimeout(r, 100));
  }
}

main().catch((err) => {
  console.error(`bench/runtime failed: ${(err as Error).message}`);
  process.exit(1);
});
