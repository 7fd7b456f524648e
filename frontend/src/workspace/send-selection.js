// "Send selection in a message…": an editor action (in the editor's context menu and in its
// command palette, F1) that sends the selected code to a conversation. The user picks one of
// their conversations (or types a username); the messages page then opens with the code
// attached to the composer as a removable chip (src/messages/code-ref-draft.js), sent as the
// message's `code_ref` (docs/chat.md "Code references").

import { h, replaceChildren } from '../dom.js';
import { codePointIndex } from '../history/history-api.js';
import { saveCodeRefDraft } from '../messages/code-ref-draft.js';
import { listConversations, openConversation } from '../messages/messages-api.js';
import { avatar, displayNameOf } from '../ui/avatar.js';

/** The most a message may reference (the server's MAX_CODE_REF_CHARS). */
export const MAX_CODE_REF_CHARS = 20000;

const BUTTON = 'rounded-md border border-line bg-surface px-3 py-1.5 text-sm font-medium hover:bg-subtle';
const PRIMARY = 'rounded-md bg-accent px-3 py-1.5 text-sm font-semibold text-on-accent hover:bg-accent-strong';
const ROW = 'flex w-full items-center gap-3 rounded-md px-2 py-1.5 text-left hover:bg-subtle focus:bg-subtle focus:outline-none';

/** In-app navigation, through the router's popstate handling. */
function navigate(href) {
  history.pushState(null, '', href);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/**
 * Ask which conversation gets the code. Resolves with a conversation id, or null if cancelled.
 * @param {string} label  what is being sent ("src/app.py · lines 3–7")
 */
function pickConversation(label) {
  return new Promise((resolve) => {
    let chosen = null;
    const dialog = h('dialog', {
      class: 'm-auto w-full max-w-md rounded-lg border border-line bg-surface p-5 text-fg shadow-xl backdrop:bg-black/40',
      'aria-labelledby': 'send-code-title',
      dataset: { sendCodeDialog: '' },
    });
    const finish = (value) => {
      chosen = value;
      dialog.close();
    };
    const filter = h('input', {
      id: 'send-code-filter',
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'Name or username',
      class: 'w-full rounded-md border border-line bg-surface px-3 py-2 text-sm text-fg',
      dataset: { sendCodeFilter: '' },
    });
    const list = h('ul', { class: 'mt-2 flex max-h-72 flex-col gap-0.5 overflow-y-auto', 'aria-label': 'Conversations' });
    const status = h('p', { class: 'min-h-5 text-sm text-muted', role: 'status' }, 'Loading your conversations…');
    let conversations = [];

    function render() {
      const query = filter.value.trim().toLowerCase().replace(/^@/, '');
      const shown = conversations.filter(
        (c) => !query || c.peer.username.includes(query) || displayNameOf(c.peer).toLowerCase().includes(query),
      );
      const rows = shown.map((c) =>
        h(
          'li',
          null,
          h(
            'button',
            { type: 'button', class: ROW, dataset: { sendCodeTo: c.peer.username }, onClick: () => finish(c.id) },
            avatar(c.peer),
            h('span', { class: 'min-w-0' }, h('span', { class: 'block truncate font-medium' }, displayNameOf(c.peer)), h('span', { class: 'block truncate text-xs text-muted' }, `@${c.peer.username}`)),
          ),
        ),
      );
      const exact = shown.some((c) => c.peer.username === query);
      if (query && !exact && /^[a-z0-9_-]{1,64}$/.test(query)) {
        rows.push(
          h(
            'li',
            null,
            h(
              'button',
              { type: 'button', class: ROW, dataset: { sendCodeNew: query }, onClick: () => startWith(query) },
              h('span', { class: 'font-medium' }, `Message @${query}`),
            ),
          ),
        );
      }
      replaceChildren(list, rows);
      if (conversations.length || query) status.textContent = rows.length ? '' : 'Nobody by that name.';
    }

    async function startWith(username) {
      status.textContent = `Opening a conversation with @${username}…`;
      try {
        const conversation = await openConversation(username);
        finish(conversation.id);
      } catch (error) {
        status.textContent = error?.status === 404 ? `There is nobody called @${username}.` : error?.message || 'That did not work.';
      }
    }

    filter.addEventListener('input', render);
    filter.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        list.querySelector('button')?.click();
      }
    });
    dialog.append(
      h('h2', { id: 'send-code-title', class: 'text-lg font-semibold' }, 'Send code in a message'),
      h('p', { class: 'mt-1 truncate font-mono text-xs text-muted', dataset: { sendCodeLabel: '' } }, label),
      h('label', { for: 'send-code-filter', class: 'mt-3 block text-sm font-medium' }, 'To'),
      filter,
      list,
      status,
      h('div', { class: 'mt-3 flex justify-end gap-2' }, h('button', { type: 'button', class: BUTTON, onClick: () => finish(null) }, 'Cancel')),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(chosen);
    });
    document.body.append(dialog);
    dialog.showModal();
    filter.focus();
    listConversations().then(
      (data) => {
        conversations = (data?.conversations ?? []).filter((c) => !c.blocked);
        status.textContent = conversations.length ? '' : 'No conversations yet: type a username.';
        render();
      },
      (error) => {
        status.textContent = error?.message || 'Your conversations could not be loaded.';
      },
    );
  });
}

