/** What the API's route modules are built with; routes.ts gives it to each of them. */
import type { Registry } from 'prom-client';
import type { Request, RequestHandler, Response } from 'express';
import type { FleetManifest } from '../config/manifest';
import type { RouteOptions, RouteTable } from '../http/access';
import type { Operation } from './operations';
import type { RunQueue } from '../queue/queue';
import type { Scaler } from '../scaler/loop';
import type { Store } from '../store/types';
import type { AttestationTrust } from './attested-data';
import type { AddressGuard } from '../webhooks/address-guard';
import type { WebhookOutbox } from '../webhooks/outbox';

export interface ApiOptions {
  readonly manifest: FleetManifest;
  readonly store: Store;
  readonly queue: RunQueue;
  readonly scaler: Scaler;
  readonly now?: () => number;
  readonly log?: (event: string, fields?: Record<string, unknown>) => void;
  /** Boot time assumed for "about N minutes" until bots of the group have booted. @default 10 minutes */
  readonly expectedBootMs?: number;
  /** The agent bundle served to bots. @default none */
  readonly agentBundle?: string;
  /** What /metrics serves; who may read it, the HTTP app's gate decides (its metricsToken). @default none */
  readonly metrics?: { readonly registry: Registry };
  /** What attested data is verified by, for groups whose bots register with it. @default none: such registrations are refused */
  readonly attestation?: AttestationTrust;
  /** Webhooks: the rules their URLs must meet, and the outbox that sends them. */
  readonly webhooks: { readonly guard: AddressGuard; readonly outbox: Pick<WebhookOutbox, 'subscriptionsChanged'> };
}

/** What the route modules register their routes with. */
export interface RouteContext extends Omit<ApiOptions, 'now' | 'log' | 'expectedBootMs'> {
  readonly route: RouteTable['route'];
  /** Registers the route of an operation of the registry (operations.ts): its method, path and access policy. */
  readonly serve: (op: Operation, handler: RequestHandler, options?: RouteOptions) => void;
  readonly wrap: (fn: (req: Request, res: Response) => Promise<unknown>) => RequestHandler;
  readonly now: () => number;
  readonly log: (event: string, fields?: Record<string, unknown>) => void;
  readonly expectedBootMs: number;
  /** Long-polling claims one bot may hold open at once. */
  readonly claimsPerBot: number;
}
