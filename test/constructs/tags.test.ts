import { Testing } from 'cdktf';
import { HostedBotsStack } from '../../index';
import { groupProps, synth } from '../helpers/fleet';

describe('tags', () => {
  const app = Testing.app();
  const stack = new HostedBotsStack(app, 'fleet', {
    geography: 'Europe',
    environment: { name: 'demo', botCapacity: 2 },
    tags: { 'cost-center': 'rpa' },
  });
  stack.environment.addGroup('finance', groupProps({ tags: { team: 'finance' } }));
  const { json } = synth(stack);

  test('every taggable resource carries the stack tags', () => {
    const taggable = ['azurerm_resource_group', 'azurerm_virtual_network', 'azurerm_network_security_group', 'azurerm_user_assigned_identity', 'azurerm_orchestrated_virtual_machine_scale_set'];
    for (const type of taggable) {
      for (const resource of Object.values<any>(json.resource[type])) {
        expect(resource.tags).toMatchObject({ 'cost-center': 'rpa', 'hosted-bots-environment': 'demo', 'hosted-bots-stack': 'fleet', 'managed-by': 'hosted-rpa-bots' });
      }
    }
  });

  test('a construct’s own tags are merged over the stack tags', () => {
    const [vmss] = Object.values<any>(json.resource.azurerm_orchestrated_virtual_machine_scale_set);
    expect(vmss.tags).toMatchObject({ team: 'finance', 'cost-center': 'rpa' });
  });
});
