// "Who contributed" to the active file: stored changes per person, and the session's
// contributors as Co-authored-by trailers for a commit message (built by the server, with
// no-reply addresses, so members never see each other's email).

import { messageOf } from '../api/api-error.js';
import { h, replaceChildren } from '../dom.js';
import { notice } from '../ui/notice.js';
import { ago, nameOf, timeLabel } from './people.js';

const BUTTON = 'rounded-md border border-line bg-surface px-2 py-1 text-xs font-medium text-fg hover:bg-subtle disabled:cursor-not-allowed disabled:opacity-50';

export function createContributors({ api, signal, colors }) {
  let fileId = null;
  let generation = 0;
  const list = h('ul', { class: 'flex flex-col gap-1.5', 'aria-label': 'Contributors to this file', dataset: { contributors: '' } });
  const message = h('div', { class: 'empty:hidden', role: 'status', dataset: { trailersMessage: '' } });
  const output = h('textarea', {
    readonly: true,
    rows: '3',
    'aria-label': 'Co-authored-by trailers',
    class: 'block w-full resize-y rounded-md border border-line bg-canvas px-2 py-1 font-mono text-xs text-fg',
    hidden: true,
    dataset: { trailers: '' },
  });
  const copyButton = h('button', { type: 'button', class: BUTTON, dataset: { copyTrailers: '' }, onClick: () => copy(), signal }, 'Copy Co-authored-by trailers');
  const element = h('div', { class: 'flex flex-col gap-2' }, list, h('div', { class: 'flex' }, copyButton), message, output);

  async function copy() {
    const target = fileId;
    if (!target) return;
    copyButton.disabled = true;
    message.replaceChildren();
    try {
      const text = (await api.trailers(target)).trim();
      if (target !== fileId) return;
      output.value = text;
      output.hidden = !text;
      if (!text) {
        message.replaceChildren(notice('info', 'Nobody else has changed this file: there is no one to credit.'));
        return;
      }
      const lines = text.split('\n').length;
      try {
        await navigator.clipboard.writeText(text);
        message.replaceChildren(notice('success', `Copied ${lines === 1 ? '1 trailer' : `${lines} trailers`}. Paste them at the end of your commit message.`));
      } catch {
        output.select();
        message.replaceChildren(notice('info', 'Copying is not allowed here: the trailers are selected below, copy them yourself.'));
      }
    } catch (error) {
      if (!signal.aborted) message.replaceChildren(notice('error', messageOf(error)));
    } finally {
      copyButton.disabled = false;
    }
  }

  async function reload() {
    const target = fileId;
    const mine = ++generation;
    message.replaceChildren();
    output.hidden = true;
    if (!target) {
      replaceChildren(list, h('li', { class: 'text-xs text-muted' }, 'Open a file to see who contributed.'));
      return;
    }
    replaceChildren(list, h('li', { class: 'text-xs text-muted', role: 'status' }, 'Loading…'));
    try {
      const { contributors = [] } = await api.contributors(target);
      if (mine !== generation) return;
      if (!contributors.length) {
        replaceChildren(list, h('li', { class: 'text-xs text-muted' }, 'No recorded changes yet.'));
        return;
      }
      replaceChildren(
        list,
        contributors.map((person) =>
          h(
            'li',
            { class: 'flex items-center gap-2 text-sm', dataset: { contributor: person.user?.username ?? '' } },
            h('span', { class: `cc-person-swatch size-3 shrink-0 rounded-full ${colors.classFor(person.user)}`, 'aria-hidden': 'true' }),
            h('span', { class: 'min-w-0 flex-1 truncate font-medium' }, nameOf(person.user)),
            h(
              'span',
              { class: 'text-xs text-muted', title: `Last change ${timeLabel(person.last_at)}` },
              `${person.changes} ${person.changes === 1 ? 'change' : 'changes'}`,
              person.assistant_changes ? ` (${person.assistant_changes} by the assistant)` : '',
              ` · ${ago(person.last_at)}`,
            ),
          ),
        ),
      );
    } catch (error) {
      if (mine === generation && !signal.aborted) replaceChildren(list, h('li', null, notice('error', messageOf(error))));
    }
  }

  return {
    element,
    setFile(next) {
      fileId = next;
      reload();
    },
    reload,
  };
}
