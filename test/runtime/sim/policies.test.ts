/** planQuietUntil: how long the runtime scaler's answer holds in the simulator while nothing happens. */
import { HistoryRecorder } from '../../../runtime/scaler/history';
import { PlanScaling } from '../../../runtime/scaler/plan';
import { planQuietUntil } from '../../../runtime/sim/policies';
import { PolicyView, SimBotView } from '../../../runtime/sim/simulate';

const MINUTE = 60_000;
const NOW = Date.UTC(2026, 0, 5, 18, 11);
const SCALING: PlanScaling = { idleMinutes: 10, standbyBots: 0, coldAfterHours: 8, bootTimeoutMinutes: 30, predictive: false, predictiveLeadMinutes: 15, spareBot: true };

function view(options: { queued?: number; running?: number; capacity?: number; scaling?: Partial<PlanScaling>; timeZone?: string; bots?: SimBotView[] } = {}): PolicyView {
  return {
    capacity: options.capacity ?? 10,
    timeZone: options.timeZone,
    groups: [
      {
        config: { name: 'g', maxBots: 8, committedBots: 0, scaling: { ...SCALING, ...options.scaling } },
        queued: options.queued ?? 0,
        running: options.running ?? 0,
        lastActivityAt: NOW - 60 * MINUTE,
        history: new HistoryRecorder(NOW - 24 * 60 * MINUTE),
        oldestQueuedAt: options.queued ? NOW - MINUTE : undefined,
      },
    ],
    bots: options.bots ?? [],
  };
}
const bot = (state: SimBotView['state'], changedMinutesAgo: number): SimBotView => ({ id: 'b1', group: 'g', state, createdAt: NOW - 60 * MINUTE, stateChangedAt: NOW - changedMinutesAgo * MINUTE, runsCompleted: 1 });

test('while queued runs could want more than the capacity, their waits move the shares: nothing is skipped', () => {
  expect(planQuietUntil(view({ queued: 4, running: 3, capacity: 6 }), NOW)).toBe(NOW);
});

test('queued runs that fit the capacity are served in full whatever their waits: the answer holds until the group goes cold', () => {
  expect(planQuietUntil(view({ queued: 2, running: 2, capacity: 10 }), NOW)).toBe(NOW - 60 * MINUTE + 8 * 60 * MINUTE);
});

test('an idle bot: asked again when it has been idle EARLY_IDLE_MINUTES, and when idleMinutes', () => {
  const early = planQuietUntil(view({ bots: [bot('idle', 1)] }), NOW);
  expect(early).toBe(NOW + 2 * MINUTE);
  expect(planQuietUntil(view({ bots: [bot('idle', 5)] }), NOW)).toBe(NOW + 5 * MINUTE);
});

test('a provisioning bot: asked again just past its boot time-out', () => {
  // Created 10 minutes ago with a 30-minute time-out: plan() fails it once more than 30 minutes have passed.
  expect(planQuietUntil(view({ bots: [{ ...bot('provisioning', 10), createdAt: NOW - 10 * MINUTE }] }), NOW)).toBe(NOW + 20 * MINUTE + 1);
});

test('a failed bot is deleted at the next plan: nothing is skipped', () => {
  expect(planQuietUntil(view({ bots: [bot('failed', 1)] }), NOW)).toBe(NOW);
});

test('predictive warm-up: asked again at the next 10-minute slot, or when now + the lead reaches one', () => {
  // 18:11: the next slot starts at 18:20; now + 15 minutes reaches 18:30 at 18:15.
  expect(planQuietUntil(view({ scaling: { predictive: true } }), NOW)).toBe(Date.UTC(2026, 0, 5, 18, 15));
  expect(planQuietUntil(view({ scaling: { predictive: true, predictiveLeadMinutes: 10 } }), NOW)).toBe(Date.UTC(2026, 0, 5, 18, 20));
});

test('predictive warm-up in a zone 45 minutes off the hour: asked again at the quarter hour, when its days turn (18:15 UTC is midnight in Kathmandu)', () => {
  expect(planQuietUntil(view({ scaling: { predictive: true, predictiveLeadMinutes: 10 }, timeZone: 'Asia/Kathmandu' }), NOW)).toBe(Date.UTC(2026, 0, 5, 18, 15));
});
