// The code a message points at, inside its bubble: the file path and lines as a link that
// opens the file with that range selected, and the snippet as text. Deleted code says so and
// links to the file's history at the version the message was sent on; code in a workspace the
// reader cannot open shows only that (the server sends nothing more).

import { h } from '../dom.js';
import { linesLabel } from './code-ref-draft.js';

const BOX = 'my-1 block overflow-hidden rounded-md border border-black/10 bg-black/5 text-[0.8125rem] dark:border-white/15 dark:bg-white/10';
const HEAD = 'flex items-center gap-2 border-b border-black/10 px-2 py-1 font-medium dark:border-white/15';
const LINK = 'truncate underline underline-offset-2 hover:opacity-80';
const CODE = 'max-h-64 overflow-auto px-2 py-1.5 font-mono leading-snug';
const NOTE = 'px-2 py-1.5 italic opacity-80';

/** Where a link opens the file with characters [start, end) selected. */
export function codeRangeHref(ref) {
  return `/w/${ref.workspace_id}/f/${ref.file_id}?range=${ref.start}-${ref.end}`;
}

/** Where a link opens the file's history at `version`. */
export function codeVersionHref(ref) {
  return `/w/${ref.workspace_id}/f/${ref.file_id}?version=${ref.version}`;
}

function snippetBlock(text) {
  return h('pre', { class: CODE, dataset: { codeRefSnippet: '' } }, h('code', null, text));
}

/**
 * @param {object|null} ref  the message's `code_ref` (docs/api.md), or a pending send's draft
 * @returns {HTMLElement|null}
 */
export function codeRefBlock(ref) {
  if (!ref) return null;
  if (ref.draft) {
    return h(
      'div',
      { class: BOX, dataset: { codeRef: 'pending' } },
      h('div', { class: HEAD }, h('span', { class: 'truncate' }, `${ref.path} · ${linesLabel(ref.startLine, ref.endLine)}`)),
      snippetBlock(ref.snippet),
    );
  }
  if (ref.available === false) {
    return h('div', { class: BOX, dataset: { codeRef: 'unavailable' } }, h('p', { class: NOTE }, "Code in a workspace you can't open"));
  }
  if (ref.deleted) {
    return h(
      'div',
      { class: BOX, dataset: { codeRef: 'deleted' } },
      h(
        'p',
        { class: NOTE },
        ref.file_deleted ? 'The referenced code was deleted, with its file' : 'The referenced code was deleted',
      ),
      ref.file_deleted
        ? null
        : h(
            'p',
            { class: 'px-2 pb-1.5' },
            h(
              'a',
              { href: codeVersionHref(ref), class: LINK, dataset: { codeRefVersion: '' } },
              `See it in ${ref.path ?? 'the file'}, version ${ref.version}`,
            ),
          ),
    );
  }
  return h(
    'div',
    { class: BOX, dataset: { codeRef: 'live' } },
    h(
      'div',
      { class: HEAD },
      h(
        'a',
        {
          href: codeRangeHref(ref),
          class: LINK,
          title: 'Open the file with this code selected',
          dataset: { codeRefOpen: '' },
        },
        `${ref.path} · ${linesLabel(ref.start_line, ref.end_line)}`,
      ),
    ),
    snippetBlock(ref.snippet),
  );
}

/** What of a reference changes its look (for the message item's signature). */
export function codeRefSignature(ref) {
  if (!ref) return '';
  return JSON.stringify([ref.available, ref.deleted, ref.path, ref.start, ref.end, ref.snippet, ref.draft ? 'd' : '']);
}
