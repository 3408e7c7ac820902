/**
 * bench/soak: 10,000 runs across 3 groups, with bot agents killed at random, 10% of ARM calls
 * failing, and the runtime killed with SIGKILL three times and restarted, on SQLite and, when a
 * PostgreSQL URL is given, on PostgreSQL. It reports runs submitted, succeeded, failed (by
 * reason), lost and duplicated, and the most instances at once. Lost and duplicated must be 0,
 * and the maximum within the caps; the script exits non-zero otherwise.
 *
 *   npm run build && node dist/bench/soak.js [--runs 10000] [--pg postgresql://postgres@127.0.0.1:5432/test]
 *   (BOTS_TEST_PG_URL works in place of --pg)
 */
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformVariable } from 'cdktf';
import { Client } from 'pg';
import { HostedBotsStack } from '../stacks';
import { HttpClient } from '../runtime/agent/http-client';
import { sharedSimCertificate } from '../runtime/arm-sim';
import { localManifest, randomToken } from '../runtime/cli/local-fleet';
import { freePort, startRuntimeProcess } from '../runtime/cli/processes';
import { startSimFleet } from '../runtime/cli/sim-bots';
import { sha256Hex } from '../runtime/config/manifest';
import { machine, table, writeSection } from './report';

const CAPACITY = 10;
const MAX_BOTS = 5;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** A three-group fleet, synthesized for real. */
function synthesizeFleet(dir: string): unknown {
  const app = new App({ outdir: dir, stackTraces: false });
  const stack = new HostedBotsStack(app, 'soak', { geography: 'Europe', environment: { name: 'soak', botCapacity: CAPACITY, admins: ['ops-admin'] } });
  const password = new TerraformVariable(stack, 'bot_admin_password', { type: 'string', sensitive: true }).stringValue;
  for (const [name, committed] of [['finance', 2], ['sales', 0], ['hr', 0]] as const) {
    stack.environment.addGroup(name, {
      name,
      maxBots: MAX_BOTS,
      committedBots: committed,
      adminUsername: 'botadmin',
      adminPassword: password,
      flows: { work: { command: 'work.cmd', timeoutMinutes: 5 } },
      // One token plays every user here, and keeps up to 300 runs queued.
      queue: { maxQueuedPerUser: 1000 },
    });
  }
  app.synth();
  return JSON.parse(fs.readFileSync(path.join(dir, 'stacks', 'soak', 'fleet.json'), 'utf8'));
}

interface SoakResult {
  store: string;
  submitted: number;
  succeeded: number;
  failed: Record<string, number>;
  other: Record<string, number>;
  lost: number;
  duplicated: number;
  maxInstances: number;
  agentsKilled: number;
  runtimeKills: number;
  armFailures: number;
  armCalls: number;
  seconds: number;
}

