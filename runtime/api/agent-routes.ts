/**
 * The agents' routes under /v1/agent: the bundle, registration, and a bot's claim, heartbeat and
 * completion. A group's token proves the group; the routes of one bot want the credential its
 * registration returned too (the `bot` policy).
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { notFound, RuntimeError } from '../errors';
import { acceptedFlow } from '../config/self-test-flow';
import { MAX_CLAIM_WAIT_MS } from '../queue/queue';
import { MAX_OUTPUT_BYTES } from '../agent/agent';
import { botGroup, callingBot, credentialHash } from './access';
import { botId, parse, runId } from './input';
import { PollGate, TooManyRequests } from './limits';
import type { RouteContext } from './routes';
import { runSummary } from './views';

const registerBody = z.object({ vmName: z.string().min(1).max(80).regex(/^[A-Za-z0-9._-]+$/, 'must be a VM name') }).strict();
// botId is optional: the credential names the bot; when given, it must be that bot.
const claimBody = z.object({ botId: botId.optional(), waitSeconds: z.number().min(0).max(MAX_CLAIM_WAIT_MS / 1000).optional() }).strict();
const heartbeatBody = z.object({ botId: botId.optional(), attempt: z.number().int().min(1) }).strict();
const completeBody = z
  .object({
    botId: botId.optional(),
    attempt: z.number().int().min(1),
    status: z.enum(['succeeded', 'failed', 'cancelled']),
    exitCode: z.number().int().optional(),
    output: z.string().max(MAX_OUTPUT_BYTES).optional(),
    error: z.union([z.string().max(2000), z.object({ code: z.string().max(100).optional(), message: z.string().max(2000).optional() }).strict()]).optional(),
  })
  .strict();

export function registerAgentRoutes(ctx: RouteContext): void {
  const { route, wrap, queue, now, log, agentBundle, claimsPerBot } = ctx;
  const polls = new PollGate();

  route('get', '/v1/agent/bundle', 'group-bot',
    wrap(async (_req, res) => {
      if (!agentBundle || !fs.existsSync(agentBundle)) throw notFound('bundle_not_found', 'this runtime carries no agent bundle; run the deployed package, which has agent.js beside main.js');
      res.setHeader('content-type', 'application/javascript');
      res.setHeader('cache-control', 'no-store');
      res.sendFile(path.resolve(agentBundle));
    }),
  );

  route('post', '/v1/agent/register', 'group-bot',
    wrap(async (req, res) => {
      const group = botGroup(req);
      const body = parse(registerBody, req.body);
      // The bot's own credential: only its hash is stored, and only this answer carries it.
      const credential = randomBytes(32).toString('base64url');
      const result = await queue.register(group.name, body.vmName, credentialHash(credential));
      if (result.kind !== 'registered') {
        log('bot.registration_refused', { group: group.name, vmName: body.vmName, refusal: result.refusal });
        throw new RuntimeError(409, result.refusal === 'vm_name_taken' ? 'vm_name_taken' : 'registration_refused', result.reason ?? 'refused');
      }
      log('bot.registered', { botId: result.bot!.id, group: group.name, vmName: body.vmName });
      res.status(201).json({
        botId: result.bot!.id,
        credential,
        group: group.name,
        heartbeatSeconds: group.scaling.heartbeatSeconds,
        claimWaitSeconds: MAX_CLAIM_WAIT_MS / 1000,
      });
    }),
  );

  route('post', '/v1/agent/claim', 'bot',
    wrap(async (req, res) => {
      const body = parse(claimBody, req.body);
      const { group, bot } = callingBot(req);
      if (!polls.enter(bot.id, claimsPerBot)) {
        throw new TooManyRequests(`bot ${bot.id} already has ${claimsPerBot} claims waiting; wait for one to answer`, 1);
      }
      const aborted = new AbortController();
      res.on('close', () => aborted.abort());
      let result;
      try {
        result = await queue.claim(bot.id, group.name, (body.waitSeconds ?? MAX_CLAIM_WAIT_MS / 1000) * 1000, aborted.signal);
      } finally {
        polls.leave(bot.id);
      }
      if (result.kind === 'gone') throw new RuntimeError(410, 'bot_gone', `bot ${bot.id} is ${result.state}; its agent should stop`);
      if (result.kind === 'none') {
        res.status(204).end();
        return;
      }
      const run = result.run;
      const flow = acceptedFlow(group.flows, run.flow);
      log('run.claimed', { runId: run.id, botId: bot.id, group: group.name, attempt: run.attempts });
      res.json({
        run: { runId: run.id, attempt: run.attempts, flow: run.flow, command: flow?.command ?? '', inputs: run.inputs, timeoutMinutes: run.timeoutMinutes },
      });
    }),
  );

  route('post', '/v1/agent/runs/:id/heartbeat', 'bot',
    wrap(async (req, res) => {
      const id = parse(runId, req.params.id, 'id');
      const body = parse(heartbeatBody, req.body);
      const { bot } = callingBot(req);
      // The store answers stale unless the run is running on this very bot.
      const result = await queue.heartbeat(bot.id, id, body.attempt);
      if (result.kind === 'stale') throw new RuntimeError(409, 'run_not_running', `run ${id} is not running on bot ${bot.id}; stop it`);
      res.json({ cancel: result.cancel });
    }),
  );

  route('post', '/v1/agent/runs/:id/complete', 'bot',
    wrap(async (req, res) => {
      const id = parse(runId, req.params.id, 'id');
      const body = parse(completeBody, req.body);
      const { bot } = callingBot(req);
      const error = typeof body.error === 'string' ? { message: body.error } : body.error;
      const result = await queue.complete({
        botId: bot.id,
        runId: id,
        attempt: body.attempt,
        status: body.status,
        exitCode: body.exitCode,
        output: body.output,
        errorCode: error?.code,
        errorMessage: error?.message,
      });
      if (result.kind === 'stale') throw new RuntimeError(409, 'run_not_running', `run ${id} is no longer running on bot ${bot.id}; the report is ignored`);
      log('run.completed', { runId: id, botId: bot.id, state: result.run.state, duplicate: result.kind === 'duplicate' });
      res.json({ run: runSummary(result.run, now()), duplicate: result.kind === 'duplicate' });
    }),
  );
}
