/** The hosted-bots command, run as a user runs it (the build is made by test/global-setup.ts). */
import { execFile, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ArmSim, sharedSimCertificate } from '../../../runtime/arm-sim';
import { freePort, startRuntimeProcess } from '../../../runtime/cli/processes';
import { localManifest, randomToken } from '../../../runtime/cli/local-fleet';
import { sha256Hex } from '../../../runtime/config/manifest';
import { CONNECTION_STRING_VARIABLE } from '../../../runtime/telemetry';
import { runtimeArgs, synthesizedFleetJson } from '../../helpers/local-fleet';

const root = path.resolve(__dirname, '..', '..', '..');
const cli = path.join(root, 'dist/runtime/cli/main.js');
import { buildProgram } from '../../../runtime/cli/main';

const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, AZURE_CLIENT_ID: '' } });

/** The options `hosted-bots runtime <args>` parses, its action replaced so that nothing starts. */
async function runtimeOptions(...args: string[]): Promise<Record<string, unknown>> {
  const program = buildProgram().exitOverride();
  const runtime = program.commands.find((c) => c.name() === 'runtime')!;
  let parsed: Record<string, unknown> | undefined;
  runtime.action((opts: Record<string, unknown>) => {
    parsed = opts;
  });
  await program.parseAsync(['runtime', ...args], { from: 'user' });
  return parsed!;
}

describe('runtime options', () => {
  // README, "Rotating secrets": a new token version works within a minute.
  test('--key-vault-refresh-seconds defaults to 60 seconds', async () => {
    expect((await runtimeOptions()).keyVaultRefreshSeconds).toBe(60);
  });

  test('--key-vault-refresh-seconds takes a number of seconds given', async () => {
    expect((await runtimeOptions('--key-vault-refresh-seconds', '15')).keyVaultRefreshSeconds).toBe(15);
  });
});

