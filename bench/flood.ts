/**
 * bench/flood: what strangers and plain users can cost everyone else. The runtime runs alone in
 * its own process on SQLite, as deployed, with a group of 40,000 finished runs (about 2 KB of
 * inputs each) started by 8 plain users. Load comes from separate client processes; this process
 * asks for /healthz every 20 ms and times the answers. Scenarios, each for `--seconds`:
 *   1. idle: /healthz alone;
 *   2. strangers: 16 connections sending sign-ins with a 15 KB crafted Origin header, back to back,
 *      from one address, then from a new address each request (X-Forwarded-For, one proxy hop
 *      believed, as behind App Service's front end), so that every one reaches the Origin check;
 *   3. history: the 8 users paging through their history, 100 runs a page, back to back;
 *   4. filtered history: the same with `state=failed,expired`, which few runs match;
 * and first, 2,000 requests without a valid credential (bad sign-ins, bad bearer tokens, bad
 * JSON), counting the log lines they cause. With `--baseline <main.js>` (another build's
 * dist/runtime/cli/main.js) every scenario runs on that build too, in the same run, for a ratio.
 * Writes its section of BENCHMARKS.md.
 *
 *   npm run build && node dist/bench/flood.js [--seconds 15] [--runs 40000] [--baseline <main.js> [--baseline-label <name>]]
 */
import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { App } from 'cdktf';
import { ArmSim, sharedSimCertificate } from '../runtime/arm-sim';
import { randomToken } from '../runtime/cli/local-fleet';
import { freePort, startRuntimeProcess } from '../runtime/cli/processes';
import { sha256Hex } from '../runtime/config/manifest';
import { machine, percentile, table, writeSection } from './report';

const USERS = Array.from({ length: 8 }, (_, i) => `clerk-${i + 1}`);
const STRANGER_CONNECTIONS = 16;
const CRAFTED_ORIGIN = `https://${'a'.repeat(15_000)}`;
const BAD_REQUESTS = 2000;
const HEALTH_EVERY_MS = 20;

interface ClientConfig {
  readonly port: number;
  readonly kind: 'stranger' | 'history';
  /** stranger: each request from a new address (X-Forwarded-For, which the runtime believes for one proxy hop) */
  readonly spread?: boolean;
  readonly seconds: number;
  /** history: one connection per token */
  readonly tokens?: readonly string[];
  readonly filter?: string;
}

interface ClientReport {
  readonly statuses: Record<string, number>;
}

function arg(name: string, fallback: string | undefined): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function request(port: number, agent: http.Agent, method: string, route: string, headers: http.OutgoingHttpHeaders = {}, body?: string): Promise<{ status: number; ms: number; text: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: route, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, text }));
    });
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started, text: '' }));
    req.end(body);
  });
}

/** A client process: sends its load until its time is up, then reports the answers' statuses. */
async function client(config: ClientConfig): Promise<void> {
  const deadline = Date.now() + config.seconds * 1000;
  const statuses: Record<string, number> = {};
  const count = (status: number) => (statuses[status] = (statuses[status] ?? 0) + 1);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const loops: Promise<void>[] = [];
  if (config.kind === 'stranger') {
    for (let c = 0; c < STRANGER_CONNECTIONS; c++) {
      loops.push(
        (async () => {
          for (let i = 0; Date.now() < deadline; i++) {
            const body = `token=guess-${c}-${i}`;
            const from = config.spread ? { 'x-forwarded-for': `10.${c}.${(i >> 8) & 255}.${i & 255}` } : {};
            const r = await request(config.port, agent, 'POST', '/signin', { origin: CRAFTED_ORIGIN, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...from }, body);
            count(r.status);
          }
        })(),
      );
    }
  } else {
    for (const token of config.tokens ?? []) {
      loops.push(
        (async () => {
          let before: string | null = null;
          while (Date.now() < deadline) {
            const query = `limit=100${config.filter ? `&${config.filter}` : ''}${before ? `&before=${before}` : ''}`;
            const r = await request(config.port, agent, 'GET', `/v1/groups/finance/runs?${query}`, { authorization: `Bearer ${token}` });
            count(r.status);
            // An abusive client ignores Retry-After; at the end of the history it starts again.
            before = r.status === 200 ? (JSON.parse(r.text) as { next: string | null }).next : before;
          }
        })(),
      );
    }
  }
  await Promise.all(loops);
  agent.destroy();
  process.send!({ statuses } satisfies ClientReport);
}

