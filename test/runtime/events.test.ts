import { allEvents, inScaleOperation, RuntimeEvents, ScaleOperation } from '../../runtime/events';
import type { Run } from '../../runtime/domain/run';

const run = { id: 'run_1', group: 'finance', state: 'succeeded' } as Run;
const operation: ScaleOperation = { kind: 'create', group: 'finance', count: 2, reason: 'demand' };

describe('allEvents', () => {
  test('tells every subscriber, in order, the events it listens to', () => {
    const heard: string[] = [];
    const events = allEvents(
      { runFinished: (r) => heard.push(`a finished ${r.id}`), provisioningError: (g, c) => heard.push(`a error ${g} ${c}`) },
      { runFinished: (r) => heard.push(`b finished ${r.id}`), runClaimed: (r) => heard.push(`b claimed ${r.id}`) },
    );
    events.runFinished(run);
    events.runClaimed!(run);
    events.provisioningError('finance', 'AllocationFailed');
    events.scalerAction({ kind: 'create', group: 'finance', count: 1 });
    expect(heard).toEqual(['a finished run_1', 'b finished run_1', 'b claimed run_1', 'a error finance AllocationFailed']);
  });

  test("runs a scale operation's work once, inside each subscriber's wrapper, the first outermost", async () => {
    const steps: string[] = [];
    const wrapper = (name: string): Partial<RuntimeEvents> => ({
      scaleOperation: async (op, work) => {
        steps.push(`${name} in ${op.kind} ${op.group}`);
        const result = await work();
        steps.push(`${name} out`);
        return result;
      },
    });
    const events = allEvents(wrapper('a'), { runFinished: () => undefined }, wrapper('b'));
    await expect(events.scaleOperation!(operation, async () => (steps.push('work'), 42))).resolves.toBe(42);
    expect(steps).toEqual(['a in create finance', 'b in create finance', 'work', 'b out', 'a out']);
  });

  test("a scale operation's failure reaches the scaler through every wrapper", async () => {
    const events = allEvents({ scaleOperation: (_op, work) => work() });
    await expect(events.scaleOperation!(operation, () => Promise.reject(new Error('ARM said no')))).rejects.toThrow('ARM said no');
  });
});

describe('inScaleOperation', () => {
  test('runs the work as it is for subscribers without a wrapper', async () => {
    await expect(inScaleOperation({}, operation, async () => 'done')).resolves.toBe('done');
  });
});
