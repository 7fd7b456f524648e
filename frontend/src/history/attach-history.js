// File history in the workspace editor: one call adds the "History" toolbar button, its
// shortcut (Alt+Shift+H), the editor's "Comment on selection" action and the live
// `workspace.event` frames of comments, checkpoints and restores. The panel, the version
// view, authorship and the comments in the margin are a lazily loaded chunk (history-ui.js),
// fetched when the browser is idle or on first use, so the editor opens as fast as before.

import { h } from '../dom.js';
import { events } from '../events/events-socket.js';

const IS_MAC = /Mac|iPhone|iPad/.test(navigator.platform);
export const HISTORY_SHORTCUT_LABEL = IS_MAC ? '⌥⇧H' : 'Alt+Shift+H';
const EVENT_TYPES = new Set(['comment.added', 'comment.updated', 'history.checkpoint', 'history.restored']);

/**
 * @param {object} options
 * @param {object} options.monaco
 * @param {object} options.editor  the workspace's Monaco editor
 * @param {HTMLElement} options.frame  the editor's frame: the version view covers it
 * @param {string} options.workspaceId
 * @param {() => boolean} options.canEdit  false for a viewer
 * @param {AbortSignal} options.signal
 * @param {() => string|null} options.activeFileId
 * @param {() => Array<{fileId: string, path: string, model: object, session: object}>} options.openFiles
 * @returns {{panel: HTMLElement, button: HTMLElement, showVersion: (version: number) => void}} the panel and
 *   button to place in the layout, and a way to open the history at a version
 */
export function attachHistory(options) {
  const { monaco, editor, signal } = options;
  let ui = null;
  let loading = null;

  function load() {
    loading ??= import('./history-ui.js').then(
      (module) => {
        if (signal.aborted) return null;
        ui = module.startHistory({ ...options, slot, button, shortcutLabel: HISTORY_SHORTCUT_LABEL });
        return ui;
      },
      (error) => {
        loading = null; // the next click tries again
        button.dataset.historyState = 'error';
        button.title = `History could not be loaded: ${error?.message ?? 'try again'} (${HISTORY_SHORTCUT_LABEL})`;
        return null;
      },
    );
    return loading;
  }
  const withUi = (fn) => load().then((loaded) => loaded && !signal.aborted && fn(loaded));

  // The panel's place in the layout, filled by the chunk.
  const slot = h('div', { class: 'contents', dataset: { historySlot: '' } });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'flex items-center gap-1.5 rounded-md border border-line px-2 py-1 text-xs font-medium text-fg hover:bg-subtle aria-pressed:bg-subtle',
      'aria-pressed': 'false',
      'aria-controls': 'history-panel',
      'aria-keyshortcuts': 'Alt+Shift+H',
      title: `History, authorship and comments of this file (${HISTORY_SHORTCUT_LABEL})`,
      dataset: { historyToggle: '' },
      onClick: () => withUi((loaded) => loaded.toggle()),
      signal,
    },
    h('span', { class: 'inline-block size-2 rounded-full border border-current', 'aria-hidden': 'true' }),
    'History',
  );

  const { KeyMod, KeyCode } = monaco;
  editor.addCommand(KeyMod.Alt | KeyMod.Shift | KeyCode.KeyH, () => withUi((loaded) => loaded.toggle()));
  window.addEventListener(
    'keydown',
    (event) => {
      if (event.defaultPrevented || !event.altKey || !event.shiftKey || event.ctrlKey || event.metaKey || event.code !== 'KeyH') return;
      event.preventDefault();
      withUi((loaded) => loaded.toggle());
    },
    { signal },
  );
  const action = editor.addAction({
    id: 'collabcode.history.comment',
    label: 'Comment on selection',
    precondition: 'editorHasSelection',
    contextMenuGroupId: '9_history',
    contextMenuOrder: 1,
    run: () => withUi((loaded) => loaded.commentOnSelection()),
  });

  const off = events.on('workspace.event', (frame) => {
    const event = frame?.event;
    if (frame?.workspace_id !== options.workspaceId || !event || !EVENT_TYPES.has(event.type)) return;
    ui?.handleEvent(event); // before the chunk is loaded there is nothing to update: it reads fresh on load
  });
  const offState = events.onState((state) => state === 'open' && ui?.resync());
  // At once, not later: a closed tab's model is disposed right after the editor lets go of it.
  const modelListener = editor.onDidChangeModel(() => ui?.activeChanged());
  signal.addEventListener(
    'abort',
    () => {
      off();
      offState();
      modelListener.dispose();
      action.dispose();
    },
    { once: true },
  );

  // Comments show in the margin for everyone: load the chunk once the browser is idle.
  const idle = window.requestIdleCallback ?? ((fn) => setTimeout(fn, 1500));
  idle(() => !signal.aborted && load());

  return { panel: slot, button, showVersion: (version) => withUi((loaded) => loaded.showVersion(version)) };
}
