// The assistant in the workspace editor: one call wires the status check, ghost text, the
// chat panel with its toolbar button and shortcut, the editor's context-menu actions, and
// the "Assistant (for …)" markers of everyone's applied edits.

import { messageOf } from '../api/api-error.js';
import { getSession } from '../auth/session.js';
import { h } from '../dom.js';
import { fetchStatus } from './assistant-api.js';
import { createChatPanel } from './chat-panel.js';
import { createCodeActions } from './code-actions.js';
import { registerGhostText } from './ghost-text.js';
import { watchAssistantPresence } from './presence.js';
import { QUICK_ACTIONS } from './prompts.js';
import { trackRange } from './shared-edit.js';

const MAX_SELECTION_CHARS = 16000;
const MAX_OPEN_FILES = 20;
const IS_MAC = /Mac|iPhone|iPad/.test(navigator.platform);
const SHORTCUT_LABEL = IS_MAC ? '⌘⇧Y' : 'Ctrl+Shift+Y';

/**
 * @param {object} options
 * @param {object} options.monaco
 * @param {object} options.editor  the workspace's Monaco editor
 * @param {string} options.workspaceId
 * @param {() => boolean} options.canEdit  false for a viewer, or while the active file is read-only
 * @param {AbortSignal} options.signal  aborts when the workspace view goes away
 * @param {() => Array<{fileId: string, path: string, model: object, session: object}>} options.openFiles  open tabs
 * @param {() => string|null} options.activeFileId
 * @returns {{panel: HTMLElement, button: HTMLElement}} to place in the layout
 */
