/**
 * A custom bot image built once, replicated to Europe and the US, and used by one environment
 * stack per geography. Changes are promoted from Europe to the US.
 *
 *   npx cdktf synth --app "node dist/examples/multi-geo/main.js"
 */
import { App, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { BotImageSource, BotImageVersion, Geography } from '../../constructs';
import { BotImagesStack, declarePromotionOrder, HostedBotsStack } from '../../stacks';

export interface MultiGeoApp {
  readonly images: BotImagesStack;
  readonly version: BotImageVersion;
  readonly europe: HostedBotsStack;
  readonly us: HostedBotsStack;
}

/**
 * Pipelines sign in to the runtimes with Entra ID: set the tenant and the API's audience, and
 * put the pipeline's object ID among the admins (comma-separated), when synthesizing.
 */
const entraTenant = process.env.HOSTED_BOTS_ENTRA_TENANT;
const entraAudience = process.env.HOSTED_BOTS_ENTRA_AUDIENCE ?? 'api://hosted-bots';
const extraAdmins = (process.env.HOSTED_BOTS_ADMINS ?? '').split(',').map((a) => a.trim()).filter(Boolean);

function environmentStack(scope: Construct, id: string, geography: Geography, version: BotImageVersion): HostedBotsStack {
  const stack = new HostedBotsStack(scope, id, {
    geography,
    environment: { name: 'rpa', botCapacity: 10, admins: ['ops-admin', ...extraAdmins] },
    runtime: entraTenant ? { entra: { tenantId: entraTenant, audience: entraAudience } } : {},
  });
  const adminPassword = new TerraformVariable(stack, 'bot_admin_password', { type: 'string', sensitive: true });
  stack.environment.addGroup('finance', {
    name: 'finance',
    maxBots: 6,
    committedBots: 2,
    image: BotImageSource.fromVersion(version),
    adminUsername: 'botadmin',
    adminPassword: adminPassword.stringValue,
    flows: { 'invoice-entry': { command: 'powershell.exe -NoProfile -File C:\\flows\\invoice-entry.ps1', timeoutMinutes: 30 } },
    access: { users: ['finance-clerk'], coOwners: ['finance-lead'] },
  });
  return stack;
}

export function buildMultiGeo(scope: Construct): MultiGeoApp {
  const images = new BotImagesStack(scope, 'bot-images', {
    location: 'northeurope',
    gallery: { name: 'botimages', sharing: 'private' },
  });
  const image = images.gallery.addImage('windows-rpa', {
    name: 'windows-rpa',
    publisher: 'contoso',
    offer: 'rpa-bots',
    sku: 'win11-rpa',
    description: 'Windows 11 with the RPA runtime and flows preinstalled',
  });
  const imageSource = new TerraformVariable(images, 'image_source_id', {
    type: 'string',
    description: 'Resource ID of the managed image to publish as version 1.0.0',
  });
  const version = image.addVersion('1.0.0', {
    source: { managedImageId: imageSource.stringValue },
    geographies: ['Europe', 'US'],
  });

  const europe = environmentStack(scope, 'bots-europe', 'Europe', version);
  const us = environmentStack(scope, 'bots-us', 'US', version);
  declarePromotionOrder([europe, us]);
  return { images, version, europe, us };
}

if (require.main === module) {
  const app = new App();
  buildMultiGeo(app);
  app.synth();
}