async function soak(storeName: 'sqlite' | 'postgres', runs: number, pgUrl?: string): Promise<SoakResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `soak-${storeName}-`));
  const raw = synthesizeFleet(path.join(dir, 'cdktf.out'));
  const { manifest, botTokens } = localManifest(raw, {
    scaling: { heartbeatSeconds: 1, idleMinutes: 0.1, bootTimeoutMinutes: 0.5, maxAttempts: 10, queueTimeoutHours: 6 },
  });
  const admin = randomToken();
  fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(manifest));
  fs.writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify([{ principal: 'ops-admin', sha256: sha256Hex(admin) }]));

  const schema = `hb_soak_${Date.now().toString(36)}`;
  const reports = new Map<string, number>();
  let agentsKilled = 0;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { sim, url: armUrl } = await startSimFleet({
    manifest,
    botTokens,
    runtimeUrl: url,
    claimWaitSeconds: 5,
    retryDelayMs: 200,
    onReport: (runId, outcome) => {
      if (outcome === 'completed') reports.set(runId, (reports.get(runId) ?? 0) + 1);
    },
  });
  fs.writeFileSync(path.join(dir, 'ca.pem'), (await sharedSimCertificate()).cert);
  sim.setFailureRate(0.1);

  const store = storeName === 'sqlite' ? ['--store', path.join(dir, 'runtime.db')] : ['--store', pgUrl!, '--store-schema', schema];
  let runtime: ChildProcess | undefined;
  const start = async () => {
    runtime = await startRuntimeProcess([
      '--manifest', path.join(dir, 'fleet.json'), ...store, '--port', String(port), '--host', '127.0.0.1',
      '--tokens-file', path.join(dir, 'tokens.json'), '--arm-endpoint', armUrl, '--arm-ca', path.join(dir, 'ca.pem'),
      '--tick-seconds', '0.5', '--backoff-seconds', '0.5', '--rate-limit-user', '1000000', '--rate-limit-bot', '1000000',
      // Seconds-long heartbeats and boot time-outs, below what a deployed manifest may set.
      '--compressed-time',
    ]);
  };
  await start();
  const client = new HttpClient(url);
  const call = async (method: string, route: string, body?: unknown, headers: Record<string, string> = {}) => {
    for (;;) {
      try {
        const res = await client.request(method, route, body, { authorization: `Bearer ${admin}`, ...headers });
        if (res.status < 500) return { status: res.status, body: res.text ? JSON.parse(res.text) : undefined };
      } catch {
        // The runtime is being restarted: try again.
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const started = Date.now();
  const ids = new Map<string, string>();
  const groups = ['finance', 'sales', 'hr'];
  let runtimeKills = 0;
  const killAt = new Set([Math.floor(runs * 0.25), Math.floor(runs * 0.5), Math.floor(runs * 0.75)]);
  let restarting: Promise<void> | undefined;
  const chaos = setInterval(() => {
    const busy = sim.vms().filter((vm) => vm.agentRunning);
    if (busy.length > 0 && Math.random() < 0.5) {
      void sim.killAgent(busy[Math.floor(Math.random() * busy.length)].name);
      agentsKilled++;
    }
  }, 1000);

  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < runs) {
        const i = next++;
        if (killAt.has(i) && runtime) {
          runtime.kill('SIGKILL');
          runtimeKills++;
          restarting = new Promise((r) => setTimeout(r, 500)).then(start);
        }
        if (restarting) await restarting.catch(() => undefined);
        const key = `soak-${i}`;
        const group = groups[i % groups.length];
        const res = await call('POST', `/v1/groups/${group}/runs`, { flow: 'work', inputs: { simulateSeconds: 0.05 + (i % 5) * 0.05 } }, { 'idempotency-key': key });
        if (res.status !== 202) throw new Error(`enqueue ${key} answered ${res.status}: ${JSON.stringify(res.body)}`);
        ids.set(key, res.body.id);
        // Keep the queue from running away: the fleet works off about 40 runs a second.
        if (i % 50 === 0) {
          for (;;) {
            const all = (await call('GET', '/v1/groups')).body.groups as Array<{ queued: number }>;
            if (all.reduce((s, g) => s + g.queued, 0) < 300) break;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
        if (i % 1000 === 0) process.stdout.write(`  ${storeName}: ${i}/${runs} submitted\n`);
      }
    }),
  );
  clearInterval(chaos);

  // Wait for every run to end.
  const finals = new Map<string, { state: string; errorCode?: string }>();
  const deadline = Date.now() + 10 * 60_000;
  while (finals.size < ids.size && Date.now() < deadline) {
    for (const [key, id] of ids) {
      if (finals.has(key)) continue;
      const res = await call('GET', `/v1/runs/${id}`);
      if (res.status === 200 && ['succeeded', 'failed', 'cancelled', 'expired'].includes(res.body.state)) finals.set(key, { state: res.body.state, errorCode: res.body.result?.errorCode ?? undefined });
    }
    if (finals.size < ids.size) await new Promise((r) => setTimeout(r, 1000));
  }

  const failed: Record<string, number> = {};
  const other: Record<string, number> = {};
  let succeeded = 0;
  for (const f of finals.values()) {
    if (f.state === 'succeeded') succeeded++;
    else if (f.state === 'failed') failed[f.errorCode ?? 'unknown'] = (failed[f.errorCode ?? 'unknown'] ?? 0) + 1;
    else other[f.state] = (other[f.state] ?? 0) + 1;
  }
  const result: SoakResult = {
    store: storeName,
    submitted: runs,
    succeeded,
    failed,
    other,
    lost: runs - finals.size,
    duplicated: [...reports.values()].filter((n) => n > 1).length + (ids.size - new Set(ids.values()).size),
    maxInstances: sim.stats.maxInstances,
    agentsKilled,
    runtimeKills,
    armFailures: Object.values(sim.randomFailures).reduce((a, b) => a + b, 0),
    // The calls arm-sim may fail: scale-out, scale-in and listing (not operation polls).
    armCalls: sim.stats.calls.setCapacity + sim.stats.calls.deleteInstances + sim.stats.calls.listInstances,
    seconds: (Date.now() - started) / 1000,
  };

  // Wait for the runtime to exit: its last transactions must not race the schema's drop below.
  if (runtime && runtime.exitCode === null) {
    const exited = new Promise((resolve) => runtime!.once('exit', resolve));
    runtime.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  }
  client.close();
  await sim.stop();
  if (storeName === 'postgres') {
    const pg = new Client({ connectionString: pgUrl });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pg.end();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

async function main(): Promise<void> {
  const runs = Number(arg('runs') ?? 10_000);
  const pgUrl = arg('pg') ?? process.env.BOTS_TEST_PG_URL;
  const results: SoakResult[] = [];
  const stores: Array<'sqlite' | 'postgres'> = pgUrl ? ['sqlite', 'postgres'] : ['sqlite'];
  for (const store of stores) {
    process.stdout.write(`soak on ${store} ...\n`);
    results.push(await soak(store, runs, pgUrl));
    process.stdout.write(`${JSON.stringify(results[results.length - 1])}\n`);
  }
  const fmt = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ') || '0';
  const body = [
    '## Soak: crashes and faults',
    '',
    `Command: \`npm run build && node dist/bench/soak.js --runs ${runs}${pgUrl ? ' --pg <url>' : ''}\``,
    `Machine: ${machine()}`,
    '',
    `${runs} runs over 3 groups (capacity ${CAPACITY}, maxBots ${MAX_BOTS} each, finance with 2 committed bots), submitted with idempotency keys by 8 clients. ` +
      'Every second a running bot agent is killed with probability 0.5; arm-sim fails 10% of ARM calls (429, 500, or a long-running operation ending Failed); the runtime process is killed with SIGKILL at 25%, 50% and 75% of the submissions and restarted on the same store. Runs may be tried 10 times (maxAttempts).',
    '',
    table(
      ['store', 'submitted', 'succeeded', 'failed (by reason)', 'other', 'lost', 'duplicated', 'most instances at once', 'agents killed', 'runtime kills', 'ARM calls failed (of scale-out, scale-in, list)', 'seconds'],
      results.map((r) => [r.store, r.submitted, r.succeeded, fmt(r.failed), fmt(r.other), r.lost, r.duplicated, `${r.maxInstances} (cap ${CAPACITY})`, r.agentsKilled, r.runtimeKills, `${r.armFailures} of ${r.armCalls}`, r.seconds.toFixed(0)]),
    ),
    '',
    '"Lost" counts submitted runs that never reached a final state; "duplicated" counts runs whose completion the runtime recorded more than once, or one key that made two runs.',
  ].join('\n');
  writeSection('soak', body);
  process.stdout.write(`${body}\n`);
  const bad = results.filter((r) => r.lost > 0 || r.duplicated > 0 || r.maxInstances > CAPACITY);
  if (bad.length) {
    process.stderr.write(`soak failed: ${bad.map((r) => `${r.store}: lost ${r.lost}, duplicated ${r.duplicated}, max ${r.maxInstances}`).join('; ')}\n`);
    process.exit(1);
  }
}

main().catch((err) => {
  process.stderr.write(`bench/soak failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
