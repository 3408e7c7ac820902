/** The group page's 24-hour chart: its slots from the arrival history, and its figure's escaping. */
import { SLOT_MS } from '../../../runtime/domain/history';
import { CHART_SLOTS, historyChartData, historyFigure } from '../../../runtime/dashboard/history-chart';

const NOW = Date.UTC(2026, 0, 5, 12, 34);
const SLOT = Date.UTC(2026, 0, 5, 12, 30);
const current = { queued: 2, running: 1, bots: { provisioning: 1, idle: 0, busy: 1, failed: 0, deleting: 0 } };

test('144 ten-minute slots, oldest first, ending with the slot of now', () => {
  const d = historyChartData(undefined, NOW, current);
  expect(CHART_SLOTS).toBe(144);
  expect(d.t).toHaveLength(144);
  expect(d.t[143]).toBe(SLOT / 1000);
  expect(d.t[0]).toBe((SLOT - 143 * SLOT_MS) / 1000);
  expect(d.arrivals.every((n) => n === 0)).toBe(true);
});

test('arrivals per slot, and busy bots as busy seconds over 600; slots older than a day left out', () => {
  const slots = new Map([
    [SLOT, { arrivals: 7, busySeconds: 900 }],
    [SLOT - SLOT_MS, { arrivals: 3, busySeconds: 600 }],
    [SLOT - 144 * SLOT_MS, { arrivals: 99, busySeconds: 99_999 }],
  ]);
  const d = historyChartData({ since: 0, slots }, NOW, current);
  expect(d.arrivals.slice(-2)).toEqual([3, 7]);
  expect(d.busyBots.slice(-2)).toEqual([1, 1.5]);
  expect(d.arrivals).not.toContain(99);
});

test('the figure says what each series is and the counts now; its data attribute is escaped', () => {
  const figure = historyFigure(historyChartData(undefined, NOW, { ...current, bots: { '"><script>x</script>': 1 } })).text;
  expect(figure).toContain('runs arrived');
  expect(figure).toContain('busy bots');
  expect(figure).toContain('2 queued, 1 running; bots: 1 &quot;&gt;&lt;script&gt;x&lt;/script&gt;');
  expect(figure).not.toContain('<script');
  const attr = /data-chart="([^"]*)"/.exec(figure)![1];
  expect(attr).toContain('&quot;t&quot;:[');
});
