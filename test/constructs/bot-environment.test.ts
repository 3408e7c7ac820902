import { Testing } from 'cdktf';
import { fleetStack, groupProps, plainEnvironment, resources, synth } from '../helpers/fleet';

describe('BotEnvironment', () => {
  test('declares the three custom roles, scoped to the resource group', () => {
    const roles = resources(synth(fleetStack()).json, 'azurerm_role_definition').filter((r) => !r.name.includes('runtime'));
    // Role names are unique in the Entra tenant: the suffix keeps subscriptions apart.
    expect(roles.map((r) => r.name).sort()).toEqual([
      'Hosted RPA bots environment maker (demo, northeurope, ${local.global_name_suffix})',
      'Hosted RPA bots image admin (demo, northeurope, ${local.global_name_suffix})',
      'Hosted RPA bots machine owner (demo, northeurope, ${local.global_name_suffix})',
    ]);
    for (const role of roles) expect(role.assignable_scopes).toEqual([expect.stringMatching(/azurerm_resource_group/)]);
    const imageAdmin = roles.find((r) => r.name.includes('image admin'));
    expect(imageAdmin!.permissions[0].actions).not.toContain('Microsoft.Compute/virtualMachineScaleSets/*');
  });

  test('assigns each role to the principals given in props', () => {
    const stack = fleetStack({ environment: { roles: { environmentMakers: ['maker-1', 'maker-2'], imageAdmins: ['img-1'] } } });
    const assignments = resources(synth(stack).json, 'azurerm_role_assignment').filter((a) => !/runtime_identity/.test(a.principal_id));
    expect(assignments.map((a) => a.principal_id).sort()).toEqual(['img-1', 'maker-1', 'maker-2']);
    for (const a of assignments) {
      expect(a.role_definition_id).toMatch(/azurerm_role_definition\..+\.role_definition_resource_id/);
      expect(a.scope).toMatch(/azurerm_resource_group/);
    }
  });

  test('the trial plan caps the capacity at 2', () => {
    expect(fleetStack({ environment: { plan: 'trial', botCapacity: 8 } }).environment.effectiveCapacity).toBe(2);
  });

  test('a second group with a name the environment has is refused with an HRB error naming both groups', () => {
    const stack = fleetStack({ groups: [] });
    stack.environment.addGroup('finance', groupProps({ name: 'finance' }));
    expect(() => stack.environment.addGroup('finance-eu', groupProps({ name: 'finance' }))).toThrow(
      /^fleet\/environment\/finance-eu: \[HRB-NAME-10\] name "finance" is already the name of group fleet\/environment\/finance; .*rename one of them$/,
    );
  });

  test('the refused group declares nothing, and the stack still synthesizes', () => {
    const stack = fleetStack({ groups: [] });
    stack.environment.addGroup('finance', groupProps({ name: 'finance' }));
    expect(() => stack.environment.addGroup('finance-eu', groupProps({ name: 'Finance' }))).toThrow(/\[HRB-NAME-10\]/);
    expect(stack.environment.node.tryFindChild('finance-eu')).toBeUndefined();
    expect(stack.environment.groups.map((g) => g.name)).toEqual(['finance']);
    expect(resources(synth(stack).json, 'azurerm_orchestrated_virtual_machine_scale_set')).toHaveLength(1);
  });
});

describe('BotEnvironment checks itself, in any stack', () => {
  test('in a plain TerraformStack, good input synthesizes', () => {
    const { app, environment } = plainEnvironment();
    environment.addGroup('finance', groupProps());
    expect(() => app.synth()).not.toThrow();
  });

  test('in a plain TerraformStack, app.synth() refuses a bad name, naming the path, rule ID, field, value and rule', () => {
    const { app } = plainEnvironment({ name: 'Demo' });
    expect(() => app.synth()).toThrow(/plain\/environment: \[HRB-NAME-5\] name "Demo" must be 1-24 lowercase letters, digits or hyphens/);
  });

  test('groups added after the constructor are counted at synth', () => {
    const { stack, environment } = plainEnvironment({ botCapacity: 20 });
    for (let i = 0; i < 11; i++) environment.addGroup(`g${i}`, groupProps({ name: `group-${i}`, maxBots: 1 }));
    expect(() => Testing.fullSynth(stack)).toThrow(/plain\/environment: \[HRB-CAP-4\] groups 11 must be at most 10 per environment/);
  });

  test('a warning is reported as a warning and synth goes on', () => {
    const { app, stack, environment } = plainEnvironment({ plan: 'trial', botCapacity: 5 });
    environment.addGroup('finance', groupProps({ maxBots: 2 }));
    expect(() => app.synth()).not.toThrow();
    expect(synth(stack).annotations).toEqual([
      { level: 'warning', path: 'plain/environment', message: expect.stringMatching(/^plain\/environment: \[HRB-CAP-3\] botCapacity 5 is capped at 2 by the trial plan/) },
    ]);
  });
});
