// "Server status" card: process liveness from /healthz and the dependency checks from
// /readyz, with loading and error states. Refreshes itself while the page is visible.

import { h, replaceChildren } from '../dom.js';
import { fetchHealth } from './fetch-health.js';

const REFRESH_MS = 15000;

const CHECK_LABELS = { database: 'Database', broker: 'Message broker' };
const CHECK_ORDER = ['database', 'broker'];
const PLAIN_DETAIL_KEYS = new Set(['backend', 'kind', 'driver', 'type', 'error', 'detail', 'message']);
const VALUE_LABELS = { memory: 'in-process', sqlite: 'SQLite', postgresql: 'PostgreSQL', redis: 'Redis' };

const BADGE = {
  ok: 'bg-ok-bg text-ok',
  down: 'bg-bad-bg text-bad',
  checking: 'bg-wait-bg text-wait',
  unknown: 'bg-subtle text-muted',
};

function badge(state, text) {
  return h(
    'span',
    { class: `inline-flex items-center gap-1.5 rounded-full px-2.5 py-0.5 text-xs font-semibold ${BADGE[state]}` },
    h('span', { class: 'size-2 rounded-full bg-current', 'aria-hidden': 'true' }),
    text,
  );
}

function labelFor(name) {
  return CHECK_LABELS[name] ?? name.replace(/[_-]+/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

function describeDetails(check) {
  if (!check || typeof check !== 'object') return '';
  const parts = [];
  for (const [key, value] of Object.entries(check)) {
    if (key === 'ok' || value == null || typeof value === 'object') continue;
    if (key === 'latency_ms' && typeof value === 'number') parts.push(`${value.toFixed(1)} ms`);
    else if (PLAIN_DETAIL_KEYS.has(key)) parts.push(VALUE_LABELS[value] ?? String(value));
    else parts.push(`${key.replace(/_/g, ' ')}: ${value}`);
  }
  const text = parts.join(' · ');
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function row(key, label, state, stateText, details) {
  return h(
    'div',
    { class: 'flex flex-wrap items-center justify-between gap-x-4 gap-y-1 py-3', dataset: { check: key, state } },
    h('dt', { class: 'font-medium' }, label),
    h(
      'dd',
      { class: 'flex min-w-0 flex-wrap items-center justify-end gap-x-3 gap-y-1 text-right' },
      details ? h('span', { class: 'min-w-0 break-words text-sm text-muted' }, details) : null,
      badge(state, stateText),
    ),
  );
}

function sortedCheckNames(checks) {
  const names = Object.keys(checks);
  const known = CHECK_ORDER.filter((name) => names.includes(name));
  const others = names.filter((name) => !CHECK_ORDER.includes(name)).sort();
  return [...known, ...others];
}

export function createStatusCard({ signal }) {
  const summary = h('p', { class: 'mt-1 text-sm text-muted', 'aria-live': 'polite' });
  const list = h('dl', { class: 'mt-4 divide-y divide-line border-y border-line' });
  const footnote = h('p', { class: 'mt-3 text-xs text-muted' });
  const refreshButton = h(
    'button',
    {
      type: 'button',
      class:
        'rounded-md border border-line bg-surface px-3 py-1.5 text-sm font-medium hover:bg-subtle disabled:cursor-wait disabled:opacity-60',
      onClick: () => refresh(),
      signal,
    },
    'Refresh',
  );
  const card = h(
    'section',
    {
      class: 'rounded-xl border border-line bg-surface p-5 shadow-sm',
      'aria-labelledby': 'server-status-heading',
      dataset: { health: 'loading' },
    },
    h(
      'div',
      { class: 'flex items-start justify-between gap-4' },
      h(
        'div',
        null,
        h('h2', { id: 'server-status-heading', class: 'text-lg font-semibold' }, 'Server status'),
        summary,
      ),
      refreshButton,
    ),
    list,
    footnote,
  );

  let inFlight = null;
  let timer = 0;
  let lastChecked = 0;

  function showLoading() {
    card.dataset.health = 'loading';
    card.setAttribute('aria-busy', 'true');
    refreshButton.disabled = true;
    if (!lastChecked) {
      summary.textContent = 'Checking the server…';
      replaceChildren(
        list,
        row('process', 'Server process', 'checking', 'Checking…'),
        row('database', 'Database', 'checking', 'Checking…'),
        row('broker', 'Message broker', 'checking', 'Checking…'),
      );
    }
  }

  function processRow(live) {
    if (live.error) return row('process', 'Server process', 'down', 'No answer', live.error.message);
    const version = live.body && typeof live.body.version === 'string' ? `version ${live.body.version}` : '';
    return row('process', 'Server process', live.ok ? 'ok' : 'down', live.ok ? 'Up' : `HTTP ${live.httpStatus}`, version);
  }

  function showResult({ live, ready }) {
    if (ready.error) {
      card.dataset.health = 'error';
      summary.textContent =
        live.error && ready.error.message.startsWith('could not reach')
          ? 'Could not reach the server. Check your connection or that collabcode is running.'
          : `Could not read the server’s readiness: ${ready.error.message}.`;
      replaceChildren(
        list,
        processRow(live),
        row('database', 'Database', 'unknown', 'Unknown'),
        row('broker', 'Message broker', 'unknown', 'Unknown'),
      );
      return;
    }
    card.dataset.health = ready.ok ? 'ready' : 'not_ready';
    const names = sortedCheckNames(ready.checks);
    const failing = names.filter((name) => ready.checks[name]?.ok !== true).map(labelFor);
    summary.textContent = ready.ok
      ? 'Ready: every dependency is reachable.'
      : failing.length
        ? `Not ready: ${failing.join(', ')} ${failing.length === 1 ? 'is' : 'are'} not reachable.`
        : `Not ready (${ready.status}).`;
    replaceChildren(
      list,
      processRow(live),
      names.map((name) => {
        const check = ready.checks[name];
        const ok = check?.ok === true;
        return row(name, labelFor(name), ok ? 'ok' : 'down', ok ? 'Reachable' : 'Unreachable', describeDetails(check));
      }),
    );
  }

  async function refresh() {
    if (inFlight || signal.aborted) return inFlight;
    clearTimeout(timer);
    showLoading();
    inFlight = (async () => {
      try {
        const result = await fetchHealth(signal);
        if (signal.aborted) return;
        showResult(result);
      } catch (error) {
        if (signal.aborted) return;
        showError(error);
      } finally {
        inFlight = null;
        if (!signal.aborted) {
          lastChecked = Date.now();
          card.removeAttribute('aria-busy');
          refreshButton.disabled = false;
          footnote.textContent = `Last checked at ${new Date(lastChecked).toLocaleTimeString()}. Refreshes every ${REFRESH_MS / 1000} seconds while this page is open.`;
          if (document.visibilityState === 'visible') timer = setTimeout(refresh, REFRESH_MS);
        }
      }
    })();
    return inFlight;
  }

  document.addEventListener(
    'visibilitychange',
    () => {
      clearTimeout(timer);
      if (document.visibilityState !== 'visible') return;
      if (!inFlight && Date.now() - lastChecked > REFRESH_MS) refresh();
      else if (!inFlight) timer = setTimeout(refresh, REFRESH_MS - (Date.now() - lastChecked));
    },
    { signal },
  );
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });

  refresh();
  return card;
}
