/**
 * Every operation of the API that clients use, once: its method and path, who may call it, what
 * it is, the zod schemas of its path, query, headers and body, and the shapes of its answers.
 * The routes register and validate with these entries (user-routes.ts, admin-routes.ts,
 * audit-routes.ts); the OpenAPI 3.1 document (openapi.ts) and the Power Platform connector
 * (connector.ts) are generated from them. So a request the documents allow is one the routes
 * accept, which test/runtime/api/openapi.test.ts checks for every operation against a running
 * runtime.
 *
 * Left out, on purpose: the bot agent's routes (/v1/agent/…), which only the agent calls and
 * which change with it; /healthz and /metrics, for probes and Prometheus; the dashboard's pages.
 */
import { z } from 'zod';
import type { AccessPolicy } from '../http/access';
import { emptyBody, PAGE_LIMIT, priority, runId } from '../http/input';
import { RUN_STATES, RunState } from '../domain/run';
import {
  auditPageSchema,
  environmentSchema,
  flowListSchema,
  groupDetailSchema,
  groupListSchema,
  groupStateSchema,
  historyPageSchema,
  queuePageSchema,
  runSchema,
} from './view-schemas';
import {
  RUN_EVENT_TYPES, webhookEventSchema, webhookId, webhookListSchema, webhookRotationBody, webhookRotationSchema, webhookSubscriptionBody, webhookSubscriptionSchema,
} from './webhook-schemas';

export type OperationMethod = 'get' | 'post' | 'patch' | 'delete';

/** An answer an operation gives on success. */
export interface OperationAnswer {
  readonly description: string;
  /** @default no body */
  readonly schema?: z.ZodType;
  /** Headers the answer carries: name → what it holds. @default none */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Where the values of a connector parameter come from: another operation's list (`x-ms-dynamic-values`). */
export interface DynamicValues {
  /** The operation that lists them. */
  readonly operation: string;
  /** The list in its answer. */
  readonly collection: string;
  /** The field of each item that is the value, and the one shown. */
  readonly value: string;
  readonly title: string;
  /** Parameters of that operation taken from this one's: its name → this one's. @default none */
  readonly parameters?: Readonly<Record<string, string>>;
}

/** How the Power Platform connector offers an operation. */
export interface ConnectorUse {
  /** `x-ms-visibility`: internal operations only serve the connector itself (lists, unsubscribing). @default shown normally */
  readonly visibility?: 'important' | 'advanced' | 'internal';
  /** Parameters (path, query, header or body field) whose values come from a list. @default a `group` path parameter's come from ListGroups */
  readonly dynamicValues?: Readonly<Record<string, DynamicValues>>;
  /**
   * A webhook trigger (`x-ms-trigger`): the body field that receives the flow's callback URL
   * (`x-ms-notification-url`), what each notification carries, and the values the other body
   * fields get, hidden from the maker. @default an action
   */
  readonly trigger?: { readonly notificationUrl: string; readonly event: z.ZodType; readonly fixed: Readonly<Record<string, unknown>> };
}

export interface Operation {
  /** The `operationId` in both documents. */
  readonly id: string;
  readonly method: OperationMethod;
  /** The Express path, e.g. `/v1/groups/:group/runs`. */
  readonly path: string;
  readonly access: AccessPolicy;
  /** A short sentence, as the connector shows it. */
  readonly summary: string;
  readonly description: string;
  readonly tag: 'Environment' | 'Groups' | 'Runs' | 'Webhooks';
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  /** Request headers, by their canonical name. */
  readonly headers?: z.ZodObject;
  readonly body?: z.ZodType;
  /** The success answers by status. Errors are `{ error: { code, message } }` (view-schemas.ts). */
  readonly answers: Readonly<Record<number, OperationAnswer>>;
  /** @default not in the connector */
  readonly connector?: ConnectorUse;
}

const groupParam = z.string().min(1).meta({ title: 'Group', description: 'The bot group (one you have access to)' });
const runParam = runId.meta({ title: 'Run ID', description: 'The run (run_ and 24 hex digits)', examples: ['run_0123456789abcdef01234567'] });
const limit = (fallback: number) =>
  z.coerce.number().int().min(1).max(PAGE_LIMIT).optional().meta({ title: 'Page size', description: `How many to return, 1-${PAGE_LIMIT} (default ${fallback})` });

/** The `state` filter of the history: run states, comma-separated. */
const STATE_LIST = new RegExp(`^(${RUN_STATES.join('|')})(,(${RUN_STATES.join('|')}))*$`);
const stateFilter = z
  .string()
  .regex(STATE_LIST, `must be among ${RUN_STATES.join(', ')}, comma-separated`)
  // Before the transform: zod keeps a transform's examples out of the input's JSON Schema.
  .meta({ title: 'States', description: `Only runs in these states, comma-separated: ${RUN_STATES.join(', ')}`, examples: ['succeeded,failed'] })
  .transform((s) => s.split(',') as RunState[])
  .optional();

const idempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,200}$/, 'must be 1-200 printable ASCII characters')
  .meta({ title: 'Idempotency key', description: 'A retry with the same key returns the same run instead of starting another', examples: ['invoice-2026-12-07'] });

