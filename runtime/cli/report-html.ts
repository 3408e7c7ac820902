/**
 * The page `hosted-bots simulate --html` writes: one self-contained HTML file that opens offline.
 * The charting library (uPlot, MIT) is read from the installed package and inlined, and the data
 * goes in a JSON script block; nothing is fetched when the page opens.
 */
import { chartLibrary } from '../charts';
import { escapeHtml } from '../dashboard/html';
import { money, PlannerResult, seconds, whatIfLabel } from '../sim/planner';
import { HOURS_PER_MONTH } from '../sim/prices';
import type { GroupSeries } from '../sim/simulate';

export interface ReportPageInput {
  readonly title: string;
  /** Sentences above the charts (what was simulated, on which settings). */
  readonly summary: readonly string[];
  readonly result: PlannerResult;
}

/** The data the page's script draws from: plain JSON, in seconds for the time axes. */
export interface ReportData {
  readonly groups: ReadonlyArray<{
    readonly name: string;
    readonly t: number[];
    readonly demand: number[];
    readonly queued: number[];
    readonly busy: number[];
    readonly idle: number[];
    readonly provisioning: number[];
    readonly other: number[];
    readonly waitPercentiles: number[];
  }>;
  /** Bot-hours per month; p95 in seconds. */
  readonly declared: { readonly p95: number; readonly botHours: number };
  readonly whatIfs: ReadonlyArray<{ readonly label: string; readonly p95: number; readonly botHours: number }>;
  /** The unit the wait axes are drawn in: seconds, minutes or hours, whichever reads best for the longest wait shown. */
  readonly waitUnit: WaitUnit;
}

export interface WaitUnit {
  readonly label: 's' | 'min' | 'h';
  readonly seconds: number;
}

/** Seconds up to 2 minutes, minutes up to 2 hours, hours beyond. */
export function waitUnitFor(longestSeconds: number): WaitUnit {
  if (longestSeconds > 2 * 3600) return { label: 'h', seconds: 3600 };
  if (longestSeconds > 120) return { label: 'min', seconds: 60 };
  return { label: 's', seconds: 1 };
}

/** The chart data of a planner result; it must have been run with `series: true`. */
export function reportData(result: PlannerResult): ReportData {
  const series = result.declared.series;
  if (!series) throw new Error('the planner result holds no time series: run it with series: true for the HTML report');
  return {
    groups: series.map((s: GroupSeries) => ({
      name: s.group,
      t: s.at.map((ms) => ms / 1000),
      demand: s.queued.map((q, i) => q + s.running[i]),
      queued: s.queued,
      busy: s.bots.busy,
      idle: s.bots.idle,
      provisioning: s.bots.provisioning,
      other: s.bots.failed.map((f, i) => f + s.bots.deleting[i]),
      waitPercentiles: s.waitPercentiles,
    })),
    declared: { p95: result.figures.p95, botHours: result.figures.botHoursPerMonth },
    whatIfs: result.whatIfs.map((w) => ({ label: whatIfLabel(w), p95: w.p95, botHours: w.botHoursPerMonth })),
    waitUnit: waitUnitFor(Math.max(result.figures.p95, ...result.whatIfs.map((w) => w.p95), ...series.map((s) => s.waitPercentiles[100] ?? 0))),
  };
}

/**
 * JSON that is safe inside a <script> element: `<` (so no `</script>` or `<!--` can end or
 * change it), and the two line separators older parsers treat as line ends, are escaped.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A library's source, made safe to inline: a `</script` inside it would end the element early. */
export function inlineScript(source: string): string {
  return source.replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--');
}


/** The per-group summary as a table: runs, waits, and a month's bot-hours and cost. */
function summaryTable(result: PlannerResult): string {
  const s = result.summary;
  const cost = (value: number | undefined) => (value !== undefined && s.currency ? money(value, s.currency) : '-');
  const row = (g: PlannerResult['summary']['groups'][number], head = false) =>
    `<tr${head ? ' class="total"' : ''}><th scope="row">${escapeHtml(g.group)}</th><td>${g.runs.toLocaleString('en-US')}</td><td>${g.neverStarted.toLocaleString('en-US')}</td><td>${escapeHtml(seconds(g.p50))}</td><td>${escapeHtml(seconds(g.p95))}</td><td>${Math.round(g.botHoursPerMonth).toLocaleString('en-US')}</td><td>${escapeHtml(g.price ? `${g.price.perHour} ${g.price.currency}` : head ? '' : 'no price')}</td><td>${escapeHtml(cost(g.costPerMonth))}</td></tr>`;
  return `<table id="summary"><thead><tr><th scope="col">group</th><th scope="col">runs</th><th scope="col">never started</th><th scope="col">p50 wait</th><th scope="col">p95 wait</th><th scope="col">bot-hours/month</th><th scope="col">price/VM-hour</th><th scope="col">cost/month</th></tr></thead><tbody>
${s.groups.map((g) => row(g)).join('\n')}
${row(s.total, true)}
</tbody></table>`;
}

