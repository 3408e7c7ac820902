import { Testing } from 'cdktf';
import { BotImagesStack } from '../../index';
import { resources, synth } from '../helpers/fleet';

function images() {
  const stack = new BotImagesStack(Testing.app(), 'images', { location: 'northeurope' });
  const image = stack.gallery.addImage('windows', { name: 'windows-rpa', publisher: 'contoso', offer: 'rpa', sku: 'win11' });
  return { stack, image };
}

describe('BotImage', () => {
  test('is a generalized Windows Gen2 image with trusted launch supported', () => {
    const { stack } = images();
    const [image] = resources(synth(stack).json, 'azurerm_shared_image');
    expect(image).toMatchObject({
      name: 'windows-rpa',
      os_type: 'Windows',
      specialized: false,
      hyper_v_generation: 'V2',
      trusted_launch_supported: true,
      identifier: { publisher: 'contoso', offer: 'rpa', sku: 'win11' },
    });
  });
});

describe('BotImageVersion', () => {
  test('has one target region per geography, with the replica count', () => {
    const { stack, image } = images();
    image.addVersion('1.2.3', { source: { osDiskSnapshotId: '/snap' }, sourceVmSecurityType: 'Standard', geographies: ['Europe', 'Japan'], replicaCount: 2 });
    const [version] = resources(synth(stack).json, 'azurerm_shared_image_version');
    expect(version).toMatchObject({ name: '1.2.3', os_disk_snapshot_id: '/snap' });
    expect(Object.keys(version)).not.toContain('source_vm_security_type');
    expect(version.target_region).toEqual([
      { name: 'northeurope', regional_replica_count: 2, storage_account_type: 'Standard_LRS' },
      { name: 'japaneast', regional_replica_count: 2, storage_account_type: 'Standard_LRS' },
    ]);
  });

  test('additional regions serve stacks that override their region', () => {
    const { stack, image } = images();
    const v = image.addVersion('1.0.0', { source: { managedImageId: '/img' }, geographies: ['Europe', 'US'], additionalRegions: ['East US'] });
    expect(v.regions).toEqual(['northeurope', 'westus', 'eastus']);
    synth(stack);
  });

  test('geographies are taken in any case and kept as the table spells them', () => {
    const { image } = images();
    const v = image.addVersion('1.0.0', { source: { managedImageId: '/img' }, geographies: ['europe', 'US'.toLowerCase(), 'JAPAN'] as never });
    expect(v.geographies).toEqual(['Europe', 'US', 'Japan']);
    expect(v.regions).toEqual(['northeurope', 'westus', 'japaneast']);
  });

  test('an unknown geography is refused, naming the version and the index', () => {
    const { image } = images();
    expect(() => image.addVersion('1.0.0', { source: { managedImageId: '/img' }, geographies: ['Europe', 'Mars'] as never })).toThrow(
      /\/windows\/v1\.0\.0: geographies\[1\] "Mars" is not supported: it is not a hosted-bots geography\. Supported geographies: US, Europe/,
    );
  });

  test('a blob source takes the storage account too', () => {
    const { stack, image } = images();
    image.addVersion('1.0.0', { source: { blobUri: 'https://sa.blob.core.windows.net/vhds/os.vhd', storageAccountId: '/sa' }, geographies: ['Europe'] });
    const [version] = resources(synth(stack).json, 'azurerm_shared_image_version');
    expect(version).toMatchObject({ blob_uri: 'https://sa.blob.core.windows.net/vhds/os.vhd', storage_account_id: '/sa' });
  });

  test('a snapshot said to be of a VM without Trusted Launch synthesizes; one not said to be fails, pointing at a VHD', () => {
    const good = images();
    good.image.addVersion('1.0.0', { source: { osDiskSnapshotId: '/snap' }, sourceVmSecurityType: 'Standard', geographies: ['Europe'] });
    expect(synth(good.stack).annotations).toEqual([]);
    const bad = images();
    bad.image.addVersion('1.0.0', { source: { osDiskSnapshotId: '/snap' }, geographies: ['Europe'] });
    expect(() => Testing.fullSynth(bad.stack)).toThrow(/images\/gallery\/windows\/v1\.0\.0: \[HRB-IMAGE-4\] source\.osDiskSnapshotId "\/snap" is an OS disk snapshot of a Trusted Launch VM.*source\.blobUri and storageAccountId/);
  });

  test('is labelled gallery/image@version in messages', () => {
    const { image } = images();
    expect(image.addVersion('2.0.1', { source: { managedImageId: '/img' }, geographies: ['Europe'] }).label).toBe('botimages/windows-rpa@2.0.1');
  });
});
