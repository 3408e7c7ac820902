/**
 * `hosted-bots demo`: a fleet on this machine. By default it synthesizes the single-geo example;
 * with `--manifest` it runs any synthesized stack (a fleet.json), or every stack of a synthesized
 * project (a cdktf.out folder: one runtime per environment, multi-geography included). For each
 * it starts arm-sim and the runtime (SQLite in a temp folder, the real Azure SDK pointed at
 * arm-sim, /metrics on), submits a burst of sample runs, and shows bots scaling out, running and
 * scaling back in to zero. Bots register both ways: the bots of managed-identity groups prove
 * their group with a (local) managed identity and their VM with its attested data, signed by
 * arm-sim's test chain; the others use their group's token and VM name.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { FleetManifest } from '../config/manifest';
import { LocalFleet, localManifest, randomToken } from './local-fleet';
import { localIdentities } from './local-identity';
import { createLog, silentLog } from '../log';
import { BlockPrinter, Output } from './terminal';

export interface DemoOptions {
  /** A synthesized stack's fleet.json, or a cdktf.out folder (or its stacks folder) to run every stack of. @default the single-geo example, synthesized */
  readonly manifest?: string;
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

/** A stack to run: its name and its synthesized fleet.json. */
export interface DemoStack {
  readonly name: string;
  readonly raw: unknown;
}

/**
 * The stacks `--manifest` names: a fleet.json file, or a folder holding `stacks/<stack>/fleet.json`
 * (a cdktf.out) or `<stack>/fleet.json` (its stacks folder), in the order of their names.
 */
export function readDemoStacks(target: string): DemoStack[] {
  const read = (file: string, name: string): DemoStack => {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`--manifest ${target}: ${file} cannot be read: ${(err as Error).message}`);
    }
    try {
      return { name, raw: JSON.parse(text) };
    } catch (err) {
      throw new Error(`--manifest ${target}: ${file} is not JSON: ${(err as Error).message}`);
    }
  };
  if (!fs.existsSync(target)) throw new Error(`--manifest ${target}: no such file or folder; give a stack's fleet.json or a cdktf.out folder (run hosted-bots synth first)`);
  if (fs.statSync(target).isFile()) return [read(target, path.basename(path.dirname(path.resolve(target))))];
  const stacksDir = fs.existsSync(path.join(target, 'stacks')) ? path.join(target, 'stacks') : target;
  const stacks = fs
    .readdirSync(stacksDir)
    .filter((name) => fs.existsSync(path.join(stacksDir, name, 'fleet.json')))
    .sort()
    .map((name) => read(path.join(stacksDir, name, 'fleet.json'), name));
  if (stacks.length === 0) throw new Error(`--manifest ${target}: no stacks/<stack>/fleet.json in this folder; give a stack's fleet.json or a cdktf.out folder (run hosted-bots synth first)`);
  return stacks;
}

