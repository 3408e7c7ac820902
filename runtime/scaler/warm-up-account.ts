/**
 * The warm-up account: per group, what predictive warm-up's own forecasts earned. Pure: state in,
 * events in, state out; no clock, no I/O. The scaler loop and the simulator's "ours" policy both
 * keep it through accountedPlan(), so the benchmark measures the code the runtime runs.
 *
 * A warmed bot is one plan() created beyond the group's queued and running runs and its standby
 * bots: for the forecast or the spare bot (warmCreated). Each one ends in one outcome:
 * - `used`: it got a run before it was released;
 * - `displaced`: it got a run, but while the environment was capacity bound: the capacity it
 *   held while it waited would have served another group's runs, so the wait it saved one group
 *   another paid;
 * - `unused`: it was released without a run.
 * Beside the outcomes, the account weighs how the group's queued runs wait: the time they wait
 * with the environment at its capacity, against all the time they wait, each decayed with a
 * half-life of PRESSURE_HALF_LIFE_HOURS. Where the capacity holds the runs back, a bot started
 * ahead saves no wait: the runs wait for the capacity either way.
 *
 * The rules (MODE_RULES), judged on what happened since the group's mode last changed:
 * - warming → paused ('capacity') when the runs waited at least MIN_WAITING_MINUTES and at least
 *   BOUND_PAUSE of that time at the capacity;
 * - warming → paused ('unused', or 'capacity' when displaced bots were the more) when at least
 *   MIN_JUDGED of the last WINDOW warmed bots are judged and fewer than PAUSE_BELOW were used;
 * - warming → paused ('cost') when they saved less than PAY_BELOW minutes of waiting per
 *   bot-minute they cost: used, but warmed too early or too many for what they saved;
 * - while paused, warm-up's aim is none: no bot is warmed beyond the runs and standby. Every
 *   PROBE_EVERY_HOURS it probes: up to PROBE_BOTS bots may be warmed again, and judged the same
 *   way; a probe that goes unused doubles the wait to the next (up to PROBE_MAX_HOURS), a used one
 *   resets it, so a group whose demand stays irregular pays for few probes;
 * - paused → warming when at least RESUME_AT of the last RESUME_JUDGED bots warmed since the
 *   pause (the probes') were used, and the runs waited less than BOUND_RESUME of their time at the
 *   capacity. The gaps between PAUSE_BELOW and RESUME_AT, and BOUND_PAUSE and BOUND_RESUME, are the
 *   hysteresis: a group does not flap on a figure near one threshold.
 * Declared standbyBots are never paused: they are the team's own choice, not a forecast.
 *
 * The mode is judged at the first observation in each 10-minute slot of the history, a bot's cost
 * ends at a time it holds (its run, its release), and waiting time is integrated exactly between
 * observations: the account comes out the same however often the scaler looks, once a slot at least.
 */
import { z } from 'zod';
import { slotOf } from '../domain/history';
import type { Plan, PlanBot, PlanGroup, PlanScaling, PlanSettings, PlanSnapshot } from './plan';
import { plan } from './plan';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The outcomes a group's mode is judged on: the latest this many since its mode changed. */
export const WINDOW = 40;
/** Warming pauses on its outcomes only once this many are in: a few bots prove nothing. */
export const MIN_JUDGED = 20;
/** Warming pauses when fewer than this share of the judged warmed bots were used. */
export const PAUSE_BELOW = 0.3;
/**
 * Warming pauses when the judged warmed bots saved less than this many minutes of waiting per
 * bot-minute they cost. Over whole traces of the policies benchmark (runtime/sim's
 * SimReport.warmUp), where warm-up lowers the p95 (office-hours, calendar, growth, time-zones)
 * they save about a minute per 4 or 5 bot-minutes; where it does not (spiky, kth-sp2, lanl-cm5),
 * one per 14 to 30. A window of 40 swings more than a week does: at 1/8 growth paused on some of
 * its mornings and its p95 rose from 176 s to 200 s (3 seeds); at 1/12 it does not.
 */
