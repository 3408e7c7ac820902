/**
 * The bundle is self-contained: copied alone to a folder with no node_modules, `node main.js
 * runtime` runs a synthesized manifest on a real PostgreSQL against arm-sim. It creates its admin
 * token in a (local) Key Vault with the bundled Key Vault SDK, serves /healthz, accepts a run with
 * that token, scales a bot out and back in, and serves the agent bundle to its bots.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';
import { ArmSim, KeyVaultSim, sharedSimCertificate } from '../../runtime/arm-sim';
import { localManifest } from '../../runtime/cli/local-fleet';
import { freePort } from '../../runtime/cli/processes';
import { startSimFleet } from '../../runtime/cli/sim-bots';
import { eventually, synthesizedFleetJson } from '../helpers/local-fleet';

const PG_URL = process.env.BOTS_TEST_PG_URL;
const root = path.resolve(__dirname, '..', '..');
const describePg = PG_URL ? describe : describe.skip;
if (!PG_URL) {
  if (process.env.CI === 'true') throw new Error('BOTS_TEST_PG_URL is not set: the bundle test needs PostgreSQL (.ci/run sets it)');
  console.warn('bundle test skipped: set BOTS_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test to run it');
}

describePg('the runtime bundle', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-'));
  const schema = `hb_bundle_${Date.now().toString(36)}`;
  let runtime: ChildProcess | undefined;
  let sim: ArmSim | undefined;
  let vault: KeyVaultSim | undefined;
  const agents: Array<{ stop(): Promise<void> }> = [];

  afterAll(async () => {
    runtime?.kill('SIGKILL');
    await Promise.all(agents.map((a) => a.stop()));
    await sim?.stop();
    await vault?.stop();
    const client = new Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('runs alone, with no node_modules, on PostgreSQL: health, a run, scale out and in', async () => {
    const app = path.join(dir, 'app');
    fs.mkdirSync(app);
    for (const file of ['main.js', 'agent.js', 'package.json']) fs.copyFileSync(path.join(root, 'dist', 'bundle', file), path.join(app, file));
    expect(fs.readdirSync(app).sort()).toEqual(['agent.js', 'main.js', 'package.json']);

    const { manifest, botTokens } = localManifest(synthesizedFleetJson(), { scaling: { idleMinutes: 0.05, heartbeatSeconds: 5 } });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const started = await startSimFleet({ manifest, botTokens, runtimeUrl: url, claimWaitSeconds: 2, onAgent: (_vm, agent) => agents.push(agent) });
    sim = started.sim;
    const armUrl = started.url;
    fs.writeFileSync(path.join(dir, 'ca.pem'), (await sharedSimCertificate()).cert);
    vault = new KeyVaultSim();
    const { url: vaultUrl } = await vault.start();

    // As App Service runs it: manifest and settings from the environment, the store from a URL.
    runtime = spawn(process.execPath, ['main.js', 'runtime', '--arm-endpoint', armUrl, '--arm-ca', path.join(dir, 'ca.pem'), '--key-vault-ca', path.join(dir, 'ca.pem'), '--key-vault-refresh-seconds', '1', '--tick-seconds', '0.5', '--host', '127.0.0.1'], {
      cwd: app,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        HOSTED_BOTS_MANIFEST: JSON.stringify(manifest),
        HOSTED_BOTS_STORE: PG_URL,
        HOSTED_BOTS_STORE_SCHEMA: schema,
        HOSTED_BOTS_KEY_VAULT_URL: vaultUrl,
        HOSTED_BOTS_METRICS_TOKEN_SECRET: 'runtime-metrics-token',
        NODE_PATH: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    runtime.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    await eventually('the bundle listens', async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200, 20_000, 200).catch((err) => {
      throw new Error(`${(err as Error).message}\n${stderr.slice(-2000)}`);
    });
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok', store: 'postgres', leader: true });

    // The runtime made its own tokens in the vault; an operator reads them there.
    const admin = vault.secret('runtime-admin-token')!;
    expect(admin).toMatch(/^[A-Za-z0-9_-]{48}$/);
    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${vault.secret('runtime-metrics-token')}` } });
    expect(metrics.status).toBe(200);

    const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    const run = (await (await fetch(`${url}/v1/groups/finance/runs`, { method: 'POST', headers, body: JSON.stringify({ flow: 'invoice-entry', inputs: { simulateSeconds: 0.2 } }) })).json()) as { id: string; state: string };
    expect(run.state).toBe('queued');
    await eventually('the run succeeded on a scaled-out bot', async () => ((await (await fetch(`${url}/v1/runs/${run.id}`, { headers })).json()) as { state: string }).state === 'succeeded', 20_000);
    expect(sim.stats.maxInstances).toBe(1);
    await eventually('scaled back in to zero', () => sim!.vms().length === 0, 20_000);

    const agentJs = await fetch(`${url}/v1/agent/bundle`, { headers: { authorization: `Bearer ${botTokens.finance}` } });
    expect(agentJs.status).toBe(200);
    expect((await agentJs.text()).length).toBeGreaterThan(10_000);
    expect((await fetch(`${url}/v1/agent/bundle`, { headers })).status).toBe(403);

    // Rotation: an operator sets a new version; the old token stops working, the new one works.
    vault.setSecret('runtime-admin-token', 'rotated-admin-token-0123456789abcdefghijklmn');
    await eventually('the new admin token works', async () => (await fetch(`${url}/v1/environment`, { headers: { authorization: 'Bearer rotated-admin-token-0123456789abcdefghijklmn' } })).status === 200, 10_000);
    expect((await fetch(`${url}/v1/environment`, { headers })).status).toBe(401);
  }, 90_000);
});
