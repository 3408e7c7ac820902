import { ADAPTIVE_CARD_SCHEMA, teamsMessage } from '../../../runtime/webhooks/teams';
import { renderBody, WebhookEvent } from '../../../runtime/webhooks/payload';
import { WEBHOOK_EVENT_TYPES } from '../../../runtime/domain/webhook';

const failed: WebhookEvent = {
  type: 'run.failed',
  timestamp: '2026-12-07T02:00:00.000Z',
  data: { id: 'run_1', group: 'finance', flow: 'invoice-entry', state: 'failed', createdBy: 'ana', attempts: 1, result: { exitCode: 2, errorCode: 'exit_code', errorMessage: 'the flow exited with 2' } },
};

/** The card elements this format uses, and what each must carry (Adaptive Cards schema 1.4). */
function checkElement(e: Record<string, unknown>): void {
  if (e.type === 'TextBlock') {
    expect(typeof e.text).toBe('string');
  } else if (e.type === 'FactSet') {
    for (const fact of e.facts as Array<Record<string, unknown>>) expect([typeof fact.title, typeof fact.value]).toEqual(['string', 'string']);
  } else {
    throw new Error(`unexpected element ${String(e.type)}`);
  }
}

test('a Teams message is one Adaptive Card attachment, version 1.4, as a Workflows webhook trigger takes it', () => {
  const message = teamsMessage(failed);
  expect(message).toMatchObject({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { $schema: ADAPTIVE_CARD_SCHEMA, type: 'AdaptiveCard', version: '1.4' } }] });
  expect(message.attachments).toHaveLength(1);
  message.attachments[0].content.body.forEach((e) => checkElement(e as Record<string, unknown>));
});

test("a run's card names the event and group, and lists the run's facts", () => {
  const [title, when, facts] = teamsMessage(failed).attachments[0].content.body as Array<Record<string, any>>;
  expect([title.text, title.color, when.text]).toEqual(['Run failed in finance', 'attention', '2026-12-07T02:00:00.000Z']);
  expect(facts.facts).toEqual([
    { title: 'Group', value: 'finance' },
    { title: 'Flow', value: 'invoice-entry' },
    { title: 'Run', value: 'run_1' },
    { title: 'State', value: 'failed' },
    { title: 'Started by', value: 'ana' },
    { title: 'Attempts', value: '1' },
    { title: 'Error', value: 'exit_code' },
    { title: 'Message', value: 'the flow exited with 2' },
  ]);
});

test('every event type renders a card with a title and facts', () => {
  for (const type of WEBHOOK_EVENT_TYPES) {
    const body = teamsMessage({ type, timestamp: failed.timestamp, data: { group: 'finance', code: 'QuotaExceeded', queued: 3, waitMinutes: 12, thresholdMinutes: 10 } }).attachments[0].content.body;
    expect((body[0] as { text: string }).text).toMatch(/ in finance$/);
    expect((body[2] as { facts: unknown[] }).facts.length).toBeGreaterThan(0);
  }
});

test('the json format is the event itself; the teams format its card', () => {
  expect(JSON.parse(renderBody(failed, 'json'))).toEqual(failed);
  expect(JSON.parse(renderBody(failed, 'teams'))).toEqual(teamsMessage(failed));
});