export const PAY_BELOW = 1 / 12;
/** Waiting time is weighed with this half-life: yesterday's counts half as much as today's. */
export const PRESSURE_HALF_LIFE_HOURS = 24;
/** The capacity is judged once the group's runs waited this long (decayed). */
export const MIN_WAITING_MINUTES = 60;
/** Warming pauses when the runs waited at least this share of their time at the capacity. */
export const BOUND_PAUSE = 0.5;
/** Warm-up comes back only while the runs waited less than this share of their time at the capacity. */
export const BOUND_RESUME = 0.25;
/**
 * While paused, a probe opens this long after the pause or the last probe, unless the capacity
 * still holds the runs back. Probes are small and frequent: a pause taken on a weekend's unused
 * forecasts ends on Monday morning, for about one warmed bot per 2 hours meanwhile.
 */
export const PROBE_EVERY_HOURS = 2;
/** Each probe whose bots go unused doubles the wait to the next, up to this; a used one resets it. */
export const PROBE_MAX_HOURS = 24;
/** A probe warms at most this many bots. */
export const PROBE_BOTS = 1;
/** Warm-up comes back when, of the latest this many bots warmed since the pause, ... */
export const RESUME_JUDGED = 3;
/** ... at least this share were used. */
export const RESUME_AT = 2 / 3;
/** The account keeps this many days of tallies: "this week". */
export const ACCOUNT_DAYS = 7;

export type Outcome = 'used' | 'displaced' | 'unused';

/** A warmed bot's outcome, with what it cost and the wait it saved. */
export interface Judged {
  readonly outcome: Outcome;
  readonly botMinutes: number;
  readonly savedMinutes: number;
}
export type PauseReason = NonNullable<PlanGroup['warmUpPause']>;

/** A bot of a batch: when it was created and first seen ready, and once judged, what it did. */
export interface BatchBot {
  readonly id: string;
  readonly createdAt: number;
  /** When it was first seen ready (idle, without a run); absent while it boots. */
  readonly readyAt?: number;
  /** Its result once judged: a run or not, the environment capacity bound then, what it cost and its boot. */
  readonly result?: { readonly ran: boolean; readonly bound: boolean; readonly costMs: number; readonly bootMs?: number };
}

/**
 * The bots one plan created, of which the last `warm` were warmed. Runs claim whichever bot is
 * ready first, so the warmed bots are the batch's marginal ones: of its bots that got a run, the
 * first (size - warm) served the runs the plan created bots for, and only the rest count for
 * warm-up.
 */
export interface Batch {
  readonly at: number;
  readonly warm: number;
  readonly bots: readonly BatchBot[];
}

/** One day's tally (days since the epoch, UTC). */
export interface DayTally {
  readonly day: number;
  readonly warmed: number;
  readonly used: number;
  readonly displaced: number;
  /** Bot-minutes the warmed bots cost: from creation to their run or their release. */
  readonly botMinutes: number;
  /** Wait the used bots saved their runs, at most one boot each, in minutes. */
  readonly savedMinutes: number;
}

export interface WarmUpAccount {
  readonly mode: 'warming' | 'paused';
  /** When the mode began. */
  readonly since: number;
  /** Why it is paused. */
  readonly why?: PauseReason;
  /** The latest outcomes since the mode began, oldest first, at most WINDOW. */
  readonly recent: readonly Judged[];
  /** Batches with warmed bots not all judged yet. */
  readonly batches: readonly Batch[];
  /** Bots the last plan warmed, not yet seen: tagged among the new bots at the next observation. */
  readonly planned?: { readonly at: number; readonly bots: number };
  /** While paused: an open probe and the bots it may still warm. */
  readonly probe?: { readonly openedAt: number; readonly left: number };
  /** While paused: when the last probe opened. */
  readonly probedAt?: number;
  /** While paused: the wait from one probe to the next, from PROBE_EVERY_HOURS up to PROBE_MAX_HOURS. */
  readonly probeEveryHours?: number;
  /** The slot (its start) in which the mode was last judged. */
  readonly judgedSlot?: number;
  /**
   * How the group's runs wait, as of `at`: decayed minutes with runs queued, and of those at the
   * capacity, since the mode began; and whether runs were queued, and at the capacity, at `at`.
   */
  readonly pressure?: { readonly at: number; readonly waiting: boolean; readonly bound: boolean; readonly waitingMinutes: number; readonly boundMinutes: number };
  /** The last ACCOUNT_DAYS days' tallies, oldest first; days without a warmed bot or outcome are left out. */
  readonly days: readonly DayTally[];
  /** The tallies since the account opened. */
  readonly totals?: Omit<DayTally, 'day'>;
  /** Time spent paused since the account opened, not counting the current pause. */
  readonly pausedMs?: number;
}

