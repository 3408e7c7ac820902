/** `hosted-bots simulate`, the capacity planner, run as a user runs it (the built CLI). */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatTrace, TraceRun } from '../../../runtime/sim/trace';
import { generateWorkload } from '../../../runtime/sim/workloads';
import { synthesizedFleetJson } from '../../helpers/local-fleet';
import { defaultThreads } from '../../../runtime/cli/simulate';

const cli = path.resolve(__dirname, '..', '..', '..', 'dist', 'runtime', 'cli', 'main.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simulate-cli-'));
const manifest = path.join(dir, 'fleet.json');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'simulate', ...args], { encoding: 'utf8' });
const prices = path.join(dir, 'prices.json');
const write = (name: string, text: string) => {
  fs.writeFileSync(path.join(dir, name), text);
  return path.join(dir, name);
};

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
  fs.writeFileSync(prices, JSON.stringify({ currency: 'EUR', source: 'a test price sheet', prices: [{ vmSize: 'Standard_D2s_v5', region: 'northeurope', perHour: 0.2 }] }));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('prints the per-group summary over a month, the table over the trace, then the what-if rows with bot-hours and cost per month', () => {
  const r = run('--manifest', manifest, '--trace', path.join(dir, 'monday.csv'), '--prices', prices);
  expect(r.stderr).not.toMatch(/Error/);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^Simulated [\d,]+ runs of .*monday\.csv \(2026-01-05 \d\d:\d\d to 2026-01-05 \d\d:\d\d UTC\) on environment demo \(northeurope\): capacity 30 bots, 2 groups\./);
  expect(r.stdout).toContain('Per group, over a month of 730 hours (the trace\'s 1 day scaled up):');
  const headers = r.stdout.split('\n').filter((l) => l.startsWith('group '));
  for (const column of ['runs', 'never started', 'p50 wait', 'p95 wait', 'bot-hours/month', 'price/VM-hour', 'cost/month']) expect(headers[0]).toContain(column);
  for (const column of ['runs', 'wait mean', 'p50', 'p95', 'max', 'bot-min busy', 'idle', 'booting', 'total', 'boots', 'peak bots', 'capacity-bound min', 'never started']) expect(headers[1]).toContain(column);
  for (const column of ['change', 'p95 wait', 'bot-hours/month', 'cost/month', 'never started']) expect(headers[2]).toContain(column);
  expect(r.stdout).toMatch(/^finance +[\d,]+ +0 +\d.* +[\d,]+ +0\.2 EUR +[\d,.]+ EUR$/m);
  expect(r.stdout).toMatch(/^sales +[\d,]+ +0 +\d.* +[\d,]+ +0\.2 EUR +[\d,.]+ EUR$/m);
  expect(r.stdout).toMatch(/^total +[\d,]+ +0 +\d.* +[\d,]+ +[\d,.]+ EUR$/m);
  expect(r.stdout).toMatch(/What if: \d+ of \d+ one-setting changes/);
  const columns = (start: string) => r.stdout.split('\n').find((l) => l.startsWith(start))?.split(/ {2,}/);
  const wait = /^\d.* → \d.* \([+-]?\d+%\)$/;
  // Halving finance's maxBots must change the p95 wait or the bot-hours by more than 10%.
  const maxBots = columns('finance      maxBots 15 → 8')!;
  expect(maxBots).toHaveLength(7);
  expect(maxBots[2]).toMatch(wait);
  expect(maxBots[3]).toMatch(wait);
  expect(maxBots[4]).toMatch(/^[\d,]+ → [\d,]+ \([+-]?\d+%\)$/);
  expect(maxBots[5]).toMatch(/^[\d,.]+ EUR → [\d,.]+ EUR \([+-]?\d+%\)$/);
  expect(maxBots[6]).toBe('0');
  // And so must halving the environment's capacity, which is no group's.
  const capacity = columns('environment  botCapacity 30 → 15')!;
  expect(capacity[2]).toMatch(wait);
  expect(capacity[3]).toBe('-');
  expect(capacity[5]).toMatch(/^[\d,.]+ EUR → [\d,.]+ EUR \([+-]?\d+%\)$/);
  expect(r.stdout).toContain('committedBots is not tried: the capacity (30 bots) holds every group\'s maxBots at once (30), so committed bots change nothing.');
});

