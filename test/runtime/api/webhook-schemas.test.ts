/**
 * The webhook contract's schemas: the subscription the connector's trigger sends is accepted, a
 * bad one is refused naming the field, and an event carries the run as GET /v1/runs/{id} has it.
 */
import { parse } from '../../../runtime/http/input';
import { OPERATIONS } from '../../../runtime/api/operations';
import { runView } from '../../../runtime/api/views';
import { RUN_EVENT_TYPES, webhookEventSchema, webhookSubscriptionBody } from '../../../runtime/api/webhook-schemas';
import type { Run } from '../../../runtime/domain/run';

/** What Power Automate sends when a flow with the trigger is saved: its callback URL and the trigger's fixed values. */
const fromConnector = () => ({
  url: 'https://prod-12.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=xyz',
  ...OPERATIONS.subscribeRunFinished.connector.trigger.fixed,
});

describe('webhook subscription body', () => {
  test("accepts what the connector's trigger sends", () => {
    expect(parse(webhookSubscriptionBody, fromConnector())).toEqual({ ...fromConnector(), events: [...RUN_EVENT_TYPES] });
  });

  test.each([
    [{ url: 'ftp://example.com/hook' }, /^url: must be an http:\/\/ or https:\/\/ URL/],
    [{ url: `https://example.com/${'a'.repeat(2048)}` }, /^url: /],
    [{ events: ['run.started'] }, /^events\.0: must be one of run\.succeeded, run\.failed, run\.timed_out, run\.cancelled/],
    [{ events: [] }, /^events: /],
    [{ events: ['run.failed', 'run.failed'] }, /^events: must not name an event twice/],
    [{ format: 'xml' }, /^format: must be one of json, teams/],
    [{ events: ['queue.wait_exceeded'] }, /^waitAboveMinutes: is required with the event queue\.wait_exceeded/],
    [{ waitAboveMinutes: 10 }, /^waitAboveMinutes: applies to queue\.wait_exceeded only/],
    [{ secret: 'mine' }, /^secret: unknown field/],
  ])('refuses %p, naming the field', (change, message) => {
    expect(() => parse(webhookSubscriptionBody, { ...fromConnector(), ...change })).toThrow(message);
  });
});

describe('webhook event', () => {
  const run: Run = {
    id: 'run_0123456789abcdef01234567',
    group: 'finance',
    flow: 'invoice-entry',
    inputs: { batch: 42 },
    priority: 'normal',
    state: 'succeeded',
    attempts: 1,
    createdBy: 'finance-clerk',
    timeoutMinutes: 30,
    enqueuedAt: 1_800_000_000_000,
    queuedAt: 1_800_000_000_000,
    startedAt: 1_800_000_060_000,
    finishedAt: 1_800_000_120_000,
    cancelRequested: false,
    botId: 'bot_0123456789abcdef01234567',
    vmName: 'finance000001',
    exitCode: 0,
    output: 'done',
  };

  test('carries the run as GET /v1/runs/{id} answers it', () => {
    const event = { type: 'run.succeeded', timestamp: new Date(run.finishedAt!).toISOString(), data: runView(run, run.finishedAt!) };
    expect(webhookEventSchema.parse(event)).toEqual(event);
  });

  test('refuses a type that is not an end of a run', () => {
    expect(webhookEventSchema.safeParse({ type: 'run.queued', timestamp: new Date(0).toISOString(), data: runView(run, 0) }).success).toBe(false);
  });
});