/** A fresh account: warming, nothing judged yet. */
export function openAccount(now: number): WarmUpAccount {
  return { mode: 'warming', since: now, recent: [], batches: [], days: [] };
}

/**
 * The most bots warm-up may add beyond the runs and standby: undefined (no limit) while warming,
 * the probe's bots left while a probe is open, and 0 while paused.
 */
export function warmUpAllowance(account: WarmUpAccount | undefined): number | undefined {
  if (!account || account.mode === 'warming') return undefined;
  return account.probe?.left ?? 0;
}

/** What observe() sees of the group now. */
export interface Observation {
  readonly at: number;
  /** The group's live bots. */
  readonly bots: readonly Pick<PlanBot, 'id' | 'state' | 'createdAt' | 'stateChangedAt' | 'runsCompleted'>[];
  /** The environment was capacity bound in the last plan: a warmed bot's run then displaced another's. */
  readonly capacityBound: boolean;
  /** The group has queued runs now. @default false */
  readonly waiting?: boolean;
  /** The environment's bots are at its capacity now. @default false */
  readonly atCapacity?: boolean;
}

/**
 * The account after looking at the group's bots: the last plan's bots become a batch, each bot of
 * a batch is judged once it ran or went, a batch whose bots are all judged gives
 * its warmed bots' outcomes, the mode is judged (MODE_RULES), and a probe opens when one is due.
 */
export function observe(account: WarmUpAccount, obs: Observation): WarmUpAccount {
  const byId = new Map(obs.bots.map((b) => [b.id, b]));
  const batches = [...account.batches];
  if (account.planned) {
    const known = new Set(batches.flatMap((b) => b.bots.map((x) => x.id)));
    const fresh = obs.bots.filter((b) => b.createdAt >= account.planned!.at && !known.has(b.id));
    if (fresh.length > 0) batches.push({ at: account.planned.at, warm: Math.min(account.planned.bots, fresh.length), bots: fresh.map((b) => ({ id: b.id, createdAt: b.createdAt })) });
  }
  let days = account.days;
  let totals = account.totals;
  const outcomes: Judged[] = [];
  const open: Batch[] = [];
  for (const batch of batches) {
    const bots = batch.bots.map((x) => (x.result ? x : judgeBot(x, byId.get(x.id), obs)));
    if (bots.some((x) => !x.result)) {
      open.push({ ...batch, bots });
      continue;
    }
    const resolved = settle(batch.warm, bots.map((x) => x.result!));
    outcomes.push(...resolved.outcomes);
    const add = { used: resolved.used, displaced: resolved.displaced, botMinutes: resolved.botMinutes, savedMinutes: resolved.savedMinutes };
    days = tally(days, obs.at, add);
    totals = addTotals(totals, add);
  }
  const pressure = pressureAt(account.pressure, obs.at, obs.waiting ?? false, obs.atCapacity ?? false);
  // While paused the outcomes are the probes': a used one brings the next probe back to
  // PROBE_EVERY_HOURS, and one that went unused makes it wait twice as long.
  const probeEveryHours =
    account.mode !== 'paused' || outcomes.length === 0
      ? account.probeEveryHours
      : outcomes.some((j) => j.outcome === 'used')
        ? PROBE_EVERY_HOURS
        : Math.min(PROBE_MAX_HOURS, 2 * (account.probeEveryHours ?? PROBE_EVERY_HOURS));
  const next: WarmUpAccount = {
    ...account,
    planned: undefined,
    batches: open,
    days: keepWeek(days, obs.at),
    totals,
    pressure,
    recent: [...account.recent, ...outcomes].slice(-WINDOW),
    ...(probeEveryHours !== undefined ? { probeEveryHours } : {}),
  };
  return judge(next, obs.at);
}

