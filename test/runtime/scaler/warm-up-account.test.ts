/** warm-up-account.ts: predictive warm-up's own account of its forecasts, and the rule that pauses and resumes it. */
import { HistoryRecorder } from '../../../runtime/scaler/history';
import type { PlanBot, PlanScaling } from '../../../runtime/scaler/plan';
import {
  accountedPlan,
  accountText,
  parseAccount,
  payOf,
  describeAccount,
  EMPTY_BOOK,
  MIN_JUDGED,
  BOUND_PAUSE,
  boundShare,
  observe,
  Observation,
  openAccount,
  planned,
  PROBE_BOTS,
  PROBE_EVERY_HOURS,
  PROBE_MAX_HOURS,
  pressureAt,
  RESUME_JUDGED,
  settle,
  summarize,
  warmCreated,
  warmUpAllowance,
  WarmUpAccount,
  whenWords,
} from '../../../runtime/scaler/warm-up-account';
import { creates, planBuilders } from '../../helpers/plan';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** Monday 12 January 2026, 08:00 UTC. */
const MONDAY = Date.UTC(2026, 0, 12, 8);
const IDLE_MINUTES = 10;

type Fate = 'used' | 'unused' | 'released' | 'late';

/**
 * One warmed bot's life, as the scaler's cycles see it: planned at `t`, seen booting a minute
 * later, ready at t + 4 min; then it takes a run at t + 6 min, is released at its idle time-out,
 * is released at t + 6 min (for another group's runs), or takes a run only at t + 64 min.
 */
function warmOne(account: WarmUpAccount, t: number, fate: Fate, capacityBound = false): WarmUpAccount {
  const id = `bot-${t}`;
  const bot = (state: PlanBot['state'], stateChangedAt: number, runsCompleted = 0) => ({ id, state, createdAt: t, stateChangedAt, runsCompleted });
  const look = (a: WarmUpAccount, at: number, bots: Observation['bots']) => observe(a, { at, bots, capacityBound });
  let a = planned(account, t, 1);
  a = look(a, t + MIN, [bot('provisioning', t)]);
  a = look(a, t + 5 * MIN, [bot('idle', t + 4 * MIN)]);
  if (fate === 'used') return look(a, t + 7 * MIN, [bot('busy', t + 6 * MIN)]);
  // Kept idle by the forecast for an hour before its run came.
  if (fate === 'late') return look(a, t + 65 * MIN, [bot('busy', t + 64 * MIN)]);
  if (fate === 'released') return look(a, t + 7 * MIN, [bot('deleting', t + 6 * MIN)]);
  // Idle: the scaler releases it at its idle time-out.
  return look(a, t + 4 * MIN + (IDLE_MINUTES + 1) * MIN, [bot('deleting', t + 4 * MIN + IDLE_MINUTES * MIN)]);
}

/** Bots warmed one every half hour from `start`, with these fates. */
function warmMany(account: WarmUpAccount, start: number, fates: readonly Fate[], capacityBound = false): WarmUpAccount {
  return fates.reduce((a, fate, i) => warmOne(a, start + i * 30 * MIN, fate, capacityBound), account);
}

const repeat = (fates: readonly Fate[], times: number): Fate[] => Array.from({ length: times }, () => fates).flat();

const SLOT = 10 * MIN;
/** A look at the group with no bot left, at `at`: the mode is judged at the first look in a slot. */
const look = (a: WarmUpAccount, at: number, capacityBound = false) => observe(a, { at, bots: [], capacityBound });
/** Bots warmed as warmMany() does, then a look in the slot after the last. */
const warmAndJudge = (account: WarmUpAccount, start: number, fates: readonly Fate[], capacityBound = false) =>
  look(warmMany(account, start, fates, capacityBound), start + fates.length * 30 * MIN + SLOT, capacityBound);

