/**
 * The dashboard's pages, rendered on the server as plain HTML: they read fine without
 * JavaScript, and a small script refreshes the main region every few seconds. Every value is
 * escaped; every form carries the session's CSRF token.
 */

import { historyFigure, HistoryChartData } from './history-chart';
import { html, Html } from './html';

/** A phrase as a sentence: capitalized, with a full stop. */
const sentence = (phrase: string) => `${phrase.charAt(0).toUpperCase()}${phrase.slice(1)}.`;

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export interface Chrome {
  readonly title: string;
  /** The environment line; absent before sign-in, when the page may tell nothing about the environment. */
  readonly environment?: { name: string; geography: string; region: string; plan: string; enabled: boolean; botCapacity: number; botsInUse: number };
  readonly user?: { id: string; csrf: string };
  readonly flash?: { kind: 'error' | 'info'; text: string };
  /** Refresh the main region every few seconds (pages with live counts). */
  readonly live?: boolean;
  /** Load the charting library and the script that draws the page's charts (same-origin files). */
  readonly charts?: boolean;
}

/** The whole page: landmarks, the environment header, the main region. */
export function page(chrome: Chrome, main: Html): string {
  const env = chrome.environment;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${chrome.title} · hosted RPA bots</title>
<link rel="stylesheet" href="/assets/dashboard.css">
${chrome.charts ? html`<link rel="stylesheet" href="/assets/uplot.css">` : ''}
${chrome.live ? html`<script src="/assets/dashboard.js" defer></script>` : ''}
${chrome.charts ? html`<script src="/assets/uplot.js" defer></script><script src="/assets/dashboard-chart.js" defer></script>` : ''}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <div class="brand"><a href="/">Hosted RPA bots</a></div>
  ${
    env
      ? html`<dl class="env" aria-label="Environment">
    <div><dt>Environment</dt><dd>${env.name}</dd></div>
    <div><dt>Geography</dt><dd>${env.geography} (${env.region})</dd></div>
    <div><dt>Bots in use</dt><dd data-testid="bots-in-use">${env.botsInUse} of ${env.botCapacity}</dd></div>
    <div><dt>Plan</dt><dd>${env.plan}</dd></div>
  </dl>`
      : ''
  }
  ${
    chrome.user
      ? html`<form class="signout" method="post" action="/signout"><input type="hidden" name="_csrf" value="${chrome.user.csrf}"><span>Signed in as ${chrome.user.id}</span> <button type="submit">Sign out</button></form>`
      : ''
  }
</header>
${env && !env.enabled ? html`<div class="banner" role="alert">This environment is disabled (enabled: false in its stack): groups are hidden, new runs are refused and every bot is scaled to zero.</div>` : ''}
${chrome.flash ? html`<div class="flash ${chrome.flash.kind}" role="${chrome.flash.kind === 'error' ? 'alert' : 'status'}">${chrome.flash.text}</div>` : ''}
<main id="main" tabindex="-1"${chrome.live ? html` data-live="true"` : ''}>
${main}
</main>
${chrome.live ? html`<footer><p>Counts refresh every few seconds. <noscript>Reload the page to update them.</noscript></p></footer>` : ''}
</body>
</html>`.text;
}

export function signInPage(chrome: Chrome): string {
  return page(
    chrome,
    html`<h1>Sign in</h1>
<form method="post" action="/signin" class="signin">
  <label for="token">API token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
</form>
<p class="hint">Use a token the runtime knows: a static API token, or an Entra ID access token for the runtime's audience. It is sent once; the browser keeps only a session cookie.</p>`,
  );
}

export function errorPage(chrome: Chrome, status: number, message: string): string {
  return page(chrome, html`<h1>${status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : 'Something went wrong'}</h1><p role="alert">${message}</p><p><a href="/">Back to the groups</a></p>`);
}