/** One bot of a batch, judged when it ran or went; else still waiting. */
function judgeBot(x: BatchBot, bot: Observation['bots'][number] | undefined, obs: Observation): BatchBot {
  const ran = bot !== undefined && (bot.state === 'busy' || bot.runsCompleted > 0);
  const gone = bot === undefined || bot.state === 'deleting' || bot.state === 'failed';
  const readyAt = x.readyAt ?? (bot?.state === 'idle' && bot.runsCompleted === 0 ? bot.stateChangedAt : undefined);
  if (ran) {
    // Seen busy, it went busy at stateChangedAt; seen idle again, it ran before now.
    const ranAt = bot!.state === 'busy' && bot!.runsCompleted === 0 ? bot!.stateChangedAt : obs.at;
    return { ...x, result: { ran: true, bound: obs.capacityBound, costMs: Math.max(0, ranAt - x.createdAt), ...(readyAt !== undefined ? { bootMs: readyAt - x.createdAt } : {}) } };
  }
  if (gone) {
    const endedAt = bot ? Math.min(obs.at, bot.stateChangedAt) : obs.at;
    return { ...x, result: { ran: false, bound: obs.capacityBound, costMs: Math.max(0, endedAt - x.createdAt) } };
  }
  return readyAt !== undefined ? { ...x, readyAt } : x;
}

/**
 * The decayed waiting minutes, and those at the capacity, carried from the last observation to
 * `at`: the state seen then held until now, and each minute counts for less as it ages.
 */
export function pressureAt(pressure: WarmUpAccount['pressure'], at: number, waiting: boolean, bound: boolean): NonNullable<WarmUpAccount['pressure']> {
  if (!pressure) return { at, waiting, bound, waitingMinutes: 0, boundMinutes: 0 };
  const dt = Math.max(0, at - pressure.at);
  const tau = (PRESSURE_HALF_LIFE_HOURS * HOUR) / Math.LN2;
  const keep = Math.exp(-dt / tau);
  // The state held over dt, each instant weighted by its decay until `at`: tau (1 - e^(-dt/tau)).
  const added = (tau * (1 - keep)) / MINUTE;
  return {
    at,
    waiting,
    bound,
    waitingMinutes: pressure.waitingMinutes * keep + (pressure.waiting ? added : 0),
    boundMinutes: pressure.boundMinutes * keep + (pressure.waiting && pressure.bound ? added : 0),
  };
}

/**
 * A judged batch's warmed bots: the runs beyond the (size - warm) its runs needed are
 * hits, displaced first when they ran while the capacity was bound; the rest are unused. The
 * warmed bots cost what the batch's dearest `warm` bots cost, each its share, and each used one
 * saved its run at most a boot (the batch's mean).
 */
export function settle(warm: number, results: ReadonlyArray<NonNullable<BatchBot['result']>>): { outcomes: Judged[]; used: number; displaced: number; botMinutes: number; savedMinutes: number } {
  const ran = results.filter((r) => r.ran);
  const hits = Math.max(0, Math.min(warm, ran.length - (results.length - warm)));
  const displaced = Math.min(hits, ran.filter((r) => r.bound).length);
  const used = hits - displaced;
  const boots = ran.filter((r) => r.bootMs !== undefined).map((r) => r.bootMs!);
  const meanBoot = boots.length ? boots.reduce((s, b) => s + b, 0) / boots.length : 0;
  const botMinutes = results.map((r) => r.costMs).sort((a, b) => b - a).slice(0, warm).reduce((s, c) => s + c, 0) / MINUTE;
  const each = (outcome: Outcome, n: number): Judged[] => Array.from({ length: n }, () => ({ outcome, botMinutes: botMinutes / warm, savedMinutes: outcome === 'used' ? meanBoot / MINUTE : 0 }));
  return {
    outcomes: [...each('used', used), ...each('displaced', displaced), ...each('unused', warm - hits)],
    used,
    displaced,
    botMinutes,
    savedMinutes: (used * meanBoot) / MINUTE,
  };
}

