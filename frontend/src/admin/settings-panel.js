// Admin → Instance settings. Every setting is read from the server's configuration when it
// starts (docs/settings.md), so the page shows each value with where it comes from and how to
// change it (the flag and environment variable, then a restart), and says plainly that it is
// read-only here. Secrets are never shown, only whether they are set.

import { h, replaceChildren } from '../dom.js';
import { messageOf } from '../api/api-error.js';
import { loadingLine } from '../ui/spinner.js';
import { getSettings } from './admin-api.js';
import { labelOf, valueText } from './facts.js';

const BADGE = 'rounded-full px-2 text-xs leading-5 font-semibold';

function valueCell(entry) {
  if (entry.value === null && 'is_set' in entry) {
    return h('span', { class: 'text-muted' }, entry.is_set ? 'set (secret, not shown)' : 'not set');
  }
  return h('code', { class: 'font-mono text-sm [overflow-wrap:anywhere]' }, valueText(entry.value));
}

function whereCell(entry) {
  const env = Array.isArray(entry.env) ? entry.env : [];
  const ways = [entry.flag, env[0]].filter(Boolean);
  return ways.length
    ? h('span', { class: 'text-sm text-muted' }, ways.map((w, i) => [i ? ' or ' : '', h('code', { class: 'font-mono' }, w)]))
    : h('span', { class: 'text-sm text-muted' }, '—');
}

function settingRow(name, entry) {
  const editable = entry.editable === true;
  return h(
    'tr',
    { class: 'border-t border-line align-top', dataset: { setting: name } },
    h(
      'th',
      { scope: 'row', class: 'py-2.5 pr-4 text-left font-medium' },
      h('span', { class: 'block' }, labelOf(name)),
      entry.help ? h('span', { class: 'block text-sm font-normal text-muted' }, entry.help) : null,
    ),
    h('td', { class: 'min-w-32 py-2.5 pr-4' }, valueCell(entry)),
    h(
      'td',
      { class: 'py-2.5 pr-4' },
      h('span', { class: `${BADGE} ${entry.source === 'configured' ? 'bg-subtle text-fg' : 'bg-canvas text-muted ring-1 ring-line'}` }, entry.source === 'configured' ? 'Configured' : 'Default'),
    ),
    h('td', { class: 'py-2.5' }, editable ? h('span', { class: `${BADGE} bg-ok-bg text-ok` }, 'Editable') : whereCell(entry)),
  );
}

function render(data) {
  const entries = data.settings && typeof data.settings === 'object' ? Object.entries(data.settings) : [];
  const readOnly = entries.filter(([, e]) => e && e.editable !== true);
  // "auto" looks for a provider at start: whether one answered is on the Health page.
  const auto = data.settings?.ai_provider?.value === 'auto';
  const aiText = !data.ai_enabled ? 'AI assistant off' : auto ? 'AI assistant: provider detected at start (see Health)' : 'AI assistant on';
  return [
    h(
      'p',
      { class: 'flex flex-wrap items-center gap-2 text-sm' },
      h('span', { class: `${BADGE} ${data.ai_enabled && !auto ? 'bg-ok-bg text-ok' : 'bg-subtle text-fg'}`, dataset: { aiEnabled: data.ai_enabled ? '1' : '0' } }, aiText),
      data.changes_need_restart ? h('span', { class: 'text-muted' }, 'Settings are read from the server’s configuration at start; change them there and restart the server.') : null,
    ),
    h(
      'div',
      { class: 'mt-4 overflow-x-auto', dataset: { readOnlySettings: String(readOnly.length) } },
      h(
        'table',
        { class: 'w-full min-w-[40rem] text-left' },
        h('caption', { class: 'sr-only' }, 'Instance settings (read-only here)'),
        h(
          'thead',
          null,
          h(
            'tr',
            { class: 'text-sm text-muted' },
            h('th', { scope: 'col', class: 'pb-2 font-medium' }, 'Setting'),
            h('th', { scope: 'col', class: 'pb-2 font-medium' }, 'Value'),
            h('th', { scope: 'col', class: 'pb-2 font-medium' }, 'Source'),
            h('th', { scope: 'col', class: 'pb-2 font-medium' }, 'Change with (read-only here)'),
          ),
        ),
        h('tbody', null, entries.map(([name, entry]) => settingRow(name, entry ?? {}))),
      ),
    ),
  ];
}

export function settingsPanel({ signal }) {
  const body = h('div', null, loadingLine('Loading settings…'));
  getSettings(signal).then(
    (data) => !signal.aborted && replaceChildren(body, render(data)),
    (error) => !signal.aborted && replaceChildren(body, h('p', { role: 'alert', class: 'text-sm text-bad' }, messageOf(error))),
  );
  return h('div', { dataset: { adminPanel: 'settings' } }, body);
}