/** Tell the user something in a small modal (the selection is too long, and the like). */
function tell(title, text) {
  const dialog = h(
    'dialog',
    { class: 'm-auto w-full max-w-sm rounded-lg border border-line bg-surface p-5 text-fg shadow-xl backdrop:bg-black/40', role: 'alertdialog' },
    h('h2', { class: 'text-lg font-semibold' }, title),
    h('p', { class: 'mt-2 text-sm text-muted' }, text),
    h('div', { class: 'mt-4 flex justify-end' }, h('button', { type: 'button', class: PRIMARY, onClick: () => dialog.close() }, 'OK')),
  );
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

/**
 * Add the action to the workspace editor.
 * @param {object} options
 * @param {object} options.editor  the workspace's Monaco editor
 * @param {string} options.workspaceId
 * @param {() => {fileId: string, path: string}|null} options.activeFile
 * @param {AbortSignal} options.signal
 */
export function attachSendSelection({ editor, workspaceId, activeFile, signal }) {
  const action = editor.addAction({
    id: 'collabcode.chat.sendSelection',
    label: 'Send selection in a message…',
    precondition: 'editorHasSelection',
    contextMenuGroupId: '9_history',
    contextMenuOrder: 2,
    run: () => sendSelection(),
  });
  signal.addEventListener('abort', () => action.dispose(), { once: true });

  async function sendSelection() {
    const model = editor.getModel();
    const selection = editor.getSelection();
    const file = activeFile();
    if (!model || !selection || selection.isEmpty() || !file) return;
    const text = model.getValue();
    const start = codePointIndex(text, model.getOffsetAt(selection.getStartPosition()));
    const end = codePointIndex(text, model.getOffsetAt(selection.getEndPosition()));
    if (end - start > MAX_CODE_REF_CHARS) {
      tell('Selection too long', `A message can point at up to ${MAX_CODE_REF_CHARS.toLocaleString()} characters of code. Select less and try again.`);
      return;
    }
    const startLine = selection.startLineNumber;
    // A selection ending at the start of a line does not include that line.
    const endLine = selection.endColumn === 1 && selection.endLineNumber > startLine ? selection.endLineNumber - 1 : selection.endLineNumber;
    const snippet = model.getValueInRange(selection);
    const label = `${file.path} · ${startLine === endLine ? `line ${startLine}` : `lines ${startLine}–${endLine}`}`;
    const conversationId = await pickConversation(label);
    if (!conversationId || signal.aborted) return;
    saveCodeRefDraft({
      conversationId,
      ref: { workspace_id: workspaceId, file_id: file.fileId, start, end },
      path: file.path,
      startLine,
      endLine,
      snippet,
    });
    navigate(`/messages/${conversationId}`);
  }
}
