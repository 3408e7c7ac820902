/**
 * What the API returns: runs, groups and bots as clients see them, and "why it waits" in words.
 */
import type { ManifestGroup } from '../config/manifest';
import type { WaitReason } from '../scaler/plan';
import type { PlanForView, ScaleInSummary } from '../scaler/published-view';
import { describeScaleIn } from '../scaler/scale-in';
import { AccountSummary, describeAccount, summarize, WarmUpAccount } from '../scaler/warm-up-account';
import type { Bot } from '../domain/bot';
import type { GroupState, ProvisioningError } from '../domain/group';
import type { Run, RunListing } from '../domain/run';
import type { Access } from '../http/auth';

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** Times a run went through, the same for every view of it. */
function runTimes(run: RunListing, now: number) {
  const waitEnd = run.startedAt ?? run.finishedAt ?? now;
  return {
    enqueuedAt: iso(run.enqueuedAt),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    waitMs: Math.max(0, waitEnd - run.enqueuedAt),
    runMs: run.startedAt === undefined ? null : Math.max(0, (run.finishedAt ?? now) - run.startedAt),
  };
}

/**
 * A run as lists show it to someone who may see it (see canSeeRun): everything but its data. The
 * inputs, the output and the error text come only from the run's own route, so a list costs the
 * same whatever the runs carry.
 */
export function runSummary(run: RunListing, now: number) {
  return {
    id: run.id,
    group: run.group,
    flow: run.flow,
    state: run.state,
    priority: run.priority,
    attempts: run.attempts,
    createdBy: run.createdBy,
    ...runTimes(run, now),
    movedToTop: run.movedToTopAt !== undefined,
    cancelRequested: run.cancelRequested,
    bot: run.botId ? { id: run.botId, vmName: run.vmName ?? null } : null,
    result: run.finishedAt === undefined ? null : { exitCode: run.exitCode ?? null, errorCode: run.errorCode ?? null },
  };
}

/** Another user's run, as a plain user of the group sees it: where it stands, not what it is. */
export function runShadow(run: RunListing, now: number) {
  return { mine: false as const, state: run.state, priority: run.priority, ...runTimes(run, now) };
}

/** The run's own route: the summary and its data, for its owner, co-owners and admins. */
export function runView(run: Run, now: number) {
  const summary = runSummary(run, now);
  return {
    ...summary,
    inputs: run.inputs,
    result: summary.result === null ? null : { ...summary.result, output: run.output ?? null, errorMessage: run.errorMessage ?? null },
  };
}

/**
 * A run in a webhook's `data`: the run as GET /v1/runs/{id} returns it, the same fields, with its
 * inputs and its output null. A receiver is a URL a co-owner chose, read by whoever reads that
 * channel, and inputs and output may carry what only the run's creator and the group's co-owners
 * should see (personal data, references to credentials); a receiver that needs them reads the run
 * with its own token. The fields stay, so the event keeps the schema of the run (webhook-schemas.ts).
 */
export function runWebhookView(run: Run, now: number) {
  const view = runView(run, now);
  return { ...view, inputs: null, result: view.result === null ? null : { ...view.result, output: null } };
}

/**
 * A bot in a group's view. Its VM's name and its current run are details: shown to co-owners and
 * admins, and to a plain user only for a bot running one of their own runs (`details` false hides
 * them, and says so with `detailsHidden`). A VM's name is what a holder of the group's bot token
 * would need to register as it before its agent does (SECURITY.md, Bot registration).
 */
export function botView(bot: Bot, now: number, details = true) {
  return {
    id: bot.id,
    vmName: details ? (bot.vmName ?? null) : null,
    detailsHidden: !details,
    state: bot.state,
    ageMs: now - bot.createdAt,
    inStateMs: now - bot.stateChangedAt,
    currentRunId: details ? (bot.currentRunId ?? null) : null,
    runsCompleted: bot.runsCompleted,
    failureReason: bot.failureReason ?? null,
  };
}

export type GroupStatusName = 'active' | 'paused' | 'expired';

export function groupStatus(state: GroupState | undefined): GroupStatusName {
  if (state?.expired) return 'expired';
  if (state?.paused) return 'paused';
  return 'active';
}

