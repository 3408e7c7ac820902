/** QueueEventHub: every subscriber hears what the queue announces, and one that throws stops no other. */
import type { Run } from '../../../runtime/domain/run';
import { QueueEventHub } from '../../../runtime/queue/events';

const run = { id: 'run-1', group: 'finance' } as Run;

describe('QueueEventHub', () => {
  test('every subscriber hears an event, in the order they subscribed', () => {
    const heard: string[] = [];
    const hub = new QueueEventHub();
    hub.subscribe({ runFinished: (r) => heard.push(`metrics ${r.id}`) });
    hub.subscribe({ runFinished: (r) => heard.push(`outbox ${r.id}`), botLost: () => heard.push('outbox lost') });
    hub.runFinished(run);
    expect(heard).toEqual(['metrics run-1', 'outbox run-1']);
  });

  test('an unsubscribed listener hears nothing more', () => {
    const heard: string[] = [];
    const hub = new QueueEventHub();
    const unsubscribe = hub.subscribe({ runQueued: (r) => heard.push(r.id) });
    hub.runQueued(run);
    unsubscribe();
    hub.runQueued(run);
    expect(heard).toEqual(['run-1']);
  });

  test('a listener that throws is reported, and the listeners after it are still called', () => {
    const reported: string[] = [];
    const heard: string[] = [];
    const hub = new QueueEventHub((event, error) => reported.push(`${event}: ${(error as Error).message}`));
    hub.subscribe({
      botLost: () => {
        throw new Error('outbox full');
      },
    });
    hub.subscribe({ botLost: (botId) => heard.push(botId) });
    hub.botLost('bot-1');
    expect(reported).toEqual(['botLost: outbox full']);
    expect(heard).toEqual(['bot-1']);
  });

  test('a listener with no event to hear is refused, naming the events', () => {
    expect(() => new QueueEventHub().subscribe({})).toThrow(/at least one of runQueued, runClaimed, runFinished, botRegistered, botLost/);
  });
});
