import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'cdktf';
import { HostedBotsStack } from '../../index';
import { localizeManifest, parseManifest } from '../../runtime/config/manifest';
import { groupProps, sensitiveVariable } from '../helpers/fleet';

function appWithFleet(outdir: string, configure?: (stack: HostedBotsStack) => void) {
  const app = new App({ outdir, stackTraces: false });
  const stack = new HostedBotsStack(app, 'fleet', { geography: 'Europe', environment: { name: 'demo', botCapacity: 4, admins: ['ops'] } });
  if (configure) configure(stack);
  else
    stack.environment.addGroup('finance', groupProps({
      adminPassword: sensitiveVariable(stack, 'pw'),
      access: { users: ['ana'], coOwners: ['lead'] },
      flows: { 'invoice-entry': { command: 'invoice.cmd', timeoutMinutes: 30 }, report: { command: 'report.cmd' } },
    }));
  return { app, stack };
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-manifest-'));

describe('fleet manifest', () => {
  test('is written next to cdk.tf.json at synth', () => {
    const outdir = tmp();
    appWithFleet(outdir).app.synth();
    expect(fs.existsSync(path.join(outdir, 'stacks/fleet/cdk.tf.json'))).toBe(true);
    expect(fs.existsSync(path.join(outdir, 'stacks/fleet/fleet.json'))).toBe(true);
  });

  test('holds the environment and every group, with flow defaults applied', () => {
    const outdir = tmp();
    appWithFleet(outdir).app.synth();
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks/fleet/fleet.json'), 'utf8'));
    expect(manifest).toMatchObject({
      version: 1,
      stack: 'fleet',
      environment: { name: 'demo', geography: 'Europe', region: 'northeurope', botCapacity: 4, plan: 'standard', enabled: true, admins: ['ops'] },
      groups: [
        {
          name: 'finance',
          maxBots: 3,
          committedBots: 0,
          vmss: { subscriptionId: '${data.azurerm_client_config.client.subscription_id}', resourceGroup: 'rg-hostedbots-demo-northeurope', name: 'vmss-demo-finance' },
          flows: { 'invoice-entry': { command: 'invoice.cmd', timeoutMinutes: 30 }, report: { command: 'report.cmd', timeoutMinutes: 180 } },
          access: { users: ['ana'], coOwners: ['lead'] },
          image: { kind: 'marketplace', offer: 'windows-11' },
          botTokenSha256: expect.stringMatching(/^\$\{sha256\(random_password\..+\.result\)\}$/),
        },
      ],
    });
  });

  test('holds each group\'s queue share and the environment\'s retention, defaults filled in, and the runtime reads them', () => {
    const { stack } = appWithFleet(tmp(), (s) => {
      s.environment.addGroup('finance', groupProps({ queue: { maxQueuedPerUser: 5 } }));
      s.environment.addGroup('sales', groupProps({ name: 'sales', queue: { highPriority: 'users' } }));
    });
    const manifest = stack.fleetManifest;
    expect(manifest.groups.map((g) => g.queue)).toEqual([
      { maxQueuedPerUser: 5, highPriority: 'co-owners' },
      { maxQueuedPerUser: 100, highPriority: 'users' },
    ]);
    expect(manifest.environment).toMatchObject({ runRetentionDays: 30, idempotencyKeyHours: 24 });
    const local = localizeManifest(JSON.parse(JSON.stringify(stack.resolvedFleetManifest())), { subscriptionId: 'sub', botTokens: { finance: 't1', sales: 't2' } });
    const parsed = parseManifest(local);
    expect(parsed.groups[1].queue.highPriority).toBe('users');
    expect(parsed.environment.runRetentionDays).toBe(30);
  });

  test('is reachable as a construct property, with tokens', () => {
    const { stack } = appWithFleet(tmp());
    expect(stack.fleetManifest.groups[0].name).toBe('finance');
    expect(stack.resolvedFleetManifest().groups[0].vmss.subscriptionId).toBe('${data.azurerm_client_config.client.subscription_id}');
  });

  test('holds no plain-text secret', () => {
    const outdir = tmp();
    appWithFleet(outdir, (stack) => {
      stack.environment.addGroup('finance', groupProps({ adminPassword: 'Pl41n!TextSecret' }));
    }).app.synth();
    const text = fs.readFileSync(path.join(outdir, 'stacks/fleet/fleet.json'), 'utf8');
    expect(text).not.toContain('Pl41n!TextSecret');
    expect(text).not.toMatch(/adminPassword|botToken"/);
  });

  test('is not written when synth fails, and a stale one is removed', () => {
    const outdir = tmp();
    fs.mkdirSync(path.join(outdir, 'stacks/fleet'), { recursive: true });
    fs.writeFileSync(path.join(outdir, 'stacks/fleet/fleet.json'), '{"stale":true}');
    const { app } = appWithFleet(outdir, (stack) => {
      stack.environment.addGroup('finance', groupProps({ adminUsername: 'admin' }));
    });
    expect(() => app.synth()).toThrow(/adminUsername "admin" is reserved/);
    expect(fs.existsSync(path.join(outdir, 'stacks/fleet/fleet.json'))).toBe(false);
  });
});
