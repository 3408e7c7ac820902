/**
 * The shapes of the API's answers (what views.ts builds), as zod schemas: the operation registry
 * (operations.ts) gives them to the OpenAPI and connector documents, and the tests parse the
 * answers of a running runtime with them (test/runtime/api/openapi.test.ts), so a view whose values
 * drift from its schema fails there, and a field added to a view alone fails to compile
 * (ViewsMatchSchemas below). Titles become the labels Power Automate shows.
 */
import { z } from 'zod';
import { PRIORITIES, RUN_STATES } from '../domain/run';
import { LEADER_STALE_MS } from '../scaler/published-view';
import type { groupSummary, runShadow, runSummary, runView } from './views';

const time = (description: string) => z.iso.datetime().meta({ description });
const nullableTime = (description: string) => time(description).nullable();

export const runStateSchema = z.enum(RUN_STATES as [string, ...string[]]).meta({ title: 'State', description: `Where the run stands: ${RUN_STATES.join(', ')}` });
export const prioritySchema = z.enum(PRIORITIES as [string, ...string[]]).meta({ title: 'Priority', description: 'high runs go before normal ones' });

/** The times of a run, the same in every view of it. */
const runTimes = {
  enqueuedAt: time('When the run was enqueued').meta({ title: 'Enqueued at' }),
  startedAt: nullableTime('When a bot started it, or null').meta({ title: 'Started at' }),
  finishedAt: nullableTime('When it ended, or null').meta({ title: 'Finished at' }),
  waitMs: z.int().min(0).meta({ title: 'Wait (ms)', description: 'How long it waited in the queue, in milliseconds' }),
  runMs: z.int().min(0).nullable().meta({ title: 'Run time (ms)', description: 'How long it has run, in milliseconds, or null before it starts' }),
};

const runSummaryShape = {
  id: z.string().meta({ title: 'Run ID', description: 'The run ID (run_ and 24 hex digits)' }),
  group: z.string().meta({ title: 'Group', description: 'The bot group the run belongs to' }),
  flow: z.string().meta({ title: 'Flow', description: 'The flow the run executes' }),
  state: runStateSchema,
  priority: prioritySchema,
  attempts: z.int().min(0).meta({ title: 'Attempts', description: 'How many times a bot has started the run' }),
  createdBy: z.string().meta({ title: 'Created by', description: 'The principal that enqueued the run' }),
  ...runTimes,
  movedToTop: z.boolean().meta({ title: 'Moved to top', description: 'A co-owner moved it to the top of the queue' }),
  cancelRequested: z.boolean().meta({ title: 'Cancel requested', description: 'A cancel was asked for while it ran' }),
  bot: z
    .object({ id: z.string().meta({ title: 'Bot ID' }), vmName: z.string().nullable().meta({ title: 'VM name' }) })
    .nullable()
    .meta({ title: 'Bot', description: 'The bot that runs or ran it, or null' }),
};

const resultShape = {
  exitCode: z.int().nullable().meta({ title: 'Exit code', description: "The flow's exit code, or null" }),
  errorCode: z.string().nullable().meta({ title: 'Error code', description: 'Why the run failed, or null' }),
};

/** A run in a list (runSummary): everything but its data. */
export const runSummarySchema = z
  .object({ ...runSummaryShape, result: z.object(resultShape).nullable().meta({ title: 'Result', description: 'How it ended, or null while it has not' }) })
  .meta({ title: 'Run summary' });

/** Another user's run, as a plain user sees it in a list (runShadow). */
export const runShadowSchema = z.object({ mine: z.literal(false).meta({ title: 'Mine', description: "false: another user's run" }), state: runStateSchema, priority: prioritySchema, ...runTimes }).meta({ title: 'Run of another user' });

/** A run on its own route (runView): the summary, its inputs and its whole result. */
export const runSchema = z
  .object({
    ...runSummaryShape,
    inputs: z.unknown().meta({ title: 'Inputs', description: 'The inputs the run was started with' }),
    result: z
      .object({
        ...resultShape,
        output: z.string().nullable().meta({ title: 'Output', description: "What the flow wrote to its output (at most 64 KiB)" }),
        errorMessage: z.string().nullable().meta({ title: 'Error message', description: 'What went wrong, or null' }),
      })
      .nullable()
      .meta({ title: 'Result', description: 'How it ended, or null while it has not' }),
  })
  .meta({ title: 'Run' });

const botCountsSchema = z
  .object({ provisioning: z.int().min(0), idle: z.int().min(0), busy: z.int().min(0), failed: z.int().min(0), deleting: z.int().min(0) })
  .meta({ title: 'Bots by state', description: 'How many bots are in each state' });

/** A group in the group list (groupSummary). */
export const groupSummarySchema = z
  .object({
    name: z.string().meta({ title: 'Group', description: "The group's name" }),
    description: z.string().meta({ title: 'Description' }),
    maxBots: z.int().min(0).meta({ title: 'Max bots' }),
    committedBots: z.int().min(0).meta({ title: 'Committed bots' }),
    bots: botCountsSchema,
    running: z.int().min(0).meta({ title: 'Running runs' }),
    queued: z.int().min(0).meta({ title: 'Queued runs' }),
    access: z.enum(['user', 'co-owner', 'admin']).meta({ title: 'Your access', description: "The caller's role in the group" }),
    state: z.enum(['active', 'paused', 'expired']).meta({ title: 'Group state' }),
  })
  .meta({ title: 'Group' });