describe('the warm-up account', () => {
  test('a group whose warmed bots go unused pauses, with that reason, and warms none while paused', () => {
    const almost = warmAndJudge(openAccount(MONDAY), MONDAY, Array<Fate>(MIN_JUDGED - 1).fill('unused'));
    expect(almost.mode).toBe('warming');
    const paused = warmAndJudge(openAccount(MONDAY), MONDAY, [...Array<Fate>(MIN_JUDGED - 1).fill('unused'), 'released']);
    expect(paused).toMatchObject({ mode: 'paused', why: 'unused' });
    expect(warmUpAllowance(paused)).toBe(0);
  });

  test('a regular group whose warmed bots mostly get a run keeps warming', () => {
    const account = warmAndJudge(openAccount(MONDAY), MONDAY, repeat(['used', 'used', 'unused'], 12));
    expect(account.mode).toBe('warming');
    expect(warmUpAllowance(account)).toBeUndefined();
    expect(summarize(account, MONDAY + DAY)).toMatchObject({ warmed: 36, used: 24, displaced: 0 });
  });

  test('a capacity-bound group pauses: its warmed bots got runs only by displacing other groups', () => {
    const account = warmAndJudge(openAccount(MONDAY), MONDAY, Array<Fate>(MIN_JUDGED).fill('used'), true);
    expect(account).toMatchObject({ mode: 'paused', why: 'capacity' });
    expect(summarize(account, MONDAY + DAY)).toMatchObject({ warmed: MIN_JUDGED, used: 0, displaced: MIN_JUDGED });
  });

  test('a group whose warmed bots get runs, but cost far more bot-minutes than the waiting they save, pauses for the cost', () => {
    // Each waits an hour for its run: 64 bot-minutes to save a 4-minute boot.
    const account = warmAndJudge(openAccount(MONDAY), MONDAY, Array<Fate>(MIN_JUDGED).fill('late'));
    expect(account).toMatchObject({ mode: 'paused', why: 'cost' });
    expect(summarize(account, MONDAY + DAY)).toMatchObject({ warmed: MIN_JUDGED, used: MIN_JUDGED });
    expect(payOf(warmMany(openAccount(MONDAY), MONDAY, ['late']).recent)).toBeCloseTo(4 / 64, 6);
  });

  test('the mode is judged once a slot: outcomes within the slot wait for the next one', () => {
    const t = MONDAY + 2 * MIN;
    const judged = look(openAccount(MONDAY), t);
    const pausedOutcomes = { ...judged, recent: Array.from({ length: MIN_JUDGED }, () => ({ outcome: 'unused' as const, botMinutes: 10, savedMinutes: 0 })) };
    expect(look(pausedOutcomes, t + 5 * MIN).mode).toBe('warming');
    expect(look(pausedOutcomes, t + SLOT).mode).toBe('paused');
  });

  test('while paused it probes every PROBE_EVERY_HOURS, and comes back when demand is regular again', () => {
    const paused = warmAndJudge(openAccount(MONDAY), MONDAY, Array<Fate>(MIN_JUDGED).fill('unused'));
    const due = paused.since + PROBE_EVERY_HOURS * HOUR;
    expect(warmUpAllowance(look(paused, due - SLOT))).toBe(0);
    let at = due + SLOT;
    let a = look(look(paused, due - SLOT), at);
    // Each probe warms its bots, they get runs, and the probe is spent until the next one.
    for (let probe = 1; a.mode === 'paused'; probe++) {
      expect(probe).toBeLessThanOrEqual(Math.ceil(RESUME_JUDGED / PROBE_BOTS));
      expect(warmUpAllowance(a)).toBe(PROBE_BOTS);
      a = warmAndJudge(a, at, Array<Fate>(PROBE_BOTS).fill('used'));
      if (a.mode === 'paused') {
        expect(warmUpAllowance(a)).toBe(0);
        at += PROBE_EVERY_HOURS * HOUR + 2 * SLOT;
        a = look(a, at);
      }
    }
    expect(a.mode).toBe('warming');
    expect(warmUpAllowance(a)).toBeUndefined();
  });

  test('probes that still go mostly unused keep it paused: resuming takes more than pausing left (hysteresis)', () => {
    let a = warmAndJudge(openAccount(MONDAY), MONDAY, Array<Fate>(MIN_JUDGED).fill('unused'));
    expect(a.mode).toBe('paused');
    // One probe in three used: more than pausing needs (fewer than 30%), less than resuming (2 in 3).
    let at = a.since;
    for (let probe = 1; probe <= 9; probe++) {
      do at += SLOT;
      while (warmUpAllowance(look(a, at)) === 0);
      a = warmAndJudge(look(a, at), at, Array<Fate>(PROBE_BOTS).fill(probe % 3 === 0 ? 'used' : 'unused'));
    }
    expect(a.mode).toBe('paused');
  });

  test('each probe that goes unused doubles the wait to the next, up to PROBE_MAX_HOURS; a used one resets it', () => {
    let a = warmAndJudge(openAccount(MONDAY), MONDAY, Array<Fate>(MIN_JUDGED).fill('unused'));
    let at = a.since;
    const waits: number[] = [];
    for (const fate of ['unused', 'unused', 'unused', 'unused', 'unused', 'used'] as Fate[]) {
      // The first look at which the next probe is open.
      let next = at + SLOT;
      while (warmUpAllowance(look(a, next)) === 0) next += SLOT;
      waits.push(Math.round((next - (a.probedAt ?? a.since)) / HOUR));
      at = next;
      a = warmAndJudge(look(a, at), at, [fate]);
    }
    expect(waits).toEqual([PROBE_EVERY_HOURS, 2 * PROBE_EVERY_HOURS, 4 * PROBE_EVERY_HOURS, 8 * PROBE_EVERY_HOURS, PROBE_MAX_HOURS, PROBE_MAX_HOURS]);
    expect(a.probeEveryHours).toBe(PROBE_EVERY_HOURS);
  });

  test('the capacity pauses it when the runs wait mostly at the capacity, and no probe opens until the capacity lets go', () => {
    // Runs queued for 2 hours, 3 in 4 minutes of it with the environment at its capacity.
    let a = openAccount(MONDAY);
    for (let t = MONDAY; t <= MONDAY + 2 * HOUR; t += MIN) a = observe(a, { at: t, bots: [], capacityBound: true, waiting: true, atCapacity: (t / MIN) % 4 !== 0 });
    expect(a).toMatchObject({ mode: 'paused', why: 'capacity' });
    expect(boundShare(a)).toBeGreaterThanOrEqual(BOUND_PAUSE);
    // Still waiting at the capacity hours later: no probe.
    for (let t = MONDAY + 2 * HOUR; t <= MONDAY + 6 * HOUR; t += 10 * MIN) a = observe(a, { at: t, bots: [], capacityBound: true, waiting: true, atCapacity: true });
    expect(warmUpAllowance(a)).toBe(0);
  });

  test('a warmed bot kept idle by the forecast until its run counts as used, at the cost of its wait', () => {
    const t = MONDAY;
    const bot = (state: PlanBot['state'], stateChangedAt: number) => ({ id: 'b', state, createdAt: t, stateChangedAt, runsCompleted: 0 });
    let a = planned(openAccount(t), t, 1);
    a = observe(a, { at: t + 5 * MIN, bots: [bot('idle', t + 4 * MIN)], capacityBound: false });
    a = observe(a, { at: t + 30 * MIN, bots: [bot('busy', t + 29 * MIN)], capacityBound: false });
    expect(a.recent).toEqual([{ outcome: 'used', botMinutes: 29, savedMinutes: 4 }]);
    expect(a.totals).toMatchObject({ warmed: 1, used: 1, botMinutes: 29, savedMinutes: 4 });
  });

  test('the bots a plan created are one batch: runs claim whichever is ready first, so its warmed bots are the marginal ones', () => {
    const t = MONDAY;
    const bot = (id: string, state: PlanBot['state'], runsCompleted = 0) => ({ id, state, createdAt: t, stateChangedAt: t + 6 * MIN, runsCompleted });
    // 3 bots created, 1 of them warmed; the queued runs took 2 of them, and the third went at its idle time-out.
    let a = planned(openAccount(t), t, 1);
    a = observe(a, { at: t + MIN, bots: [bot('a', 'provisioning'), bot('b', 'provisioning'), bot('c', 'provisioning')], capacityBound: false });
    a = observe(a, { at: t + 7 * MIN, bots: [bot('a', 'idle'), bot('b', 'busy'), bot('c', 'busy')], capacityBound: false });
    expect(a.recent).toEqual([]);
    a = observe(a, { at: t + 20 * MIN, bots: [bot('a', 'deleting'), bot('b', 'busy'), bot('c', 'busy')], capacityBound: false });
    expect(a.recent.map((j) => j.outcome)).toEqual(['unused']);
  });
});

