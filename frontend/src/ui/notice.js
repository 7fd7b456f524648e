import { h } from '../dom.js';

const KIND_CLASS = {
  info: 'border-line bg-subtle text-fg',
  success: 'border-ok/40 bg-ok-bg text-ok',
  warning: 'border-wait/40 bg-wait-bg text-wait',
  error: 'border-bad/40 bg-bad-bg text-bad',
};

/** A boxed message inside a page or card. */
export function notice(kind, ...children) {
  return h('div', { class: `rounded-md border px-4 py-3 text-sm ${KIND_CLASS[kind]}` }, ...children);
}
