/**
 * `hosted-bots demo`: the single-geo example's fleet on this machine. It synthesizes the example,
 * starts arm-sim and the runtime (SQLite in a temp folder, the real Azure SDK pointed at
 * arm-sim), submits a burst of sample runs, and shows bots scaling out, running and scaling back
 * in to zero.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LocalFleet, localManifest, randomToken } from './local-fleet';
import { createLog, silentLog } from '../log';

export interface DemoOptions {
  readonly port: number;
  readonly bootSeconds: number;
  readonly idleSeconds: number;
  readonly sampleRuns: boolean;
  /** Stop after this many seconds; 0 runs until Ctrl-C. */
  readonly duration: number;
  /** Stop once the sample runs are done and every bot is gone. */
  readonly exitWhenIdle?: boolean;
  readonly verbose?: boolean;
  readonly out?: NodeJS.WriteStream;
}

const ADMIN = 'ops-admin';

/** Synthesizes examples/single-geo with a real cdktf synth; returns its fleet.json. */
function synthesizeExample(outdir: string): unknown {
  // Loaded here, not at the top: the deployed runtime bundle never needs cdktf.
  const { App } = require('cdktf') as typeof import('cdktf');
  const { buildSingleGeo } = require('../../examples/single-geo/main') as typeof import('../../examples/single-geo/main');
  const app = new App({ outdir, stackTraces: false });
  const stack = buildSingleGeo(app);
  app.synth();
  return JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', stack.node.id, 'fleet.json'), 'utf8'));
}

interface GroupRow {
  name: string;
  bots: Record<string, number>;
  queued: number;
  running: number;
  state: string;
}

function pad(value: string | number, width: number): string {
  return String(value).padEnd(width);
}

