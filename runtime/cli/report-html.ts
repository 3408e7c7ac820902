/**
 * The page `hosted-bots simulate --html` writes: one self-contained HTML file that opens offline.
 * The charting library (uPlot, MIT) is read from the installed package and inlined, and the data
 * goes in a JSON script block; nothing is fetched when the page opens.
 */
import { chartLibrary } from '../charts';
import { escapeHtml } from '../dashboard/pages';
import type { PlannerResult } from '../sim/planner';
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
  readonly declared: { readonly p95: number; readonly botHours: number };
  readonly whatIfs: ReadonlyArray<{ readonly label: string; readonly p95: number; readonly botHours: number }>;
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
    declared: { p95: result.declared.total.wait.p95, botHours: result.declared.total.botMinutes.total / 60 },
    whatIfs: result.whatIfs.map((w) => ({ label: `${w.group} ${w.setting} ${w.from} → ${w.to}`, p95: w.p95, botHours: w.botHours })),
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
${sections}
<section><h2>Wait distribution</h2>
<figure><div class="chart" id="waits"></div>
<figcaption>Share of each group's runs (y) that waited at most the time on x, from queued to claimed by a bot.</figcaption></figure>
</section>
<section><h2>What if</h2>
<figure><div class="chart" id="whatif"></div>
<figcaption>${
    data.whatIfs.length === 0
      ? `No one-setting change of the ${input.result.tried} tried moves the p95 wait or the bot-hours by more than 10%; the declared settings alone are shown.`
      : `p95 wait of all runs against bot-hours: the declared settings, and each of the ${data.whatIfs.length} one-setting changes (of ${input.result.tried} tried) that move either by more than 10%.`
  }</figcaption></figure>
${
  data.whatIfs.length === 0
    ? ''
    : `<table><thead><tr><th scope="col">change</th><th scope="col">p95 wait (s)</th><th scope="col">bot-hours</th></tr></thead><tbody>
${data.whatIfs.map((w) => `<tr><td>${escapeHtml(w.label)}</td><td>${Math.round(w.p95)}</td><td>${w.botHours.toFixed(1)}</td></tr>`).join('\n')}
</tbody></table>`
}
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
`;

/** Draws the charts from the JSON block; plain ES5, as it runs in whatever browser opens the file. */
const PAGE_JS = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var width = function () { return Math.min(1050, document.body.clientWidth - 48); };
  var colors = { demand: '#1b1b1b', queued: '#c0392b', busy: '#1f6feb', idle: '#2e9e5b', provisioning: '#e0a100', other: '#8e44ad' };
  var palette = ['#1f6feb', '#c0392b', '#2e9e5b', '#e0a100', '#8e44ad', '#16a2b8', '#7f5539', '#d63384'];
  data.groups.forEach(function (g, i) {
    new uPlot({
      title: g.name + ': demand and bots', width: width(), height: 280,
      scales: { x: { time: true } },
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
    }, [g.t, g.demand, g.queued, g.busy, g.idle, g.provisioning, g.other], document.getElementById('timeline-' + i));
  });
  var pct = [];
  for (var p = 0; p <= 100; p++) pct.push(p);
  // One x axis for every group: the union of their percentile waits, each group stepping between its own.
  var xs = [];
  data.groups.forEach(function (g) { g.waitPercentiles.forEach(function (w) { xs.push(w); }); });
  xs = xs.filter(function (v, i, a) { return a.indexOf(v) === i; }).sort(function (a, b) { return a - b; });
  var cdf = function (g) {
    return xs.map(function (x) { var share = 0; for (var k = 0; k <= 100; k++) if (g.waitPercentiles[k] <= x) share = k; return share; });
  };
  new uPlot({
    title: 'Wait distribution (CDF)', width: width(), height: 280,
    scales: { x: { time: false }, y: { range: [0, 100] } },
    axes: [{ label: 'wait (seconds)' }, { label: '% of runs' }],
    series: [{ label: 'wait (s)' }].concat(data.groups.map(function (g, i) { return { label: g.name, stroke: palette[i % palette.length], width: 2, paths: uPlot.paths.stepped({ align: 1 }) }; }))
  }, [xs].concat(data.groups.map(cdf)), document.getElementById('waits'));
  var points = [{ label: 'declared settings', p95: data.declared.p95, botHours: data.declared.botHours }].concat(data.whatIfs);
  points.sort(function (a, b) { return a.botHours - b.botHours; });
  var none = function () { return null; };
  new uPlot({
    title: 'p95 wait against bot-hours', width: width(), height: 300,
    scales: { x: { time: false } },
    axes: [{ label: 'bot-hours' }, { label: 'p95 wait (s)' }],
    series: [
      { label: 'bot-hours' },
      { label: 'declared settings', stroke: '#c0392b', fill: '#c0392b', paths: none, points: { show: true, size: 12, fill: '#c0392b' } },
      { label: 'one-setting changes', stroke: '#1f6feb', fill: '#1f6feb', paths: none, points: { show: true, size: 8, fill: '#1f6feb' } }
    ]
  }, [
    points.map(function (w) { return w.botHours; }),
    points.map(function (w) { return w.label === 'declared settings' ? w.p95 : null; }),
    points.map(function (w) { return w.label === 'declared settings' ? null : w.p95; })
  ], document.getElementById('whatif'));
  document.body.setAttribute('data-rendered', 'true');
})();
`;
