/**
 * The group page's 24-hour chart. Per 10-minute slot it draws the runs that arrived (from the
 * arrival history the scaler's forecast keeps) and, from the group samples the leading scaler
 * records on each tick, the most queued runs and the most bots in each live state seen in the
 * slot. The page costs two reads of one group's day in small tables. The data goes in an attribute and a
 * same-origin script draws it (the CSP allows no inline script).
 */
import { SAMPLED_BOT_STATES, SampledBotState, SLOT_MS, slotOf, SlotSample } from '../domain/history';
import { html, Html } from './html';

export const CHART_SLOTS = (24 * 60 * 60_000) / SLOT_MS;

/** A count per slot; null where the slot has no sample (no scaler was leading then). */
export type SampledSeries = Array<number | null>;

export interface HistoryChartData {
  /** Slot starts, epoch seconds, oldest first: the last 24 hours up to the current slot. */
  readonly t: number[];
  /** Runs that arrived in the slot. */
  readonly arrivals: number[];
  /** The most queued runs seen in the slot. */
  readonly queued: SampledSeries;
  /** The most running runs seen in the slot. */
  readonly running: SampledSeries;
  /** Per live bot state, the most bots seen in it in the slot. */
  readonly bots: Readonly<Record<SampledBotState, SampledSeries>>;
  /** The counts as they stand, from the store's queue and bots. */
  readonly now: { readonly queued: number; readonly running: number; readonly bots: Readonly<Record<string, number>> };
}

/** The window of slots the chart reads, [from, to): the last CHART_SLOTS slots up to the one of `now`. */
export function chartWindow(now: number): { from: number; to: number } {
  const last = slotOf(now);
  return { from: last - (CHART_SLOTS - 1) * SLOT_MS, to: last + SLOT_MS };
}

/** The chart's series from the group's arrivals by slot start and its samples, both read for chartWindow(now). */
export function historyChartData(arrivalsBySlot: ReadonlyMap<number, number>, samples: readonly SlotSample[], now: number, current: HistoryChartData['now']): HistoryChartData {
  const { from } = chartWindow(now);
  const bySlot = new Map(samples.map((s) => [s.slot, s]));
  const t: number[] = [];
  const arrivals: number[] = [];
  const queued: SampledSeries = [];
  const running: SampledSeries = [];
  const bots = Object.fromEntries(SAMPLED_BOT_STATES.map((s) => [s, [] as SampledSeries])) as Record<SampledBotState, SampledSeries>;
  for (let i = 0; i < CHART_SLOTS; i++) {
    const slot = from + i * SLOT_MS;
    const sample = bySlot.get(slot);
    t.push(slot / 1000);
    arrivals.push(arrivalsBySlot.get(slot) ?? 0);
    queued.push(sample ? sample.queued : null);
    running.push(sample ? sample.running : null);
    for (const state of SAMPLED_BOT_STATES) bots[state].push(sample ? sample.bots[state] : null);
  }
  return { t, arrivals, queued, running, bots, now: current };
}

/** The legend's names, one per drawn series in order; the caption and the script use the same. */
export const SERIES_LABELS = {
  arrivals: 'runs arrived',
  queued: 'queued runs (most)',
  bots: Object.fromEntries(SAMPLED_BOT_STATES.map((s) => [s, `${s} bots (most)`])) as Record<SampledBotState, string>,
} as const;

/** The chart's figure: a caption that says what each series is, and the counts now as text. */
export function historyFigure(data: HistoryChartData): Html {
  const bots = Object.entries(data.now.bots)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`);
  return html`<figure class="history">
<div class="chart" id="history-chart" data-chart="${JSON.stringify(data)}" role="img" aria-label="Queued runs, bots by state and runs arrived per 10 minutes over the last 24 hours"></div>
<figcaption>Per 10-minute slot over the last 24 hours: <strong>queued runs (most)</strong>, the longest the queue was, and <strong>provisioning, idle, busy, deleting and failed bots (most)</strong>, the most bots seen in each state, as the leading scaler saw them at its checks in the slot (every tick, 15 seconds by default; a gap where no scaler was leading); and <strong>runs arrived</strong>, each counted in the slot it entered the queue. Now: <span data-testid="now-counts">${data.now.queued} queued, ${data.now.running} running; bots: ${bots.length ? bots.join(', ') : 'none'}</span>.</figcaption>
</figure>`;
}

/** Series colours: the queue warm, bots by state in the dashboard's state colours' spirit. */
const COLOURS: Record<'arrivals' | 'queued' | SampledBotState, string> = {
  arrivals: '#8e44ad',
  queued: '#c0392b',
  provisioning: '#d68910',
  idle: '#1e8449',
  busy: '#1f6feb',
  deleting: '#7f8c8d',
  failed: '#000000',
};

/** Draws the page's [data-chart]; the live refresh calls it again when it replaces the region. */
export const DASHBOARD_CHART_JS = `
(function () {
  var LABELS = ${JSON.stringify(SERIES_LABELS)};
  var COLOURS = ${JSON.stringify(COLOURS)};
  var STATES = ${JSON.stringify(SAMPLED_BOT_STATES)};
  function draw() {
    var el = document.getElementById('history-chart');
    if (!el || el.getAttribute('data-drawn') === 'true' || typeof uPlot === 'undefined') return;
    var d = JSON.parse(el.getAttribute('data-chart'));
    el.setAttribute('data-drawn', 'true');
    var step = function () { return uPlot.paths.stepped({ align: 1 }); };
    var series = [
      {},
      { label: LABELS.queued, stroke: COLOURS.queued, width: 2, fill: 'rgba(192,57,43,0.10)', paths: step() },
    ];
    var data = [d.t, d.queued];
    STATES.forEach(function (s) {
      series.push({ label: LABELS.bots[s], stroke: COLOURS[s], width: s === 'busy' || s === 'idle' ? 2 : 1.5, paths: step() });
      data.push(d.bots[s]);
    });
    series.push({ label: LABELS.arrivals, stroke: COLOURS.arrivals, width: 1, dash: [4, 4], paths: step() });
    data.push(d.arrivals);
    new uPlot({
      width: Math.min(1100, el.parentNode.clientWidth || 800), height: 260,
      scales: { x: { time: true } },
      axes: [{}, { label: 'runs / bots' }],
      series: series
    }, data, el);
  }
  window.hostedBotsDrawCharts = draw;
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', draw); else draw();
})();
`;
