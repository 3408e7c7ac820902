/** The group page's 24-hour chart: its slots from the arrival history and the group samples, and its figure's escaping. */
import { SLOT_MS, SlotSample } from '../../../runtime/domain/history';
import { CHART_SLOTS, chartWindow, historyChartData, historyFigure, SERIES_LABELS } from '../../../runtime/dashboard/history-chart';

const NOW = Date.UTC(2026, 0, 5, 12, 34);
const SLOT = Date.UTC(2026, 0, 5, 12, 30);
const current = { queued: 2, running: 1, bots: { provisioning: 1, idle: 0, busy: 1, failed: 0, deleting: 0 } };
const NO_BOTS = { provisioning: 0, idle: 0, busy: 0, deleting: 0, failed: 0 };
const sample = (slot: number, queued: number, bots: Partial<typeof NO_BOTS> = {}): SlotSample => ({ slot, queued, running: 0, bots: { ...NO_BOTS, ...bots } });

test('144 ten-minute slots, oldest first, ending with the slot of now', () => {
  const d = historyChartData(new Map(), [], NOW, current);
  expect(CHART_SLOTS).toBe(144);
  expect(d.t).toHaveLength(144);
  expect(d.t[143]).toBe(SLOT / 1000);
  expect(d.t[0]).toBe((SLOT - 143 * SLOT_MS) / 1000);
  expect(d.arrivals.every((n) => n === 0)).toBe(true);
});

test('the window the route reads is the chart\'s 144 slots, its end excluded', () => {
  expect(chartWindow(NOW)).toEqual({ from: SLOT - 143 * SLOT_MS, to: SLOT + SLOT_MS });
});

test('arrivals per slot; slots older than a day left out', () => {
  const arrivals = new Map([
    [SLOT, 7],
    [SLOT - SLOT_MS, 3],
    [SLOT - 144 * SLOT_MS, 99],
  ]);
  const d = historyChartData(arrivals, [], NOW, current);
  expect(d.arrivals.slice(-2)).toEqual([3, 7]);
  expect(d.arrivals).not.toContain(99);
});

test('queued runs and bots by state per slot from the samples; a slot without a sample is a gap, not zero', () => {
  const d = historyChartData(new Map(), [sample(SLOT, 12, { busy: 3, idle: 1 }), sample(SLOT - 2 * SLOT_MS, 0, { provisioning: 2, failed: 1 })], NOW, current);
  expect(d.queued.slice(-3)).toEqual([0, null, 12]);
  expect(d.bots.busy.slice(-3)).toEqual([0, null, 3]);
  expect(d.bots.idle.slice(-3)).toEqual([0, null, 1]);
  expect(d.bots.provisioning.slice(-3)).toEqual([2, null, 0]);
  expect(d.bots.failed.slice(-3)).toEqual([1, null, 0]);
  expect(d.bots.deleting).toHaveLength(144);
  expect(d.queued[0]).toBeNull();
});

test('the figure names each series and says it is the most seen in the slot; the counts now; its data attribute is escaped', () => {
  const figure = historyFigure(historyChartData(new Map(), [], NOW, { ...current, bots: { '"><script>x</script>': 1 } })).text;
  expect(figure).toContain('queued runs (most)</strong>, the longest the queue was');
  expect(figure).toContain('provisioning, idle, busy, deleting and failed bots (most)</strong>, the most bots seen in each state');
  expect(figure).toContain('runs arrived');
  expect(figure).toContain('2 queued, 1 running; bots: 1 &quot;&gt;&lt;script&gt;x&lt;/script&gt;');
  expect(figure).not.toContain('<script');
  const attr = /data-chart="([^"]*)"/.exec(figure)![1];
  expect(attr).toContain('&quot;t&quot;:[');
});

test('the legend names are the caption\'s', () => {
  expect(SERIES_LABELS.queued).toBe('queued runs (most)');
  expect(Object.values(SERIES_LABELS.bots)).toEqual(['provisioning bots (most)', 'idle bots (most)', 'busy bots (most)', 'deleting bots (most)', 'failed bots (most)']);
});