export interface GroupRow {
  name: string;
  description: string;
  bots: Record<'provisioning' | 'idle' | 'busy' | 'failed' | 'deleting', number>;
  running: number;
  queued: number;
  access: string;
  state: string;
}

export function groupListPage(chrome: Chrome, groups: GroupRow[]): string {
  const rows = groups.map(
    (g) => html`<tr data-group="${g.name}">
  <th scope="row"><a href="/groups/${encodeURIComponent(g.name)}">${g.name}</a><div class="muted">${g.description}</div></th>
  <td data-testid="provisioning">${g.bots.provisioning}</td><td data-testid="idle">${g.bots.idle}</td><td data-testid="busy">${g.bots.busy}</td><td data-testid="failed">${g.bots.failed}</td>
  <td data-testid="running">${g.running}</td><td data-testid="queued">${g.queued}</td>
  <td>${g.access}</td><td><span class="state ${g.state}">${g.state}</span></td>
</tr>`,
  );
  return page(
    { ...chrome, live: true },
    html`<h1>Bot groups</h1>
${
  groups.length === 0
    ? html`<p>No groups to show: you have access to none${chrome.environment?.enabled === false ? ', and the environment is disabled' : ''}.</p>`
    : html`<table class="groups">
<caption>Groups you can see, with their bots by state and their runs</caption>
<thead><tr><th scope="col">Group</th><th scope="col">Provisioning</th><th scope="col">Idle</th><th scope="col">Busy</th><th scope="col">Failed</th><th scope="col">Running</th><th scope="col">Queued</th><th scope="col">Your access</th><th scope="col">State</th></tr></thead>
<tbody>${rows}</tbody>
</table>`
}`,
  );
}

/** What names a run: shown for the viewer's own runs, and for every run to co-owners and admins. */
interface RunIdentity {
  id: string;
  flow: string;
  createdBy: string;
  movedToTop?: boolean;
}

/** Another user's run, as a plain user sees it. */
interface RunShadow {
  mine: false;
}

const isShadow = (r: RunIdentity | RunShadow): r is RunShadow => 'mine' in r && r.mine === false;

export interface GroupPageData {
  name: string;
  description: string;
  state: string;
  access: string;
  maxBots: number;
  committedBots: number;
  canManage: boolean;
  bots: Array<{ id: string; vmName: string | null; detailsHidden?: boolean; state: string; ageMs: number; runsCompleted: number }>;
  /** Runs the viewer may see in full, and others' runs as shadows: position, priority, state and times only. */
  queue: Array<{ position: number; priority: string; waitMs: number; waitingBecause: string } & (RunIdentity | RunShadow)>;
  waitingBecause: string[];
  /** Bots predictive warm-up planned ahead of demand, from the last plan; null when none. */
  predictiveWarmUp?: { readonly message: string } | null;
  /** The group's warm-up account in words (used warmed bots this week, a pause and why); null or absent without one. */
  warmUpAccount?: { readonly message: string } | null;
  /** The scaler's last scale-ins of the group, newest first, each with its reason in words. */
  scaleIns?: ReadonlyArray<{ readonly at: string | null; readonly bots: number; readonly reason: string; readonly message: string }>;
  /** On a replica that does not lead: when the leader published why runs wait, the warm-up and the scale-ins. */
  publishedAt?: string | null;
  /** On a replica that does not lead: no leader has published them lately, so they are not shown. */
  leaderStale?: boolean;
  recent: Array<{ state: string; waitMs: number; runMs: number | null; finishedAt: string | null } & ((RunIdentity & { result: { exitCode: number | null; errorCode: string | null } | null }) | RunShadow)>;
  errors: Array<{ at: string | null; code: string; message: string; operation: string }>;
  /** The 24-hour chart; absent where the store's history is not at hand. */
  history?: HistoryChartData;
  /** The latest audit records, newest first: for co-owners and admins only, absent for others. */
  audit?: Array<{ at: string; actor: string; via: string; action: string; runId: string | null; before: AuditFieldValues; after: AuditFieldValues }>;
  /** The group's webhooks and their failing deliveries: for co-owners and admins only, absent for others. */
  webhooks?: WebhookSection;
}

