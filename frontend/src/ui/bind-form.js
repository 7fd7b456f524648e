// Submit handling shared by every form: client-side hints first (required, email
// shape, minimum length), then the request with the button disabled and a spinner;
// the server's message goes into the form's error region.

import { messageOf } from '../api/api-error.js';
import { setPending, showMessage } from './form-controls.js';

function labelOf(form, el) {
  const label = el.id ? form.querySelector(`label[for="${CSS.escape(el.id)}"]`) : null;
  return label?.textContent.trim() || el.name || 'This field';
}

/** The first problem the browser or our hints see in `el`, or "". */
function problemOf(form, el) {
  if (!(el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) || el.disabled) return '';
  const label = labelOf(form, el);
  const value = el.value;
  if (el.required && !value.trim()) return `Enter your ${label.toLowerCase()}.`;
  if (el.type === 'email' && value && el.validity.typeMismatch) return 'Enter an email address like name@example.org.';
  // Checked here rather than with validity.tooShort, which ignores script-set values.
  if (el.minLength > 0 && value && value.length < el.minLength) {
    return `${label} must be at least ${el.minLength} characters.`;
  }
  if (el.maxLength > 0 && value.length > el.maxLength) return `${label} must be at most ${el.maxLength} characters.`;
  return '';
}

/**
 * @param {HTMLFormElement} form  rendered with `novalidate`
 * @param {object} options
 * @param {AbortSignal} options.signal  the view's signal
 * @param {HTMLButtonElement} options.button  the submit button
 * @param {HTMLElement} options.errors  the form's [data-form-error] region
 * @param {HTMLElement} [options.status]  a [data-form-status] region cleared on submit
 * @param {(form: HTMLFormElement) => Promise<void>} options.onSubmit
 * @param {(error: unknown) => void} [options.onError]  after the message is shown
 */
export function bindForm(form, { signal, button, errors, status, onSubmit, onError }) {
  form.noValidate = true;
  let pending = false;

  form.addEventListener(
    'input',
    (event) => {
      if (event.target instanceof Element) event.target.removeAttribute('aria-invalid');
    },
    { signal },
  );

  form.addEventListener(
    'submit',
    async (event) => {
      event.preventDefault();
      if (pending) return;
      showMessage(errors, 'error', '');
      if (status) showMessage(status, 'success', '');

      for (const el of form.elements) {
        const problem = problemOf(form, el);
        if (!problem) continue;
        el.setAttribute('aria-invalid', 'true');
        showMessage(errors, 'error', problem);
        el.focus();
        return;
      }

      pending = true;
      form.setAttribute('aria-busy', 'true');
      setPending(button, true);
      try {
        await onSubmit(form);
      } catch (error) {
        if (signal.aborted) return;
        showMessage(errors, 'error', messageOf(error));
        onError?.(error);
      } finally {
        pending = false;
        if (form.isConnected) {
          form.removeAttribute('aria-busy');
          setPending(button, false);
        }
      }
    },
    { signal },
  );
}
