import { Testing } from 'cdktf';
import { BotImagesStack } from '../../index';
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
