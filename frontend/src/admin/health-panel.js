// Admin → Health: the same facts as `collabcode admin doctor` (versions, database, broker,
// TURN, AI provider) plus open sockets and rooms, with a Refresh button.

import { h, replaceChildren } from '../dom.js';
import { messageOf } from '../api/api-error.js';
import { secondaryButton, setPending } from '../ui/form-controls.js';
import { loadingLine } from '../ui/spinner.js';
import { getHealth } from './admin-api.js';
import { checkRow, factList, isCheck, labelOf, okBadge } from './facts.js';

function section(title, ...children) {
  return h('section', { class: 'rounded-lg border border-line p-4' }, h('h3', { class: 'mb-2 font-semibold' }, title), ...children);
}

function renderHealth(data) {
  const parts = [];
  const checks = [];
  const facts = {};
  for (const [key, value] of Object.entries(data)) {
    if (key === 'ok') continue; // the summary line says it
    if (key === 'checks' && Array.isArray(value)) {
      for (const check of value) if (isCheck(check)) checks.push([check.name ?? key, check]);
    } else if (key === 'checks' && value && typeof value === 'object') {
      for (const [name, check] of Object.entries(value)) if (isCheck(check)) checks.push([name, check]);
    } else if (isCheck(value)) checks.push([key, value]);
    else if (value && typeof value === 'object' && !Array.isArray(value)) parts.push(section(labelOf(key), factList(value)));
    else facts[key] = value;
  }
  const failing = checks.filter(([, c]) => !c.ok).length;
  return [
    h(
      'p',
      { class: 'flex items-center gap-2', dataset: { healthSummary: failing ? 'problem' : 'ok' } },
      okBadge(failing === 0),
      checks.length ? (failing ? `${failing} of ${checks.length} checks need attention.` : `All ${checks.length} checks pass.`) : 'No checks reported.',
    ),
    checks.length ? section('Checks', h('ul', { class: 'divide-y divide-line' }, checks.map(([name, c]) => checkRow(name, c)))) : null,
    Object.keys(facts).length ? section('Instance', factList(facts)) : null,
    ...parts,
  ];
}

export function healthPanel({ signal }) {
  const body = h('div', { class: 'space-y-4', 'aria-live': 'polite' }, loadingLine('Running checks…'));
  const refresh = secondaryButton('Run checks again', { dataset: { healthRefresh: '' } });
  async function load() {
    setPending(refresh, true);
    try {
      const data = await getHealth(signal);
      if (!signal.aborted) replaceChildren(body, renderHealth(data));
    } catch (error) {
      if (!signal.aborted) replaceChildren(body, h('p', { role: 'alert', class: 'text-sm text-bad' }, messageOf(error)));
    } finally {
      setPending(refresh, false);
    }
  }
  refresh.addEventListener('click', load, { signal });
  load();
  return h('div', { class: 'space-y-4', dataset: { adminPanel: 'health' } }, h('div', null, refresh), body);
}