/** A run's place in a queue: its summary or, for another user's run, where it stands. */
const queueEntrySchema = z.union([
  runSummarySchema.extend({ position: z.int().min(1).meta({ title: 'Position', description: '1 is next' }) }),
  runShadowSchema.extend({ position: z.int().min(1).meta({ title: 'Position', description: '1 is next' }) }),
]);

/** One group in full (groupDetail); the parts the dashboard explains are documented loosely. */
export const groupDetailSchema = groupSummarySchema
  .extend({
    flows: z.array(z.string()).meta({ title: 'Flows', description: "The names of the group's flows" }),
    bots: z.array(z.object({ id: z.string(), state: z.string() }).loose()).meta({ title: 'Bots' }),
    botCounts: botCountsSchema,
    queue: z
      .array(z.object({ position: z.int().min(1), state: runStateSchema, priority: prioritySchema, waitingBecause: z.string() }).loose())
      .meta({ title: 'Queue', description: 'The first runs of the queue, in order, each as in the queue route, with why it waits' }),
    waitingBecause: z.array(z.string()).meta({ title: 'Waiting because' }),
    predictiveWarmUp: z.unknown().meta({ description: 'Bots started ahead of the usual demand, or null' }),
    warmUpAccount: z.unknown().meta({ description: "The month's account of predictive warm-up, or null" }),
    scaleIns: z.array(z.unknown()).meta({ description: 'Recent scale-ins of the group' }),
    publishedAt: nullableTime(
      'On a replica that does not lead: when the leading replica published what waitingBecause, predictiveWarmUp, warmUpAccount and scaleIns show; null on the leader, which shows its own, and when none was published',
    ).meta({ title: 'Scaler state as of' }),
    leaderStale: z
      .boolean()
      .meta({
        title: 'Leader stale',
        description: `true when this replica does not lead and no leader has published the scaler state for ${LEADER_STALE_MS / 60_000} minutes (or ever): waitingBecause, predictiveWarmUp, warmUpAccount and scaleIns are empty`,
      }),
    recentRuns: z.array(z.union([runSummarySchema, runShadowSchema])).meta({ title: 'Recent runs' }),
    provisioningErrors: z.array(z.unknown()).meta({ title: 'Provisioning errors' }),
  })
  .meta({ title: 'Group in full' });

export const environmentSchema = z
  .object({
    name: z.string(),
    geography: z.string(),
    region: z.string(),
    enabled: z.boolean(),
    plan: z.enum(['standard', 'trial']),
    botCapacity: z.int().min(0),
    botsInUse: z.int().min(0),
    bots: botCountsSchema,
  })
  .meta({ title: 'Environment' });

export const groupListSchema = z.object({ groups: z.array(groupSummarySchema).meta({ title: 'Groups' }) });

export const flowListSchema = z.object({
  flows: z
    .array(
      z.object({
        name: z.string().meta({ title: 'Flow', description: "The flow's name, as a run names it" }),
        description: z.string().nullable().meta({ title: 'Description' }),
        timeoutMinutes: z.number().positive().meta({ title: 'Time-out (minutes)', description: 'A run of it is stopped after this long' }),
      }),
    )
    .meta({ title: 'Flows' }),
});

export const queuePageSchema = z.object({
  queue: z.array(queueEntrySchema).meta({ title: 'Queue', description: 'Queued runs in the order bots take them' }),
  next: z.int().min(0).nullable().meta({ title: 'Next offset', description: 'The offset of the next page, or null at the end' }),
});

export const historyPageSchema = z.object({
  runs: z.array(runSummarySchema).meta({ title: 'Runs', description: 'Newest first' }),
  next: z.string().nullable().meta({ title: 'Next page', description: 'The run the next page starts before (its `before`), or null at the end' }),
});

export const auditPageSchema = z.object({
  records: z.array(
    z.object({
      id: z.int(),
      at: time('When the change was made'),
      actor: z.string(),
      via: z.string(),
      action: z.string(),
      runId: z.string().nullable(),
      before: z.unknown(),
      after: z.unknown(),
    }),
  ),
  next: z.int().nullable().meta({ description: 'The record the next page starts before, or null at the end' }),
});

export const groupStateSchema = z.object({ name: z.string().meta({ title: 'Group' }), state: z.enum(['active', 'paused', 'expired']).meta({ title: 'Group state' }) });

/** Every error: `{ error: { code, message } }`. */
export const errorSchema = z
  .object({ error: z.object({ code: z.string().meta({ title: 'Error code' }), message: z.string().meta({ title: 'Error message', description: 'What was wrong and what to do next' }) }) })
  .meta({ title: 'Error' });

/** `true` when a view and its schema have the same fields; the types of the values are checked on answers by the tests. */
type SameFields<View, Schema extends z.ZodType> = [Exclude<keyof View, keyof z.input<Schema>>, Exclude<keyof z.input<Schema>, keyof View>] extends [never, never] ? true : false;
type Holds<T extends true> = T;

/** Checked by the compiler: a field added to a view and not to its schema (or the other way) is a type error here. */
export type ViewsMatchSchemas = [
  Holds<SameFields<ReturnType<typeof runSummary>, typeof runSummarySchema>>,
  Holds<SameFields<ReturnType<typeof runShadow>, typeof runShadowSchema>>,
  Holds<SameFields<ReturnType<typeof runView>, typeof runSchema>>,
  Holds<SameFields<ReturnType<typeof groupSummary>, typeof groupSummarySchema>>,
];