function renderTable(rows: GroupRow[], done: Record<string, { succeeded: number; failed: number }>, vms: number): string[] {
  const header = `${pad('group', 10)}${pad('provisioning', 14)}${pad('idle', 6)}${pad('busy', 6)}${pad('deleting', 10)}${pad('queued', 8)}${pad('running', 9)}${pad('done', 6)}state`;
  const lines = rows.map((r) => {
    const d = done[r.name] ?? { succeeded: 0, failed: 0 };
    return `${pad(r.name, 10)}${pad(r.bots.provisioning, 14)}${pad(r.bots.idle, 6)}${pad(r.bots.busy, 6)}${pad(r.bots.deleting, 10)}${pad(r.queued, 8)}${pad(r.running, 9)}${pad(d.succeeded + d.failed, 6)}${r.state}`;
  });
  return [header, ...lines, `VMs in arm-sim: ${vms}`];
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const out = options.out ?? process.stdout;
  const say = (line: string) => out.write(`${line}\n`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-bots-demo-'));
  say('hosted-bots demo: the examples/single-geo fleet on this machine, with arm-sim playing Azure.');
  say(`  bots boot in ${options.bootSeconds} s here (Azure takes minutes for Windows); idle bots go after ${options.idleSeconds} s.`);
  say('synthesizing examples/single-geo ...');
  const raw = synthesizeExample(path.join(work, 'cdktf.out'));
  const { manifest, botTokens } = localManifest(raw, {
    scaling: { idleMinutes: options.idleSeconds / 60, heartbeatSeconds: 2, bootTimeoutMinutes: Math.max(1, (options.bootSeconds * 5) / 60) },
  });
  const adminToken = process.env.HOSTED_BOTS_DEMO_TOKEN || randomToken();
  say('starting arm-sim and the runtime ...');
  const fleet = await LocalFleet.start({
    manifest,
    botTokens,
    userTokens: { [ADMIN]: adminToken },
    bootSeconds: options.bootSeconds,
    deleteSeconds: 0.5,
    operationSeconds: 0.5,
    port: options.port,
    storeFile: path.join(work, 'runtime.db'),
    tickMs: 1000,
    claimWaitSeconds: 10,
    log: options.verbose ? createLog({ base: { component: 'runtime' } }) : silentLog,
  });

  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    clearInterval(ticker);
    say('\nstopping: deleting the simulated VMs and the runtime ...');
    await fleet.stop();
    fs.rmSync(work, { recursive: true, force: true });
    say('stopped.');
    process.exitCode = code;
  };
  const onSignal = () => void stop(0);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  say('');
  say(`dashboard: ${fleet.url}/   (sign in with the token)`);
  say(`API:       ${fleet.url}/v1   (every route but /healthz needs the token)`);
  say(`token:     ${adminToken}   (principal ${ADMIN}, admin of environment ${manifest.environment.name})`);
  say(`try:       curl -s -H "Authorization: Bearer ${adminToken}" ${fleet.url}/v1/groups`);
  say('');

  const call = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${fleet.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return res.status === 204 ? undefined : res.json();
  };

  const submitted: Array<{ id: string; group: string }> = [];
  if (options.sampleRuns) {
    const samples: Array<[string, string, number]> = [
      ...Array.from({ length: 6 }, (_, i) => ['finance', 'invoice-entry', 3 + (i % 3)] as [string, string, number]),
      ...Array.from({ length: 3 }, (_, i) => ['sales', 'lead-sync', 2 + i] as [string, string, number]),
    ];
    for (const [group, flow, seconds] of samples) {
      const run = (await call('POST', `/v1/groups/${group}/runs`, { flow, inputs: { simulateSeconds: seconds } })) as { id: string };
      submitted.push({ id: run.id, group });
    }
    say(`submitted ${submitted.length} sample runs: 6 to finance (invoice-entry), 3 to sales (lead-sync); capacity is ${manifest.environment.botCapacity} bots.`);
  }

  const tty = Boolean(out.isTTY);
  let drawn = 0;
  let lastPrinted = '';
  const started = Date.now();
  let sawBots = false;
  const ticker = setInterval(() => {
    void (async () => {
      if (stopping) return;
      const groups = ((await call('GET', '/v1/groups')) as { groups: GroupRow[] }).groups;
      const done: Record<string, { succeeded: number; failed: number }> = {};
      for (const g of groups) {
        const page = (await call('GET', `/v1/groups/${g.name}/runs?state=succeeded,failed&limit=200`)) as { runs: Array<{ state: string }> };
        done[g.name] = { succeeded: page.runs.filter((r) => r.state === 'succeeded').length, failed: page.runs.filter((r) => r.state === 'failed').length };
      }
      const vms = fleet.sim.vms().length;
      const lines = renderTable(groups, done, vms);
      if (tty) {
        if (drawn) out.write(`\x1b[${drawn}A`);
        for (const line of lines) out.write(`\x1b[2K${line}\n`);
        drawn = lines.length;
      } else {
        const text = lines.join('\n');
        if (text !== lastPrinted) say(`[${((Date.now() - started) / 1000).toFixed(0)} s]\n${text}`);
        lastPrinted = text;
      }
      if (vms > 0) sawBots = true;
      const allDone = submitted.length > 0 && Object.values(done).reduce((s, d) => s + d.succeeded + d.failed, 0) >= submitted.length;
      if (sawBots && allDone && vms === 0 && groups.every((g) => g.queued === 0 && g.running === 0)) {
        if (options.exitWhenIdle) {
          say('every sample run is done and the fleet is back to zero bots.');
          await stop(0);
        } else if (!lastPrinted.includes('back to zero')) {
          lastPrinted += ' back to zero';
          say('every sample run is done and the fleet is back to zero bots. The API stays up; Ctrl-C stops the demo.');
          drawn = 0;
        }
      }
      if (options.duration > 0 && Date.now() - started >= options.duration * 1000) await stop(0);
    })().catch((err) => {
      if (!stopping) say(`demo: ${(err as Error).message}`);
    });
  }, 500);
}
