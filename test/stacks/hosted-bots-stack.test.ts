import { App, Testing } from 'cdktf';
import { HostedBotsStack } from '../../index';
import { fleetStack, resources, synth } from '../helpers/fleet';

describe('HostedBotsStack', () => {
  test('has the azurerm provider and a resource group in the geography region', () => {
    const { json } = synth(fleetStack({ geography: 'Japan' }));
    expect(json.provider.azurerm).toEqual([{ features: [{}] }]);
    expect(resources(json, 'azurerm_resource_group')).toEqual([expect.objectContaining({ name: 'rg-hostedbots-demo-japaneast', location: 'japaneast' })]);
  });

  test('accepts a region override of the same geography', () => {
    const stack = fleetStack({ geography: 'US', region: 'eastus' });
    expect(stack.region).toBe('eastus');
    expect(resources(synth(stack).json, 'azurerm_orchestrated_virtual_machine_scale_set')[0].location).toBe('eastus');
  });

  test('refuses a region from another geography', () => {
    expect(() => fleetStack({ id: 'bots-uk', geography: 'UK', region: 'westeurope' })).toThrow(
      'bots-uk: region "westeurope" does not belong to geography UK: choose one of ukwest, uksouth.',
    );
  });

  test('refuses UAE, naming the supported geographies', () => {
    expect(() => new HostedBotsStack(Testing.app(), 'bots-uae', { geography: 'UAE' as never, environment: { name: 'x', botCapacity: 1 } })).toThrow(
      /bots-uae: geography "UAE" is not supported: the UAE geography is not supported by hosted RPA bots\. Supported geographies: US, Europe, .*Norway\./,
    );
  });

  test('takes the geography in any case; the stack and its fleet manifest keep the canonical spelling', () => {
    const stack = new HostedBotsStack(Testing.app(), 'bots-eu', { geography: 'EUROPE' as never, environment: { name: 'demo', botCapacity: 1 } });
    expect(stack.geography).toBe('Europe');
    expect(stack.region).toBe('northeurope');
    expect(stack.resolvedFleetManifest().environment.geography).toBe('Europe');
  });

  test('configures an azurerm remote backend with a per-stack key', () => {
    const app = Testing.app();
    const stack = new HostedBotsStack(app, 'bots-eu', {
      geography: 'Europe',
      environment: { name: 'demo', botCapacity: 1 },
      backend: { resourceGroupName: 'tfstate', storageAccountName: 'tfstatebots', containerName: 'state' },
    });
    expect(synth(stack).json.terraform.backend.azurerm).toMatchObject({ key: 'bots-eu.tfstate', container_name: 'state' });
  });

  test('bots call the runtime at its App Service address, built from the global name Terraform derives', () => {
    const [vmss] = resources(synth(fleetStack()).json, 'azurerm_orchestrated_virtual_machine_scale_set');
    expect(vmss.extension[0].protected_settings).toContain('"runtimeUrl" = join("", ["https://hostedbots-demo-", local.global_name_suffix, ".azurewebsites.net"])');
  });

  test('keeps local state in the directory synth runs in, by a path relative to the stack, when the output is inside it', () => {
    const app = new App({ outdir: 'cdktf.out', stackTraces: false });
    const stack = new HostedBotsStack(app, 'bots-eu', { geography: 'Europe', environment: { name: 'demo', botCapacity: 1 } });
    // cdktf.out/stacks/bots-eu -> three levels up
    expect(synth(stack).json.terraform.backend.local.path).toBe('../../../terraform.bots-eu.tfstate');
  });

  test('keeps local state beside an output folder outside that directory, still by a relative path', () => {
    const { json } = synth(fleetStack({ id: 'bots-eu' }));
    expect(json.terraform.backend.local.path).toBe('../../../terraform.bots-eu.tfstate');
  });
});
