/**
 * The policy comparison: every trace in bench/traces simulated under ours (the runtime's plan())
 * and the baselines, on fleets synthesized for real. Rewrites the "policies" section of
 * BENCHMARKS.md with a table per trace, the Pareto front of p95 wait against bot-minutes, and the
 * simulator's speed.
 *
 *   node dist/bench/policies.js [--seeds 3]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformVariable } from 'cdktf';
import { HostedBotsStack } from '../index';
import { parseManifest } from '../runtime/config/manifest';
import { fleetOf } from '../runtime/sim/planner';
import { elasticPoolPolicy, fixedPolicy, hostedDefaultPolicy, oursPolicy } from '../runtime/sim/policies';
import { Policy, SimFleet, simulate, SimReport } from '../runtime/sim/simulate';
import { parseTrace, TraceRun } from '../runtime/sim/trace';
import { WORKLOAD_DESCRIPTIONS, WorkloadKind, WORKLOADS } from '../runtime/sim/workloads';
import { machine, median, table, writeSection } from './report';

const ROOT = path.resolve(__dirname, '..', '..');
const TRACES = path.join(ROOT, 'bench', 'traces');
const FLEETS = path.join(ROOT, 'bench', 'fleets');

interface FleetSpec {
  readonly name: string;
  readonly capacity: number;
  readonly finance: number;
  readonly sales: number;
  readonly why: string;
}

const FLEET_SPECS: Readonly<Record<'standard' | 'contended', FleetSpec>> = {
  standard: { name: 'standard', capacity: 60, finance: 40, sales: 20, why: 'room for the busiest hour' },
  contended: { name: 'contended', capacity: 24, finance: 16, sales: 16, why: 'the two groups together want more than the capacity' },
};

const FLEET_OF_TRACE: Readonly<Record<WorkloadKind, keyof typeof FLEET_SPECS>> = {
  'office-hours': 'standard',
  steady: 'standard',
  spiky: 'standard',
  contention: 'contended',
};

/** Synthesizes the fleet with the construct library and keeps its fleet.json in bench/fleets. */
export function synthesizeBenchFleet(spec: FleetSpec, outFile: string): unknown {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-fleet-${spec.name}-`));
  try {
    const app = new App({ outdir: dir, stackTraces: false });
    const stack = new HostedBotsStack(app, spec.name, { geography: 'Europe', environment: { name: spec.name, botCapacity: spec.capacity, admins: ['ops-admin'] } });
    const password = new TerraformVariable(stack, 'bot_admin_password', { type: 'string', sensitive: true }).stringValue;
    const flows = { finance: 'invoice-entry', sales: 'lead-sync' } as const;
    for (const name of ['finance', 'sales'] as const) {
      stack.environment.addGroup(name, {
        name,
        maxBots: spec[name],
        adminUsername: 'botadmin',
        adminPassword: password,
        flows: { [flows[name]]: { command: `powershell.exe -NoProfile -File C:\\flows\\${flows[name]}.ps1`, timeoutMinutes: 60 } },
      });
    }
    app.synth();
    const text = fs.readFileSync(path.join(dir, 'stacks', spec.name, 'fleet.json'), 'utf8');
    fs.mkdirSync(path.dirname(outFile), { recursive: true });
    fs.writeFileSync(outFile, text.endsWith('\n') ? text : `${text}\n`);
    return JSON.parse(text);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The policies compared on a fleet. */
export function policiesFor(fleet: SimFleet): Policy[] {
  const quarter = Object.fromEntries(fleet.groups.map((g) => [g.name, Math.ceil(g.maxBots / 4)]));
  const half = Object.fromEntries(fleet.groups.map((g) => [g.name, Math.ceil(g.maxBots / 2)]));
  return [
    hostedDefaultPolicy(),
    elasticPoolPolicy(),
    elasticPoolPolicy({ standby: 4 }),
    fixedPolicy(quarter),
    fixedPolicy(half),
    oursPolicy('ours (defaults)'),
    oursPolicy('ours, predictive off', { predictive: false }),
    oursPolicy('ours, tuned: standby 1, idle 5 min', { standbyBots: 1, idleMinutes: 5 }),
  ];
}

export interface PolicyRow {
  readonly policy: string;
  readonly p50: number;
  readonly p95: number;
  readonly mean: number;
  readonly max: number;
  readonly botMinutes: number;
  readonly busy: number;
  readonly idle: number;
  readonly booting: number;
  readonly boots: number;
  readonly peak: number;
  readonly bound: number;
  /** p95 wait per group, in seconds. */
  readonly groupP95: Readonly<Record<string, number>>;
  pareto?: boolean;
}

/** Medians over the seeds of each figure. */
function rowOf(policy: string, reports: readonly SimReport[]): PolicyRow {
  const m = (f: (r: SimReport) => number) => median(reports.map(f));
  return {
    policy,
    p50: m((r) => r.total.wait.p50),
    p95: m((r) => r.total.wait.p95),
    mean: m((r) => r.total.wait.mean),
    max: m((r) => r.total.wait.max),
    botMinutes: m((r) => r.total.botMinutes.total),
    busy: m((r) => r.total.botMinutes.busy),
    idle: m((r) => r.total.botMinutes.idle),
    booting: m((r) => r.total.botMinutes.booting),
    boots: m((r) => r.total.boots),
    peak: m((r) => r.total.peakBots),
    bound: m((r) => r.total.capacityBoundMinutes),
    groupP95: Object.fromEntries(reports[0].groups.map((g, i) => [g.group, m((r) => r.groups[i].wait.p95)])),
  };
}

/** Marks the rows no other row beats on both p95 wait and bot-minutes. */
export function markPareto(rows: PolicyRow[]): void {
  for (const r of rows) {
    r.pareto = !rows.some((o) => o !== r && o.p95 <= r.p95 && o.botMinutes <= r.botMinutes && (o.p95 < r.p95 || o.botMinutes < r.botMinutes));
  }
}

function main(): void {
  const argSeeds = process.argv.indexOf('--seeds');
  const seeds = argSeeds >= 0 ? Number(process.argv[argSeeds + 1]) : 3;
  if (!Number.isInteger(seeds) || seeds < 1 || seeds > 20) throw new Error(`--seeds must be an integer from 1 to 20, got "${process.argv[argSeeds + 1]}"`);

  const fleets: Record<string, SimFleet> = {};
  for (const spec of Object.values(FLEET_SPECS)) {
    const file = path.join(FLEETS, `${spec.name}.json`);
    console.log(`synthesizing the ${spec.name} fleet → ${path.relative(ROOT, file)}`);
    fleets[spec.name] = fleetOf(parseManifest(synthesizeBenchFleet(spec, file), { source: file, requireResolved: false }));
  }

  const sections: string[] = [];
  const verdicts: string[] = [];
  let speed: number[] = [];
  let officeRuns = 0;
  for (const kind of WORKLOADS) {
    const file = path.join(TRACES, `${kind}.csv`);
    const trace: TraceRun[] = parseTrace(fs.readFileSync(file, 'utf8'), file);
    const spec = FLEET_SPECS[FLEET_OF_TRACE[kind]];
    const fleet = fleets[spec.name];
    const rows: PolicyRow[] = [];
    for (const policy of policiesFor(fleet)) {
      const reports: SimReport[] = [];
      for (let seed = 1; seed <= seeds; seed++) {
        const started = process.hrtime.bigint();
        reports.push(simulate(trace, fleet, policy, { seed }));
        if (kind === 'office-hours' && policy.name === 'ours (defaults)') speed.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      rows.push(rowOf(policy.name, reports));
      process.stdout.write(`  ${kind}: ${policy.name}: p95 ${rows[rows.length - 1].p95.toFixed(0)} s, ${rows[rows.length - 1].botMinutes.toFixed(0)} bot-minutes\n`);
    }
    if (kind === 'office-hours') officeRuns = trace.length;
    markPareto(rows);
    const ours = rows.filter((r) => r.policy.startsWith('ours'));
    const oursOnFront = ours.filter((r) => r.pareto).map((r) => r.policy);
    verdicts.push(
      `- ${kind}: ${oursOnFront.length ? `on the Pareto front: ${oursOnFront.join('; ')}` : `**no "ours" row is on the Pareto front**`}.`,
    );
    if (kind === 'office-hours') {
      const elastic = rows.find((r) => r.policy === 'elastic-pool')!;
      const cheaper = ours.filter((r) => r.botMinutes <= elastic.botMinutes).sort((a, b) => a.p95 - b.p95)[0];
      if (cheaper) {
        const ratio = elastic.p95 > 0 ? cheaper.p95 / elastic.p95 : 0;
        verdicts.push(
          `- office-hours against elastic-pool: "${cheaper.policy}" waits ${ratio.toFixed(2)}× elastic-pool's p95 (${cheaper.p95.toFixed(0)} s against ${elastic.p95.toFixed(0)} s) on ${(cheaper.botMinutes / elastic.botMinutes).toFixed(2)}× its bot-minutes; the target is at most 0.50× on at most 1.00×${ratio <= 0.5 ? ', met' : ', **missed**'}.`,
        );
      } else verdicts.push('- office-hours against elastic-pool: **no "ours" row uses as few bot-minutes as elastic-pool**.');
      const on = rows.find((r) => r.policy === 'ours (defaults)')!;
      const off = rows.find((r) => r.policy === 'ours, predictive off')!;
      verdicts.push(
        `- predictive warm-up on office-hours: p95 ${off.p95.toFixed(0)} s → ${on.p95.toFixed(0)} s (${(on.p95 / Math.max(1, off.p95)).toFixed(2)}×) for ${(on.botMinutes / off.botMinutes).toFixed(2)}× the bot-minutes.`,
      );
    }
    sections.push(
      [
        `### ${kind} (${trace.length.toLocaleString('en-US')} runs; fleet "${spec.name}": capacity ${spec.capacity}, finance maxBots ${spec.finance}, sales maxBots ${spec.sales})`,
        '',
        `${WORKLOAD_DESCRIPTIONS[kind]}`,
        '',
        table(
          ['policy', 'p50 wait s', 'p95 wait s', 'p95 by group s', 'mean s', 'max s', 'bot-minutes', 'busy', 'idle', 'booting', 'boots', 'peak bots', 'capacity-bound min', 'Pareto front'],
          rows.map((r) => [
            r.policy,
            r.p50.toFixed(0),
            r.p95.toFixed(0),
            Object.entries(r.groupP95).map(([g, v]) => `${g} ${v.toFixed(0)}`).join(', '),
            r.mean.toFixed(0),
            r.max.toFixed(0),
            r.botMinutes.toFixed(0),
            r.busy.toFixed(0),
            r.idle.toFixed(0),
            r.booting.toFixed(0),
            r.boots.toFixed(0),
            r.peak.toFixed(0),
            r.bound.toFixed(0),
            r.pareto ? 'yes' : '',
          ]),
        ),
      ].join('\n'),
    );
  }
  speed = speed.sort((a, b) => a - b);
  const body = [
    '## Scaling policies compared in simulation',
    '',
    `Command: \`npm run build && node dist/bench/policies.js --seeds ${seeds}\``,
    `Machine: ${machine()}`,
    '',
    `Each trace in \`bench/traces/\` (seed 42) runs through the discrete-event simulator (\`runtime/sim/\`) under each policy. "ours" is the runtime's own \`plan()\`, called on every arrival and completion and on a 15-second tick, exactly as the runtime calls it. Boots take a sampled provisioning time (log-normal, median 4 minutes, 1% past 15 minutes); deletes take 60 s and count against the caps until done. Every figure is the median over ${seeds} boot-time seeds. Waits are in seconds, from arrival to a bot claiming the run; bot-minutes count every minute a VM exists (booting, idle, busy, or being deleted, which counts as idle). The fleets are synthesized by the construct library and kept in \`bench/fleets/\`.`,
    '',
    'Baselines: **hosted-default** creates a bot for each waiting run and deletes a bot as soon as it is idle; **elastic-pool** is Azure DevOps scale-set agent pools as documented (sample every 5 minutes, grow by at most a quarter of the maximum per sample when idle bots fall below the standby count or runs wait with no idle bot, delete bots idle beyond the standby count for 30 minutes); **fixed** keeps a constant pool (a quarter and a half of each group\'s maxBots). "ours (defaults)" uses the default settings, predictive warm-up included; "ours, tuned" changes the settings named.',
    '',
    `Simulating one week of office-hours (${officeRuns.toLocaleString('en-US')} runs) with "ours (defaults)": median ${(median(speed) / 1000).toFixed(2)} s over ${speed.length} runs (target < 10 s).`,
    '',
    'Verdicts, computed from the tables below:',
    '',
    ...verdicts,
    '',
    ...sections.flatMap((s) => [s, '']),
  ].join('\n');
  writeSection('policies', body);
  console.log(verdicts.join('\n'));
}

if (require.main === module) main();
