#!/usr/bin/env node
/**
 * The agent bundle's entry: only the `agent` command, so a bot downloads a small file.
 *   node agent.js agent --url … --group … --token-file … --vm-name …
 */
import { Command } from 'commander';
import { addAgentCommand } from './command';

const program = new Command('hosted-bots').description('The hosted-bots agent that runs on each bot.');
addAgentCommand(program);
program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`error: ${err.message}\n`);
  process.exitCode = 1;
});