export function botCounts(bots: readonly Bot[]) {
  const counts = { provisioning: 0, idle: 0, busy: 0, failed: 0, deleting: 0 };
  for (const b of bots) if (b.state in counts) counts[b.state as keyof typeof counts] += 1;
  return counts;
}

export function groupSummary(
  group: ManifestGroup,
  state: GroupState | undefined,
  bots: readonly Bot[],
  counts: { queued: number; running: number },
  access: Access,
) {
  return {
    name: group.name,
    description: group.description,
    maxBots: group.maxBots,
    committedBots: group.committedBots,
    bots: botCounts(bots),
    running: counts.running,
    queued: counts.queued,
    access,
    state: groupStatus(state),
  };
}

/** The typical boot time seen in this group, for "about N minutes". */
export function typicalBootMs(bots: readonly Bot[], fallbackMs: number): number {
  const boots = bots.filter((b) => b.registeredAt !== undefined).map((b) => b.registeredAt! - b.createdAt);
  if (boots.length === 0) return fallbackMs;
  boots.sort((a, b) => a - b);
  return boots[Math.floor(boots.length / 2)];
}

function duration(ms: number): string {
  if (ms < 90_000) {
    const s = Math.max(1, Math.round(ms / 1000));
    return `${s} second${s === 1 ? '' : 's'}`;
  }
  return `${Math.round(ms / 60_000)} minutes`;
}

const bots = (n: number) => `${n} bot${n === 1 ? '' : 's'}`;

/** Which other groups the reader may see by name; the others are "another group". @default every group */
export type GroupVisibility = (group: string) => boolean;

/** Other groups as a reader may see them: by name where they may, else "another group" (once). */
function otherGroups(names: readonly string[], visible: GroupVisibility = () => true): { words: string; plural: boolean } {
  const shown = [...new Set(names.map((n) => (visible(n) ? `group ${n}` : 'another group')))];
  const hidden = names.filter((n) => !visible(n)).length;
  const words = shown.map((w) => (w === 'another group' && hidden > 1 ? `${hidden} other groups` : w)).join(', ');
  return { words, plural: names.length > 1 };
}

/** "Why it waits", in words. */
export function describeWait(reason: WaitReason, context: { bootMs: number; provisioningSinceMs?: number; now: number; visible?: GroupVisibility }): string {
  switch (reason.code) {
    case 'provisioning': {
      const left = Math.max(context.bootMs - (context.provisioningSinceMs ?? 0), 0);
      return `${bots(reason.bots)} provisioning, about ${duration(left || context.bootMs)}`;
    }
    case 'group_at_max_bots':
      return `group at maxBots (${reason.maxBots})`;
    case 'capacity_in_use':
      return `environment capacity (${reason.capacity} bots) in use by other groups`;
    case 'fair_share':
      if (reason.others?.length) {
        const others = otherGroups(reason.others, context.visible);
        return `group held to its share of the capacity (${bots(reason.share)}) while ${others.words} ${others.plural ? 'wait' : 'waits'}`;
      }
      return `group at its fair share of the capacity (${reason.share} bots) while other groups wait`;
    case 'group_paused':
      return 'group paused';
    case 'group_expired':
      return 'group expired; a co-owner can revive it with resume';
    case 'environment_disabled':
      return 'environment disabled';
    case 'backoff':
      return `provisioning errors: retrying in ${duration(reason.until - context.now)}`;
  }
}

/** What describeWait needs to estimate times: the typical boot, and how long the oldest provisioning bot has been at it. */
function waitContext(bots: readonly Bot[], now: number, fallbackBootMs: number, visible?: GroupVisibility) {
  const provisioning = bots.filter((b) => b.state === 'provisioning');
  const oldest = provisioning.length ? Math.min(...provisioning.map((b) => b.createdAt)) : undefined;
  return { bootMs: typicalBootMs(bots, fallbackBootMs), provisioningSinceMs: oldest === undefined ? undefined : now - oldest, now, visible };
}

export function waitReasons(plan: PlanForView | undefined, bots: readonly Bot[], now: number, fallbackBootMs: number, visible?: GroupVisibility): string[] {
  if (!plan) return [];
  const context = waitContext(bots, now, fallbackBootMs, visible);
  return plan.waiting.map((r) => describeWait(r, context));
}