/** Runs a client process and resolves with its report. */
function runClient(config: ClientConfig): Promise<ClientReport> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(__filename, ['--client', JSON.stringify(config)], { stdio: 'inherit' });
    child.once('message', (m) => resolve(m as ClientReport));
    child.once('exit', (code) => code !== 0 && reject(new Error(`flood client exited with code ${code}`)));
  });
}

/** /healthz every 20 ms until `until` resolves: the answers' times in ms. */
async function watchHealth(port: number, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.then(() => (done = true));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  while (!done) {
    const r = await request(port, agent, 'GET', '/healthz');
    if (r.status !== 200) throw new Error(`/healthz answered ${r.status}`);
    times.push(r.ms);
    await new Promise((resolve) => setTimeout(resolve, HEALTH_EVERY_MS));
  }
  agent.destroy();
  return times;
}

/** Writes a store of `runs` finished runs with the migrations of the build in `dist`, before its runtime starts. */
async function seed(dist: string, file: string, manifest: { groups: ReadonlyArray<{ name: string; vmss: unknown }> }, runs: number): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SqliteStore } = require(path.join(dist, 'runtime', 'store', 'sqlite.js'));
  const store = new SqliteStore({ file });
  await store.syncGroups(manifest.groups.map((g) => ({ name: g.name, vmss: g.vmss })), Date.now());
  await store.close();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Database = require('better-sqlite3');
  const db = new Database(file);
  const insert = db.prepare(
    `INSERT INTO runs (id, grp, flow, inputs, priority, state, attempts, created_by, timeout_minutes, enqueued_at, queued_at, started_at, finished_at, exit_code)
     VALUES (?, 'finance', 'invoice-entry', ?, 'normal', ?, 1, ?, 30, ?, ?, ?, ?, ?)`,
  );
  const t0 = Date.now() - runs * 60_000;
  db.transaction(() => {
    for (let i = 0; i < runs; i++) {
      const at = t0 + i * 60_000;
      const failed = i % 100 === 7;
      const inputs = JSON.stringify({ invoice: `INV-${i}`, lines: 'x'.repeat(2000) });
      insert.run(`run_${i.toString(16).padStart(24, '0')}`, inputs, failed ? 'failed' : 'succeeded', USERS[i % USERS.length], at, at, at + 1000, at + 30_000, failed ? 1 : 0);
    }
  })();
  db.close();
}

interface Scenario {
  readonly name: string;
  readonly load?: (port: number, tokens: Record<string, string>, seconds: number) => Promise<ClientReport[]>;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'idle' },
  { name: `${STRANGER_CONNECTIONS} strangers, 15 KB Origin, one address`, load: async (port, _tokens, seconds) => [await runClient({ port, kind: 'stranger', seconds })] },
  {
    name: `${STRANGER_CONNECTIONS} strangers, 15 KB Origin, a new address each request`,
    load: async (port, _tokens, seconds) => [await runClient({ port, kind: 'stranger', seconds, spread: true })],
  },
  { name: `${USERS.length} users paging their history`, load: async (port, tokens, seconds) => [await runClient({ port, kind: 'history', seconds, tokens: USERS.map((u) => tokens[u]) })] },
  {
    name: `${USERS.length} users paging it with state=failed,expired`,
    load: async (port, tokens, seconds) => [await runClient({ port, kind: 'history', seconds, tokens: USERS.map((u) => tokens[u]), filter: 'state=failed,expired' })],
  },
];

/** 2,000 requests without a valid credential, 8 at a time: bad sign-ins of three kinds, bad bearer tokens and bad JSON. */
async function badRequests(port: number, url: string): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const kinds: Array<() => Promise<unknown>> = [
    () => request(port, agent, 'POST', '/signin', { ...form, origin: CRAFTED_ORIGIN }, 'token=guess'),
    () => request(port, agent, 'POST', '/signin', { ...form, origin: url }, `token=guess-${Math.random()}`),
    () => request(port, agent, 'GET', '/v1/groups', { authorization: 'Bearer not-a-token' }),
    () => request(port, agent, 'POST', '/v1/groups/finance/runs', { 'content-type': 'application/json' }, '{"flow": broken'),
  ];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < BAD_REQUESTS) {
        const i = next++;
        await kinds[i % kinds.length]();
      }
    }),
  );
  agent.destroy();
}

interface BuildResult {
  readonly rows: Array<{ scenario: string; answered: string; p50: number; p99: number; max: number; samples: number }>;
  readonly logLines: number;
  readonly refusalsCounted: string;
}