export interface WebhookSection {
  subscriptions: Array<{ id: string; url: string; events: readonly string[]; format: string; source: string; health: { lastSuccessAt: string | null; lastFailureAt: string | null; failing: number } }>;
  /** Deliveries with at least one failed attempt and not delivered, newest first. */
  failing: Array<{ id: string; event: string; createdAt: string; state: string; attempts: number; lastError: string | null; nextAttemptAt: string | null }>;
}

function webhookSection(w: WebhookSection): Html {
  return html`<section aria-labelledby="webhooks-h" data-testid="webhooks">
<h2 id="webhooks-h">Webhooks</h2>
${
  w.subscriptions.length === 0
    ? html`<p>No webhooks. Co-owners add them with POST /v1/groups/{group}/webhooks, or in the group's <code>webhooks</code> in the stack.</p>`
    : html`<table><caption>Where this group's events go, and how their deliveries fare</caption><thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Format</th><th scope="col">From</th><th scope="col">Last delivered</th><th scope="col">Last failure</th><th scope="col">Failing</th></tr></thead>
<tbody>${w.subscriptions.map((s) => html`<tr data-webhook="${s.id}"><td><code>${s.url}</code></td><td>${s.events.join(', ')}</td><td>${s.format}</td><td>${s.source}</td><td>${s.health.lastSuccessAt ?? 'never'}</td><td>${s.health.lastFailureAt ?? 'none'}</td><td>${s.health.failing}</td></tr>`)}</tbody></table>`
}
${
  w.failing.length === 0
    ? ''
    : html`<table><caption>Failing deliveries, newest first: retried with backoff for 25 hours, then kept as failed</caption><thead><tr><th scope="col">Event</th><th scope="col">Since</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Next attempt</th><th scope="col">Last error</th></tr></thead>
<tbody>${w.failing.map((d) => html`<tr data-delivery="${d.id}"><td>${d.event}</td><td>${d.createdAt}</td><td>${d.state === 'failed' ? 'given up' : 'retrying'}</td><td>${d.attempts}</td><td>${d.nextAttemptAt ?? ''}</td><td>${d.lastError ?? ''}</td></tr>`)}</tbody></table>`
}
</section>`;
}

type AuditFieldValues = Readonly<Record<string, string | number | boolean | null>>;

/** An audit record's fields in words: `priority normal`, times (`…At`) as ISO times, none as "none". */
function auditFields(fields: AuditFieldValues): string {
  return Object.entries(fields)
    .map(([name, value]) => `${name} ${value === null ? 'none' : /At$/.test(name) && typeof value === 'number' ? new Date(value).toISOString() : String(value)}`)
    .join(', ');
}

export function groupPage(chrome: Chrome, g: GroupPageData): string {
  const csrf = chrome.user?.csrf ?? '';
  const form = (action: string, label: string, extra: Html | string = '') =>
    html`<form method="post" action="${action}" class="inline"><input type="hidden" name="_csrf" value="${csrf}">${extra}<button type="submit">${label}</button></form>`;
  const queueRows = g.queue.map((r) =>
    isShadow(r)
      ? html`<tr data-run="">
  <td>${r.position}</td><td colspan="2" class="muted">another user's run</td><td>${r.priority}</td><td></td>
  <td>${duration(r.waitMs)}</td><td data-testid="why">${r.waitingBecause}</td>${g.canManage ? html`<td></td>` : ''}
