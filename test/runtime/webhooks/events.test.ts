import type { Run } from '../../../runtime/domain/run';
import { webhookEvents } from '../../../runtime/webhooks/events';

const run = (overrides: Partial<Run>): Run =>
  ({ id: 'run_1', group: 'finance', flow: 'invoice', inputs: { secret: 'x' }, priority: 'normal', state: 'succeeded', attempts: 1, createdBy: 'ana', timeoutMinutes: 30, enqueuedAt: 1, queuedAt: 1, cancelRequested: false, ...overrides }) as Run;

function recorder(fail = false) {
  const published: unknown[][] = [];
  const logged: unknown[][] = [];
  const events = webhookEvents(
    { publish: async (...args) => (published.push(args), fail ? Promise.reject(new Error('store down')) : 1) },
    { runData: (r) => ({ id: r.id, state: r.state }), log: (...args) => logged.push(args) },
  );
  return { events, published, logged };
}

test('a finished run is published as its event, keyed by the run, with the view of it', () => {
  const { events, published } = recorder();
  events.runFinished(run({ state: 'failed', errorCode: 'run_timeout' }));
  expect(published).toEqual([['finance', 'run.timed_out', 'run_1', { id: 'run_1', state: 'failed' }]]);
});

test('a provisioning error is published with its group and code', () => {
  const { events, published } = recorder();
  events.provisioningError('finance', 'QuotaExceeded');
  expect(published).toEqual([['finance', 'group.provisioning_error', expect.stringMatching(/^QuotaExceeded:/), { group: 'finance', code: 'QuotaExceeded' }]]);
});

test('a failure to queue is logged, never thrown into the change that caused it', async () => {
  const { events, logged } = recorder(true);
  expect(() => events.runFinished(run({}))).not.toThrow();
  await new Promise((resolve) => setImmediate(resolve));
  expect(logged).toEqual([['webhook.enqueue_failed', { group: 'finance', event: 'run.succeeded', error: 'store down' }]]);
});