export function attachAssistant({ monaco, editor, workspaceId, canEdit, signal, openFiles, activeFileId }) {
  let status = null;
  let ghostProblem = false;
  const writable = () => canEdit() && !editor.getOption(monaco.editor.EditorOption.readOnly);
  // Files whose document is connected (a session is briefly missing while it restarts).
  const fileById = (fileId) => openFiles().find((file) => file.fileId === fileId && file.session) ?? null;
  const activeFile = () => {
    const id = activeFileId();
    return id ? fileById(id) : null;
  };

  /**
   * What a question is about: the active file, its selection, the other tabs. With
   * `track`, the selection is also remembered as a range that follows everyone's edits.
   */
  function getContext({ track = false } = {}) {
    const file = activeFile();
    if (!file || editor.getModel() !== file.model) return null;
    const context = {
      fileId: file.fileId,
      path: file.path,
      selection: null,
      target: null,
      openFiles: openFiles()
        .map((f) => f.fileId)
        .filter((id) => id !== file.fileId)
        .slice(0, MAX_OPEN_FILES),
    };
    const range = editor.getSelection();
    if (range && !range.isEmpty()) {
      const text = file.model.getValueInRange(range);
      if (text.trim()) {
        context.selection = {
          text: text.slice(0, MAX_SELECTION_CHARS),
          start_line: range.startLineNumber,
          end_line: range.endLineNumber,
        };
        if (track) {
          const from = file.model.getOffsetAt(range.getStartPosition());
          const to = file.model.getOffsetAt(range.getEndPosition());
          context.target = { fileId: file.fileId, path: file.path, tracked: trackRange(file.session, from, to) };
        }
      }
    }
    return context;
  }

  // Toolbar button ------------------------------------------------------------------
  const dot = h('span', { class: 'inline-block size-2 rounded-full bg-line', 'aria-hidden': 'true', dataset: { assistantDot: '' } });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'flex items-center gap-1.5 rounded-md border border-line px-2 py-1 text-xs font-medium text-fg hover:bg-subtle aria-pressed:bg-subtle',
      'aria-pressed': 'false',
      'aria-controls': 'assistant-panel',
      'aria-keyshortcuts': IS_MAC ? 'Meta+Shift+Y' : 'Control+Shift+Y',
      title: `Assistant (${SHORTCUT_LABEL})`,
      dataset: { assistantToggle: '' },
      onClick: () => panel.toggle(),
      signal,
    },
    dot,
    'Assistant',
  );

  const codeActions = createCodeActions({ monaco, editor, canEdit: writable, activeFile, fileById });

  const panel = createChatPanel({
    signal,
    workspaceId,
    canEdit: writable,
    shortcutLabel: SHORTCUT_LABEL,
    getContext,
    codeActions,
    onAssistantOff: () => loadStatus(),
    onRetryStatus: () => loadStatus(),
    onToggle(isOpen, { focusEditor = false } = {}) {
      button.setAttribute('aria-pressed', String(isOpen));
      if (isOpen) loadStatus();
      else if (focusEditor && editor.getModel()) editor.focus();
    },
  });

  function showStatus(next) {
    status = next;
    panel.setStatus(next);
    const on = Boolean(next?.enabled);
    dot.className = `inline-block size-2 rounded-full ${on ? 'bg-ok' : next ? 'bg-wait' : 'bg-line'}`;
    button.dataset.assistantState = next ? (next.error ? 'error' : on ? 'on' : 'off') : 'loading';
    button.title = on
      ? `Assistant (${SHORTCUT_LABEL})`
      : next?.error
        ? `Assistant: status unknown (${SHORTCUT_LABEL})`
        : `Assistant: off (${SHORTCUT_LABEL})`;
  }

  let loading = null;
  function loadStatus() {
    if (loading) return loading;
    loading = fetchStatus(workspaceId, { signal })
      .then(
        (next) => !signal.aborted && showStatus(next),
        (error) => !signal.aborted && error?.name !== 'AbortError' && showStatus({ enabled: false, error: messageOf(error) }),
      )
      .finally(() => {
        loading = null;
      });
    return loading;
  }

  // Ghost text (not for viewers: they could not accept anything) ---------------------
  registerGhostText({
    monaco,
    editor,
    workspaceId,
    enabled: () => Boolean(status?.enabled) && writable(),
    fileFor: (model) => openFiles().find((file) => file.model === model && file.session) ?? null,
    onAssistantOff: () => loadStatus(),
    onProblem(message) {
      // Only clear what ghost text said, not the panel's own messages.
      if (message || ghostProblem) panel.say(message ? 'warning' : null, message);
      ghostProblem = Boolean(message);
    },
    signal,
  });

  // Shortcut, context menu and selection ---------------------------------------------
  const { KeyMod, KeyCode } = monaco;
  editor.addCommand(KeyMod.CtrlCmd | KeyMod.Shift | KeyCode.KeyY, () => panel.toggle());
  window.addEventListener(
    'keydown',
    (event) => {
      if (event.defaultPrevented || event.altKey || !event.shiftKey || event.code !== 'KeyY') return;
      if (!(IS_MAC ? event.metaKey && !event.ctrlKey : event.ctrlKey && !event.metaKey)) return;
      event.preventDefault();
      panel.toggle();
    },
    { signal },
  );
  Object.entries(QUICK_ACTIONS).forEach(([kind, action], index) => {
    const disposable = editor.addAction({
      id: `collabcode.assistant.${kind}`,
      label: action.menu,
      precondition: 'editorHasSelection',
      contextMenuGroupId: '9_assistant',
      contextMenuOrder: index + 1,
      run: () => panel.quickAction(kind),
    });
    signal.addEventListener('abort', () => disposable.dispose(), { once: true });
  });
  const selectionListener = editor.onDidChangeCursorSelection(() => panel.isOpen() && panel.refreshControls());
  const modelListener = editor.onDidChangeModel(() => queueMicrotask(() => panel.isOpen() && panel.refreshControls()));
  signal.addEventListener(
    'abort',
    () => {
      selectionListener.dispose();
      modelListener.dispose();
    },
    { once: true },
  );

  // Monaco's inline-suggest controller waits on a cancellable timer and never catches the
  // cancellation when ghost text changes within 50 ms (VS Code ignores these globally).
  window.addEventListener(
    'unhandledrejection',
    (event) => {
      const error = event.reason;
      if (error instanceof Error && error.name === 'Canceled' && error.message === 'Canceled') event.preventDefault();
    },
    { signal },
  );

  watchAssistantPresence({ monaco, editor, activeFile, myUserId: getSession().user?.id, signal });
  loadStatus();

  return { panel: panel.element, button };
}
