/**
 * A group's webhook subscriptions, for its co-owners and the environment's admins: create one
 * (its secret is shown in that answer only), list them with how their deliveries fare, give one a
 * new secret (shown in that answer only), delete one. Subscriptions declared in the fleet manifest
 * are listed too, and changed only there (their secrets in the vault).
 */
import { randomBytes } from 'crypto';
import { conflict, notFound, unprocessable } from '../errors';
import { MAX_WEBHOOKS_PER_GROUP, previousSecretSignsUntil, Subscription, SubscriptionHealth, urlWithoutQuery } from '../domain/webhook';
import { DestinationRefused } from '../webhooks/address-guard';
import { newSecret } from '../webhooks/signing';
import { actingUser, grantedGroup } from '../http/access';
import { emptyBody, parse } from '../http/input';
import type { RouteContext } from './context';
import { OPERATIONS } from './operations';
import type { Store } from '../store/types';

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** A subscription as lists show it: never its secret. */
export function webhookView(s: Subscription & { health: SubscriptionHealth }) {
  return {
    id: s.id,
    url: s.url,
    events: s.events,
    format: s.format,
    waitAboveMinutes: s.waitAboveMinutes ?? null,
    source: s.source,
    createdBy: s.createdBy,
    createdAt: iso(s.createdAt),
    health: { lastSuccessAt: iso(s.health.lastSuccessAt), lastFailureAt: iso(s.health.lastFailureAt), failing: s.health.failing },
  };
}

/** Failing deliveries the group's page lists. */
export const FAILING_VIEW_LIMIT = 20;

/** The group page's webhook section: the subscriptions (URLs without their query) and the failing deliveries. */
export async function webhookSection(store: Pick<Store, 'webhooks'>, group: string) {
  const [subscriptions, failing] = await Promise.all([
    store.webhooks.subscriptions(group),
    store.webhooks.deliveries({ group, states: ['pending', 'failed'], failing: true, limit: FAILING_VIEW_LIMIT }),
  ]);
  return {
    subscriptions: subscriptions.map((s) => ({ ...webhookView(s), url: urlWithoutQuery(s.url) })),
    failing: failing.map((d) => ({
      id: d.id,
      event: d.eventType,
      createdAt: new Date(d.createdAt).toISOString(),
      state: d.state,
      attempts: d.attempts,
      lastError: d.lastError ?? null,
      nextAttemptAt: d.state === 'pending' ? new Date(d.nextAttemptAt).toISOString() : null,
    })),
  };
}

export function registerWebhookRoutes(ctx: RouteContext): void {
  const { serve, wrap, store, now, log, webhooks } = ctx;

  /**
   * A subscription made through the API in the group: 404 when the group has none by that ID, 409
   * when the manifest declares it, where `declaredHint` says what to do instead.
   */
  const apiSubscription = async (group: string, id: string, declaredHint: string): Promise<Subscription> => {
    const found = (await store.webhooks.subscriptions(group)).find((s) => s.id === id);
    if (!found) throw notFound('webhook_not_found', `group ${group} has no webhook ${id}`);
    if (found.source === 'manifest') throw conflict('declared_in_manifest', `webhook ${id} is declared in the fleet manifest${declaredHint}`);
    return found;
  };

  serve(OPERATIONS.subscribeRunFinished,
    wrap(async (req, res) => {
      const { group } = grantedGroup(req);
      const body = parse(OPERATIONS.subscribeRunFinished.body, req.body);
      try {
        webhooks.guard.checkUrl(body.url);
      } catch (err) {
        if (!(err instanceof DestinationRefused)) throw err;
        throw unprocessable('destination_refused', err.message.startsWith('url: ') ? err.message : `url: ${err.message}`);
      }
      const existing = await store.webhooks.subscriptions(group.name);
      if (existing.length >= MAX_WEBHOOKS_PER_GROUP) {
        throw conflict('too_many_webhooks', `group ${group.name} has ${existing.length} webhook subscriptions, the most a group may; delete one first`);
      }
      const subscription = {
        id: `wh_${randomBytes(12).toString('hex')}`,
        group: group.name,
        url: body.url,
        events: body.events,
        format: body.format,
        secret: newSecret(),
        waitAboveMinutes: body.waitAboveMinutes,
        source: 'api' as const,
        createdBy: actingUser(req, 'api').id,
        createdAt: now(),
      };
      await store.webhooks.createSubscription(subscription, actingUser(req, 'api'));
      webhooks.outbox.subscriptionsChanged();
      log('webhook.created', { group: group.name, subscription: subscription.id, events: subscription.events, by: subscription.createdBy });
      res.setHeader('Location', `/v1/groups/${encodeURIComponent(group.name)}/webhooks/${subscription.id}`);
      res.status(201).json({ id: subscription.id, url: subscription.url, events: subscription.events, format: subscription.format, secret: subscription.secret });
    }),
    { coOwnersMay: 'manage its webhooks' },
  );

  serve(OPERATIONS.listWebhooks,
    wrap(async (req, res) => {
      const { group } = grantedGroup(req);
      res.json({ webhooks: (await store.webhooks.subscriptions(group.name)).map(webhookView) });
    }),
    { coOwnersMay: 'manage its webhooks' },
  );

  serve(OPERATIONS.deleteWebhook,
    wrap(async (req, res) => {
      const { group } = grantedGroup(req);
      const { id } = parse(OPERATIONS.deleteWebhook.params, req.params, 'path');
      parse(emptyBody, req.body);
      await apiSubscription(group.name, id, ` (group ${group.name}'s webhooks); remove it there and deploy`);
      await store.webhooks.deleteSubscription(group.name, id, actingUser(req, 'api'), now());
      webhooks.outbox.subscriptionsChanged();
      log('webhook.deleted', { group: group.name, subscription: id, by: actingUser(req, 'api').id });
      res.status(204).end();
    }),
    { coOwnersMay: 'manage its webhooks' },
  );

  serve(OPERATIONS.rotateWebhookSecret,
    wrap(async (req, res) => {
      const { group } = grantedGroup(req);
      const { id } = parse(OPERATIONS.rotateWebhookSecret.params, req.params, 'path');
      const { revokePreviousNow = false } = parse(OPERATIONS.rotateWebhookSecret.body, req.body) ?? {};
      await apiSubscription(group.name, id, ', its secret kept in Key Vault; set a new version of that secret there instead (README, Rotating secrets)');
      const by = actingUser(req, 'api');
      const rotated = await store.webhooks.rotateSubscriptionSecret(group.name, id, { secret: newSecret(), revokePrevious: revokePreviousNow, now: now(), actor: by });
      // Deleted since it was read.
      if (!rotated) throw notFound('webhook_not_found', `group ${group.name} has no webhook ${id}`);
      webhooks.outbox.subscriptionsChanged();
      log('webhook.secret_rotated', { group: group.name, subscription: id, previousRevoked: revokePreviousNow, by: by.id });
      res.json({ id, secret: rotated.secret, previousSecretSignsUntil: iso(previousSecretSignsUntil(rotated)) });
    }),
    { coOwnersMay: 'manage its webhooks' },
  );
}