/** The what-if rows as a table, each figure from the declared settings' to the change's. */
function whatIfTable(result: PlannerResult): string {
  const base = result.figures;
  const currency = result.summary.currency;
  const cost = (value: number | undefined) => (value !== undefined && currency ? money(value, currency) : '-');
  return `<table id="whatif-rows"><thead><tr><th scope="col">change</th><th scope="col">p95 wait</th><th scope="col">the group's p95</th><th scope="col">bot-hours/month</th><th scope="col">cost/month</th><th scope="col">never started</th></tr></thead><tbody>
${result.whatIfs
  .map(
    (w) =>
      `<tr><td>${escapeHtml(whatIfLabel(w))}</td><td>${escapeHtml(`${seconds(base.p95)} → ${seconds(w.p95)}`)}</td><td>${escapeHtml(w.groupP95 ? `${seconds(w.groupP95.from)} → ${seconds(w.groupP95.to)}` : '-')}</td><td>${escapeHtml(`${Math.round(base.botHoursPerMonth).toLocaleString('en-US')} → ${Math.round(w.botHoursPerMonth).toLocaleString('en-US')}`)}</td><td>${escapeHtml(base.costPerMonth === undefined && w.costPerMonth === undefined ? '-' : `${cost(base.costPerMonth)} → ${cost(w.costPerMonth)}`)}</td><td>${base.neverStarted} → ${w.neverStarted}</td></tr>`,
  )
  .join('\n')}
</tbody></table>`;
}

