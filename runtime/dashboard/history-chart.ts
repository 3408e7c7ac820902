/**
 * The group page's 24-hour chart. It is drawn from what the store already keeps for the scaler's
 * forecast, the arrival history (per 10-minute slot: runs that arrived, busy bot-seconds), so the
 * page costs one read of a small table and no new bookkeeping. The data goes in an attribute and
 * a same-origin script draws it (the CSP allows no inline script).
 */
import { ArrivalHistory, SLOT_MS, slotOf } from '../domain/history';
import { html, Html } from './pages';

export const CHART_SLOTS = (24 * 60 * 60_000) / SLOT_MS;

export interface HistoryChartData {
  /** Slot starts, epoch seconds, oldest first: the last 24 hours up to the current slot. */
  readonly t: number[];
  /** Runs that arrived in the slot. */
  readonly arrivals: number[];
  /** Busy bot-seconds of the slot over its length: the average number of busy bots. */
  readonly busyBots: number[];
  /** The counts as they stand, from the store's queue and bots. */
  readonly now: { readonly queued: number; readonly running: number; readonly bots: Readonly<Record<string, number>> };
}

export function historyChartData(history: ArrivalHistory | undefined, now: number, current: HistoryChartData['now']): HistoryChartData {
  const last = slotOf(now);
  const t: number[] = [];
  const arrivals: number[] = [];
  const busyBots: number[] = [];
  for (let i = CHART_SLOTS - 1; i >= 0; i--) {
    const slot = last - i * SLOT_MS;
    const counts = history?.slots.get(slot);
    t.push(slot / 1000);
    arrivals.push(counts?.arrivals ?? 0);
    busyBots.push(Math.round(((counts?.busySeconds ?? 0) / (SLOT_MS / 1000)) * 100) / 100);
  }
  return { t, arrivals, busyBots, now: current };
}

/** The chart's figure: a caption that says what each series is, and the counts now as text. */
export function historyFigure(data: HistoryChartData): Html {
  const bots = Object.entries(data.now.bots)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`);
  return html`<figure class="history">
<div class="chart" id="history-chart" data-chart="${JSON.stringify(data)}" role="img" aria-label="Runs arrived and busy bots per 10 minutes over the last 24 hours"></div>
<figcaption>Per 10-minute slot over the last 24 hours, from the store's arrival history: <strong>runs arrived</strong> (each entered the queue in that slot) and <strong>busy bots</strong> (busy bot-seconds of the slot ÷ 600, the slot's average). Now: <span data-testid="now-counts">${data.now.queued} queued, ${data.now.running} running; bots: ${bots.length ? bots.join(', ') : 'none'}</span>.</figcaption>
</figure>`;
}

/** Draws every [data-chart] on the page; the live refresh calls it again when it replaces the region. */
export const DASHBOARD_CHART_JS = `
(function () {
  function draw() {
    var el = document.getElementById('history-chart');
    if (!el || el.getAttribute('data-drawn') === 'true' || typeof uPlot === 'undefined') return;
    var d = JSON.parse(el.getAttribute('data-chart'));
    el.setAttribute('data-drawn', 'true');
    new uPlot({
      width: Math.min(1100, el.parentNode.clientWidth || 800), height: 240,
      scales: { x: { time: true } },
      axes: [{}, { label: 'runs / bots' }],
      series: [
        {},
        { label: 'runs arrived per 10 min', stroke: '#c0392b', width: 2, paths: uPlot.paths.stepped({ align: 1 }) },
        { label: 'busy bots (10-min average)', stroke: '#1f6feb', width: 2, fill: 'rgba(31,111,235,0.12)', paths: uPlot.paths.stepped({ align: 1 }) }
      ]
    }, [d.t, d.arrivals, d.busyBots], el);
  }
  window.hostedBotsDrawCharts = draw;
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', draw); else draw();
})();
`;