/** The account after a plan warmed `bots` bots (warmCreated); a probe counts them against its allowance. */
export function planned(account: WarmUpAccount, at: number, bots: number): WarmUpAccount {
  if (bots <= 0) return account;
  let next: WarmUpAccount = { ...account, planned: { at, bots }, days: keepWeek(tally(account.days, at, { warmed: bots }), at), totals: addTotals(account.totals, { warmed: bots }) };
  if (next.probe) {
    const left = next.probe.left - bots;
    next = left > 0 ? { ...next, probe: { ...next.probe, left } } : { ...next, probe: undefined };
  }
  return next;
}

/** A mode change: from which mode, on what, to which mode, and why. */
export interface ModeRule {
  readonly from: WarmUpAccount['mode'];
  readonly to: WarmUpAccount['mode'];
  /** Judged on the account: its outcomes and waiting since the mode began. */
  readonly when: (account: WarmUpAccount) => boolean;
  /** Why it pauses, for a rule to `paused`. */
  readonly why?: (account: WarmUpAccount) => PauseReason;
  readonly rule: string;
}

const usedShare = (judged: readonly Judged[]) => judged.filter((j) => j.outcome === 'used').length / judged.length;

/** Minutes of waiting the judged warmed bots saved per bot-minute they cost; Infinity when they cost nothing. */
export function payOf(judged: readonly Judged[]): number {
  const cost = judged.reduce((s, j) => s + j.botMinutes, 0);
  const saved = judged.reduce((s, j) => s + j.savedMinutes, 0);
  return cost > 0 ? saved / cost : Infinity;
}

/** The share of the group's (decayed) waiting time spent at the capacity; undefined below MIN_WAITING_MINUTES. */
export function boundShare(account: Pick<WarmUpAccount, 'pressure'>): number | undefined {
  const p = account.pressure;
  if (!p || p.waitingMinutes < MIN_WAITING_MINUTES) return undefined;
  return p.boundMinutes / p.waitingMinutes;
}

const countOf = (judged: readonly Judged[], outcome: Outcome) => judged.filter((j) => j.outcome === outcome).length;

/** The rules that change a group's warm-up mode, in the order they are tried. */
export const MODE_RULES: readonly ModeRule[] = [
  {
    from: 'warming',
    to: 'paused',
    when: (a) => (boundShare(a) ?? 0) >= BOUND_PAUSE,
    why: () => 'capacity',
    rule: `the runs waited at least ${MIN_WAITING_MINUTES} minutes, ${Math.round(BOUND_PAUSE * 100)}% of that time or more at the capacity`,
  },
  {
    from: 'warming',
    to: 'paused',
    when: (a) => a.recent.length >= MIN_JUDGED && usedShare(a.recent) < PAUSE_BELOW,
    why: (a) => (countOf(a.recent, 'displaced') > countOf(a.recent, 'unused') ? 'capacity' : 'unused'),
    rule: `at least ${MIN_JUDGED} of the last ${WINDOW} warmed bots judged, fewer than ${Math.round(PAUSE_BELOW * 100)}% of them used`,
  },
  {
    from: 'warming',
    to: 'paused',
    when: (a) => a.recent.length >= MIN_JUDGED && payOf(a.recent) < PAY_BELOW,
    why: () => 'cost',
    rule: `at least ${MIN_JUDGED} of the last ${WINDOW} warmed bots judged, saving less than a minute of waiting per ${Math.round(1 / PAY_BELOW)} bot-minutes`,
  },
  {
    from: 'paused',
    to: 'warming',
    when: (a) => a.recent.length >= RESUME_JUDGED && usedShare(a.recent.slice(-RESUME_JUDGED)) >= RESUME_AT && (boundShare(a) ?? 0) < BOUND_RESUME,
    rule: `at least ${Math.round(RESUME_AT * 100)}% of the last ${RESUME_JUDGED} bots warmed since the pause used, and the runs waited less than ${Math.round(BOUND_RESUME * 100)}% of their time at the capacity`,
  },
];