async function measureBuild(label: string, cli: string | undefined, dist: string, seconds: number, runs: number): Promise<BuildResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-flood-'));
  // The fleet is synthesized by the build measured, so its manifest is one that build's runtime
  // reads (a later build's manifest may carry keys an earlier runtime refuses).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildSingleGeo } = require(path.join(dist, 'examples', 'single-geo', 'main.js')) as { buildSingleGeo: (app: App) => void };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { localManifest } = require(path.join(dist, 'runtime', 'cli', 'local-fleet.js')) as typeof import('../runtime/cli/local-fleet');
  const app = new App({ outdir: path.join(dir, 'cdktf.out'), stackTraces: false });
  buildSingleGeo(app);
  app.synth();
  const raw = JSON.parse(fs.readFileSync(path.join(dir, 'cdktf.out/stacks/demo/fleet.json'), 'utf8'));
  const { manifest } = localManifest(raw, { groups: { finance: { access: { users: USERS, coOwners: ['finance-lead'] } } } });
  fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(manifest));
  const tokens = Object.fromEntries([...USERS, 'finance-lead'].map((u) => [u, randomToken()]));
  fs.writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify(Object.entries(tokens).map(([principal, token]) => ({ principal, sha256: sha256Hex(token) }))));
  const db = path.join(dir, 'runtime.db');
  console.log(`[${label}] writing ${runs} finished runs`);
  await seed(dist, db, manifest, runs);

  const sim = new ArmSim({ bootSeconds: 3600 });
  for (const g of manifest.groups) sim.addScaleSet(g.vmss);
  const { url: armUrl } = await sim.start();
  fs.writeFileSync(path.join(dir, 'ca.pem'), (await sharedSimCertificate()).cert);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const metricsToken = randomToken();
  let logLines = 0;
  const runtime = await startRuntimeProcess(
    [
      '--manifest', path.join(dir, 'fleet.json'), '--store', db, '--port', String(port), '--host', '127.0.0.1',
      '--tokens-file', path.join(dir, 'tokens.json'), '--arm-endpoint', armUrl, '--arm-ca', path.join(dir, 'ca.pem'),
      '--log-level', 'info', '--metrics-token', metricsToken, '--trust-proxy', '1',
    ],
    { cli, log: () => (logLines += 1) },
  );
  const rows: BuildResult['rows'] = [];
  try {
    // First, while no limit has been used: the lines that 2,000 bad requests cause.
    await new Promise((r) => setTimeout(r, 1000));
    const before = logLines;
    await badRequests(port, url);
    await new Promise((r) => setTimeout(r, 1000));
    const lines = logLines - before;
    const metrics = await request(port, new http.Agent(), 'GET', '/metrics', { authorization: `Bearer ${metricsToken}` });
    const byReason = metrics.text
      .split('\n')
      .filter((l) => l.startsWith('hosted_bots_unauthenticated_refusals_total{'))
      .map((l) => l.replace('hosted_bots_unauthenticated_refusals_total', ''));
    // The sum first: every one of the bad requests should be counted, bad JSON included.
    const total = byReason.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    const counted = byReason.length ? `${total} in all: ${byReason.join(', ')}` : '';
    console.log(`[${label}] ${BAD_REQUESTS} bad requests: ${lines} log lines`);
    for (const scenario of SCENARIOS) {
      console.log(`[${label}] ${scenario.name}: ${seconds} s`);
      const load = scenario.load ? scenario.load(port, tokens, seconds) : new Promise<ClientReport[]>((r) => setTimeout(() => r([]), seconds * 1000));
      const [health, reports] = await Promise.all([watchHealth(port, load), load]);
      const statuses: Record<string, number> = {};
      for (const r of reports) for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
      const answered = Object.entries(statuses).map(([s, n]) => `${n} × ${s}`).join(', ') || '–';
      rows.push({ scenario: scenario.name, answered, p50: percentile(health, 50), p99: percentile(health, 99), max: Math.max(...health), samples: health.length });
      console.log(`[${label}]   ${answered}; /healthz p50 ${percentile(health, 50).toFixed(1)} ms, p99 ${percentile(health, 99).toFixed(1)} ms`);
    }
    return { rows, logLines: lines, refusalsCounted: counted || '(no such metric)' };
  } finally {
    runtime.kill('SIGKILL');
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log('usage: node dist/bench/flood.js [--seconds 15] [--runs 40000] [--baseline <another build\'s dist/runtime/cli/main.js> [--baseline-label <name>]]\nMeasures /healthz while strangers and plain users flood the runtime, and the log lines of 2,000 bad requests; rewrites the flood section of BENCHMARKS.md.');
    return;
  }
  const seconds = Number(arg('seconds', '15'));
  const runs = Number(arg('runs', '40000'));
  const baseline = arg('baseline', undefined);
  const baselineLabel = arg('baseline-label', 'baseline');
  if (!Number.isInteger(seconds) || seconds < 2 || seconds > 600) throw new Error(`--seconds must be an integer from 2 to 600, got ${arg('seconds', '')}`);
  if (!Number.isInteger(runs) || runs < 100 || runs > 1_000_000) throw new Error(`--runs must be an integer from 100 to 1000000, got ${arg('runs', '')}`);
  if (baseline && !fs.existsSync(baseline)) throw new Error(`--baseline ${baseline}: no such file; give another build's dist/runtime/cli/main.js`);
  const loadAtStart = os.loadavg()[0];
  const thisDist = path.resolve(__dirname, '..');
  const builds: Array<{ label: string; result: BuildResult }> = [];
  builds.push({ label: 'this build', result: await measureBuild('this build', undefined, thisDist, seconds, runs) });
  if (baseline) {
    const dist = path.resolve(path.dirname(baseline), '..', '..');
    builds.push({ label: baselineLabel!, result: await measureBuild('baseline', baseline, dist, seconds, runs) });
  }

  const fmt = (ms: number) => ms.toFixed(1);
  const rows = builds.flatMap(({ label, result }) => result.rows.map((r) => [r.scenario, label, r.answered, fmt(r.p50), fmt(r.p99), fmt(r.max), r.samples]));
  const ratios =
    builds.length === 2
      ? `\n\nRatios, baseline over this build, /healthz p99: ${builds[0].result.rows.map((r, i) => `${r.scenario} ${(builds[1].result.rows[i].p99 / r.p99).toFixed(1)}×`).join('; ')}.`
      : '';
  const body = [
    '## Flood: strangers and plain users against everyone else',
    '',
    `\`node dist/bench/flood.js --seconds ${seconds} --runs ${runs}${baseline ? ` --baseline <dist/runtime/cli/main.js of ${baselineLabel}>` : ''}\`, on ${machine()}; load average ${loadAtStart.toFixed(2)} at the start.`,
    '',
    `The runtime runs alone in its own process on SQLite, with a group of ${runs} finished runs (about 2 KB of inputs each) started by ${USERS.length} plain users. The load comes from a separate client process; this process asks for /healthz every ${HEALTH_EVERY_MS} ms during each ${seconds}-second scenario and times the answers. Goal: /healthz p99 under 100 ms in every scenario. Strangers send sign-ins with a 15 KB crafted Origin header on ${STRANGER_CONNECTIONS} connections, back to back: from one address, and from a new address each request (X-Forwarded-For; the runtime believes one proxy hop, as behind App Service's front end), so that the per-address sign-in limit never stops them before the Origin check. Users page their own history, 100 runs a page, back to back, ignoring Retry-After; with \`state=failed,expired\` few runs match, so most pages read a full window of ${2000} runs and answer few.`,
    '',
    table(['scenario', 'build', 'answers', '/healthz p50 ms', 'p99 ms', 'max ms', 'samples'], rows),
    ratios,
    '',
    table(
      ['build', `log lines for ${BAD_REQUESTS} requests without a valid credential`, 'refusals counted (hosted_bots_unauthenticated_refusals_total)'],
      builds.map(({ label, result }) => [label, result.logLines, result.refusalsCounted]),
    ),
    '',
    `The ${BAD_REQUESTS} requests: a quarter each of cross-site sign-ins with the crafted Origin, sign-ins with a wrong token from this origin, API calls with a bad bearer token, and unauthenticated posts of bad JSON, 8 at a time. Goal: a few hundred lines at most. Refused sign-ins write at most 10 lines per address and 100 in all a minute (runtime/http/refusal-log.ts); every refusal is counted in the metric, the bad JSON under \`invalid_json\`, so the sum is all ${BAD_REQUESTS}.`,
  ].join('\n');
  writeSection('flood', body);
  console.log(body);
}

if (process.argv[2] === '--client') {
  client(JSON.parse(process.argv[3]) as ClientConfig).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
