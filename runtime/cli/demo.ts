/**
 * `hosted-bots demo`: the single-geo example's fleet on this machine. It synthesizes the example,
 * starts arm-sim and the runtime (SQLite in a temp folder, the real Azure SDK pointed at
 * arm-sim), submits a burst of sample runs, and shows bots scaling out, running and scaling back
 * in to zero. Bots register both ways: finance's bots prove their group with a (local) managed
 * identity and their VM with its attested data, signed by arm-sim's test chain; sales' bots use
 * their group's token and VM name.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LocalFleet, localManifest, randomToken } from './local-fleet';
import { localIdentities } from './local-identity';
import { createLog, silentLog } from '../log';
import { BlockPrinter, Output } from './terminal';

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

/** One group as GET /v1/groups reports it; the demo shows these fields only. */
export interface GroupRow {
  name: string;
  bots: Record<string, number>;
  queued: number;
  running: number;
  state: string;
}

/** What one look at the fleet shows: the groups, the runs done per group, and arm-sim's VMs. */
export interface DemoStatus {
  readonly groups: readonly GroupRow[];
  readonly done: Readonly<Record<string, { succeeded: number; failed: number }>>;
  readonly vms: number;
}

function pad(value: string | number | undefined, width: number): string {
  return String(value ?? 0).padEnd(width);
}

/**
 * The status block: a pure function of the status, with no clock or age in it, so that two
 * looks at an unchanged fleet render the same text and the block is printed once.
 */
export function renderStatus(status: DemoStatus): string[] {
  const header = `${pad('group', 10)}${pad('provisioning', 14)}${pad('idle', 6)}${pad('busy', 6)}${pad('deleting', 10)}${pad('queued', 8)}${pad('running', 9)}${pad('done', 6)}state`;
  const lines = status.groups.map((r) => {
    const d = status.done[r.name] ?? { succeeded: 0, failed: 0 };
    return `${pad(r.name, 10)}${pad(r.bots.provisioning, 14)}${pad(r.bots.idle, 6)}${pad(r.bots.busy, 6)}${pad(r.bots.deleting, 10)}${pad(r.queued, 8)}${pad(r.running, 9)}${pad(d.succeeded + d.failed, 6)}${r.state}`;
  });
  return [header, ...lines, `VMs in arm-sim: ${status.vms}`];
}

/** No VM, no bot in any state, and no run queued or running. */
export function atZero(status: DemoStatus): boolean {
  return (
    status.vms === 0 &&
    status.groups.every((g) => g.queued === 0 && g.running === 0 && Object.values(g.bots).every((n) => !n))
  );
}

/**
 * Prints the demo's status block when it changes, and one line when the fleet comes back to
 * zero after some activity; then nothing until the fleet moves again (a run submitted through
 * the API starts the cycle over).
 */
export class DemoWatcher {
  private readonly printer: BlockPrinter;
  private active = false;
  private announced = false;

  constructor(
    out: Output,
    private readonly backToZeroLine: string,
  ) {
    this.printer = new BlockPrinter(out);
  }

  /** Shows one look at the fleet; returns whether the fleet is back to zero after activity. */
  update(status: DemoStatus, stamp?: string): boolean {
    this.printer.show(renderStatus(status), stamp);
    if (!atZero(status)) {
      this.active = true;
      this.announced = false;
      return false;
    }
    if (!this.active) return false;
    if (!this.announced) {
      this.printer.note(this.backToZeroLine);
      this.announced = true;
    }
    return true;
  }
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const out = options.out ?? process.stdout;
  const say = (line: string) => out.write(`${line}\n`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-bots-demo-'));
  say('hosted-bots demo: the examples/single-geo fleet on this machine, with arm-sim playing Azure.');
  say(`  bots boot in ${options.bootSeconds} s here (Azure takes minutes for Windows); idle bots go after ${options.idleSeconds} s.`);
  say('synthesizing examples/single-geo ...');
  const raw = synthesizeExample(path.join(work, 'cdktf.out'));
  const identities = await localIdentities(['finance']);
  const { manifest, botTokens } = localManifest(raw, {
    identities: identities.identities,
    scaling: { idleMinutes: options.idleSeconds / 60, heartbeatSeconds: 2, bootTimeoutMinutes: Math.max(1, (options.bootSeconds * 5) / 60) },
  });
  const adminToken = process.env.HOSTED_BOTS_DEMO_TOKEN || randomToken();
  say('starting arm-sim and the runtime ...');
  say('  finance\'s bots register with their VM\'s attested data (signed by arm-sim\'s test chain); sales\' with their VM name.');
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
    identities,
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

  const started = Date.now();
  const watcher = new DemoWatcher(
    out,
    options.exitWhenIdle
      ? 'every sample run is done and the fleet is back to zero bots.'
      : submitted.length > 0
        ? 'every sample run is done and the fleet is back to zero bots. The API stays up; Ctrl-C stops the demo.'
        : 'the fleet is back to zero bots, with no run queued or running. The API stays up; Ctrl-C stops the demo.',
  );
  // A look takes a few requests; a slow one must not overlap the next and print out of order.
  let looking = false;
  const ticker = setInterval(() => {
    if (looking) return;
    looking = true;
    void (async () => {
      if (stopping) return;
      const groups = ((await call('GET', '/v1/groups')) as { groups: GroupRow[] }).groups;
      const done: Record<string, { succeeded: number; failed: number }> = {};
      for (const g of groups) {
        const page = (await call('GET', `/v1/groups/${g.name}/runs?state=succeeded,failed&limit=200`)) as { runs: Array<{ state: string }> };
        done[g.name] = { succeeded: page.runs.filter((r) => r.state === 'succeeded').length, failed: page.runs.filter((r) => r.state === 'failed').length };
      }
      const vms = fleet.sim.vms().length;
      if (stopping) return;
      const idle = watcher.update({ groups, done, vms }, `[${((Date.now() - started) / 1000).toFixed(0)} s]`);
      const allDone = Object.values(done).reduce((s, d) => s + d.succeeded + d.failed, 0) >= submitted.length;
      if (idle && allDone && options.exitWhenIdle) await stop(0);
      if (options.duration > 0 && Date.now() - started >= options.duration * 1000) await stop(0);
    })()
      .catch((err) => {
        if (!stopping) say(`demo: ${(err as Error).message}`);
      })
      .finally(() => {
        looking = false;
      });
  }, 500);
}
