/**
 * Azure Monitor telemetry. With APPLICATIONINSIGHTS_CONNECTION_STRING pointing at a local
 * ingestion endpoint, the runtime bundle (as App Service runs it, alone in a folder) sends the
 * spans and metrics of a run's life there: requests named by their routes, scale operations with
 * their errors, and the metrics the alert rules read; no query string and no token. The distro
 * patches Node's http module and sets process-wide providers, so the runtime runs in a child
 * process. Without the variable, nothing starts.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { AddressInfo } from 'net';
import { metrics, trace } from '@opentelemetry/api';
import { ArmSim, sharedSimCertificate } from '../../runtime/arm-sim';
import { localManifest, randomToken } from '../../runtime/cli/local-fleet';
import { freePort } from '../../runtime/cli/processes';
import { startSimFleet } from '../../runtime/cli/sim-bots';
import { sha256Hex } from '../../runtime/config/manifest';
import { CONNECTION_STRING_VARIABLE, METRIC_NAMES, startTelemetry, withoutQuery } from '../../runtime/telemetry';
import { eventually, synthesizedFleetJson } from '../helpers/local-fleet';

const root = path.resolve(__dirname, '..', '..');

/** One Application Insights envelope, as the exporter posts it to /v2.1/track. */
interface Envelope {
  readonly name: string;
  readonly tags?: Record<string, string>;
  readonly data: { readonly baseType: string; readonly baseData: Record<string, any> };
}