test('the cost per month is the month\'s bot-hours times the price of the user\'s table, per group and in total', () => {
  const r = run('--manifest', manifest, '--trace', path.join(dir, 'monday.csv'), '--prices', prices, '--no-what-if', '--json');
  expect(r.status).toBe(0);
  const report = JSON.parse(r.stdout);
  expect(report.prices).toEqual({
    finance: { vmSize: 'Standard_D2s_v5', region: 'northeurope', perHour: 0.2, currency: 'EUR', from: 'user' },
    sales: { vmSize: 'Standard_D2s_v5', region: 'northeurope', perHour: 0.2, currency: 'EUR', from: 'user' },
  });
  for (const g of report.summary.groups) {
    const minutes = report.declared.groups.find((d: any) => d.group === g.group).botMinutes.total;
    expect(g.botHoursPerMonth).toBeCloseTo(((minutes / 60) * 730) / 24, 2);
    expect(g.costPerMonth).toBeCloseTo(g.botHoursPerMonth * 0.2, 2);
  }
  expect(report.summary.total.costPerMonth).toBeCloseTo(report.summary.groups[0].costPerMonth + report.summary.groups[1].costPerMonth, 2);
  expect(report.summary.currency).toBe('EUR');
});

test('without a price for the fleet\'s size and region, costs are left out and the report says how to give one', () => {
  const r = run('--manifest', manifest, '--trace', path.join(dir, 'monday.csv'), '--no-what-if');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('No price for Standard_D2s_v5 in northeurope in the built-in table: costs are left out. Give prices with --prices <file>');
  expect(r.stdout).toMatch(/^finance .* no price +-$/m);
});

test('the capacity and committed-bots what-ifs of a contended fleet: a flood in one group, a trickle in the other', () => {
  const raw = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  raw.environment.botCapacity = 4;
  raw.groups.forEach((g: any) => (g.maxBots = 4));
  const file = path.join(dir, 'contended.json');
  fs.writeFileSync(file, JSON.stringify(raw));
  const rows: string[] = ['at,group,flow,durationSeconds,priority'];
  for (let i = 0; i < 60; i++) {
    const at = new Date(Date.UTC(2026, 0, 5, 9, 0, i * 20)).toISOString().replace('.000Z', 'Z');
    rows.push(`${at},${i % 6 === 0 ? 'sales,lead-sync' : 'finance,invoice-entry'},600,normal`);
  }
  const trace = path.join(dir, 'flood.csv');
  fs.writeFileSync(trace, `${rows.join('\n')}\n`);
  const r = run('--manifest', file, '--trace', trace, '--prices', prices, '--json');
  expect(r.status).toBe(0);
  const report = JSON.parse(r.stdout);
  const changes = report.whatIfs.map((w: any) => `${w.group ?? 'environment'} ${w.setting} ${w.from} → ${w.to}`);
  expect(changes).toEqual(expect.arrayContaining(['environment botCapacity 4 → 2', 'environment botCapacity 4 → 8', 'sales committedBots 0 → 1', 'sales committedBots 0 → 2']));
  // A bot held for the trickle: its runs no longer queue behind the flood.
  const committed = report.whatIfs.find((w: any) => w.group === 'sales' && w.setting === 'committedBots' && w.to === 1);
  expect(committed.groupP95.to).toBeLessThan(committed.groupP95.from * 0.9);
  const halved = report.whatIfs.find((w: any) => w.setting === 'botCapacity' && w.to === 2);
  expect(halved.p95).toBeGreaterThan(report.figures.p95 * 1.1);
  for (const w of report.whatIfs) expect(w.costPerMonth).toBeCloseTo(w.botHoursPerMonth * 0.2, 2);
});

