/**
 * Versioned schema migrations. A migration is applied once, in order, inside a transaction, and
 * recorded in `schema_migrations`. Never edit a released migration; add the next one.
 *
 * The SQL is written for SQLite and PostgreSQL alike: BIGINT for millisecond times, TEXT for IDs,
 * DOUBLE PRECISION for minutes; each store adapts the few differences (see `dialect`).
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: (dialect: 'sqlite' | 'postgres') => string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'runs, bots, groups, provisioning errors, leases',
    sql: (dialect) => `
CREATE TABLE groups (
  name TEXT PRIMARY KEY,
  paused INTEGER NOT NULL DEFAULT 0,
  expired INTEGER NOT NULL DEFAULT 0,
  declared INTEGER NOT NULL DEFAULT 1,
  vmss TEXT,
  last_activity_at BIGINT NOT NULL,
  backoff_until BIGINT,
  backoff_level INTEGER NOT NULL DEFAULT 0,
  claim_limit INTEGER
);
CREATE TABLE runs (
  seq ${dialect === 'sqlite' ? 'INTEGER PRIMARY KEY' : 'BIGSERIAL PRIMARY KEY'},
  id TEXT NOT NULL UNIQUE,
  grp TEXT NOT NULL,
  flow TEXT NOT NULL,
  inputs TEXT NOT NULL,
  priority TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_by TEXT NOT NULL,
  idempotency_key TEXT,
  timeout_minutes DOUBLE PRECISION NOT NULL,
  enqueued_at BIGINT NOT NULL,
  queued_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT,
  moved_to_top_at BIGINT,
  last_heartbeat_at BIGINT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  bot_id TEXT,
  vm_name TEXT,
  exit_code INTEGER,
  output TEXT,
  error_code TEXT,
  error_message TEXT
);
CREATE UNIQUE INDEX runs_idempotency ON runs (grp, created_by, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX runs_queued ON runs (grp, priority, seq) WHERE state = 'queued';
CREATE INDEX runs_on_top ON runs (grp, moved_to_top_at) WHERE state = 'queued' AND moved_to_top_at IS NOT NULL;
CREATE INDEX runs_running ON runs (grp, bot_id) WHERE state = 'running';
CREATE INDEX runs_group_seq ON runs (grp, seq);
CREATE TABLE bots (
  id TEXT PRIMARY KEY,
  grp TEXT NOT NULL,
  vm_name TEXT,
  state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  registered_at BIGINT,
  state_changed_at BIGINT NOT NULL,
  last_seen_at BIGINT,
  current_run_id TEXT,
  runs_completed INTEGER NOT NULL DEFAULT 0,
  image_key TEXT NOT NULL,
  failure_reason TEXT
);
CREATE UNIQUE INDEX bots_vm_name ON bots (vm_name) WHERE vm_name IS NOT NULL AND state <> 'deleted';
CREATE INDEX bots_live ON bots (grp, state) WHERE state <> 'deleted';
CREATE TABLE provisioning_errors (
  id ${dialect === 'sqlite' ? 'INTEGER PRIMARY KEY' : 'BIGSERIAL PRIMARY KEY'},
  grp TEXT NOT NULL,
  at BIGINT NOT NULL,
  operation TEXT NOT NULL,
  code TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX provisioning_errors_grp ON provisioning_errors (grp, id);
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'arrival history per group and 10-minute slot',
    // Arrivals and busy bot-seconds per group and slot (its start, in ms), for predictive warm-up.
    sql: () => `
CREATE TABLE arrival_slots (
  group_name TEXT NOT NULL,
  slot_start BIGINT NOT NULL,
  arrivals INTEGER NOT NULL DEFAULT 0,
  busy_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
  PRIMARY KEY (group_name, slot_start)
);
CREATE INDEX arrival_slots_start ON arrival_slots (slot_start);
`,
  },
  {
    version: 3,
    name: 'per-user queue counts and retention',
    // Counting a user's queued runs at enqueue, and finding finished runs and old keys to forget.
    sql: () => `
CREATE INDEX runs_queued_by ON runs (grp, created_by) WHERE state = 'queued';
CREATE INDEX runs_finished_at ON runs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX runs_keyed_at ON runs (enqueued_at) WHERE idempotency_key IS NOT NULL;
`,
  },
  {
    version: 4,
    name: 'per-bot credentials',
    // The SHA-256 of the credential register hands a bot's agent; agent calls present it.
    sql: () => `
ALTER TABLE bots ADD COLUMN credential_hash TEXT;
CREATE UNIQUE INDEX bots_credential ON bots (credential_hash) WHERE credential_hash IS NOT NULL;
`,
  },
  {
    version: 5,
    name: 'queued runs by wait',
    // The scaler weighs each group by how long its oldest queued run waits, on every cycle: an
    // index seek, however long the queue. The sweep's queue time-out reads the same order.
    sql: () => `
CREATE INDEX runs_queued_since ON runs (grp, queued_at) WHERE state = 'queued';
`,
  },
  {
    version: 6,
    name: 'group samples per 10-minute slot',
    // Per group and slot (its start, in ms), the most queued and running runs and bots in each
    // live state the scaler saw: the dashboard's 24-hour chart. Pruned with arrival_slots.
    sql: () => `
CREATE TABLE group_samples (
  group_name TEXT NOT NULL,
  slot_start BIGINT NOT NULL,
  queued INTEGER NOT NULL DEFAULT 0,
  running INTEGER NOT NULL DEFAULT 0,
  provisioning INTEGER NOT NULL DEFAULT 0,
  idle INTEGER NOT NULL DEFAULT 0,
  busy INTEGER NOT NULL DEFAULT 0,
  deleting INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (group_name, slot_start)
);
CREATE INDEX group_samples_start ON group_samples (slot_start);
`,
  },
  {
    version: 8,
    name: 'audit records',
    // Who changed what of a group's queue or the group, when, before and after
    // (runtime/domain/audit.ts): read per group newest first, pruned by time with the finished
    // runs. IDs never repeat (AUTOINCREMENT, a sequence), so a page's cursor stays valid; a
    // trigger refuses every UPDATE, so a record stays as it was written.
    sql: (dialect) => `
CREATE TABLE audit_records (
  id ${dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY'},
  grp TEXT NOT NULL,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  via TEXT NOT NULL,
  action TEXT NOT NULL,
  run_id TEXT,
  before_fields TEXT NOT NULL,
  after_fields TEXT NOT NULL
);
CREATE INDEX audit_records_grp ON audit_records (grp, id);
CREATE INDEX audit_records_at ON audit_records (at);
${
  dialect === 'sqlite'
    ? `CREATE TRIGGER audit_records_append_only BEFORE UPDATE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;`
    : `CREATE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$;
CREATE TRIGGER audit_records_append_only BEFORE UPDATE ON audit_records FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();`
}
`,
  },
  {
    version: 9,
    name: 'VM IDs of bots and registration nonces',
    // A bot registers as the VM the scaler created for it: by name, or by the vmId Azure signs in
    // the VM's attested data, with a nonce the runtime issued (single use, short-lived).
    sql: () => `
ALTER TABLE bots ADD COLUMN vm_id TEXT;
CREATE UNIQUE INDEX bots_vm_id ON bots (vm_id) WHERE vm_id IS NOT NULL AND state <> 'deleted';
CREATE TABLE registration_nonces (
  nonce TEXT PRIMARY KEY,
  grp TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX registration_nonces_grp ON registration_nonces (grp, expires_at);
`,
  },
  {
    version: 10,
    name: 'history indexes',
    // A group's history is read newest first by page (Store.runHistory): all of it, a creator's
    // runs, or one state's. Each has its index, so a page reads only the runs it may show.
    sql: () => `
CREATE INDEX runs_group_creator_seq ON runs (grp, created_by, seq);
CREATE INDEX runs_group_state_seq ON runs (grp, state, seq);
`,
  },
  {
    version: 11,
    name: 'warm-up accounts',
    // Each group's warm-up account (runtime/scaler/warm-up-account.ts) as the leading scaler last
    // wrote it, so a pause and its week of figures outlive a restart or a change of leader. The
    // store keeps the text; the scaler reads and checks it.
    sql: () => `
CREATE TABLE warm_up_accounts (
  group_name TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
`,
  },
  {
    version: 12,
    name: 'webhook subscriptions and their outbox',
    // A group's webhook subscriptions (runtime/domain/webhook.ts) and one delivery per event and
    // subscription: the outbox. A delivery is claimed with a lease, so two replicas never send it
    // at once, and kept after it is delivered or given up until retention forgets it with the
    // finished runs. (subscription, event key) is unique, so queuing one event twice adds nothing.
    sql: () => `
CREATE TABLE webhook_subscriptions (
  id TEXT PRIMARY KEY,
  grp TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  format TEXT NOT NULL,
  secret TEXT NOT NULL,
  wait_above_minutes DOUBLE PRECISION,
  source TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  wait_alerted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_subscriptions_grp ON webhook_subscriptions (grp, created_at);
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,
  subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  grp TEXT NOT NULL,
  event_type TEXT NOT NULL,
  event_key TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  lease_holder TEXT,
  lease_until BIGINT,
  last_attempt_at BIGINT,
  last_failure_at BIGINT,
  last_error TEXT,
  finished_at BIGINT
);
CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (subscription_id, event_key);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX webhook_deliveries_grp ON webhook_deliveries (grp, created_at);
`,
  },
  {
    version: 13,
    name: 'previous webhook secrets',
    // The secret a subscription's new one replaced, and when: a declared webhook's secret rotated in
    // the vault signs deliveries together with the previous one for SECRET_ROTATION_GRACE_MS
    // (runtime/domain/webhook.ts), so receivers can switch without missing any. Existing rows get
    // none: their secret never changed.
    sql: () => `
ALTER TABLE webhook_subscriptions ADD COLUMN previous_secret TEXT;
ALTER TABLE webhook_subscriptions ADD COLUMN secret_replaced_at BIGINT;
`,
  },
  {
    version: 14,
    name: 'published group views',
    // What the leading scaler knows of each group that the group view shows (why runs wait,
    // predictive warm-up, the warm-up account, recent scale-ins), as small JSON with the time it
    // was published (runtime/scaler/published-view.ts), so a replica that does not lead answers
    // the group view too. One row per declared group: syncGroups drops those of removed groups.
    sql: () => `
CREATE TABLE group_views (
  group_name TEXT PRIMARY KEY,
  view TEXT NOT NULL,
  published_at BIGINT NOT NULL
);
`,
  },
];
