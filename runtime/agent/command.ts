/**
 * `hosted-bots agent`: the bot agent as a command, shared by the full CLI and the agent bundle
 * that bots download from the runtime.
 */
import * as fs from 'fs';
import { Command } from 'commander';
import { createLog, LOG_LEVELS, LogLevel } from '../log';
import { BotAgent } from './agent';
import { imdsAttestedData, managedIdentityToken } from './identity';
import { ShellExecutor } from './shell-executor';
import { SimulatedExecutor } from './simulated-executor';

export function addAgentCommand(program: Command): Command {
  return program
    .command('agent')
    .description('Run the bot agent: register with the runtime, claim runs, run their flows, report results.')
    .requiredOption('--url <url>', 'the runtime URL')
    .requiredOption('--group <group>', 'the bot group this VM belongs to')
    .option('--token-file <file>', "file holding the group's bot token (groups that use a shared token)")
    .option('--token <token>', "the group's bot token (prefer --token-file)")
    .option('--identity-client-id <id>', "prove the group with this user-assigned managed identity's tokens instead of a shared token")
    .option('--audience <aud>', "the runtime's Entra audience, for the managed identity's tokens (e.g. api://hosted-bots)")
    .option('--imds-url <url>', 'the instance metadata service (default http://169.254.169.254)')
    .option('--state-file <file>', "where this bot's own credential is kept, so a restarted agent goes on as the same bot")
    .requiredOption('--vm-name <name>', "this VM's name in its scale set")
    .option('--simulate', 'simulate flows (inputs.simulateSeconds, inputs.exitCode) instead of running their commands')
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')} (HOSTED_BOTS_LOG_LEVEL)`)
    .action(async (opts) => {
      let token: string | (() => Promise<string>);
      let attest;
      if (opts.identityClientId) {
        if (!opts.audience) throw new Error('--identity-client-id needs --audience, the runtime\'s Entra audience');
        token = managedIdentityToken({ clientId: opts.identityClientId, audience: opts.audience, endpoint: opts.imdsUrl });
        // The identity proves the group; the VM's attested data proves which VM of it this is.
        attest = imdsAttestedData({ endpoint: opts.imdsUrl });
      } else {
        token = opts.tokenFile ? fs.readFileSync(opts.tokenFile, 'utf8').trim() : opts.token;
        if (!token) throw new Error('give the bot token with --token-file or --token, or the managed identity with --identity-client-id and --audience');
      }
      const agent = new BotAgent({
        url: opts.url.replace(/\/$/, ''),
        token,
        stateFile: opts.stateFile,
        group: opts.group,
        vmName: opts.vmName,
        attest,
        executor: opts.simulate ? new SimulatedExecutor(opts.vmName) : new ShellExecutor(),
        log: createLog({ level: opts.logLevel as LogLevel | undefined, base: { component: 'agent' } }),
      });
      process.once('SIGINT', () => void agent.stop());
      process.once('SIGTERM', () => void agent.stop());
      await agent.start();
      process.stderr.write(`agent stopped: ${agent.stopped}\n`);
    });
}
