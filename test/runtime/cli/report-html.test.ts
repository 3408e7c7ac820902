/** The HTML report's page builder: its data, and that nothing embedded can break out of its element. */
import type { PlannerResult } from '../../../runtime/sim/planner';
import type { GroupSeries, SimReport } from '../../../runtime/sim/simulate';
import { chartLibrary } from '../../../runtime/charts';
import { inlineScript, reportData, reportPage, scriptJson, waitUnitFor } from '../../../runtime/cli/report-html';
import { summaryOf } from '../../../runtime/sim/planner';

const LIB = { js: 'window.uPlot = function () {};', css: '.u-legend {}' };

function series(group: string): GroupSeries {
  return {
    group,
    at: [0, 60_000, 120_000],
    queued: [0, 3, 1],
    running: [0, 2, 4],
    bots: { provisioning: [0, 2, 0], idle: [0, 0, 1], busy: [0, 2, 4], failed: [0, 1, 0], deleting: [0, 0, 2] },
    waitPercentiles: Array.from({ length: 101 }, (_, p) => p * 2),
  };
}

function result(groups: string[], withSeries = true): PlannerResult {
  const report = (g: string) => ({ group: g, runs: 5, neverStarted: 0, wait: { mean: 1, p50: 1, p95: 120, max: 200 }, botMinutes: { busy: 60, idle: 30, booting: 30, total: 120 }, boots: 2, peakBots: 2, capacityBoundMinutes: 0 });
  const declared: SimReport = { policy: 'ours', start: 0, end: 120_000, groups: groups.map(report), total: report('total'), ...(withSeries ? { series: groups.map(series) } : {}) };
  const price = { perHour: 0.25, currency: 'EUR', from: 'user' as const };
  // The first group has a price, the others none.
  const summary = summaryOf(declared, 7, { [groups[0]]: price });
  const figures = { p95: 120, botHours: 2, botHoursPerMonth: 2 * (730 / 168), costPerMonth: 2 * (730 / 168) * 0.25, neverStarted: 0 };
  return {
    declared,
    figures,
    summary,
    whatIfs: [
      { group: groups[0], setting: 'maxBots', from: 4, to: 2, p95: 600, botHours: 1.5, botHoursPerMonth: 1.5 * (730 / 168), costPerMonth: 1.5 * (730 / 168) * 0.25, neverStarted: 3, p95Change: 4, botHoursChange: -0.25, costChange: -0.25, groupP95: { from: 60, to: 900, change: 14 } },
      { setting: 'botCapacity', from: 8, to: 4, p95: 9000, botHours: 1, botHoursPerMonth: 730 / 168, neverStarted: 0, p95Change: 74, botHoursChange: -0.5 },
    ],
    tried: 6,
    notes: ['committedBots is not tried: reasons.'],
  };
}

test('the data: demand is queued plus running, times in seconds, failed and deleting bots together', () => {
  const d = reportData(result(['finance']));
  expect(d.groups[0]).toMatchObject({ name: 'finance', t: [0, 60, 120], demand: [0, 5, 5], queued: [0, 3, 1], busy: [0, 2, 4], other: [0, 1, 2] });
  expect(d.groups[0].waitPercentiles).toHaveLength(101);
});

test('the data: the declared point and one labelled point per what-if row, in bot-hours per month', () => {
  const d = reportData(result(['finance']));
  expect(d.declared).toEqual({ p95: 120, botHours: 2 * (730 / 168) });
  expect(d.whatIfs).toEqual([
    { label: 'finance maxBots 4 → 2', p95: 600, botHours: 1.5 * (730 / 168) },
    { label: 'botCapacity 8 → 4', p95: 9000, botHours: 730 / 168 },
  ]);
});

test('the wait axes are in seconds up to 2 minutes, minutes up to 2 hours, then hours', () => {
  expect(waitUnitFor(90)).toEqual({ label: 's', seconds: 1 });
  expect(waitUnitFor(1500)).toEqual({ label: 'min', seconds: 60 });
  expect(waitUnitFor(9000)).toEqual({ label: 'h', seconds: 3600 });
  // The longest wait shown sets it: here the capacity what-if's p95 of 2.5 hours.
  expect(reportData(result(['finance'])).waitUnit.label).toBe('h');
});