test.each([
  ['a file that is not there', () => path.join(dir, 'none.json'), /--prices .*none\.json cannot be read/],
  ['a file that is not JSON', () => write('prices-text.json', 'finance: 0.2'), /--prices .*prices-text\.json is not JSON/],
  ['a price of zero', () => write('prices-zero.json', JSON.stringify({ currency: 'EUR', prices: [{ vmSize: 'Standard_D2s_v5', perHour: 0 }] })), /--prices .*prices-zero\.json: prices\[0\]\.perHour: 0 is not a price: it must be a number of EUR per VM-hour, more than 0 and at most 1000/],
  ['a row without its size', () => write('prices-size.json', JSON.stringify({ currency: 'EUR', prices: [{ region: 'northeurope', perHour: 0.2 }] })), /--prices .*prices-size\.json: prices\[0\]\.vmSize: undefined is not a VM size/],
  ['a currency in words', () => write('prices-currency.json', JSON.stringify({ currency: 'euro', prices: [] })), /--prices .*prices-currency\.json: currency: "euro" is not a currency/],
])('a price table with %s is refused before simulating, naming the file, the field, the value and the rule', (_what, file, message) => {
  const r = run('--manifest', manifest, '--trace', path.join(dir, 'monday.csv'), '--no-what-if', '--prices', file());
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(message);
  expect(r.stdout).toBe('');
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
  const headers = r.stdout.split('\n').filter((l) => l.startsWith('group '));
  expect(headers[0]).toMatch(/^group +runs +never started /);
  expect(headers[1]).toMatch(/never started$/);
  // In the summary, after the runs that started; in the table over the trace, last.
  expect(r.stdout).toMatch(/^sales +1 +1 /m);
  expect(r.stdout).toMatch(/^sales +1 .* 1$/m);
  expect(r.stdout).toMatch(/^total +1 .* 1$/m);
  expect(r.stdout).toContain('1 run never started (sales 1): still queued 36 s after the trace\'s last run');
});

test('the report is the same, byte for byte, whether the simulations run on one thread or side by side on three', () => {
  const args = ['--manifest', manifest, '--trace', path.join(dir, 'monday.csv'), '--prices', prices];
  const one = run(...args, '--threads', '1');
  const three = run(...args, '--threads', '3');
  expect(one.status).toBe(0);
  expect(three.status).toBe(0);
  expect(three.stdout).toBe(one.stdout);
});

test('by default, one thread per free core: the cores less the load average, at least 1 and at most 4', () => {
  expect(defaultThreads(2, 0.1)).toBe(2);
  expect(defaultThreads(2, 4.2)).toBe(1);
  expect(defaultThreads(8, 2.6)).toBe(4);
  expect(defaultThreads(16, 0)).toBe(4);
});

test('--threads that is not a whole number of at least 1 is refused, naming the flag', () => {
  const r = run('--manifest', manifest, '--trace', path.join(dir, 'monday.csv'), '--threads', '1.5');
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain('--threads must be a whole number from 1 to 64, got "1.5"');
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

test('with --progress, shows progress on stderr, and the JSON on stdout stays clean', () => {
  const r = run('--manifest', manifest, '--trace', path.join(dir, 'monday.csv'), '--progress', '--json');
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/simulating: 0%\n(simulating: \d+%\n)*simulating: 100%\n/);
  expect(() => JSON.parse(r.stdout)).not.toThrow();
});

test('without --progress, a run that is not on a terminal shows no progress', () => {
  const r = run('--manifest', manifest, '--trace', path.join(dir, 'monday.csv'));
  expect(r.status).toBe(0);
  expect(r.stderr).not.toMatch(/simulating/);
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
  for (const option of ['--manifest', '--trace', '--seed', '--boot-median-seconds', '--boot-sigma', '--no-what-if', '--json', '--html', '--prices', '--progress', '--threads']) expect(r.stdout).toContain(option);
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

test('the HTML page names the trace, manifest and price file without the folders they are in', () => {
  const r = run('--manifest', manifest, '--trace', path.join(dir, 'monday.csv'), '--no-what-if', '--prices', prices, '--html', path.join(dir, 'named.html'));
  expect(r.status).toBe(0);
  const page = fs.readFileSync(path.join(dir, 'named.html'), 'utf8');
  expect(page).toContain('runs of monday.csv');
  expect(page).toContain('(from prices.json)');
  expect(page).not.toContain(dir);
  expect(page).not.toContain(os.tmpdir());
  expect(page).toContain('<table id="summary">');
});
