import { acceptedFlow, SELF_TEST_FLOW, SELF_TEST_FLOW_DEFINITION } from '../../../runtime/config/self-test-flow';

describe('the flows a group accepts', () => {
  const catalogue = { 'invoice-entry': { command: 'invoice.cmd', timeoutMinutes: 30 } };

  test('its own flows, by name', () => {
    expect(acceptedFlow(catalogue, 'invoice-entry')).toBe(catalogue['invoice-entry']);
  });

  test('the built-in self-test, which it does not declare, with its own time-out', () => {
    expect(acceptedFlow(catalogue, SELF_TEST_FLOW)).toBe(SELF_TEST_FLOW_DEFINITION);
    expect(acceptedFlow({}, SELF_TEST_FLOW)?.timeoutMinutes).toBe(SELF_TEST_FLOW_DEFINITION.timeoutMinutes);
  });

  test.each(['payroll', 'constructor', '__proto__', 'toString', SELF_TEST_FLOW.toUpperCase()])('nothing else: %s', (name) => {
    expect(acceptedFlow(catalogue, name)).toBeUndefined();
  });
});