test('the per-group summary: runs, never started, waits as a person reads them, a month of bot-hours, price and cost', () => {
  const page = reportPage({ title: 't', summary: [], result: result(['finance', 'sales']) }, LIB);
  const table = page.slice(page.indexOf('<table id="summary">'), page.indexOf('</table>', page.indexOf('<table id="summary">')));
  const rows = table.split('<tr').slice(2).map((r) => [...r.matchAll(/<t[hd][^>]*>([^<]*)<\/t[hd]>/g)].map((m) => m[1]));
  // 2 bot-hours in 7 days are 8.7 a month; at 0.25 EUR, 2.17 EUR.
  expect(rows).toEqual([
    ['finance', '5', '0', '1 s', '2 min 00 s', '9', '0.25 EUR', '2.17 EUR'],
    ['sales', '5', '0', '1 s', '2 min 00 s', '9', 'no price', '-'],
    ['total', '5', '0', '1 s', '2 min 00 s', '9', '', '-'],
  ]);
});

test('the what-if table: each figure from the declared settings to the change, the environment\'s changes unnamed by group', () => {
  const page = reportPage({ title: 't', summary: [], result: result(['finance']) }, LIB);
  expect(page).toContain('<td>finance maxBots 4 → 2</td><td>2 min 00 s → 10 min 00 s</td><td>1 min 00 s → 15 min 00 s</td><td>9 → 7</td><td>2.17 EUR → 1.63 EUR</td><td>0 → 3</td>');
  expect(page).toContain('<td>botCapacity 8 → 4</td><td>2 min 00 s → 2 h 30 min</td><td>-</td>');
  expect(page).toContain('<p class="note">committedBots is not tried: reasons.</p>');
});

test('a result without a time series is refused, naming what is missing', () => {
  expect(() => reportData(result(['finance'], false))).toThrow(/no time series: run it with series: true/);
});

test('JSON for a script element escapes < and the line separators', () => {
  const text = scriptJson({ name: '</script><script>alert(1)</script>', sep: '\u2028\u2029' });
  expect(text).not.toMatch(/</);
  expect(text).not.toMatch(/[\u2028\u2029]/);
  expect(JSON.parse(text)).toEqual({ name: '</script><script>alert(1)</script>', sep: '\u2028\u2029' });
});

test('an inlined library cannot close its script element', () => {
  expect(inlineScript('var s = "</script>"; // <!-- x')).toBe('var s = "<\\/script>"; // <\\!-- x');
});

test('a group name with markup is escaped in the HTML and in the data block', () => {
  const page = reportPage({ title: 'plan <b>', summary: ['a & b'], result: result(['</script><img src=x onerror=alert(1)>']) }, LIB);
  expect(page).not.toContain('<img');
  expect(page).toContain('&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
  expect(page).toContain('<title>plan &lt;b&gt;</title>');
  expect(page).toContain('<p>a &amp; b</p>');
  // Exactly the three script elements the page means to have.
  expect(page.match(/<script/g)).toHaveLength(3);
  expect(page.match(/<\/script>/g)).toHaveLength(3);
});

test('the page holds one timeline per group, the wait chart and the what-if chart, and loads nothing', () => {
  const page = reportPage({ title: 't', summary: [], result: result(['finance', 'sales']) }, LIB);
  expect(page).toContain('id="timeline-0"');
  expect(page).toContain('id="timeline-1"');
  expect(page).toContain('id="waits"');
  expect(page).toContain('id="whatif"');
  expect(page).toContain(LIB.js);
  expect(page).not.toMatch(/\b(src|href)=/);
});

test('the charting library is read from the installed package', () => {
  const lib = chartLibrary();
  expect(lib.js).toMatch(/uPlot/);
  expect(lib.css).toMatch(/\.uplot/);
});
