import { App, Testing } from 'cdktf';
import { BotImageSource, HostedBotsStack } from '../../index';
import { buildMultiGeo } from '../../examples/multi-geo/main';
import { synthApp } from '../helpers/app';
import { groupProps, resources } from '../helpers/fleet';

describe('examples/multi-geo', () => {
  const synthesized = synthApp(buildMultiGeo);

  test('the version is replicated to exactly northeurope and westus', () => {
    const [version] = resources(synthesized.terraform('bot-images'), 'azurerm_shared_image_version');
    expect(version.target_region.map((r: any) => r.name)).toEqual(['northeurope', 'westus']);
  });

  test('both environment stacks boot the gallery version through a cross-stack reference', () => {
    for (const stack of ['bots-europe', 'bots-us']) {
      const tf = synthesized.terraform(stack);
      const [vmss] = resources(tf, 'azurerm_orchestrated_virtual_machine_scale_set');
      expect(vmss.source_image_id).toMatch(/^\$\{data\.terraform_remote_state\.cross-stack-reference-input-bot-images\.outputs\./);
      expect(synthesized.fleet(stack).groups[0].image).toMatchObject({ kind: 'gallery', gallery: 'botimages', image: 'windows-rpa', version: '1.0.0' });
    }
  });

  test('the stacks are promoted Europe first, then US', () => {
    expect(synthesized.fleet('bots-europe').promotion).toEqual({ order: ['bots-europe', 'bots-us'] });
    expect(synthesized.fleet('bots-us').environment.region).toBe('westus');
  });

  test('a group in a geography without a replica fails synth, naming the version and the missing region', () => {
    const app = new App({ outdir: Testing.app().outdir, stackTraces: false });
    const { version } = buildMultiGeo(app);
    const japan = new HostedBotsStack(app, 'bots-japan', { geography: 'Japan', environment: { name: 'rpa', botCapacity: 2 } });
    japan.environment.addGroup('finance', groupProps({ image: BotImageSource.fromVersion(version) }));
    expect(() => app.synth()).toThrow(
      /bots-japan\/environment\/finance: \[HRB-IMAGE-3\] image "botimages\/windows-rpa@1\.0\.0" has no replica in region japaneast \(replicated to: northeurope, westus\)/,
    );
  });
});