</tr>`
      : html`<tr data-run="${r.id}">
  <td>${r.position}</td><td><code>${r.id}</code></td><td>${r.flow}</td><td>${r.priority}${r.movedToTop ? ' (moved to top)' : ''}</td><td>${r.createdBy}</td>
  <td>${duration(r.waitMs)}</td><td data-testid="why">${r.waitingBecause}</td>
  ${
    g.canManage
      ? html`<td class="actions">${form(`/runs/${r.id}/cancel`, 'Cancel')}${form(`/runs/${r.id}/move-to-top`, 'Move to top')}${form(
          `/runs/${r.id}/priority`,
          'Set priority',
          html`<label class="sr-only" for="priority-${r.id}">Priority of ${r.id}</label><select id="priority-${r.id}" name="priority"><option value="high"${r.priority === 'high' ? html` selected` : ''}>high</option><option value="normal"${r.priority === 'normal' ? html` selected` : ''}>normal</option></select>`,
        )}</td>`
      : ''
  }
</tr>`,
  );
  return page(
    { ...chrome, title: g.name, live: true, charts: g.history !== undefined },
    html`<nav aria-label="Breadcrumb"><a href="/">Groups</a> › ${g.name}</nav>
<h1>${g.name} <span class="state ${g.state}" data-testid="group-state">${g.state}</span></h1>
<p>${g.description}</p>
<p>maxBots ${g.maxBots}, committed ${g.committedBots}; your access: ${g.access}.</p>
${g.leaderStale ? html`<p class="why" data-testid="leader-stale">The scaler's leader has published nothing lately, so why runs wait, the warm-up and the scale-ins are not known here.</p>` : g.publishedAt ? html`<p class="why" data-testid="published-at">Why runs wait, the warm-up and the scale-ins as of ${g.publishedAt}, from the scaler's leader.</p>` : ''}
${g.predictiveWarmUp ? html`<p class="why" data-testid="predictive-warm-up">${sentence(g.predictiveWarmUp.message)}</p>` : ''}
${g.warmUpAccount ? html`<p class="why" data-testid="warm-up-account">${sentence(g.warmUpAccount.message)}</p>` : ''}
${g.canManage ? html`<div class="group-actions">${g.state === 'paused' || g.state === 'expired' ? form(`/groups/${g.name}/resume`, g.state === 'expired' ? 'Revive' : 'Resume') : form(`/groups/${g.name}/pause`, 'Pause')}</div>` : ''}
${g.history ? html`<section aria-labelledby="history-h">
<h2 id="history-h">Last 24 hours</h2>
${historyFigure(g.history)}
</section>` : ''}
<section aria-labelledby="queue-h">
<h2 id="queue-h">Queue (<span data-testid="queued">${g.queue.length}</span>)</h2>
${
  g.queue.length === 0
    ? html`<p>No run is waiting.</p>`
    : html`<p class="why" data-testid="waiting-because">Why runs wait: ${g.waitingBecause.length ? g.waitingBecause.join('; ') : 'bots are taking them'}</p>
<table><caption>Runs waiting, in the order they start</caption>
<thead><tr><th scope="col">Position</th><th scope="col">Run</th><th scope="col">Flow</th><th scope="col">Priority</th><th scope="col">By</th><th scope="col">Waiting</th><th scope="col">Why it waits</th>${g.canManage ? html`<th scope="col">Actions</th>` : ''}</tr></thead>
<tbody>${queueRows}</tbody></table>`
}
</section>
<section aria-labelledby="bots-h">
<h2 id="bots-h">Bots (<span data-testid="bot-count">${g.bots.length}</span>)</h2>
${
  g.bots.length === 0
    ? html`<p>No bots: the group scales from zero when runs wait.</p>`
    : html`<table><caption>Bots of the group</caption><thead><tr><th scope="col">Bot</th><th scope="col">VM</th><th scope="col">State</th><th scope="col">Age</th><th scope="col">Runs</th></tr></thead>
<tbody>${g.bots.map((b) => html`<tr><td><code>${b.id}</code></td><td>${b.detailsHidden ? '(shown to co-owners)' : (b.vmName ?? '(not yet created)')}</td><td><span class="state ${b.state}">${b.state}</span></td><td>${duration(b.ageMs)}</td><td>${b.runsCompleted}</td></tr>`)}</tbody></table>`
}
${
  g.scaleIns?.length
    ? html`<h3 id="scale-ins-h">Recent scale-ins</h3>
<ul aria-labelledby="scale-ins-h" data-testid="scale-ins">${g.scaleIns.map((x) => html`<li data-reason="${x.reason}">${x.at ?? ''}: ${x.message}</li>`)}</ul>`
    : ''
}
</section>
<section aria-labelledby="recent-h">
<h2 id="recent-h">Recent runs</h2>
${
  g.recent.length === 0
    ? html`<p>No run has finished yet.</p>`
    : html`<table><caption>The last runs that ended</caption><thead><tr><th scope="col">Run</th><th scope="col">Flow</th><th scope="col">Result</th><th scope="col">Waited</th><th scope="col">Ran</th><th scope="col">Ended</th></tr></thead>
<tbody>${g.recent.map((r) =>
        isShadow(r)
          ? html`<tr data-run=""><td colspan="2" class="muted">another user's run</td><td><span class="state ${r.state}">${r.state}</span></td><td>${duration(r.waitMs)}</td><td>${duration(r.runMs)}</td><td>${r.finishedAt ?? ''}</td></tr>`
          : html`<tr data-run="${r.id}"><td><code>${r.id}</code></td><td>${r.flow}</td><td><span class="state ${r.state}">${r.state}</span>${
              r.result?.exitCode !== null && r.result?.exitCode !== undefined ? ` (exit ${r.result.exitCode})` : ''
            }${r.result?.errorCode && r.state !== 'succeeded' ? ` – ${r.result.errorCode}` : ''}</td><td>${duration(r.waitMs)}</td><td>${duration(r.runMs)}</td><td>${r.finishedAt ?? ''}</td></tr>`,
      )}</tbody></table>`
}
</section>
<section aria-labelledby="errors-h">
<h2 id="errors-h">Provisioning errors</h2>
${
  g.errors.length === 0
    ? html`<p>None.</p>`
    : html`<table><caption>Errors Azure returned while scaling this group, newest first</caption><thead><tr><th scope="col">Time</th><th scope="col">Operation</th><th scope="col">Code</th><th scope="col">Message</th></tr></thead>
