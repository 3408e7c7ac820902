/**
 * How far the idle time-out can take "ours" on the traces where the capacity or a group's maxBots
 * binds: hosted-default (no idle bot kept) against "ours" at idleMinutes 10 (the default), 5, 2
 * and 0.5, with predictive warm-up on and off, each the median over the seeds, with both
 * tie-aware fronts of bench/policies.ts among these rows. It answers one question: is there a
 * setting of "ours" that reaches hosted-default's front on the worst group's p95? Rewrites the
 * "idle-sweep" section of BENCHMARKS.md on a run of the default traces.
 *
 *   node dist/bench/idle-sweep.js [--seeds 9] [--trace NAME]...
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseManifest } from '../runtime/config/manifest';
import { fleetOf } from '../runtime/sim/planner';
import { hostedDefaultPolicy, oursPolicy } from '../runtime/sim/policies';
import { Policy, simulate, SimReport } from '../runtime/sim/simulate';
import { parseTrace } from '../runtime/sim/trace';
import { BenchTraceName, FLEET_OF_TRACE, FLEET_SPECS, markPareto, parsePoliciesArgs, PolicyRow, rowOf, seedSpread, worstGroup, worstGroupFigure } from './policies';
import { machine, runScript, table, writeSection } from './report';

const ROOT = path.resolve(__dirname, '..', '..');

/** The traces the sweep runs by default: the two real weeks, where the fronts were missed. */
export const SWEEP_TRACES: readonly BenchTraceName[] = ['kth-sp2', 'lanl-cm5'];
/** The idle time-outs tried, in minutes; the first is the default. */
export const SWEEP_IDLE_MINUTES: readonly number[] = [10, 5, 2, 0.5];

/** The policies the sweep compares: hosted-default, then "ours" at each idle time-out, predictive on and off. */
export function sweepPolicies(): Policy[] {
  return [
    hostedDefaultPolicy(),
    ...SWEEP_IDLE_MINUTES.flatMap((idle) => [oursPolicy(`ours, idle ${idle} min`, { idleMinutes: idle }), oursPolicy(`ours, idle ${idle} min, predictive off`, { idleMinutes: idle, predictive: false })]),
  ];
}

const HELP = `usage: node dist/bench/idle-sweep.js [--seeds N] [--trace NAME]...

Simulates hosted-default and "ours" at idleMinutes ${SWEEP_IDLE_MINUTES.join(', ')} (predictive on and off)
on the traces named (default: ${SWEEP_TRACES.join(', ')}), N boot-time seeds each (default 9, 1 to 20),
and marks the tie-aware fronts among these rows. Rewrites the idle-sweep section of BENCHMARKS.md
only on a run of the default traces.
`;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function main(argv: readonly string[]): void {
  const args = parsePoliciesArgs(argv, SWEEP_TRACES);
  if (args.help) {
    process.stdout.write(HELP);
    return;
  }
  const sections: string[] = [];
  for (const name of args.traces) {
    const spec = FLEET_SPECS[FLEET_OF_TRACE[name]];
    const fleetFile = path.join(ROOT, 'bench', 'fleets', `${spec.name}.json`);
    const fleet = fleetOf(parseManifest(JSON.parse(fs.readFileSync(fleetFile, 'utf8')), { source: fleetFile, requireResolved: false }));
    const traceFile = path.join(ROOT, 'bench', 'traces', `${name}.csv`);
    const trace = parseTrace(fs.readFileSync(traceFile, 'utf8'), traceFile);
    const rows: PolicyRow[] = [];
    for (const policy of sweepPolicies()) {
      const reports: SimReport[] = [];
      for (let seed = 1; seed <= args.seeds; seed++) reports.push(simulate(trace, fleet, policy, { seed }));
      rows.push(rowOf(policy.name, reports));
      process.stdout.write(`  ${name}: ${policy.name}: worst group p95 ${worstGroupFigure(rows[rows.length - 1]).value.toFixed(0)} s, ${rows[rows.length - 1].botMinutes.toFixed(0)} bot-minutes\n`);
    }
    markPareto(rows);
    const body = table(
      ['policy', 'p95 wait s', 'worst group p95 s', 'bot-minutes', 'idle', 'front (total)', 'front (worst group)'],
      rows.map((r) => {
        const worst = worstGroupFigure(r);
        return [
          r.policy,
          `${fmt(r.p95)} (IQR ${fmt(seedSpread(r.seeds.p95))})`,
          `${worstGroup(r)} ${fmt(worst.value)} (IQR ${fmt(worst.spread)})`,
          `${fmt(r.botMinutes)} (IQR ${fmt(seedSpread(r.seeds.botMinutes))})`,
          fmt(r.idle),
          r.pareto ? 'yes' : '',
          r.paretoWorst ? 'yes' : '',
        ];
      }),
    );
    const oursOnWorst = rows.filter((r) => r.policy.startsWith('ours') && r.paretoWorst).map((r) => r.policy);
    const verdict = oursOnWorst.length ? `"ours" rows on the worst group's front: ${oursOnWorst.join('; ')}.` : 'No "ours" row, at any idle time-out tried, is on the worst group\'s front.';
    sections.push(`### ${name}\n\n${body}\n\n${verdict}\n`);
    console.log(`${name}: ${verdict}`);
  }
  if (!args.write) return;
  writeSection(
    'idle-sweep',
    [
      '## Idle time-out sweep on the real weeks',
      '',
      `Command: \`npm run build && node dist/bench/idle-sweep.js --seeds ${args.seeds}\``,
      `Machine: ${machine()}`,
      '',
      'On kth-sp2 and lanl-cm5 "ours (defaults)" is off the worst group\'s front in the policy comparison above: the worst group\'s p95 ties hosted-default\'s, on more bot-minutes. This sweep asks whether any idle time-out fixes that. hosted-default keeps no idle bot; "ours" keeps each idle bot for idleMinutes (bots left over from a burst go sooner with predictive warm-up). Medians over the seeds, with the tie-aware fronts of the policy comparison taken among these rows only.',
      '',
      ...sections,
    ].join('\n'),
  );
}

if (require.main === module) runScript(main);
