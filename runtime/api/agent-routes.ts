/**
 * The agents' routes under /v1/agent: the bundle, registration, and a bot's claim, heartbeat and
 * completion. A group's token proves the group; the routes of one bot want the credential its
 * registration returned too (the `bot` policy).
 *
 * Registration binds a bot to the VM the scaler created for it. A token group's agent names its
 * VM, and only a VM of the group that the scaler listed and that has not registered is accepted.
 * A managed-identity group's agent proves its VM with the VM's attested data for a nonce from
 * POST /v1/agent/register/nonce: the runtime verifies Azure's signature (attested-data.ts) and
 * registers the bot as the VM of that vmId, whatever name the body gives.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { notFound, RuntimeError } from '../errors';
import { acceptedFlow } from '../config/self-test-flow';
import { MAX_CLAIM_WAIT_MS } from '../queue/queue';
import { MAX_OUTPUT_BYTES } from '../agent/agent';
import type { RegisterRefusal } from '../domain/bot';
import type { RegisterAs } from '../store/types';
import { botGroup, callingBot, credentialHash } from '../http/access';
import { AttestationError, verifyAttestedData } from './attested-data';
import { botId, emptyBody, parse, runId } from '../http/input';
import { PollGate, TooManyRequests } from '../http/limits';
import type { RouteContext } from './context';
import { runSummary } from './views';

const registerBody = z
  .object({
    vmName: z.string().min(1).max(80).regex(/^[A-Za-z0-9._-]+$/, 'must be a VM name').optional(),
    attestedData: z
      .object({ encoding: z.literal('pkcs7'), signature: z.string().min(1).max(16_384).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64') })
      .strict()
      .optional(),
  })
  .strict();

/** How a refused registration is answered: who may not be that VM (403), a VM taken or ended (409), a nonce that proves nothing (401). */
const REFUSAL_STATUS: Readonly<Record<RegisterRefusal, number>> = {
  vm_not_created: 403,
  vm_of_another_group: 403,
  vm_name_taken: 409,
  bot_ended: 409,
  nonce_invalid: 401,
};
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
  const { route, wrap, queue, now, log, agentBundle, claimsPerBot, attestation } = ctx;
  const polls = new PollGate();

  route('get', '/v1/agent/bundle', 'group-bot',
    wrap(async (_req, res) => {
      if (!agentBundle || !fs.existsSync(agentBundle)) throw notFound('bundle_not_found', 'this runtime carries no agent bundle; run the deployed package, which has agent.js beside main.js');
      res.setHeader('content-type', 'application/javascript');
      res.setHeader('cache-control', 'no-store');
      res.sendFile(path.resolve(agentBundle));
    }),
  );

  route('post', '/v1/agent/register/nonce', 'group-bot',
    wrap(async (req, res) => {
      const group = botGroup(req);
      parse(emptyBody, req.body);
      const { nonce, expiresAt } = await queue.issueNonce(group.name);
      res.status(201).json({ nonce, expiresAt: new Date(expiresAt).toISOString() });
    }),
  );

  route('post', '/v1/agent/register', 'group-bot',
    wrap(async (req, res) => {
      const group = botGroup(req);
      const body = parse(registerBody, req.body);
      const refuse = (status: number, code: string, reason: string): never => {
        log('bot.registration_refused', { group: group.name, vmName: body.vmName, refusal: code, reason });
        throw new RuntimeError(status, code, reason);
      };
      let as: RegisterAs;
      if (group.botAuth.kind === 'managed-identity') {
        if (!body.attestedData) {
          refuse(
            401,
            'attestation_required',
            `attestedData: required: the bots of group ${group.name} register with their VM's attested data. POST /v1/agent/register/nonce, ` +
              'ask the VM\'s metadata service for GET /metadata/attested/document?api-version=2020-09-01&nonce=<nonce>, and send its answer as attestedData',
          );
        }
        if (!attestation) return refuse(503, 'attestation_unavailable', 'this runtime was started without the certificates that verify attested data (--attestation-intermediates)');
        try {
          const claims = verifyAttestedData(body.attestedData!, attestation, { subscriptionId: group.vmss.subscriptionId, now: now() });
          as = { vmId: claims.vmId, nonce: claims.nonce };
        } catch (error) {
          if (error instanceof AttestationError) return refuse(401, error.code, error.message);
          throw error;
        }
      } else {
        if (body.attestedData) refuse(400, 'invalid_request', `attestedData: group ${group.name}'s bots prove their group with a token and register by VM name; send vmName only`);
        if (!body.vmName) refuse(400, 'invalid_request', `vmName: required: the name of this VM in group ${group.name}'s scale set`);
        as = { vmName: body.vmName! };
      }
      // The bot's own credential: only its hash is stored, and only this answer carries it.
      const credential = randomBytes(32).toString('base64url');
      const result = await queue.register(group.name, as, credentialHash(credential));
      if (result.kind !== 'registered') return refuse(REFUSAL_STATUS[result.refusal!], result.refusal!, result.reason ?? 'refused');
      const bot = result.bot!;
      log('bot.registered', { botId: bot.id, group: group.name, vmName: bot.vmName, vmId: bot.vmId, claimedName: body.vmName });
      res.status(201).json({
        botId: bot.id,
        credential,
        group: group.name,
        vmName: bot.vmName,
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