<tbody>${g.errors.map((e) => html`<tr><td>${e.at}</td><td>${e.operation}</td><td><code>${e.code}</code></td><td>${e.message}</td></tr>`)}</tbody></table>`
}
</section>
${
  g.audit
    ? html`<section aria-labelledby="audit-h" data-testid="audit">
<h2 id="audit-h">Changes by people</h2>
${
  g.audit.length === 0
    ? html`<p>No one has changed the queue or the group yet.</p>`
    : html`<table><caption>Who changed the queue or the group, newest first (GET /v1/groups/${g.name}/audit has all of them)</caption><thead><tr><th scope="col">Time</th><th scope="col">Who</th><th scope="col">Change</th><th scope="col">Run</th><th scope="col">Before</th><th scope="col">After</th></tr></thead>
<tbody>${g.audit.map((a) => html`<tr data-audit="${a.action}"><td>${a.at}</td><td>${a.actor} <span class="muted">(${a.via})</span></td><td>${a.action}</td><td>${a.runId ? html`<code>${a.runId}</code>` : ''}</td><td>${auditFields(a.before)}</td><td>${auditFields(a.after)}</td></tr>`)}</tbody></table>`
}
</section>`
    : ''
}
${g.webhooks ? webhookSection(g.webhooks) : ''}`,
  );
}