describe('settle()', () => {
  const ran = (costMs: number, bound = false, bootMs = 4 * MIN) => ({ ran: true, bound, costMs, bootMs });
  const idle = (costMs: number) => ({ ran: false, bound: false, costMs });

  test('hits are the runs beyond those the batch was created for; the warmed bots cost the dearest', () => {
    const result = settle(2, [ran(6 * MIN), ran(7 * MIN), idle(15 * MIN)]);
    expect(result).toMatchObject({ used: 1, displaced: 0, botMinutes: 22, savedMinutes: 4 });
    expect(result.outcomes).toEqual([
      { outcome: 'used', botMinutes: 11, savedMinutes: 4 },
      { outcome: 'unused', botMinutes: 11, savedMinutes: 0 },
    ]);
    expect(settle(1, [ran(6 * MIN), idle(15 * MIN)]).outcomes.map((j) => j.outcome)).toEqual(['unused']);
  });

  test('hits while the capacity was bound are displaced, and save nothing', () => {
    const result = settle(2, [ran(6 * MIN, true), ran(7 * MIN)]);
    expect(result).toMatchObject({ used: 1, displaced: 1, savedMinutes: 4 });
    expect(result.outcomes.map((j) => j.outcome)).toEqual(['used', 'displaced']);
  });
});