/** At the first observation in a slot: applies MODE_RULES, then opens a probe when one is due while paused. */
function judge(current: WarmUpAccount, now: number): WarmUpAccount {
  if (current.judgedSlot === slotOf(now)) return current;
  const account = { ...current, judgedSlot: slotOf(now) };
  const rule = MODE_RULES.find((r) => r.from === account.mode && r.when(account));
  if (rule) {
    const pausedMs = (account.pausedMs ?? 0) + (account.mode === 'paused' ? now - account.since : 0);
    // Outcomes and waiting are judged afresh in the new mode; the bound share carries on while paused
    // (warm-up comes back only once the capacity lets go), and starts afresh when warming again.
    const pressure = rule.to === 'warming' || !account.pressure ? undefined : account.pressure;
    const base = { ...account, mode: rule.to, since: now, recent: [], probe: undefined, probedAt: undefined, probeEveryHours: undefined, pausedMs, pressure };
    if (rule.to === 'warming') return { ...base, why: undefined };
    return { ...base, why: rule.why!(account) };
  }
  // No probe while the capacity holds the runs back: warm-up could not come back anyway.
  const capacityLetGo = (boundShare(account) ?? 0) < BOUND_RESUME;
  if (account.mode === 'paused' && !account.probe && capacityLetGo && now - (account.probedAt ?? account.since) >= (account.probeEveryHours ?? PROBE_EVERY_HOURS) * HOUR) {
    return { ...account, probe: { openedAt: now, left: PROBE_BOTS }, probedAt: now };
  }
  return account;
}

const NO_TALLY: Omit<DayTally, 'day'> = { warmed: 0, used: 0, displaced: 0, botMinutes: 0, savedMinutes: 0 };

function addTotals(totals: Omit<DayTally, 'day'> | undefined, add: Partial<Omit<DayTally, 'day'>>): Omit<DayTally, 'day'> {
  const t = totals ?? NO_TALLY;
  return {
    warmed: t.warmed + (add.warmed ?? 0),
    used: t.used + (add.used ?? 0),
    displaced: t.displaced + (add.displaced ?? 0),
    botMinutes: t.botMinutes + (add.botMinutes ?? 0),
    savedMinutes: t.savedMinutes + (add.savedMinutes ?? 0),
  };
}

function tally(days: readonly DayTally[], at: number, add: Partial<Omit<DayTally, 'day'>>): DayTally[] {
  const day = Math.floor(at / DAY);
  const last = days[days.length - 1];
  const base: DayTally = last && last.day === day ? last : { day, warmed: 0, used: 0, displaced: 0, botMinutes: 0, savedMinutes: 0 };
  const sum: DayTally = {
    day,
    warmed: base.warmed + (add.warmed ?? 0),
    used: base.used + (add.used ?? 0),
    displaced: base.displaced + (add.displaced ?? 0),
    botMinutes: base.botMinutes + (add.botMinutes ?? 0),
    savedMinutes: base.savedMinutes + (add.savedMinutes ?? 0),
  };
  return [...(base === last ? days.slice(0, -1) : days), sum];
}

function keepWeek(days: readonly DayTally[], now: number): DayTally[] {
  const first = Math.floor(now / DAY) - (ACCOUNT_DAYS - 1);
  return days.filter((d) => d.day >= first);
}

/** A group's account since it opened: its tallies, its mode now, and the share of the time it spent paused. */
export type WarmUpFigures = Omit<DayTally, 'day'> & { readonly mode: WarmUpAccount['mode']; readonly pausedShare: number };