/** A local ingestion endpoint over HTTPS (the exporter turns http:// into https://): keeps every envelope and every body's text. */
async function startIngestion(): Promise<{ url: string; ca: string; envelopes: Envelope[]; bodies: string[]; paths: string[]; stop(): Promise<void> }> {
  const { cert, key } = await sharedSimCertificate();
  const envelopes: Envelope[] = [];
  const bodies: string[] = [];
  const paths: string[] = [];
  const server = https.createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url}`);
      const raw = Buffer.concat(chunks);
      const text = (req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw) : raw).toString('utf8');
      bodies.push(text);
      // The body is a JSON array of envelopes, or one envelope per line.
      const items: Envelope[] = text.trim().startsWith('[') ? JSON.parse(text) : text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
      envelopes.push(...items);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ itemsReceived: items.length, itemsAccepted: items.length, errors: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    ca: cert,
    envelopes,
    bodies,
    paths,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const requests = (envelopes: Envelope[]) => envelopes.filter((e) => e.data.baseType === 'RequestData').map((e) => e.data.baseData);
const dependencies = (envelopes: Envelope[]) => envelopes.filter((e) => e.data.baseType === 'RemoteDependencyData');
/** Every metric point: its name, value and attributes. */
const metricPoints = (envelopes: Envelope[]) =>
  envelopes
    .filter((e) => e.data.baseType === 'MetricData')
    .flatMap((e) => (e.data.baseData.metrics as Array<{ name: string; value: number; count?: number }>).map((m) => ({ ...m, properties: (e.data.baseData.properties ?? {}) as Record<string, string> })));

describe('telemetry with a connection string', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'telemetry-'));
  const adminToken = randomToken();
  const leaked = 'leaked-token-value';
  let ingestion: Awaited<ReturnType<typeof startIngestion>>;
  let sim: ArmSim | undefined;
  let child: ChildProcess | undefined;
  const agents: Array<{ stop(): Promise<void> }> = [];
  let botTokens: Record<string, string> = {};
  let runId = '';
  let exitCode: number | null = null;

  beforeAll(async () => {
    ingestion = await startIngestion();
    const fleet = localManifest(synthesizedFleetJson(), { scaling: { heartbeatSeconds: 5, idleMinutes: 0.05, bootTimeoutMinutes: 1 } });
    botTokens = fleet.botTokens;
    const manifest = fleet.manifest;
    fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(manifest));
    fs.writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify([{ principal: 'ops-admin', sha256: sha256Hex(adminToken) }]));
    fs.writeFileSync(path.join(dir, 'ingestion-ca.pem'), ingestion.ca);
    // The bundle alone, as App Service gets it; SQLite (never in the deployed bundle) is the one module it may load from outside.
    const app = path.join(dir, 'app');
    const modules = path.join(dir, 'modules');
    fs.mkdirSync(app);
    fs.mkdirSync(modules);
    for (const file of ['main.js', 'agent.js', 'package.json']) fs.copyFileSync(path.join(root, 'dist', 'bundle', file), path.join(app, file));
    fs.symlinkSync(fs.realpathSync(path.join(root, 'node_modules', 'better-sqlite3')), path.join(modules, 'better-sqlite3'));

    const port = await freePort();
    const runtimeUrl = `http://127.0.0.1:${port}`;
    const started = await startSimFleet({ manifest, botTokens, runtimeUrl, claimWaitSeconds: 2, retryDelayMs: 100, onAgent: (_vm, agent) => agents.push(agent) });
    sim = started.sim;
    const { url: armUrl, ca } = started;
    fs.writeFileSync(path.join(dir, 'arm-ca.pem'), ca);
    // The first scale-out fails in ARM: a provisioning error, inside a scale operation.
    sim.injectFault({ operation: 'setCapacity', kind: 'operation-failed', code: 'AllocationFailed' });

    child = spawn(
      process.execPath,
      ['main.js', 'runtime', '--manifest', path.join(dir, 'fleet.json'), '--store', path.join(dir, 'runtime.db'), '--port', String(port), '--host', '127.0.0.1',
        '--tokens-file', path.join(dir, 'tokens.json'), '--arm-endpoint', armUrl, '--arm-ca', path.join(dir, 'arm-ca.pem'), '--tick-seconds', '0.2', '--backoff-seconds', '0.5'],
      {
        cwd: app,
        env: {
          PATH: process.env.PATH,
          NODE_PATH: modules,
          TMPDIR: dir,
          NODE_EXTRA_CA_CERTS: path.join(dir, 'ingestion-ca.pem'),
          [CONNECTION_STRING_VARIABLE]: `InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=${ingestion.url}`,
          // Every trace, not the default 5 a second, so that the test sees each request.
          OTEL_TRACES_SAMPLER: 'always_on',
          // The SDK's reports about itself go to Microsoft's endpoints, which a test must not call.
          APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
          APPLICATIONINSIGHTS_SDKSTATS_DISABLED: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<void>((resolve) => child!.once('exit', (code) => ((exitCode = code), resolve())));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('"listening"')) resolve();
      });
      child!.once('exit', (code) => reject(new Error(`the runtime exited with code ${code} before listening\n${stderr.slice(-3000)}`)));
    });

    const api = async (method: string, route: string, body?: unknown) => {
      const res = await fetch(`${runtimeUrl}${route}`, { method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };
    runId = (await api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.2 } })).body.id;
    await eventually('the run succeeded', async () => (await api('GET', `/v1/runs/${runId}`)).body.state === 'succeeded', 30_000, 100);
    // A query string with a secret in it, which no span may keep; and App Service's health check.
    await api('GET', `/v1/groups/finance/runs?limit=5&token=${leaked}`);
    expect((await fetch(`${runtimeUrl}/healthz`)).status).toBe(200);
    await eventually('scaled back in to zero', () => sim!.vms().length === 0, 30_000, 100);
    // The graceful stop flushes what the SDK still holds.
    child.kill('SIGTERM');
    await exited;
    if (exitCode !== 0) throw new Error(`the runtime exited with code ${exitCode}\n${stderr.slice(-3000)}`);
  }, 90_000);

  afterAll(async () => {
    if (exitCode === null) child?.kill('SIGKILL');
    await Promise.all(agents.map((a) => a.stop()));
    await sim?.stop();
    await ingestion?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('everything goes to the ingestion endpoint of the connection string', () => {
    expect(ingestion.paths.length).toBeGreaterThan(0);
    expect(new Set(ingestion.paths)).toEqual(new Set(['POST /v2.1/track']));
    expect(new Set(ingestion.envelopes.map((e) => (e as unknown as { iKey: string }).iKey))).toEqual(new Set(['00000000-0000-0000-0000-000000000000']));
  });

  test("a span for each request of the run's life, named by its route template", () => {
    const names = new Set(requests(ingestion.envelopes).map((r) => r.name));
    for (const name of ['POST /v1/groups/:group/runs', 'GET /v1/runs/:id', 'GET /v1/groups/:group/runs', 'POST /v1/agent/register', 'POST /v1/agent/claim', 'POST /v1/agent/runs/:id/complete']) {
      expect([name, names.has(name)]).toEqual([name, true]);
    }
    expect([...names].filter((n) => n.includes(runId))).toEqual([]);
    // App Service's health check is not traced.
    expect([...names].filter((n) => n.includes('healthz'))).toEqual([]);
  });

  test('no query string and no token is sent', () => {
    // Requests' URLs, and the URLs of the calls the runtime made (ARM's carry api-version).
    const urls = [...requests(ingestion.envelopes).map((r) => String(r.url)), ...dependencies(ingestion.envelopes).map((e) => String(e.data.baseData.data ?? ''))];
    expect(urls.filter((u) => u.startsWith('https://')).length).toBeGreaterThan(0);
    expect(urls.filter((u) => /[?#]/.test(u))).toEqual([]);
    const sent = ingestion.bodies.join('\n');
    for (const secret of [leaked, adminToken, ...Object.values(botTokens)]) expect([secret, sent.includes(secret)]).toEqual([secret, false]);
  });

  test('a span for each scale operation, with group, count and reason, and the provisioning error of the failed one', () => {
    const scale = dependencies(ingestion.envelopes).filter((e) => /^scale /.test(e.data.baseData.name));
    const create = scale.filter((e) => e.data.baseData.name === 'scale create');
    const failed = create.filter((e) => e.data.baseData.success === false);
    // The fault met the scale-out, or the tick's reconcile that created the VM it asked for first.
    expect(failed.length).toBe(1);
    expect(failed[0].data.baseData.properties).toMatchObject({ group: 'finance', count: '1' });
    expect(['demand', 'reconcile']).toContain(failed[0].data.baseData.properties.reason);
    const errors = ingestion.envelopes.filter((e) => e.data.baseType === 'ExceptionData' && e.tags?.['ai.operation.parentId'] === failed[0].data.baseData.id);
    expect(errors.map((e) => e.data.baseData.exceptions[0].typeName)).toEqual(['AllocationFailed']);
    expect(create.filter((e) => e.data.baseData.success === true).length).toBeGreaterThan(0);
    const deleted = scale.filter((e) => e.data.baseData.name === 'scale delete');
    expect(deleted.filter((e) => e.data.baseData.properties.group === 'finance' && e.data.baseData.properties.reason === 'idle').length).toBeGreaterThan(0);
    // The ARM calls a scale operation makes are its children.
    const ids = new Set(scale.map((e) => e.data.baseData.id));
    const arm = dependencies(ingestion.envelopes).filter((e) => e.data.baseData.type === 'Http' && ids.has(e.tags?.['ai.operation.parentId'] ?? ''));
    expect(arm.length).toBeGreaterThan(0);
  });

  test('the metrics the alert rules read, with their attributes', () => {
    const points = metricPoints(ingestion.envelopes);
    const named = (name: string, properties: Record<string, string>) => points.filter((p) => p.name === name && Object.entries(properties).every(([k, v]) => p.properties[k] === v));
    // Counters and histograms are sent as deltas: each export holds what happened since the last.
    const total = (found: Array<{ value: number }>) => found.reduce((n, p) => n + p.value, 0);
    expect(named(METRIC_NAMES.queueWait, { group: 'finance' }).reduce((n, p) => n + (p.count ?? 0), 0)).toBe(1);
    expect(total(named(METRIC_NAMES.runsFinished, { group: 'finance', status: 'succeeded' }))).toBe(1);
    expect(total(named(METRIC_NAMES.provisioningErrors, { group: 'finance', code: 'AllocationFailed' }))).toBe(1);
    expect(named(METRIC_NAMES.queueDepth, { group: 'finance' }).length).toBeGreaterThan(0);
    expect(named(METRIC_NAMES.oldestQueued, { group: 'finance' }).length).toBeGreaterThan(0);
    expect(named(METRIC_NAMES.bots, { group: 'finance', state: 'idle' }).length).toBeGreaterThan(0);
  });
});

describe('telemetry without a connection string', () => {
  test('starts nothing: no SDK, and the process-wide providers stay the no-op ones', () => {
    const tracerProvider = trace.getTracerProvider();
    const meterProvider = metrics.getMeterProvider();
    expect(startTelemetry({})).toBeUndefined();
    expect(startTelemetry({ [CONNECTION_STRING_VARIABLE]: '  ' })).toBeUndefined();
    expect(trace.getTracerProvider()).toBe(tracerProvider);
    expect(metrics.getMeterProvider()).toBe(meterProvider);
    expect(trace.getTracer('x').startSpan('y').isRecording()).toBe(false);
  });

  test('a connection string without an instrumentation key is refused, naming the variable', () => {
    expect(() => startTelemetry({ [CONNECTION_STRING_VARIABLE]: 'IngestionEndpoint=https://example.invalid/' })).toThrow(
      `${CONNECTION_STRING_VARIABLE} is not an Application Insights connection string: it needs InstrumentationKey=<GUID>`,
    );
  });
});

describe('URLs in spans', () => {
  test('lose their query string and fragment, and the secrets left in the path are masked', () => {
    expect(withoutQuery('https://arm.example/subscriptions/s/vmss/x?api-version=2024-07-01&sig=abc#part')).toBe('https://arm.example/subscriptions/s/vmss/x');
    expect(withoutQuery('/v1/runs/run_1?token=abc')).toBe('/v1/runs/run_1');
    expect(withoutQuery('https://user:hunter2@host.example/a/password=hunter2')).toBe('https://user:[redacted]@host.example/a/password=[redacted]');
  });
});
