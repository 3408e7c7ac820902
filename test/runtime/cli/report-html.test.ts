/** The HTML report's page builder: its data, and that nothing embedded can break out of its element. */
import type { PlannerResult } from '../../../runtime/sim/planner';
import type { GroupSeries, SimReport } from '../../../runtime/sim/simulate';
import { chartLibrary } from '../../../runtime/charts';
import { inlineScript, reportData, reportPage, scriptJson } from '../../../runtime/cli/report-html';

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
  return { declared, whatIfs: [{ group: groups[0], setting: 'maxBots', from: 4, to: 2, p95: 600, botHours: 1.5, p95Change: 4, botHoursChange: -0.25 }], tried: 6 };
}

test('the data: demand is queued plus running, times in seconds, failed and deleting bots together', () => {
  const d = reportData(result(['finance']));
  expect(d.groups[0]).toMatchObject({ name: 'finance', t: [0, 60, 120], demand: [0, 5, 5], queued: [0, 3, 1], busy: [0, 2, 4], other: [0, 1, 2] });
  expect(d.groups[0].waitPercentiles).toHaveLength(101);
});

test('the data: the declared point and one labelled point per what-if row', () => {
  const d = reportData(result(['finance']));
  expect(d.declared).toEqual({ p95: 120, botHours: 2 });
  expect(d.whatIfs).toEqual([{ label: 'finance maxBots 4 → 2', p95: 600, botHours: 1.5 }]);
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