describe('warmCreated()', () => {
  const forecast = { bots: 4, expected: 4, pace: 1, days: 7, dayType: 'weekday' as const, sameDayType: true, arrivalChance: 1, spare: 0, plannedBots: 3 };

  test('the created bots that take the group beyond its runs and standby', () => {
    // Wants 4: 1 run and 3 warm. No bot yet: of 4 created, 3 are warmed.
    expect(warmCreated({ desired: 4, serving: 0, created: 4, forecast: { ...forecast, warmBots: 3 } })).toBe(3);
    // 2 bots serve already: of the 2 created, both are warmed.
    expect(warmCreated({ desired: 4, serving: 2, created: 2, forecast: { ...forecast, warmBots: 3 } })).toBe(2);
    // Only 1 created (the capacity): it serves the run.
    expect(warmCreated({ desired: 4, serving: 0, created: 1, forecast: { ...forecast, warmBots: 3 } })).toBe(0);
    expect(warmCreated({ desired: 1, serving: 0, created: 1 })).toBe(0);
  });
});

describe('describeAccount()', () => {
  test("in the group's words: how many warmed bots were used this week, and since when and why it is paused", () => {
    const tuesday = Date.UTC(2026, 0, 13, 9, 30);
    const thursday = Date.UTC(2026, 0, 15, 14);
    const summary = { mode: 'paused' as const, since: tuesday, why: 'unused' as const, probing: false, warmed: 40, used: 12, displaced: 0, botMinutes: 310.4, savedMinutes: 47.6 };
    expect(describeAccount(summary, thursday)).toBe(
      'warm-up: 12 of 40 warmed bots used this week, saving runs up to 48 minutes of waiting for 310 bot-minutes; paused since Tuesday: most warmed bots went unused',
    );
    expect(describeAccount({ ...summary, mode: 'warming', why: undefined, displaced: 3 }, thursday)).toBe(
      'warm-up: 12 of 40 warmed bots used this week (3 more got a run while the capacity was bound), saving runs up to 48 minutes of waiting for 310 bot-minutes',
    );
    expect(describeAccount({ ...summary, why: 'cost' }, thursday)).toMatch(/; paused since Tuesday: warmed bots cost far more bot-minutes than the waiting they saved$/);
    expect(describeAccount({ ...summary, why: 'capacity', probing: true }, thursday)).toBe(
      "warm-up: 12 of 40 warmed bots used this week, saving runs up to 48 minutes of waiting for 310 bot-minutes; paused since Tuesday: the capacity was bound, so warmed bots only displaced other groups' runs; trying a warmed bot again",
    );
  });

  test('when: the time today, the weekday within the week, else the date, in the time zone', () => {
    const now = Date.UTC(2026, 0, 15, 14);
    expect(whenWords(Date.UTC(2026, 0, 15, 9, 5), now)).toBe('09:05');
    expect(whenWords(Date.UTC(2026, 0, 15, 9, 5), now, 'Asia/Tokyo')).toBe('18:05');
    expect(whenWords(Date.UTC(2026, 0, 13, 9), now)).toBe('Tuesday');
    expect(whenWords(Date.UTC(2026, 0, 2, 9), now)).toBe('2 January');
  });
});