/**
 * Why each queued run waits, by position: the first runs go to idle bots, the next ones to bots
 * still provisioning, and the rest wait on whatever holds the group back (maxBots, the capacity,
 * a back-off), or for a busy bot to finish.
 */
export function runWaitReasons(plan: PlanForView | undefined, bots: readonly Bot[], queued: number, now: number, fallbackBootMs: number, visible?: GroupVisibility): string[] {
  const reasons = plan?.waiting ?? [];
  const idle = bots.filter((b) => b.state === 'idle').length;
  const context = waitContext(bots, now, fallbackBootMs, visible);
  const blocking = reasons.find((r) => r.code === 'group_paused' || r.code === 'group_expired' || r.code === 'environment_disabled');
  const held = reasons.filter((r) => r.code !== 'provisioning').map((r) => describeWait(r, context));
  const booting = reasons.find((r) => r.code === 'provisioning');
  return Array.from({ length: queued }, (_, i) => {
    const position = i + 1;
    if (blocking) return describeWait(blocking, context);
    if (position <= idle) return 'starting on an idle bot';
    if (booting && position <= idle + booting.bots) return describeWait(booting, context);
    return held.length ? held.join('; ') : 'waiting for a busy bot to finish';
  });
}

/**
 * Predictive warm-up in words: the bots planned ahead of demand (the plan creates them, or keeps
 * them when they are already there), and any its share of the capacity holds back.
 */
export function describeWarmUp(planned: number, wanted: number): string {
  if (planned >= wanted) return `predictive warm-up: ${bots(planned)} planned ahead of the usual demand at this hour`;
  if (planned === 0) return `predictive warm-up: ${bots(wanted)} wanted ahead of the usual demand at this hour, held back by the capacity`;
  return `predictive warm-up: ${bots(planned)} planned ahead of the usual demand at this hour (${wanted - planned} more held back by the capacity)`;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * What predictive warm-up adds to the group in the last plan, or null when it adds nothing: the
 * bots beyond its runs and standby, within maxBots (`wanted`), and of those the bots its share
 * allows (`bots`).
 */
export function warmUpView(plan: PlanForView | undefined) {
  const forecast = plan?.forecast;
  if (!plan || !forecast || forecast.warmBots <= 0) return null;
  const wanted = forecast.warmBots;
  const planned = forecast.plannedBots;
  return {
    bots: planned,
    wanted,
    forecastBots: forecast.bots,
    expectedBots: round2(forecast.expected),
    pace: round2(forecast.pace),
    days: forecast.days,
    message: describeWarmUp(planned, wanted),
  };
}

/**
 * The group's warm-up account this week, or null without one (predictive warm-up off, or before
 * the scaler has led): its mode and since when, why it is paused, its figures, and all in words.
 */
export function warmUpAccountView(account: WarmUpAccount | undefined, now: number, timeZone?: string) {
  return accountSummaryView(account && summarize(account, now), now, timeZone);
}

/** The warm-up account's view from its summary: the leader's own, or the one it published. */
export function accountSummaryView(s: AccountSummary | undefined, now: number, timeZone?: string) {
  if (!s) return null;
  return {
    mode: s.mode,
    since: iso(s.since),
    why: s.why ?? null,
    probing: s.probing,
    warmedBots: s.warmed,
    usedBots: s.used,
    displacedBots: s.displaced,
    botMinutes: Math.round(s.botMinutes),
    savedMinutes: Math.round(s.savedMinutes),
    message: describeAccount(s, now, timeZone),
  };
}

/** A scale-in the scaler carried out, as the group's view shows it: when, how many bots, why. */
export function scaleInView(record: ScaleInSummary, group: string, visible?: GroupVisibility) {
  const name = (g: string) => (visible === undefined || visible(g) ? `group ${g}` : 'another group');
  return { at: iso(record.at), bots: record.bots, reason: record.reason, message: describeScaleIn({ ...record, group }, name) };
}

export function provisioningErrorView(e: ProvisioningError) {
  return { at: iso(e.at), operation: e.operation, code: e.code, message: e.message };
}