/** The groups of a synthesized manifest whose bots authenticate with a managed identity. */
function managedIdentityGroups(raw: unknown): string[] {
  const groups = (raw as { groups?: Array<{ name?: unknown; botAuth?: { kind?: unknown } }> }).groups ?? [];
  return groups.filter((g) => g.botAuth?.kind === 'managed-identity' && typeof g.name === 'string').map((g) => g.name as string);
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
  const width = Math.max(10, ...status.groups.map((g) => g.name.length + 2));
  const header = `${pad('group', width)}${pad('provisioning', 14)}${pad('idle', 6)}${pad('busy', 6)}${pad('deleting', 10)}${pad('queued', 8)}${pad('running', 9)}${pad('done', 6)}state`;
  const lines = status.groups.map((r) => {
    const d = status.done[r.name] ?? { succeeded: 0, failed: 0 };
    return `${pad(r.name, width)}${pad(r.bots.provisioning, 14)}${pad(r.bots.idle, 6)}${pad(r.bots.busy, 6)}${pad(r.bots.deleting, 10)}${pad(r.queued, 8)}${pad(r.running, 9)}${pad(d.succeeded + d.failed, 6)}${r.state}`;
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

/** The sample burst for a stack: the example's own, else three runs of each group's first flow. */
function sampleRunsFor(manifest: FleetManifest, example: boolean): Array<{ group: string; flow: string; seconds: number }> {
  if (example) {
    return [
      ...Array.from({ length: 6 }, (_, i) => ({ group: 'finance', flow: 'invoice-entry', seconds: 3 + (i % 3) })),
      ...Array.from({ length: 3 }, (_, i) => ({ group: 'sales', flow: 'lead-sync', seconds: 2 + i })),
    ];
  }
  return manifest.groups.flatMap((g) => {
    const flow = Object.keys(g.flows)[0];
    return flow ? Array.from({ length: 3 }, (_, i) => ({ group: g.name, flow, seconds: 2 + i })) : [];
  });
}

interface RunningStack {
  readonly name: string;
  readonly manifest: FleetManifest;
  readonly fleet: LocalFleet;
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const out = options.out ?? process.stdout;
  const say = (line: string) => out.write(`${line}\n`);
  const example = options.manifest === undefined;
  // Read before anything starts: a bad path or file is refused with nothing left behind.
  const given = example ? undefined : readDemoStacks(options.manifest!);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-bots-demo-'));
  let stacks: DemoStack[];
  if (given) {
    say(`hosted-bots demo: ${given.length === 1 ? `stack ${given[0].name}` : `${given.length} stacks (${given.map((st) => st.name).join(', ')})`} from ${options.manifest} on this machine, with arm-sim playing Azure.`);
    stacks = given;
  } else {
    say('hosted-bots demo: the examples/single-geo fleet on this machine, with arm-sim playing Azure.');
    say('synthesizing examples/single-geo ...');
    stacks = [{ name: 'demo', raw: synthesizeExample(path.join(work, 'cdktf.out')) }];
  }
  say(`  bots boot in ${options.bootSeconds} s here (Azure takes minutes for Windows); idle bots go after ${options.idleSeconds} s.`);
  const adminToken = process.env.HOSTED_BOTS_DEMO_TOKEN || randomToken();
  const metricsToken = randomToken();
  say('starting arm-sim and the runtime ...');

  const running: RunningStack[] = [];
  let stopping = false;
  let ticker: NodeJS.Timeout | undefined;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    if (ticker) clearInterval(ticker);
    say('\nstopping: deleting the simulated VMs and the runtime ...');
    await Promise.all(running.map((r) => r.fleet.stop()));
    fs.rmSync(work, { recursive: true, force: true });
    say('stopped.');
    process.exitCode = code;
  };
  try {
    for (const [i, stack] of stacks.entries()) {
      const attested = managedIdentityGroups(stack.raw);
      // The example's finance group shows the managed-identity path; a given stack keeps its own choice.
      const identities = await localIdentities(example ? ['finance'] : attested);
      const admins = ((stack.raw as { environment?: { admins?: unknown } }).environment?.admins as string[] | undefined) ?? [];
      let local: ReturnType<typeof localManifest>;
      try {
        local = localManifest(stack.raw, {
          identities: identities.identities,
          // The demo's token is an admin of every environment it runs.
          environment: admins.includes(ADMIN) ? undefined : { admins: [...admins, ADMIN] },
          scaling: { idleMinutes: options.idleSeconds / 60, heartbeatSeconds: 2, bootTimeoutMinutes: Math.max(1, (options.bootSeconds * 5) / 60) },
        });
      } catch (err) {
        throw new Error(`stack ${stack.name}: ${(err as Error).message}`);
      }
      const fleet = await LocalFleet.start({
        manifest: local.manifest,
        botTokens: local.botTokens,
        userTokens: { [ADMIN]: adminToken },
        bootSeconds: options.bootSeconds,
        deleteSeconds: 0.5,
        operationSeconds: 0.5,
        port: options.port === 0 ? 0 : options.port + i,
        storeFile: path.join(work, `${stack.name}.db`),
        tickMs: 1000,
        claimWaitSeconds: 10,
        identities,
        metricsToken,
        log: options.verbose ? createLog({ base: { component: 'runtime', stack: stack.name } }) : silentLog,
      });
      running.push({ name: stack.name, manifest: local.manifest, fleet });
      const env = local.manifest.environment;
      const byIdentity = local.manifest.groups.filter((g) => g.botAuth.kind === 'managed-identity').map((g) => g.name);
      const byToken = local.manifest.groups.filter((g) => g.botAuth.kind !== 'managed-identity').map((g) => g.name);
      say(`  ${stack.name}: environment ${env.name} in ${env.geography} (${env.region}), ${local.manifest.groups.length} group(s), capacity ${env.botCapacity} bots`);
      if (byIdentity.length) say(`    ${byIdentity.join(', ')}: bots register with their VM's attested data (signed by arm-sim's test chain)`);
      if (byToken.length) say(`    ${byToken.join(', ')}: bots register with their group's token and VM name`);
    }
  } catch (err) {
    await Promise.all(running.map((r) => r.fleet.stop().catch(() => undefined)));
    fs.rmSync(work, { recursive: true, force: true });
    throw err;
  }
  const onSignal = () => void stop(0);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  say('');
  for (const r of running) {
    const prefix = running.length > 1 ? `${r.name}: ` : '';
    say(`${prefix}dashboard: ${r.fleet.url}/   (sign in with the token)`);
    say(`${prefix}API:       ${r.fleet.url}/v1   (every route but /healthz needs the token)`);
    say(`${prefix}metrics:   curl -s -H "Authorization: Bearer ${metricsToken}" ${r.fleet.url}/metrics`);
  }
  say(`token:     ${adminToken}   (principal ${ADMIN}, admin of ${running.length > 1 ? 'every environment' : `environment ${running[0].manifest.environment.name}`})`);
  say(`try:       curl -s -H "Authorization: Bearer ${adminToken}" ${running[0].fleet.url}/v1/groups`);
  say('');

  const call = async (fleet: LocalFleet, method: string, route: string, body?: unknown) => {
    const res = await fetch(`${fleet.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = res.status === 204 ? undefined : await res.json();
    if (res.status >= 400) throw new Error(`${method} ${route} answered ${res.status}: ${JSON.stringify(answer)}`);
    return answer;
  };

  let submittedCount = 0;
  if (options.sampleRuns) {
    for (const r of running) {
      const samples = sampleRunsFor(r.manifest, example);
      for (const { group, flow, seconds } of samples) {
        await call(r.fleet, 'POST', `/v1/groups/${group}/runs`, { flow, inputs: { simulateSeconds: seconds } });
      }
      submittedCount += samples.length;
      if (example) say(`submitted ${samples.length} sample runs: 6 to finance (invoice-entry), 3 to sales (lead-sync); capacity is ${r.manifest.environment.botCapacity} bots.`);
      else {
        const perGroup = [...new Set(samples.map((x) => x.group))].map((g) => `${g} (${samples.find((x) => x.group === g)!.flow})`);
        say(`${running.length > 1 ? `${r.name}: ` : ''}submitted ${samples.length} sample runs, 3 to each group: ${perGroup.join(', ')}; capacity is ${r.manifest.environment.botCapacity} bots.`);
      }
    }
  }

  const started = Date.now();
  const watcher = new DemoWatcher(
    out,
    options.exitWhenIdle
      ? 'every sample run is done and the fleet is back to zero bots.'
      : submittedCount > 0
        ? 'every sample run is done and the fleet is back to zero bots. The API stays up; Ctrl-C stops the demo.'
        : 'the fleet is back to zero bots, with no run queued or running. The API stays up; Ctrl-C stops the demo.',
  );
  // A look takes a few requests; a slow one must not overlap the next and print out of order.
  let looking = false;
  ticker = setInterval(() => {
    if (looking) return;
    looking = true;
    void (async () => {
      if (stopping) return;
      const groups: GroupRow[] = [];
      const done: Record<string, { succeeded: number; failed: number }> = {};
      let vms = 0;
      for (const r of running) {
        // Several stacks: each group is named with its stack.
        const named = (g: string) => (running.length > 1 ? `${r.name}/${g}` : g);
        for (const g of ((await call(r.fleet, 'GET', '/v1/groups')) as { groups: GroupRow[] }).groups) {
          const page = (await call(r.fleet, 'GET', `/v1/groups/${g.name}/runs?state=succeeded,failed&limit=200`)) as { runs: Array<{ state: string }> };
          done[named(g.name)] = { succeeded: page.runs.filter((x) => x.state === 'succeeded').length, failed: page.runs.filter((x) => x.state === 'failed').length };
          groups.push({ ...g, name: named(g.name) });
        }
        vms += r.fleet.sim.vms().length;
      }
      if (stopping) return;
      const idle = watcher.update({ groups, done, vms }, `[${((Date.now() - started) / 1000).toFixed(0)} s]`);
      const allDone = Object.values(done).reduce((sum, d) => sum + d.succeeded + d.failed, 0) >= submittedCount;
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
