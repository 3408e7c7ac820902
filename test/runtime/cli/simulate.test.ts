/** `hosted-bots simulate`, the capacity planner, run as a user runs it (the built CLI). */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatTrace, TraceRun } from '../../../runtime/sim/trace';
import { generateWorkload } from '../../../runtime/sim/workloads';
import { synthesizedFleetJson } from '../../helpers/local-fleet';

const cli = path.resolve(__dirname, '..', '..', '..', 'dist', 'runtime', 'cli', 'main.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simulate-cli-'));
const manifest = path.join(dir, 'fleet.json');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'simulate', ...args], { encoding: 'utf8' });

/** Monday of the office-hours trace: finance and sales, the demo's groups and flows. */
function mondayTrace(): TraceRun[] {
  return generateWorkload('office-hours', { seed: 42, days: 1 });
}

beforeAll(() => {
  // The demo manifest as synthesized (apply-time values unresolved), with room for a busy day.
  const raw = synthesizedFleetJson() as any;
  raw.environment.botCapacity = 30;
  raw.groups.forEach((g: any) => (g.maxBots = 15));
  fs.writeFileSync(manifest, JSON.stringify(raw));
  fs.writeFileSync(path.join(dir, 'monday.csv'), formatTrace(mondayTrace()));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('prints the report per group and in total, then the what-if rows with both figures', () => {
  const r = run('--manifest', manifest, '--trace', path.join(dir, 'monday.csv'));
  expect(r.stderr).not.toMatch(/Error/);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^Simulated [\d,]+ runs of .*monday\.csv \(2026-01-05 \d\d:\d\d to 2026-01-05 \d\d:\d\d UTC\) on environment demo: capacity 30 bots, 2 groups\./);
  const header = r.stdout.split('\n').find((l) => l.startsWith('group '))!;
  for (const column of ['runs', 'wait mean', 'p50', 'p95', 'max', 'bot-min busy', 'idle', 'booting', 'total', 'boots', 'peak bots', 'capacity-bound min']) expect(header).toContain(column);
  expect(r.stdout).toMatch(/^finance +[\d,]+ /m);
  expect(r.stdout).toMatch(/^sales +[\d,]+ /m);
  expect(r.stdout).toMatch(/^total +[\d,]+ /m);
  // Halving finance's maxBots must change the p95 wait or the bot-hours by more than 10%.
  expect(r.stdout).toMatch(/What if: \d+ of \d+ one-setting changes/);
  expect(r.stdout).toMatch(/^finance +maxBots 15 → 8 +\S.* → .*\([+-]\d+%\) +[\d,]+ → [\d,]+ \([+-]?\d+%\)$/m);
});

test('runs no bot took by the trace\'s end plus the queue time-out are counted per group, in the table and a sentence', () => {
  // sales's runs may wait 36 s: its last runs, which need a 4-minute boot, are still queued then.
  const raw = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  raw.groups.find((g: any) => g.name === 'sales').scaling.queueTimeoutHours = 0.01;
  raw.groups.find((g: any) => g.name === 'finance').scaling.queueTimeoutHours = 0.01;
  const file = path.join(dir, 'short-timeout.json');
  fs.writeFileSync(file, JSON.stringify(raw));
  const trace = path.join(dir, 'late.csv');
  fs.writeFileSync(trace, ['at,group,flow,durationSeconds,priority', '2026-01-05T09:00:00Z,sales,lead-sync,60,normal', '2026-01-05T23:00:00Z,sales,lead-sync,60,normal', ''].join('\n'));
  const r = run('--manifest', file, '--trace', trace, '--no-what-if');
  expect(r.status).toBe(0);
  const header = r.stdout.split('\n').find((l) => l.startsWith('group '))!;
  expect(header).toMatch(/never started$/);
  expect(r.stdout).toMatch(/^sales +1 .* 1$/m);
  expect(r.stdout).toMatch(/^total +1 .* 1$/m);
  expect(r.stdout).toContain('1 run never started (sales 1): still queued 36 s after the trace\'s last run');
});

test('the same seed gives the same report, byte for byte; another seed another one', () => {
  const args = ['--manifest', manifest, '--trace', path.join(dir, 'monday.csv'), '--no-what-if'];
  const a = run(...args, '--seed', '7');
  const b = run(...args, '--seed', '7');
  const c = run(...args, '--seed', '8');
  expect(a.status).toBe(0);
  expect(a.stdout).toBe(b.stdout);
  expect(c.stdout).not.toBe(a.stdout);
});

test('shows progress on a long trace, on stderr', () => {
  const r = run('--manifest', manifest, '--trace', path.join(dir, 'monday.csv'));
  expect(r.stderr).toMatch(/simulating: 0%\n(simulating: \d+%\n)*simulating: 100%\n/);
  expect(r.stderr).toMatch(/\d+ simulations in /);
});

test.each([
  ['a bad duration', (rows: string[]) => (rows[3] = rows[3].replace(/,\d+,(high|normal)$/, ',-5,$1')), /bad\.csv line 4, column durationSeconds: "-5"/],
  ['an unknown priority', (rows: string[]) => (rows[6] = rows[6].replace(/(high|normal)$/, 'urgent')), /bad\.csv line 7, column priority: "urgent"/],
  ['a time without a zone', (rows: string[]) => (rows[2] = rows[2].replace(/Z,/, ',')), /bad\.csv line 3, column at: /],
  ['a group the manifest does not declare', (rows: string[]) => (rows[5] = rows[5].replace(/,(finance|sales),/, ',hr,')), /bad\.csv line 6, column group: "hr" is not a group of .*fleet\.json \(groups: finance, sales\)/],
  ['a flow its group does not have', (rows: string[]) => (rows[2] = rows[2].replace(/,(invoice-entry|lead-sync),/, ',payroll,')), /bad\.csv line 3, column flow: "payroll" is not a flow of group (finance|sales)/],
])('a trace with %s is refused, naming the line and the column', (_what, spoil, message) => {
  const rows = formatTrace(mondayTrace().slice(0, 10)).trimEnd().split('\n');
  spoil(rows);
  const file = path.join(dir, 'bad.csv');
  fs.writeFileSync(file, `${rows.join('\n')}\n`);
  const r = run('--manifest', manifest, '--trace', file);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(message);
  expect(r.stdout).toBe('');
});

test('a missing trace file is named', () => {
  const r = run('--manifest', manifest, '--trace', path.join(dir, 'nope.csv'));
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/--trace .*nope\.csv cannot be read/);
});

test('help names every option', () => {
  const r = spawnSync(process.execPath, [cli, 'simulate', '--help'], { encoding: 'utf8' });
  for (const option of ['--manifest', '--trace', '--seed', '--boot-median-seconds', '--boot-sigma', '--no-what-if', '--json', '--html']) expect(r.stdout).toContain(option);
});

test('--html to a folder that does not exist is refused, naming the flag and the file', () => {
  const target = path.join(dir, 'missing', 'report.html');
  const r = run('--manifest', manifest, '--trace', path.join(dir, 'monday.csv'), '--no-what-if', '--html', target);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain(`--html ${target} cannot be written`);
});

test('--html leaves the text report on stdout as it was', () => {
  const args = ['--manifest', manifest, '--trace', path.join(dir, 'monday.csv'), '--no-what-if'];
  const plain = run(...args);
  const withHtml = run(...args, '--html', path.join(dir, 'report.html'));
  expect(withHtml.status).toBe(0);
  expect(withHtml.stdout).toBe(plain.stdout);
  expect(fs.readFileSync(path.join(dir, 'report.html'), 'utf8')).toMatch(/^<!doctype html>/);
});
