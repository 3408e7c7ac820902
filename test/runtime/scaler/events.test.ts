import { allScalerEvents, inScaleOperation, ScaleOperation, ScalerEvents } from '../../../runtime/scaler/events';

const operation: ScaleOperation = { kind: 'create', group: 'finance', count: 2, reason: 'demand' };

describe('allScalerEvents', () => {
  test('tells every subscriber, in order, the events it listens to', () => {
    const heard: string[] = [];
    const events = allScalerEvents(
      { provisioningError: (g, c) => heard.push(`a error ${g} ${c}`) },
      { scalerAction: (a) => heard.push(`b action ${a.kind} ${a.group}`), provisioningError: (g, c) => heard.push(`b error ${g} ${c}`) },
    );
    events.provisioningError('finance', 'AllocationFailed');
    events.scalerAction({ kind: 'create', group: 'finance', count: 1 });
    expect(heard).toEqual(['a error finance AllocationFailed', 'b error finance AllocationFailed', 'b action create finance']);
  });

  test("runs a scale operation's work once, inside each subscriber's wrapper, the first outermost", async () => {
    const steps: string[] = [];
    const wrapper = (name: string): Partial<ScalerEvents> => ({
      scaleOperation: async (op, work) => {
        steps.push(`${name} in ${op.kind} ${op.group}`);
        const result = await work();
        steps.push(`${name} out`);
        return result;
      },
    });
    const events = allScalerEvents(wrapper('a'), { scalerAction: () => undefined }, wrapper('b'));
    await expect(events.scaleOperation!(operation, async () => (steps.push('work'), 42))).resolves.toBe(42);
    expect(steps).toEqual(['a in create finance', 'b in create finance', 'work', 'b out', 'a out']);
  });

  test("a scale operation's failure reaches the scaler through every wrapper", async () => {
    const events = allScalerEvents({ scaleOperation: (_op, work) => work() });
    await expect(events.scaleOperation!(operation, () => Promise.reject(new Error('ARM said no')))).rejects.toThrow('ARM said no');
  });
});

describe('inScaleOperation', () => {
  test('runs the work as it is for subscribers without a wrapper', async () => {
    await expect(inScaleOperation({}, operation, async () => 'done')).resolves.toBe('done');
  });
});