const RUN_ANSWER = { schema: runSchema };

/** Where a group's name comes from, wherever an operation names one: the groups the caller can use. */
const GROUP_VALUES: DynamicValues = { operation: 'ListGroups', collection: 'groups', value: 'name', title: 'name' };

/** The list a field's values come from: the operation's own, else the groups' for a `group` path parameter. */
export function dynamicValuesFor(op: Operation, field: string): DynamicValues | undefined {
  return op.connector?.dynamicValues?.[field] ?? (field === 'group' && op.params?.shape.group ? GROUP_VALUES : undefined);
}

/** Declares an operation, keeping its schemas' types for the routes that parse with them. */
const operation = <const T extends Operation>(op: T): T => op;

/** The operations, by the name the routes use. */
export const OPERATIONS = {
  getEnvironment: operation({
    id: 'GetEnvironment',
    method: 'get',
    path: '/v1/environment',
    access: 'any-user',
    tag: 'Environment',
    summary: 'Get the environment',
    description: 'The environment: its name, geography, region, whether it is enabled, its plan, its bot capacity and the bots in use.',
    answers: { 200: { description: 'The environment', schema: environmentSchema } },
  }),
  listGroups: operation({
    id: 'ListGroups',
    method: 'get',
    path: '/v1/groups',
    access: 'any-user',
    tag: 'Groups',
    summary: 'List your groups',
    description: 'The bot groups you have access to, with your role, their state, their bots by state and their queued and running runs.',
    answers: { 200: { description: 'The groups you can use', schema: groupListSchema } },
    connector: { visibility: 'internal' },
  }),
  getGroup: operation({
    id: 'GetGroup',
    method: 'get',
    path: '/v1/groups/:group',
    access: 'group-user',
    tag: 'Groups',
    summary: 'Get a group',
    description: 'One group in full: its bots, the start of its queue with why each run waits, its recent runs and provisioning errors.',
    params: z.object({ group: groupParam }),
    answers: { 200: { description: 'The group', schema: groupDetailSchema } },
  }),
  listFlows: operation({
    id: 'ListFlows',
    method: 'get',
    path: '/v1/groups/:group/flows',
    access: 'group-user',
    tag: 'Groups',
    summary: "List a group's flows",
    description: "The flows of the group's catalogue, which a run may name.",
    params: z.object({ group: groupParam }),
    answers: { 200: { description: 'The flows', schema: flowListSchema } },
    connector: { visibility: 'internal' },
  }),
  listQueue: operation({
    id: 'ListQueue',
    method: 'get',
    path: '/v1/groups/:group/queue',
    access: 'group-user',
    tag: 'Groups',
    summary: "List a group's queue",
    description: "The group's queued runs in the order bots take them, a page at a time. Another user's run shows only where it stands.",
    params: z.object({ group: groupParam }),
    query: z
      .object({
        offset: z.coerce.number().int().min(0).max(1_000_000).optional().meta({ title: 'Offset', description: 'How many queued runs to skip (the previous page’s next)' }),
        limit: limit(50),
      })
      .strict(),
    answers: { 200: { description: 'A page of the queue', schema: queuePageSchema } },
    connector: {},
  }),
  startRun: operation({
    id: 'StartRun',
    method: 'post',
    path: '/v1/groups/:group/runs',
    access: 'group-user',
    tag: 'Runs',
    summary: 'Start a run',
    description: 'Queues a run of a flow of the group, with its inputs. A bot of the group takes it as soon as one is free; the answer is the run, queued.',
    params: z.object({ group: groupParam }),
    headers: z.object({ 'Idempotency-Key': idempotencyKey.optional() }),
    body: z
      .object({
        flow: z.string({ message: 'is required, the name of a flow in the group catalogue' }).min(1).max(64).meta({ title: 'Flow', description: 'The flow to run, from the group catalogue' }),
        inputs: z
          .record(z.string(), z.unknown(), { message: 'must be a JSON object' })
          .optional()
          .meta({ title: 'Inputs', description: 'The inputs the flow reads, as a JSON object (at most 32 KiB)' }),
        priority: priority.optional().meta({ title: 'Priority', description: 'normal, or high to jump the queue (co-owners, or users where the group allows it)' }),
      })
      .strict(),
    answers: { 202: { description: 'The run, queued (or the run this idempotency key started before)', ...RUN_ANSWER, headers: { 'Idempotent-Replayed': 'true when the idempotency key had started this run before' } } },
    connector: {
      visibility: 'important',
      dynamicValues: { flow: { operation: 'ListFlows', collection: 'flows', value: 'name', title: 'name', parameters: { group: 'group' } } },
    },
  }),
  listRuns: operation({
    id: 'ListRuns',
    method: 'get',
    path: '/v1/groups/:group/runs',
    access: 'group-user',
    tag: 'Runs',
    summary: "List a group's runs",
    description: "The group's runs, newest first, a page at a time: a plain user's own runs, every run for co-owners and admins.",
    params: z.object({ group: groupParam }),
    query: z
      .object({
        state: stateFilter,
        limit: limit(50),
        before: runId.optional().meta({ title: 'Before', description: 'Start after this run (the previous page’s next)', examples: ['run_0123456789abcdef01234567'] }),
      })
      .strict(),
    answers: { 200: { description: 'A page of runs', schema: historyPageSchema } },
  }),
  getRun: operation({
    id: 'GetRun',
    method: 'get',
    path: '/v1/runs/:id',
    access: 'run-owner-or-co-owner',
    tag: 'Runs',
    summary: 'Get a run',
    description: 'A run: its state, attempts, times, bot, inputs and result. Its owner, co-owners of its group and admins may read it.',
    params: z.object({ id: runParam }),
    answers: { 200: { description: 'The run', ...RUN_ANSWER } },
    connector: { visibility: 'important' },
  }),
  cancelRun: operation({
    id: 'CancelRun',
    method: 'post',
    path: '/v1/runs/:id/cancel',
    access: 'run-owner-or-co-owner',
    tag: 'Runs',
    summary: 'Cancel a run',
    description: 'Cancels a queued run at once (200), or asks the bot running it to stop (202). A run that has ended answers 409.',
    params: z.object({ id: runParam }),
    body: emptyBody.optional(),
    answers: { 200: { description: 'The run, cancelled', ...RUN_ANSWER }, 202: { description: 'The run, asked to stop', ...RUN_ANSWER } },
    connector: {},
  }),
  setRunPriority: operation({
    id: 'SetRunPriority',
    method: 'patch',
    path: '/v1/runs/:id',
    access: 'run-owner-or-co-owner',
    tag: 'Runs',
    summary: "Change a queued run's priority",
    description: 'Sets the priority of a queued run; high is for co-owners (and users where the group allows it).',
    params: z.object({ id: runParam }),
    body: z.object({ priority: priority.meta({ title: 'Priority', description: 'high or normal' }) }).strict(),
    answers: { 200: { description: 'The run', ...RUN_ANSWER } },
  }),
  moveRunToTop: operation({
    id: 'MoveRunToTop',
    method: 'post',
    path: '/v1/runs/:id/move-to-top',
    access: 'group-co-owner',
    tag: 'Runs',
    summary: 'Move a queued run to the top',
    description: "Puts a queued run at the head of its group's queue. Co-owners and admins only.",
    params: z.object({ id: runParam }),
    body: emptyBody.optional(),
    answers: { 200: { description: 'The run', ...RUN_ANSWER } },
  }),
  pauseGroup: operation({
    id: 'PauseGroup',
    method: 'post',
    path: '/v1/groups/:group/pause',
    access: 'group-co-owner',
    tag: 'Groups',
    summary: 'Pause a group',
    description: "Stops the group's bots from taking queued runs; running ones go on. Co-owners and admins only.",
    params: z.object({ group: groupParam }),
    body: emptyBody.optional(),
    answers: { 200: { description: "The group's state", schema: groupStateSchema } },
  }),
  resumeGroup: operation({
    id: 'ResumeGroup',
    method: 'post',
    path: '/v1/groups/:group/resume',
    access: 'group-co-owner',
    tag: 'Groups',
    summary: 'Resume a group',
    description: 'Lets the group take queued runs again; revives an expired group. Co-owners and admins only.',
    params: z.object({ group: groupParam }),
    body: emptyBody.optional(),
    answers: { 200: { description: "The group's state", schema: groupStateSchema } },
  }),
  listAuditRecords: operation({
    id: 'ListAuditRecords',
    method: 'get',
    path: '/v1/groups/:group/audit',
    access: 'group-co-owner',
    tag: 'Groups',
    summary: "Read a group's audit trail",
    description: 'Who changed the queue or the group, through what, when, before and after; newest first, a page at a time. Co-owners and admins only.',
    params: z.object({ group: groupParam }),
    query: z
      .object({
        limit: limit(50),
        before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional().meta({ title: 'Before', description: 'Start after this record (the previous page’s next)' }),
      })
      .strict(),
    answers: { 200: { description: 'A page of the audit trail', schema: auditPageSchema } },
  }),
  subscribeRunFinished: operation({
    id: 'SubscribeRunFinished',
    method: 'post',
    path: '/v1/groups/:group/webhooks',
    // Co-owners and admins: a subscription hears every run of the group, and plain users see only
    // their own runs (README, HTTP API).
    access: 'group-co-owner',
    tag: 'Webhooks',
    summary: 'When a run finishes',
    description:
      'Subscribes a URL to the group’s events: each run that succeeds, fails, times out or is cancelled, provisioning errors, a queue waiting too long, as it asks; each is POSTed to it, signed (Standard Webhooks). Co-owners and admins only.',
    params: z.object({ group: groupParam }),
    body: webhookSubscriptionBody,
    answers: { 201: { description: 'The subscription', schema: webhookSubscriptionSchema, headers: { Location: 'The subscription: /v1/groups/{group}/webhooks/{id}, which DELETE ends' } } },
    connector: {
      trigger: { notificationUrl: 'url', event: webhookEventSchema, fixed: { events: [...RUN_EVENT_TYPES], format: 'json' } },
    },
  }),
  listWebhooks: operation({
    id: 'ListWebhooks',
    method: 'get',
    path: '/v1/groups/:group/webhooks',
    access: 'group-co-owner',
    tag: 'Webhooks',
    summary: "List a group's webhook subscriptions",
    description: 'Each subscription with its delivery health (last delivered, last failure, failing deliveries); never a secret. Co-owners and admins only.',
    params: z.object({ group: groupParam }),
    answers: { 200: { description: 'The subscriptions', schema: webhookListSchema } },
  }),
  deleteWebhook: operation({
    id: 'DeleteWebhook',
    method: 'delete',
    path: '/v1/groups/:group/webhooks/:id',
    access: 'group-co-owner',
    tag: 'Webhooks',
    summary: 'Delete a webhook subscription',
    description: 'Ends a subscription; Power Automate calls it when the trigger is removed from a flow. One the stack declares is removed there (409). Co-owners and admins only.',
    params: z.object({ group: groupParam, id: webhookId }),
    answers: { 204: { description: 'The subscription is gone' } },
    connector: { visibility: 'internal' },
  }),
  rotateWebhookSecret: operation({
    id: 'RotateWebhookSecret',
    method: 'post',
    path: '/v1/groups/:group/webhooks/:id/rotate-secret',
    access: 'group-co-owner',
    tag: 'Webhooks',
    summary: "Rotate a webhook subscription's signing secret",
    description:
      'Gives a subscription made through the API a new secret, shown only in this answer, and keeps its ID. Deliveries carry a signature with the old secret too for 24 hours, unless revokePreviousNow ends that at once. One the stack declares is rotated in Key Vault (409). Co-owners and admins only.',
    params: z.object({ group: groupParam, id: webhookId }),
    body: webhookRotationBody.optional(),
    answers: { 200: { description: 'The new secret, and until when the old one signs', schema: webhookRotationSchema } },
  }),
} satisfies Record<string, Operation>;

export type OperationName = keyof typeof OPERATIONS;

/** The operations in the order the documents list them. */
export const OPERATION_LIST: readonly Operation[] = Object.values(OPERATIONS);

/** `/v1/groups/:group` → `/v1/groups/{group}`. */
export const documentPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
