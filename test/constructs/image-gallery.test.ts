import { Testing } from 'cdktf';
import { BotImageGallery, BotImagesStack, sameResourceGroupName } from '../../index';
import { resources, synth } from '../helpers/fleet';

describe('BotImageGallery', () => {
  test('is private by default', () => {
    const stack = new BotImagesStack(Testing.app(), 'images', { location: 'northeurope' });
    const [gallery] = resources(synth(stack).json, 'azurerm_shared_image_gallery');
    expect(gallery).toMatchObject({ name: 'botimages', location: 'northeurope', sharing: { permission: 'Private' } });
  });

  test('groups sharing sets the Groups permission', () => {
    const stack = new BotImagesStack(Testing.app(), 'images', { location: 'northeurope', gallery: { sharing: 'groups' } });
    const [gallery] = resources(synth(stack).json, 'azurerm_shared_image_gallery');
    expect(gallery.sharing).toEqual({ permission: 'Groups' });
  });

  test('each reader gets the Reader role on the gallery', () => {
    const stack = new BotImagesStack(Testing.app(), 'images', { location: 'northeurope', gallery: { readers: ['owner-1', 'runtime-2'] } });
    const assignments = resources(synth(stack).json, 'azurerm_role_assignment');
    expect(assignments).toEqual([
      expect.objectContaining({ principal_id: 'owner-1', role_definition_name: 'Reader', scope: expect.stringMatching(/azurerm_shared_image_gallery/) }),
      expect.objectContaining({ principal_id: 'runtime-2', role_definition_name: 'Reader', scope: expect.stringMatching(/azurerm_shared_image_gallery/) }),
    ]);
  });

  test("naming the stack's own resource group in another case places the gallery in it, created after it, as Azure compares names ignoring case", () => {
    const stack = new BotImagesStack(Testing.app(), 'images', { location: 'northeurope', resourceGroupName: 'rg-rpa-images' });
    new BotImageGallery(stack, 'second', { name: 'moreimages', resourceGroupName: 'RG-RPA-Images' });
    const galleries = resources(synth(stack).json, 'azurerm_shared_image_gallery');
    expect(galleries.map((g) => g.resource_group_name)).toEqual([expect.stringMatching(/^\$\{azurerm_resource_group\.[\w-]+\.name\}$/), expect.stringMatching(/^\$\{azurerm_resource_group\.[\w-]+\.name\}$/)]);
  });

  test('another resource group named in the props is used as given', () => {
    const stack = new BotImagesStack(Testing.app(), 'images', { location: 'northeurope', resourceGroupName: 'rg-rpa-images' });
    new BotImageGallery(stack, 'elsewhere', { name: 'moreimages', resourceGroupName: 'rg-shared-images' });
    const galleries = resources(synth(stack).json, 'azurerm_shared_image_gallery');
    expect(galleries.find((g) => g.name === 'moreimages')?.resource_group_name).toBe('rg-shared-images');
  });

  test('sameResourceGroupName ignores case only', () => {
    expect(sameResourceGroupName('rg-Hosted-Bots', 'RG-hosted-bots')).toBe(true);
    expect(sameResourceGroupName('rg-hosted-bots', 'rg-hosted-bots-2')).toBe(false);
  });

  test('outside a stack that places it, resource group and location are required', () => {
    const app = Testing.app();
    const { TerraformStack } = jest.requireActual('cdktf');
    const bare = new TerraformStack(app, 'bare');
    const { BotImageGallery } = jest.requireActual('../../constructs/image-gallery');
    expect(() => new BotImageGallery(bare, 'gallery', { name: 'botimages' })).toThrow(
      'bare: resourceGroupName and location are required outside a BotImagesStack or HostedBotsStack; pass both in the props',
    );
  });
});
