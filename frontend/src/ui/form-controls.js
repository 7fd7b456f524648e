// Building blocks of the forms: labelled fields, the submit button, message regions.
// Every field has an id and a <label for>; hints are tied to their field with
// aria-describedby. Server text is only ever inserted as text.

import { h, replaceChildren } from '../dom.js';
import { spinner } from './spinner.js';

const INPUT_CLASS =
  'mt-1 block w-full rounded-md border border-line bg-canvas px-3 py-2 text-fg shadow-xs placeholder:text-muted/70 aria-[invalid=true]:border-bad disabled:opacity-60';

function describedBy(...ids) {
  const value = ids.filter(Boolean).join(' ');
  return value || null;
}

/**
 * A labelled <input>. Returns { field, input }.
 * @param {object} o  id, name, label, type, autocomplete, required, minlength, maxlength,
 *   hint, value, inputmode, autocapitalize, spellcheck, placeholder, patternHint
 */
export function textField(o) {
  const hintId = o.hint ? `${o.id}-hint` : '';
  const input = h('input', {
    id: o.id,
    name: o.name ?? o.id,
    type: o.type ?? 'text',
    autocomplete: o.autocomplete,
    required: o.required,
    minlength: o.minlength,
    maxlength: o.maxlength,
    inputmode: o.inputmode,
    autocapitalize: o.autocapitalize,
    spellcheck: o.spellcheck,
    placeholder: o.placeholder,
    'aria-describedby': describedBy(hintId),
    class: INPUT_CLASS,
  });
  if (o.value != null) input.value = o.value;
  const field = h(
    'div',
    null,
    h('label', { for: o.id, class: 'block text-sm font-medium' }, o.label),
    input,
    o.hint ? h('p', { id: hintId, class: 'mt-1 text-sm text-muted' }, o.hint) : null,
  );
  return { field, input };
}

/** A password field with a Show/Hide toggle. Same options as textField. */
export function passwordField(o) {
  const { field, input } = textField({ ...o, type: 'password', spellcheck: 'false', autocapitalize: 'none' });
  input.classList.add('pr-16');
  const toggle = h(
    'button',
    {
      type: 'button',
      class:
        'absolute inset-y-0 right-0 my-1 mr-1 rounded px-2 text-sm font-medium text-muted hover:bg-subtle hover:text-fg',
      'aria-controls': o.id,
      'aria-pressed': 'false',
      dataset: { passwordToggle: '' },
    },
    'Show',
  );
  toggle.addEventListener('click', () => {
    const show = input.type === 'password';
    input.type = show ? 'text' : 'password';
    toggle.textContent = show ? 'Hide' : 'Show';
    toggle.setAttribute('aria-pressed', String(show));
  });
  const wrapper = h('div', { class: 'relative mt-1' });
  input.classList.remove('mt-1');
  input.replaceWith(wrapper);
  wrapper.append(input, toggle);
  return { field, input };
}

/** A labelled <textarea>. Returns { field, input }. */
export function textAreaField(o) {
  const hintId = o.hint ? `${o.id}-hint` : '';
  const input = h('textarea', {
    id: o.id,
    name: o.name ?? o.id,
    rows: o.rows ?? 3,
    maxlength: o.maxlength,
    'aria-describedby': describedBy(hintId),
    class: `${INPUT_CLASS} resize-y`,
  });
  input.value = o.value ?? '';
  const field = h(
    'div',
    null,
    h('label', { for: o.id, class: 'block text-sm font-medium' }, o.label),
    input,
    o.hint ? h('p', { id: hintId, class: 'mt-1 text-sm text-muted' }, o.hint) : null,
  );
  return { field, input };
}

/** The primary button of a form; `setPending` shows a spinner in it. */
export function submitButton(label, { id, wide = false } = {}) {
  return h(
    'button',
    {
      type: 'submit',
      id,
      class: `${wide ? 'w-full ' : ''}inline-flex items-center justify-center gap-2 rounded-md bg-accent px-4 py-2 font-semibold text-on-accent shadow-sm hover:bg-accent-strong disabled:cursor-wait disabled:opacity-70`,
    },
    h('span', null, label),
  );
}

/** A secondary (outlined) button. */
export function secondaryButton(label, props = {}) {
  return h(
    'button',
    {
      type: 'button',
      ...props,
      class:
        'inline-flex items-center justify-center gap-2 rounded-md border border-line bg-surface px-3 py-1.5 text-sm font-medium text-fg hover:bg-subtle disabled:cursor-not-allowed disabled:opacity-60',
    },
    h('span', null, label),
  );
}

/** Disable `button` and show a spinner in it while `pending`; keeps keyboard focus on it. */
export function setPending(button, pending) {
  const hadFocus = document.activeElement === button;
  button.disabled = pending;
  button.toggleAttribute('aria-busy', pending);
  button.querySelector('[data-pending-spinner]')?.remove();
  if (pending) {
    const ring = spinner();
    ring.dataset.pendingSpinner = '';
    button.prepend(ring);
  } else if (button.dataset.hadFocus === '1' && document.activeElement === document.body) {
    button.focus();
  }
  button.dataset.hadFocus = pending && hadFocus ? '1' : '';
}

/** An aria-live region for a form's errors ([data-form-error]); empty until needed. */
export function errorRegion(id) {
  return h('div', { id, role: 'alert', class: 'empty:hidden', dataset: { formError: '' } });
}

/** A polite live region for success messages ([data-form-status]). */
export function statusRegion(id) {
  return h('div', { id, role: 'status', class: 'empty:hidden', dataset: { formStatus: '' } });
}

const MESSAGE_CLASS = {
  error: 'rounded-md border border-bad/40 bg-bad-bg px-3 py-2 text-sm text-bad',
  success: 'rounded-md border border-ok/40 bg-ok-bg px-3 py-2 text-sm text-ok',
};

/** Show (or with an empty message, clear) a message in a region. */
export function showMessage(region, kind, message) {
  replaceChildren(region, message ? h('p', { class: MESSAGE_CLASS[kind] }, message) : null);
}