export function reportPage(input: ReportPageInput, library = chartLibrary()): string {
  const data = reportData(input.result);
  const sections = data.groups
    .map(
      (g, i) => `<section class="group" data-group="${escapeHtml(g.name)}">
<h2>${escapeHtml(g.name)}</h2>
<figure><div class="chart" id="timeline-${i}"></div>
<figcaption>Demand (runs queued + running) and the group's bots by state over the trace's time, sampled every ${escapeHtml(stepLabel(g.t))}.</figcaption></figure>
</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)}</title>
<style>${library.css.replace(/<\/style/gi, '<\\/style')}
${PAGE_CSS}</style>
</head>
<body>
<header><h1>${escapeHtml(input.title)}</h1>
${input.summary.map((s) => `<p>${escapeHtml(s)}</p>`).join('\n')}
</header>
<main>
<section><h2>Per group, over a month</h2>
${summaryTable(input.result)}
<p class="note">Bot-hours and cost over a month of ${HOURS_PER_MONTH} hours, scaled from the trace's ${input.result.summary.traceDays} day${input.result.summary.traceDays === 1 ? '' : 's'}; waits from a run's arrival until a bot takes it, over the runs that started.</p>
</section>
${sections}
<section><h2>Wait distribution</h2>
<figure><div class="chart" id="waits"></div>
<figcaption>Share of each group's runs (y) that waited at most the time on x (in ${data.waitUnit.label === 'h' ? 'hours' : data.waitUnit.label === 'min' ? 'minutes' : 'seconds'}), from queued to claimed by a bot.</figcaption></figure>
</section>
<section><h2>What if</h2>
<figure><div class="chart" id="whatif"></div>
<figcaption>${
    data.whatIfs.length === 0
      ? `No one-setting change of the ${input.result.tried} tried moves the p95 wait or the bot-hours by more than 10%; the declared settings alone are shown.`
      : `p95 wait of all runs against bot-hours per month: the declared settings, and each of the ${data.whatIfs.length} one-setting changes (of ${input.result.tried} tried) that move the p95 wait, the bot-hours or the cost by more than 10%, or the runs that never start.`
  }</figcaption></figure>
${data.whatIfs.length === 0 ? '' : whatIfTable(input.result)}
${input.result.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n')}
</section>
</main>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${inlineScript(library.js)}</script>
<script>${PAGE_JS}</script>
</body>
</html>
`;
}

function stepLabel(t: readonly number[]): string {
  const step = t.length > 1 ? t[1] - t[0] : 60;
  return step % 3600 === 0 ? `${step / 3600} h` : `${Math.round(step / 60)} min`;
}

const PAGE_CSS = `
body { margin: 0 auto; max-width: 1100px; padding: 1rem 1.5rem 2rem; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
figure { margin: 0; } figcaption { color: #555; margin-top: .25rem; }
table { border-collapse: collapse; margin-top: 1rem; } th, td { border-bottom: 1px solid #d0d0d0; padding: .3rem .6rem; text-align: left; }
td { font-variant-numeric: tabular-nums; } tr.total th, tr.total td { font-weight: 600; border-top: 2px solid #999; }
.note { color: #555; }
`;

/** Draws the charts from the JSON block; plain ES5, as it runs in whatever browser opens the file. */
const PAGE_JS = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var width = function () { return Math.min(1050, document.body.clientWidth - 48); };
  var colors = { demand: '#1b1b1b', queued: '#c0392b', busy: '#1f6feb', idle: '#2e9e5b', provisioning: '#e0a100', other: '#8e44ad' };
  var palette = ['#1f6feb', '#c0392b', '#2e9e5b', '#e0a100', '#8e44ad', '#16a2b8', '#7f5539', '#d63384'];
  // Every count, wait and cost axis starts at zero, so heights compare as the figures do.
  var fromZero = function (u, min, max) { return [0, max > 0 ? max * 1.05 : 1]; };
  var unit = data.waitUnit;
  // The charts, for whoever inspects the page (the browser test reads their scales).
  var charts = window.reportCharts = [];
  var inUnit = function (s) { return s / unit.seconds; };
  data.groups.forEach(function (g, i) {
    charts.push(new uPlot({
      title: g.name + ': demand and bots', width: width(), height: 280,
      scales: { x: { time: true }, y: { range: fromZero } },
      axes: [{}, { label: 'runs / bots' }],
      series: [
        {},
        { label: 'demand (queued + running)', stroke: colors.demand, width: 2 },
        { label: 'queued', stroke: colors.queued },
        { label: 'bots busy', stroke: colors.busy },
        { label: 'bots idle', stroke: colors.idle },
        { label: 'bots provisioning', stroke: colors.provisioning },
        { label: 'bots failed or deleting', stroke: colors.other }
      ]
    }, [g.t, g.demand, g.queued, g.busy, g.idle, g.provisioning, g.other], document.getElementById('timeline-' + i)));
  });
  var pct = [];
  for (var p = 0; p <= 100; p++) pct.push(p);
  // One x axis for every group: the union of their percentile waits, each group stepping between its own.
  var xs = [];
  data.groups.forEach(function (g) { g.waitPercentiles.forEach(function (w) { xs.push(inUnit(w)); }); });
  xs.push(0);
  xs = xs.filter(function (v, i, a) { return a.indexOf(v) === i; }).sort(function (a, b) { return a - b; });
  var cdf = function (g) {
    return xs.map(function (x) { var share = 0; for (var k = 0; k <= 100; k++) if (inUnit(g.waitPercentiles[k]) <= x) share = k; return share; });
  };
  charts.push(new uPlot({
    title: 'Wait distribution (CDF)', width: width(), height: 280,
    scales: { x: { time: false, range: fromZero }, y: { range: [0, 100] } },
    axes: [{ label: 'wait (' + unit.label + ')' }, { label: '% of runs' }],
    series: [{ label: 'wait (' + unit.label + ')' }].concat(data.groups.map(function (g, i) { return { label: g.name, stroke: palette[i % palette.length], width: 2, paths: uPlot.paths.stepped({ align: 1 }) }; }))
  }, [xs].concat(data.groups.map(cdf)), document.getElementById('waits')));
  var points = [{ label: 'declared settings', p95: data.declared.p95, botHours: data.declared.botHours }].concat(data.whatIfs);
  points.sort(function (a, b) { return a.botHours - b.botHours; });
  var none = function () { return null; };
  charts.push(new uPlot({
    title: 'p95 wait against bot-hours per month', width: width(), height: 300,
    scales: { x: { time: false, range: fromZero }, y: { range: fromZero } },
    axes: [{ label: 'bot-hours per month' }, { label: 'p95 wait (' + unit.label + ')' }],
    series: [
      { label: 'bot-hours per month' },
      { label: 'declared settings', stroke: '#c0392b', fill: '#c0392b', paths: none, points: { show: true, size: 12, fill: '#c0392b' } },
      { label: 'one-setting changes', stroke: '#1f6feb', fill: '#1f6feb', paths: none, points: { show: true, size: 8, fill: '#1f6feb' } }
    ]
  }, [
    points.map(function (w) { return w.botHours; }),
    points.map(function (w) { return w.label === 'declared settings' ? inUnit(w.p95) : null; }),
    points.map(function (w) { return w.label === 'declared settings' ? null : inUnit(w.p95); })
  ], document.getElementById('whatif')));
  document.body.setAttribute('data-rendered', 'true');
})();
`;