export const DASHBOARD_CSS = `
:root { color-scheme: light; --fg: #1b1b1b; --muted: #555; --line: #d0d0d0; --link: #0a4f9e; --bg: #fff; --soft: #f4f6f8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
a:focus, button:focus, input:focus, select:focus, main:focus { outline: 3px solid #f2a900; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #000; color: #fff; padding: .5rem 1rem; }
.skip:focus { left: 0; z-index: 10; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
header.top { display: flex; flex-wrap: wrap; gap: 1rem 2rem; align-items: center; padding: .75rem 1.5rem; background: #12284c; color: #fff; }
header.top a { color: #fff; text-decoration: none; font-weight: 600; font-size: 1.1rem; }
dl.env { display: flex; flex-wrap: wrap; gap: .25rem 1.5rem; margin: 0; }
dl.env div { display: flex; gap: .35rem; } dl.env dt { color: #c9d6ea; } dl.env dd { margin: 0; font-weight: 600; }
form.signout { margin-left: auto; display: flex; gap: .5rem; align-items: center; }
.banner { background: #8a1c1c; color: #fff; padding: .75rem 1.5rem; font-weight: 600; }
.flash { padding: .6rem 1.5rem; } .flash.error { background: #fde8e8; color: #7a1010; } .flash.info { background: #e8f3fd; color: #0b3c6e; }
main { padding: 1rem 1.5rem 2rem; max-width: 1200px; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 1.75rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
caption { text-align: left; color: var(--muted); padding: .25rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: .4rem .5rem; text-align: left; vertical-align: top; }
thead th { background: var(--soft); }
.muted, .hint { color: var(--muted); }
.state { display: inline-block; padding: 0 .45rem; border-radius: .6rem; background: var(--soft); border: 1px solid var(--line); }
.state.active, .state.succeeded, .state.idle { background: #e6f4ea; border-color: #9ccfaa; }
.state.busy, .state.running, .state.provisioning { background: #e8f0fe; border-color: #a8c1f0; }
.state.paused, .state.queued, .state.deleting { background: #fff4dc; border-color: #e8c878; }
.state.failed, .state.expired, .state.cancelled { background: #fde8e8; border-color: #e8a4a4; }
form.inline { display: inline-block; margin: 0 .25rem .25rem 0; }
button { font: inherit; padding: .25rem .7rem; border: 1px solid #31538a; background: #fff; color: #12284c; border-radius: .3rem; cursor: pointer; }
button:hover { background: #eef3fb; }
form.signin { display: grid; gap: .5rem; max-width: 26rem; }
form.signin input { font: inherit; padding: .4rem; border: 1px solid #777; border-radius: .25rem; }
.why { font-weight: 600; }
figure.history { margin: .5rem 0; } figure.history figcaption { color: var(--muted); max-width: 60rem; }
.chart { min-height: 240px; }
footer { color: var(--muted); padding: 0 1.5rem 1.5rem; }
`;

/** Refreshes the main region in place every few seconds, keeping focus and scroll. */
export const DASHBOARD_JS = `
(function () {
  var main = document.getElementById('main');
  if (!main || main.getAttribute('data-live') !== 'true') return;
  function refresh() {
    if (document.hidden || main.contains(document.activeElement) && document.activeElement.tagName === 'SELECT') return;
    fetch(location.pathname + '?partial=main', { credentials: 'same-origin', headers: { 'X-Requested-With': 'dashboard' } })
      .then(function (r) { if (r.status === 401) { location.href = '/signin'; return null; } return r.ok ? r.text() : null; })
      .then(function (text) {
        if (text === null || text === main.innerHTML) return;
        // The drawn chart stays while its data is the same; otherwise the new one is drawn.
        var old = document.getElementById('history-chart');
        main.innerHTML = text;
        var fresh = document.getElementById('history-chart');
        if (old && fresh && old.getAttribute('data-chart') === fresh.getAttribute('data-chart')) fresh.parentNode.replaceChild(old, fresh);
        else if (window.hostedBotsDrawCharts) window.hostedBotsDrawCharts();
      })
      .catch(function () {});
  }
  setInterval(refresh, 2000);
})();
`;