/** The account since it opened (at `opened`): its tallies, and the share of the time since it spent paused. */
export function lifetime(account: WarmUpAccount, opened: number, now: number): WarmUpFigures {
  const paused = (account.pausedMs ?? 0) + (account.mode === 'paused' ? now - account.since : 0);
  return { ...(account.totals ?? NO_TALLY), mode: account.mode, pausedShare: now > opened ? paused / (now - opened) : 0 };
}

/** The account's figures over its last ACCOUNT_DAYS days, with its mode. */
export interface AccountSummary {
  readonly mode: WarmUpAccount['mode'];
  readonly since: number;
  readonly why?: PauseReason;
  /** A probe is open while paused. */
  readonly probing: boolean;
  readonly warmed: number;
  readonly used: number;
  readonly displaced: number;
  readonly botMinutes: number;
  readonly savedMinutes: number;
}

export function summarize(account: WarmUpAccount, now: number): AccountSummary {
  const days = keepWeek(account.days, now);
  const total = (f: (d: DayTally) => number) => days.reduce((s, d) => s + f(d), 0);
  return {
    mode: account.mode,
    since: account.since,
    ...(account.why ? { why: account.why } : {}),
    probing: account.probe !== undefined,
    warmed: total((d) => d.warmed),
    used: total((d) => d.used),
    displaced: total((d) => d.displaced),
    botMinutes: total((d) => d.botMinutes),
    savedMinutes: total((d) => d.savedMinutes),
  };
}

const WHY: Readonly<Record<PauseReason, string>> = {
  unused: 'most warmed bots went unused',
  cost: 'warmed bots cost far more bot-minutes than the waiting they saved',
  capacity: "the capacity was bound, so warmed bots only displaced other groups' runs",
};

/**
 * The account in words, e.g. "warm-up: 12 of 40 warmed bots used this week; paused since
 * Tuesday: most warmed bots went unused". Days and times are read in `timeZone`.
 */
export function describeAccount(s: AccountSummary, now: number, timeZone = 'UTC'): string {
  const bots = (n: number) => `${n} warmed bot${n === 1 ? '' : 's'}`;
  const parts = [`warm-up: ${s.used} of ${bots(s.warmed)} used this week`];
  if (s.displaced > 0) parts[0] += ` (${s.displaced} more got a run while the capacity was bound)`;
  if (s.used > 0 || s.warmed > 0) parts[0] += `, saving runs up to ${Math.round(s.savedMinutes)} minutes of waiting for ${Math.round(s.botMinutes)} bot-minutes`;
  if (s.mode === 'paused') {
    const probe = PROBE_BOTS === 1 ? 'a warmed bot' : `up to ${PROBE_BOTS} warmed bots`;
    parts.push(`paused since ${whenWords(s.since, now, timeZone)}: ${WHY[s.why ?? 'unused']}${s.probing ? `; trying ${probe} again` : ''}`);
  }
  return parts.join('; ');
}

/** A past time in words: the time today, the weekday within the week, else the date. */
export function whenWords(at: number, now: number, timeZone = 'UTC'): string {
  const day = (t: number) => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(t);
  if (day(at) === day(now)) return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit' }).format(at);
  if (now - at < 6 * DAY) return new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'long' }).format(at);
  return new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'long' }).format(at);
}

/**
 * The bots a group plan created beyond the group's runs and standby: the warmed ones. Its serving
 * bots count first toward the runs and standby, so a warmed bot is one that takes the group past them.
 */
export function warmCreated(g: Pick<Plan['groups'][string], 'serving' | 'created' | 'desired' | 'forecast'>): number {
  const warm = g.forecast?.warmBots ?? 0;
  if (warm <= 0 || g.created <= 0) return 0;
  const base = g.desired - warm;
  return Math.max(0, Math.min(g.created, g.serving + g.created - Math.max(g.serving, base)));
}

/** Every group's account, and whether the environment was capacity bound in the last plan. */
export interface AccountBook {
  readonly groups: Readonly<Record<string, WarmUpAccount>>;
  readonly capacityBound: boolean;
}

