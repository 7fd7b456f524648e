// A read-only field holding a link (invite, password reset) with a Copy button.

import { h } from '../dom.js';
import { secondaryButton } from '../ui/form-controls.js';

let serial = 0;

export function copyField(value, label) {
  const id = `copy-field-${++serial}`;
  const input = h('input', {
    id,
    type: 'text',
    readonly: true,
    value,
    class: 'min-w-0 flex-1 rounded-md border border-line bg-canvas px-2 py-1 font-mono text-sm text-fg',
    dataset: { copyValue: '' },
  });
  const done = h('span', { role: 'status', class: 'text-sm text-ok' });
  const button = secondaryButton('Copy', { dataset: { copyButton: '' } });
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(value);
      done.textContent = 'Copied.';
    } catch {
      // No clipboard permission (plain http, say): select it for Ctrl+C instead.
      input.select();
      done.textContent = 'Selected: press Ctrl+C to copy.';
    }
    setTimeout(() => {
      done.textContent = '';
    }, 4000);
  });
  input.addEventListener('focus', () => input.select());
  return h(
    'div',
    { class: 'flex flex-col gap-1' },
    h('label', { for: id, class: 'text-sm font-medium' }, label),
    h('div', { class: 'flex flex-wrap items-center gap-2' }, input, button, done),
  );
}