describe('accountedPlan()', () => {
  const SCALING: PlanScaling = { idleMinutes: IDLE_MINUTES, standbyBots: 0, coldAfterHours: 8, bootTimeoutMinutes: 30, predictive: true, predictiveLeadMinutes: 15, spareBot: false };
  const { group, bots } = planBuilders({ now: MONDAY, maxBots: 10, createdAgoMs: MIN, stateAgoMs: MIN });
  /** Four 10-minute runs 5 minutes from now on each of the last 7 days. */
  const history = () => {
    const h = new HistoryRecorder(MONDAY - 8 * DAY);
    for (let d = 1; d <= 7; d++) for (let i = 0; i < 4; i++) h.arrival(MONDAY - d * DAY + 5 * MIN), h.busy(MONDAY - d * DAY + 5 * MIN, MONDAY - d * DAY + 15 * MIN);
    return h;
  };
  const snapshot = { capacity: 20, enabled: true, groups: [group('g', { history: history() })], bots: [] };

  test('a warming group warms its forecast and the book holds the bots planned', () => {
    const { plan, book } = accountedPlan(snapshot, { groups: { g: SCALING } }, MONDAY, EMPTY_BOOK);
    expect(creates(plan)).toEqual({ g: 4 });
    expect(book.groups.g).toMatchObject({ mode: 'warming', planned: { at: MONDAY, bots: 4 } });
  });

  test('a paused group warms none, but the forecast is still there to read', () => {
    const paused: WarmUpAccount = { ...openAccount(MONDAY - DAY), mode: 'paused', why: 'unused', since: MONDAY - HOUR };
    const { plan, book } = accountedPlan(snapshot, { groups: { g: SCALING } }, MONDAY, { groups: { g: paused }, capacityBound: false });
    expect(creates(plan)).toEqual({});
    expect(plan.groups.g.forecast).toMatchObject({ bots: 4, warmBots: 0 });
    expect(book.groups.g.mode).toBe('paused');
  });

  test("a group paused because warmed bots went unused still lets a burst's idle bots go early; one paused on cost keeps them", () => {
    // Two bots idle for 4 minutes, and no arrival in the last two hours: none is likely to be reused.
    const quiet = { capacity: 20, enabled: true, groups: [group('g', { history: new HistoryRecorder(MONDAY - 2 * HOUR) })], bots: bots('g', 'idle', 2, { stateChangedAt: MONDAY - 4 * MIN }) };
    const pausedFor = (why: 'unused' | 'cost') => ({ groups: { g: { ...openAccount(MONDAY - DAY), mode: 'paused' as const, why, since: MONDAY - HOUR } }, capacityBound: false });
    const deleted = (why: 'unused' | 'cost') =>
      accountedPlan(quiet, { groups: { g: SCALING } }, MONDAY, pausedFor(why)).plan.actions.flatMap((a) => (a.kind === 'delete' ? a.botIds : []));
    expect(deleted('unused')).toHaveLength(2);
    expect(deleted('cost')).toEqual([]);
  });

  test('a group without predictive warm-up keeps no account', () => {
    const { book } = accountedPlan(snapshot, { groups: { g: { ...SCALING, predictive: false } } }, MONDAY, EMPTY_BOOK);
    expect(book.groups).toEqual({});
  });
});

describe('pressureAt()', () => {
  test('integrates the state seen last over the time since, with a 24-hour half-life, the same in one step or many', () => {
    const start = pressureAt(undefined, MONDAY, true, true);
    const oneStep = pressureAt(start, MONDAY + 6 * HOUR, false, false);
    let manySteps = start;
    for (let t = MONDAY + 15 * MIN; t <= MONDAY + 6 * HOUR; t += 15 * MIN) manySteps = pressureAt(manySteps, t, true, true);
    expect(manySteps.waitingMinutes).toBeCloseTo(oneStep.waitingMinutes, 6);
    expect(manySteps.boundMinutes).toBeCloseTo(oneStep.boundMinutes, 6);
    // Six hours with a 24-hour half-life: a little under 360 minutes.
    expect(oneStep.waitingMinutes).toBeGreaterThan(330);
    expect(oneStep.waitingMinutes).toBeLessThan(360);
    expect(pressureAt(oneStep, MONDAY + 30 * HOUR, false, false).waitingMinutes).toBeCloseTo(oneStep.waitingMinutes / 2, 6);
  });
});

describe('parseAccount()', () => {
  test('an account read back from its text is the account', () => {
    const account = warmAndJudge(openAccount(MONDAY), MONDAY, ['used', 'unused', 'used']);
    expect(parseAccount(accountText(account), 'finance')).toEqual(account);
  });

  test('a damaged account is refused, naming the group, the field, its value and the rule', () => {
    const text = accountText({ ...openAccount(MONDAY), mode: 'sleeping' as 'paused' });
    expect(() => parseAccount(text, 'finance')).toThrow(/^the warm-up account of group "finance" has mode "sleeping": /);
    expect(() => parseAccount('{', 'finance')).toThrow(/^the warm-up account of group "finance" is not JSON/);
  });
});
