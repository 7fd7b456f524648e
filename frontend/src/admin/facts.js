// Render the facts an admin API answers (health, read-only settings) without knowing every key
// in advance: checks as ok/failing rows, objects as definition lists, scalars as text.

import { h } from '../dom.js';
import { absoluteTime, toDate } from '../format/time.js';

/** "ai_provider" -> "AI provider", "turn_url" -> "TURN URL". */
export function labelOf(key) {
  const words = String(key).replace(/_seconds$/, '').replace(/[_.]+/g, ' ').trim().split(' ');
  const upper = new Set(['ai', 'turn', 'stun', 'smtp', 'url', 'id', 'ttl', 'db', 'api', 'http', 'ws', 'tls']);
  return words
    .map((w, i) => (upper.has(w.toLowerCase()) ? w.toUpperCase() : i === 0 ? w.charAt(0).toUpperCase() + w.slice(1) : w))
    .join(' ');
}

function duration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds)));
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${hh} h`;
  if (hh) return `${hh} h ${mm} min`;
  return mm ? `${mm} min ${s % 60} s` : `${s} s`;
}

export function valueText(value, key = '') {
  if (key.endsWith('_seconds') && Number.isFinite(Number(value))) return duration(value);
  if (key.endsWith('_at') && typeof value === 'string' && toDate(value)) return absoluteTime(toDate(value));
  if (value === true) return 'yes';
  if (value === false) return 'no';
  if (value == null || value === '') return '—';
  if (Array.isArray(value)) return value.map(valueText).join(', ') || '—';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function isCheck(value) {
  return Boolean(value) && typeof value === 'object' && !Array.isArray(value) && typeof value.ok === 'boolean';
}

/** A status pill: OK / Problem (text, not colour alone). */
export function okBadge(ok) {
  return h(
    'span',
    { class: `shrink-0 rounded-full px-2 text-xs leading-5 font-semibold ${ok ? 'bg-ok-bg text-ok' : 'bg-bad-bg text-bad'}`, dataset: { checkOk: ok ? '1' : '0' } },
    ok ? 'OK' : 'Problem',
  );
}

export function checkRow(name, check) {
  const detail = check.detail ?? check.message ?? check.error ?? check.kind ?? '';
  const extra = Object.entries(check).filter(([k]) => !['ok', 'detail', 'message', 'error', 'name'].includes(k));
  return h(
    'li',
    { class: 'flex items-start gap-3 py-2.5', dataset: { check: name } },
    okBadge(check.ok),
    h(
      'div',
      { class: 'min-w-0' },
      h('p', { class: 'font-medium' }, labelOf(check.name ?? name)),
      detail ? h('p', { class: 'text-sm break-words text-muted' }, String(detail)) : null,
      extra.length ? factList(Object.fromEntries(extra), true) : null,
    ),
  );
}

/** A definition list of an object's keys. Nested objects become nested lists. */
export function factList(object, compact = false) {
  return h(
    'dl',
    { class: compact ? 'mt-1 grid grid-cols-[auto_1fr] gap-x-3 text-sm' : 'grid grid-cols-1 gap-x-6 gap-y-2 sm:grid-cols-[minmax(8rem,auto)_1fr]' },
    Object.entries(object).flatMap(([key, value]) => [
      h('dt', { class: compact ? 'text-muted' : 'font-medium' }, labelOf(key)),
      h(
        'dd',
        { class: 'min-w-0 break-words text-muted' },
        isCheck(value)
          ? h('span', { class: 'flex flex-wrap items-center gap-2' }, okBadge(value.ok), valueText(value.detail ?? value.kind ?? ''))
          : value && typeof value === 'object' && !Array.isArray(value)
            ? factList(value, true)
            : valueText(value, key),
      ),
    ]),
  );
}