export const EMPTY_BOOK: AccountBook = { groups: {}, capacityBound: false };

/**
 * plan() with the warm-up account: each group with predictive warm-up is observed, planned with
 * its allowance, and charged with the bots the plan warmed. Groups without predictive warm-up
 * keep no account. Pure: the book out replaces the book in.
 */
export function accountedPlan(snapshot: PlanSnapshot, settings: PlanSettings, now: number, book: AccountBook): { plan: Plan; book: AccountBook } {
  const accounts: Record<string, WarmUpAccount> = {};
  for (const g of snapshot.groups) {
    const scaling: PlanScaling | undefined = settings.groups[g.name];
    if (!scaling?.predictive) continue;
    accounts[g.name] = observe(book.groups[g.name] ?? openAccount(now), {
      at: now,
      bots: snapshot.bots.filter((b) => b.group === g.name),
      capacityBound: book.capacityBound,
      waiting: g.queued > 0,
      atCapacity: snapshot.bots.length >= snapshot.capacity,
    });
  }
  const withAllowance: PlanSnapshot = {
    ...snapshot,
    groups: snapshot.groups.map((g) => {
      const account = accounts[g.name];
      const allowance = warmUpAllowance(account);
      return allowance === undefined ? g : { ...g, warmUpAllowance: allowance, ...(account?.why ? { warmUpPause: account.why } : {}) };
    }),
  };
  const decided = plan(withAllowance, settings, now);
  for (const name of Object.keys(accounts)) {
    const gp = decided.groups[name];
    if (gp) accounts[name] = planned(accounts[name], now, warmCreated(gp));
  }
  return { plan: decided, book: { groups: accounts, capacityBound: decided.capacityBound } };
}

const time = z.number().finite();
const count = z.number().int().min(0);
const minutes = z.number().finite().min(0);
const tallies = { warmed: count, used: count, displaced: count, botMinutes: minutes, savedMinutes: minutes };

/** An account as the store keeps it (JSON): checked when read back, so a damaged one is refused, not trusted. */
const ACCOUNT_SCHEMA = z
  .object({
    mode: z.enum(['warming', 'paused']),
    since: time,
    why: z.enum(['unused', 'cost', 'capacity']).optional(),
    recent: z.array(z.object({ outcome: z.enum(['used', 'displaced', 'unused']), botMinutes: minutes, savedMinutes: minutes }).strict()).max(WINDOW),
    batches: z.array(
      z.object({
        at: time,
        warm: count,
        bots: z.array(
          z.object({
            id: z.string(),
            createdAt: time,
            readyAt: time.optional(),
            result: z.object({ ran: z.boolean(), bound: z.boolean(), costMs: minutes, bootMs: time.optional() }).optional(),
          }),
        ),
      }),
    ),
    planned: z.object({ at: time, bots: count }).optional(),
    probe: z.object({ openedAt: time, left: count }).optional(),
    probedAt: time.optional(),
    probeEveryHours: z.number().finite().min(0).optional(),
    judgedSlot: time.optional(),
    pressure: z.object({ at: time, waiting: z.boolean(), bound: z.boolean(), waitingMinutes: minutes, boundMinutes: minutes }).optional(),
    days: z.array(z.object({ day: z.number().int(), ...tallies })).max(ACCOUNT_DAYS),
    totals: z.object(tallies).optional(),
    pausedMs: minutes.optional(),
  })
  .strict();

/** An account as text for the store. */
export function accountText(account: WarmUpAccount): string {
  return JSON.stringify(account);
}

/** An account the store kept, checked; the error names the field, its value and the rule. */
export function parseAccount(text: string, group: string): WarmUpAccount {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`the warm-up account of group "${group}" is not JSON: ${(err as Error).message}`);
  }
  const parsed = ACCOUNT_SCHEMA.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.join('.') || '(the account)';
    throw new Error(`the warm-up account of group "${group}" has ${path} ${JSON.stringify(pathValue(value, issue.path))}: ${issue.message}`);
  }
  return parsed.data;
}

function pathValue(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}
