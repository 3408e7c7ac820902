/**
 * Webhooks across a crash: the runtime process is killed with SIGKILL while its deliveries wait to
 * be retried for a failing receiver, and restarted on the same SQLite file. Every event arrives,
 * signed as the Standard Webhooks specification says (checked with the `standardwebhooks`
 * package), under the webhook-id it first went out with, and none twice.
 */
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Webhook } from 'standardwebhooks';
import type { ArmSim } from '../../runtime/arm-sim';
import { localManifest, randomToken } from '../../runtime/cli/local-fleet';
import { freePort, startRuntimeProcess } from '../../runtime/cli/processes';
import { startSimFleet } from '../../runtime/cli/sim-bots';
import { sha256Hex } from '../../runtime/config/manifest';
import { eventually, runtimeArgs, synthesizedFleetJson } from '../helpers/local-fleet';
import { startReceiver, WebhookReceiver } from '../helpers/webhook-receiver';

describe('webhooks across a runtime crash', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-crash-'));
  let child: ChildProcess | undefined;
  let sim: ArmSim | undefined;
  let receiver: WebhookReceiver | undefined;

  afterAll(async () => {
    child?.kill('SIGKILL');
    await sim?.stop();
    await receiver?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('SIGKILL with a backlog of deliveries: after the restart every event arrives once, under its first webhook-id', async () => {
    const { manifest, botTokens } = localManifest(synthesizedFleetJson(), {});
    const adminToken = randomToken();
    fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(manifest));
    fs.writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify([{ principal: 'ops-admin', sha256: sha256Hex(adminToken) }]));
    const port = await freePort();
    const runtimeUrl = `http://127.0.0.1:${port}`;
    receiver = await startReceiver({ anyAddress: true });
    receiver.failNext(Number.MAX_SAFE_INTEGER);

    // The bots never finish booting: the runs stay queued until they are cancelled.
    const started = await startSimFleet({ manifest, botTokens, runtimeUrl }, { bootSeconds: 3600 });
    sim = started.sim;
    fs.writeFileSync(path.join(dir, 'ca.pem'), started.ca);
    const start = () =>
      startRuntimeProcess([
        ...runtimeArgs(dir, { store: path.join(dir, 'runtime.db'), port, armUrl: started.url }),
        // The receiver is on this machine: an admin allows it by name, as the address rules ask.
        '--webhook-allowed-hosts', 'localhost',
        '--rate-limit-user', '100000',
      ]);
    const api = async (method: string, route: string, body?: unknown) => {
      const res = await fetch(`${runtimeUrl}${route}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };

    child = await start();
    const subscription = await api('POST', '/v1/groups/finance/webhooks', { url: `http://localhost:${receiver.port}/hook`, events: ['run.cancelled'], format: 'json' });
    expect(subscription.status).toBe(201);
    const runs: string[] = [];
    for (let i = 0; i < 6; i++) {
      const run = await api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' });
      expect(run.status).toBe(202);
      runs.push(run.body.id);
      expect((await api('POST', `/v1/runs/${run.body.id}/cancel`)).status).toBe(200);
    }
    // Each event has been tried once and refused; the next try is 5 s after the refusal.
    await eventually('every event tried once', async () => new Set(receiver!.received.map((r) => r.headers['webhook-id'])).size === runs.length, 20_000, 50);
    await new Promise((r) => setTimeout(r, 500));
    const triedIds = new Set(receiver.received.map((r) => r.headers['webhook-id']));

    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    receiver.failNext(0);
    const refused = receiver.received.length;
    child = await start();

    const delivered = await eventually('every event delivered after the restart', async () => {
      const accepted = receiver!.received.slice(refused);
      return new Set(accepted.map((r) => r.headers['webhook-id'])).size === runs.length ? accepted : undefined;
    }, 40_000, 100);
    // Once each, under the webhook-id its first (refused) attempt carried.
    expect(delivered.map((r) => r.headers['webhook-id']).sort()).toEqual([...triedIds].sort());
    const events = delivered.map((r) => new Webhook(subscription.body.secret).verify(r.body, r.headers) as { type: string; data: { id: string } });
    expect(events.map((e) => e.type)).toEqual(runs.map(() => 'run.cancelled'));
    expect(events.map((e) => e.data.id).sort()).toEqual([...runs].sort());
  }, 120_000);
});
