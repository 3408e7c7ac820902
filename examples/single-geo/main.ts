/**
 * One environment in Europe with two bot groups on the default Windows 11 image.
 * `npm run demo` runs this example's fleet locally.
 *
 *   npx cdktf synth --app "node dist/examples/single-geo/main.js"
 */
import { App, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { HostedBotsStack } from '../../stacks';

export function buildSingleGeo(scope: Construct): HostedBotsStack {
  const stack = new HostedBotsStack(scope, 'demo', {
    geography: 'Europe',
    environment: { name: 'demo', botCapacity: 4, admins: ['ops-admin'] },
    tags: { 'cost-center': 'rpa' },
  });

  // The password is supplied at deploy time (TF_VAR_bot_admin_password) and never stored in git.
  const adminPassword = new TerraformVariable(stack, 'bot_admin_password', {
    type: 'string',
    sensitive: true,
    description: 'Password of the local admin account on every bot (12-123 characters, 3 of 4 character classes).',
  });

  stack.environment.addGroup('finance', {
    name: 'finance',
    description: 'Invoice entry into the ERP',
    maxBots: 3,
    adminUsername: 'botadmin',
    adminPassword: adminPassword.stringValue,
    flows: {
      'invoice-entry': { command: 'powershell.exe -NoProfile -File C:\\flows\\invoice-entry.ps1', timeoutMinutes: 30 },
    },
    access: { users: ['finance-clerk'], coOwners: ['finance-lead'] },
  });

  stack.environment.addGroup('sales', {
    name: 'sales',
    description: 'CRM lead synchronisation',
    maxBots: 2,
    adminUsername: 'botadmin',
    adminPassword: adminPassword.stringValue,
    flows: {
      'lead-sync': { command: 'powershell.exe -NoProfile -File C:\\flows\\lead-sync.ps1', timeoutMinutes: 20 },
    },
    access: { users: ['sales-rep'], coOwners: ['sales-lead'] },
  });

  return stack;
}

if (require.main === module) {
  const app = new App();
  buildSingleGeo(app);
  app.synth();
}