describe('hosted-bots', () => {
  test.each(['demo', 'runtime', 'arm-sim', 'agent', 'connector'])('%s has help', (command) => {
    const result = run(command, '--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`Usage: hosted-bots ${command} \\[options\\]`));
  });

  test.each(['--version', '-V'])('%s prints the version of package.json and nothing else', (flag) => {
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const result = run(flag);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
    expect(result.stderr).toBe('');
  });

  test('a bad number is refused naming the flag', () => {
    const result = run('demo', '--boot-seconds', 'soon');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/--boot-seconds must be a number from 0 to 600, got "soon"/);
  });

  test('runtime refuses a synthesized manifest with Terraform expressions, listing each one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
    const { synthesizedFleetJson } = jest.requireActual('../../helpers/local-fleet');
    fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(synthesizedFleetJson()));
    const result = run('runtime', '--manifest', path.join(dir, 'fleet.json'), '--store', path.join(dir, 'x.db'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/error: fleet manifest .*fleet\.json is invalid:/);
    expect(result.stderr).toMatch(/groups\.\[0\]\.botTokenSha256: still holds a Terraform expression/);
    expect(result.stderr).toMatch(/groups\.\[1\]\.vmss\.subscriptionId: still holds a Terraform expression/);
  });

  test('runtime refuses seconds-long durations a deployed manifest may not set, naming the field and the bound', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
    const { synthesizedFleetJson } = jest.requireActual('../../helpers/local-fleet');
    const { localManifest } = jest.requireActual('../../../runtime/cli/local-fleet');
    const { manifest } = localManifest(synthesizedFleetJson(), { scaling: { heartbeatSeconds: 1 } });
    fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(manifest));
    const result = run('runtime', '--manifest', path.join(dir, 'fleet.json'), '--store', path.join(dir, 'x.db'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/environment\.scaling\.heartbeatSeconds: 1 must be .*5/);
  });

  test('runtime --compressed-time is refused without a local ARM endpoint', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
    const result = run('runtime', '--compressed-time', '--manifest', path.join(dir, 'fleet.json'), '--store', path.join(dir, 'x.db'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/--compressed-time is for local runs against arm-sim: give --arm-endpoint and --arm-ca too/);
  });

  test('runtime refuses an --attestation-intermediates file that holds no certificate, naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
    const { synthesizedFleetJson } = jest.requireActual('../../helpers/local-fleet');
    const { localManifest } = jest.requireActual('../../../runtime/cli/local-fleet');
    fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(localManifest(synthesizedFleetJson()).manifest));
    fs.writeFileSync(path.join(dir, 'issuers.pem'), 'not a certificate');
    const result = run('runtime', '--manifest', path.join(dir, 'fleet.json'), '--store', path.join(dir, 'x.db'), '--attestation-intermediates', path.join(dir, 'issuers.pem'));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`error: ${path.join(dir, 'issuers.pem')}: no PEM certificate (-----BEGIN CERTIFICATE-----) found`);
  });

  test('runtime stops at start on a malformed APPLICATIONINSIGHTS_CONNECTION_STRING, naming the setting', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
    fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(localManifest(synthesizedFleetJson()).manifest));
    fs.writeFileSync(path.join(dir, 'tokens.json'), '[]');
    fs.writeFileSync(path.join(dir, 'ca.pem'), (await sharedSimCertificate()).cert);
    // Nothing listens at the ARM endpoint: the runtime must stop before it would call it.
    const result = spawnSync(process.execPath, [cli, 'runtime', ...runtimeArgs(dir, { store: path.join(dir, 'x.db'), port: 0, armUrl: 'https://127.0.0.1:9' })], {
      encoding: 'utf8',
      // A runtime that starts anyway never exits by itself: it is stopped, and the status below is not 1.
      timeout: 30_000,
      env: { ...process.env, AZURE_CLIENT_ID: '', [CONNECTION_STRING_VARIABLE]: 'IngestionEndpoint=https://ingestion.example/' },
    });
    expect(result.stdout).not.toMatch(/"listening"/);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/error: APPLICATIONINSIGHTS_CONNECTION_STRING is not an Application Insights connection string: it needs InstrumentationKey=<GUID>/);
  }, 40_000);

  describe('runtime webhook destinations an admin allows by name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-webhooks-'));
    const adminToken = randomToken();
    const sim = new ArmSim({ bootSeconds: 3600 });
    let armUrl = '';

    beforeAll(async () => {
      const { manifest } = localManifest(synthesizedFleetJson());
      for (const g of manifest.groups) sim.addScaleSet(g.vmss, { location: manifest.environment.region });
      const started = await sim.start();
      armUrl = started.url;
      fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(manifest));
      fs.writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify([{ principal: 'ops-admin', sha256: sha256Hex(adminToken) }]));
      fs.writeFileSync(path.join(dir, 'ca.pem'), started.ca);
    });

    afterAll(async () => {
      await sim.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const ALLOWED = 'hooks.internal.example,localhost';
    test.each([
      ['the --webhook-allowed-hosts flag', ['--webhook-allowed-hosts', ALLOWED], { HOSTED_BOTS_WEBHOOK_ALLOWED_HOSTS: undefined }],
      ['HOSTED_BOTS_WEBHOOK_ALLOWED_HOSTS', [], { HOSTED_BOTS_WEBHOOK_ALLOWED_HOSTS: ALLOWED }],
    ])('%s lets webhooks go to the names it lists over plain http, and to no other name', async (_how, flags, env) => {
      const port = await freePort();
      const store = path.join(dir, `runtime-${port}.db`);
      const child = await startRuntimeProcess([...runtimeArgs(dir, { store, port, armUrl }), ...flags], { env });
      try {
        const subscribe = async (url: string) => {
          const res = await fetch(`http://127.0.0.1:${port}/v1/groups/finance/webhooks`, {
            method: 'POST',
            headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
            body: JSON.stringify({ url, events: ['run.succeeded'], format: 'json' }),
          });
          return { status: res.status, body: (await res.json()) as { error?: { message?: string } } };
        };
        expect((await subscribe('http://hooks.internal.example/hook')).status).toBe(201);
        expect((await subscribe('http://localhost:9/hook')).status).toBe(201);
        const other = await subscribe('http://hooks.elsewhere.example/hook');
        expect(other.status).toBe(422);
        expect(JSON.stringify(other.body)).toMatch(/must use https \(an admin can allow hooks\.elsewhere\.example by name for plain http\)/);
      } finally {
        child.kill('SIGKILL');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    }, 60_000);
  });

  describe('demo --exit-when-idle, run once for the tests below', () => {
    let output = '';
    beforeAll(async () => {
      output = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, [cli, 'demo', '--port', '0', '--boot-seconds', '0.5', '--idle-seconds', '1', '--exit-when-idle'], { timeout: 90_000, encoding: 'utf8' }, (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
        );
      });
    }, 100_000);

    test('demo: bots scale out, run every sample run, and scale back in to zero', () => {
      expect(output).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/ /m);
      expect(output).toMatch(/^API: +http:\/\/127\.0\.0\.1:\d+\/v1 /m);
      expect(output).toMatch(/^token: +\S+/m);
      expect(output).toMatch(/submitted 9 sample runs/);
      expect(output).toMatch(/^finance\s+[1-9]\d*\s/m);
      expect(output).toMatch(/^finance\s+\d+\s+\d+\s+[1-9]\d*\s/m);
      expect(output).toMatch(/^finance\s+0\s+0\s+0\s+0\s+0\s+0\s+6\s+active$/m);
      expect(output).toMatch(/^sales\s+0\s+0\s+0\s+0\s+0\s+0\s+3\s+active$/m);
      expect(output).toMatch(/every sample run is done and the fleet is back to zero bots\./);
    });

    test('demo: one status block per change of state, and one line when back to zero', () => {
      // In a log each block is its elapsed time, the header, one row per group and the VM count.
      const lines = output.split('\n');
      const blocks: string[] = [];
      lines.forEach((line, i) => {
        if (!/^\[\d+ s\]$/.test(line)) return;
        const end = lines.findIndex((l, j) => j > i && l.startsWith('VMs in arm-sim:'));
        blocks.push(lines.slice(i + 1, end + 1).join('\n'));
      });
      const changes = blocks.filter((b, i) => i === 0 || b !== blocks[i - 1]).length;
      expect(blocks.length).toBeGreaterThan(2);
      expect(blocks.length).toBe(changes);
      expect(lines.filter((l) => l.includes('back to zero')).length).toBe(1);
    });
  });
});
