// /w/{workspace_id} and /w/{workspace_id}/f/{file_id}: the workspace editor. A file tree on
// the left, tabs and a collaborative Monaco editor on the right, a status bar below.
// Loaded on demand (it brings Monaco, Yjs and the collaboration provider with it).

import { attachAssistant } from '../assistant/attach-assistant.js';
import { authRequest } from '../auth/auth-request.js';
import { getSession } from '../auth/session.js';
import { h, replaceChildren } from '../dom.js';
import { onColorSchemeChange, prefersDark } from '../editor/color-scheme.js';
import { defineEditorThemes, themeFor } from '../editor/editor-themes.js';
import { loadEditor } from '../editor/load-editor.js';
import { events } from '../events/events-socket.js';
import { attachHistory } from '../history/attach-history.js';
import { TEST_MODE } from '../shell/test-mode.js';
import { notice } from '../ui/notice.js';
import { loadingLine } from '../ui/spinner.js';
import { attachCodeLink } from './code-link.js';
import { openCollabSession } from './collab-session.js';
import { openContextMenu } from './context-menu.js';
import { askText, chooseFolder, confirmDanger } from './dialogs.js';
import { canMoveInto, createFileTree, parentOf } from './file-tree.js';
import { peopleIn, renderPeople, viewOf } from './follow.js';
import { languageForPath } from './languages.js';
import { forgetOfflineDocumentsExcept } from './offline-store.js';
import { attachSendSelection } from './send-selection.js';
import { loadTabs, saveTabs } from './tab-storage.js';

const TREE_REFRESH_MS = 15000;
// With the events socket open, the tree and role are re-read this often anyway.
const EVENTS_FALLBACK_MS = 60000;
// A connection that stays down this long (while the browser is online) gets the banner.
const LOST_CONNECTION_BANNER_MS = 4000;

const CONNECTION_TEXT = { connected: 'Connected', connecting: 'Connecting…', offline: 'Offline' };
const SAVE_TEXT = { saved: 'Saved', saving: 'Saving…', syncing: 'Syncing…', offline: 'Offline' };
const GONE_TEXT = {
  deleted: 'This file was deleted by someone else. Its last text stays here, read-only, until you close the tab.',
  access: 'You no longer have access to this workspace. What was on screen stays here, read-only.',
  session: 'Your session ended. Sign in again to keep editing.',
};

const TOOL_BUTTON =
  'rounded-sm px-1.5 py-0.5 text-xs font-medium text-muted hover:bg-subtle hover:text-fg disabled:opacity-50';

function parsePath(path) {
  const match = /^\/w\/([0-9a-f]{32})(?:\/f\/([0-9a-f]{32}))?$/.exec(path);
  return { workspaceId: match?.[1], fileId: match?.[2] ?? null };
}

function baseName(path) {
  return path.slice(path.lastIndexOf('/') + 1);
}

function validatePath(text) {
  if (!text) return 'Enter a name.';
  if (text.startsWith('/') || text.endsWith('/')) return 'Names cannot start or end with “/”.';
  if (text.split('/').some((part) => part === '' || part === '.' || part === '..')) return 'That is not a valid path.';
  return null;
}

export const workspaceView = {
  title: 'Workspace',
  render(outlet, { signal, path }) {
    const { workspaceId, fileId: initialFileId } = parsePath(path);
    const holder = h('div', { class: 'mx-auto w-full max-w-6xl px-4 py-10' }, loadingLine('Opening the workspace…'));
    outlet.append(holder);

    Promise.all([
      authRequest(`/api/workspaces/${workspaceId}`, { signal }),
      authRequest(`/api/workspaces/${workspaceId}/tree`, { signal }),
      loadEditor(),
    ]).then(
      ([{ data: workspace }, { data: tree }, monaco]) => {
        if (signal.aborted) return;
        outlet.replaceChildren();
        mountWorkspace({ outlet, signal, monaco, workspace, tree, initialFileId });
      },
      (error) => {
        if (signal.aborted) return;
        const missing = error?.status === 404;
        replaceChildren(
          holder,
          h('h1', { class: 'text-2xl font-bold', tabindex: '-1' }, missing ? 'Workspace not found' : 'The workspace could not be opened'),
          h(
            'div',
            { class: 'mt-4', dataset: { view: 'workspace', workspaceState: 'error' } },
            notice(
              'error',
              missing ? 'It does not exist, or you are not a member of it.' : error?.message || 'Check your connection and try again.',
            ),
          ),
          h('p', { class: 'mt-4' }, h('a', { href: '/workspaces', class: 'font-medium text-accent underline' }, 'Back to your workspaces')),
        );
      },
    );
  },
};

function mountWorkspace({ outlet, signal, monaco, workspace, tree, initialFileId }) {
  const workspaceId = workspace.id;
  const me = getSession().user?.id ?? null;
  let role = workspace.role;
  const isReadOnly = () => role === 'viewer';
  const canEdit = () => !isReadOnly() && !lostAccess;
  let lostAccess = false;
  let entries = Array.isArray(tree?.entries) ? tree.entries : [];
  let treeVersion = tree?.version ?? 0;
  const entryById = () => new Map(entries.map((entry) => [entry.id, entry]));
  const pathOf = (id) => entryById().get(id)?.path ?? null;
  // Files this tab deleted: their tabs close instead of showing "deleted by someone else".
  const deletedHere = new Set();

  const savedTabs = loadTabs(workspaceId);
  /** fileId -> { entry, model, session, token, tab, state, peers, viewState, gone, place, restore } */
  const open = new Map();
  let activeId = null;

  // Layout --------------------------------------------------------------------
  const peersBox = h('div', { class: 'flex items-center -space-x-2', dataset: { presence: '' }, 'aria-label': 'People in this workspace', role: 'group' });
  const followText = h('span', { dataset: { followingName: '' } }, '');
  const followPill = h(
    'div',
    {
      class: 'flex items-center gap-1 rounded-full border border-accent/40 bg-accent/10 py-0.5 pr-1 pl-2.5 text-xs font-medium text-fg',
      dataset: { followingPill: '' },
      role: 'status',
      hidden: true,
    },
    followText,
    h(
      'button',
      {
        type: 'button',
        class: 'rounded-full px-1.5 text-muted hover:bg-subtle hover:text-fg',
        title: 'Stop following (Esc)',
        'aria-label': 'Stop following',
        dataset: { stopFollowing: '' },
        onClick: () => stopFollowing(),
        signal,
      },
      '×',
    ),
  );
  const readOnlyBadge = h(
    'span',
    {
      class: 'rounded-full border border-wait/40 bg-wait-bg px-2 py-0.5 text-xs font-semibold text-wait',
      dataset: { readonlyBadge: '' },
      title: 'You are a viewer in this workspace',
      hidden: true,
    },
    'Read only',
  );
  const nameHeading = h('h1', { class: 'truncate text-base font-semibold', tabindex: '-1', dataset: { workspaceName: '' } }, workspace.name);
  const header = h(
    'div',
    { class: 'flex flex-wrap items-center gap-3 border-b border-line bg-surface px-4 py-2' },
    h('a', { href: '/workspaces', class: 'text-sm text-muted hover:text-fg' }, 'Workspaces'),
    h('span', { class: 'text-muted', 'aria-hidden': 'true' }, '/'),
    nameHeading,
    readOnlyBadge,
    h('div', { class: 'ml-auto flex items-center gap-3' }, followPill, peersBox),
  );

  // Shown while the browser is offline or the server cannot be reached.
  const connectionBanner = h('div', {
    role: 'status',
    class: 'border-b border-wait/40 bg-wait-bg px-4 py-1.5 text-sm text-wait empty:hidden',
    dataset: { offlineBanner: '' },
  });

  const fileTree = createFileTree({
    signal,
    canEdit,
    onOpen: (entry) => openFile(entry.id, { focus: true }),
    onRename: (entry) => renameEntry(entry),
    onDelete: (entry) => deleteEntry(entry),
    onMove: (entry, folder) => moveEntry(entry, folder),
    onMenu: (entry, li, at) => entryMenu(entry, li, at),
  });
  const treeError = h('div', { class: 'px-2', role: 'alert' });

  const newFileButton = h('button', { type: 'button', class: TOOL_BUTTON, dataset: { newFile: '' }, title: 'New file', onClick: () => createEntry('file'), signal }, '+ File');
  const newFolderButton = h('button', { type: 'button', class: TOOL_BUTTON, dataset: { newFolder: '' }, title: 'New folder', onClick: () => createEntry('folder'), signal }, '+ Folder');
  const treeHint = h('p', { class: 'border-t border-line px-2 py-1 text-[11px] text-muted' }, 'F2 rename · Del delete · Shift+F10 menu · drag onto a folder to move');
  const sidebar = h(
    'nav',
    { class: 'flex min-h-0 w-60 shrink-0 flex-col border-r border-line bg-surface', 'aria-label': 'Workspace files' },
    h(
      'div',
      { class: 'flex items-center gap-1 border-b border-line px-2 py-1.5' },
      h('h2', { class: 'mr-auto text-xs font-semibold tracking-wide text-muted uppercase' }, 'Files'),
      newFileButton,
      newFolderButton,
      h('button', { type: 'button', class: TOOL_BUTTON, title: 'Reload the file list', 'aria-label': 'Reload the file list', onClick: () => refreshTree(), signal }, '⟳'),
    ),
    treeError,
    h('div', { class: 'min-h-0 flex-1 overflow-auto px-1' }, fileTree.element),
    treeHint,
  );

  const tabList = h('div', { role: 'tablist', 'aria-label': 'Open files', class: 'flex min-h-9 items-end overflow-x-auto border-b border-line bg-subtle' });
  // Why the open file cannot be edited (deleted elsewhere, access lost, role changed).
  const editorNotice = h('div', { class: 'empty:hidden', role: 'status', dataset: { editorNotice: '' } });
  const host = h('div', { class: 'absolute inset-0' });
  const placeholder = h(
    'div',
    { class: 'absolute inset-0 z-10 flex items-center justify-center bg-surface p-6 text-center text-muted', dataset: { editorPlaceholder: '' } },
    '',
  );
  function showPlaceholderText() {
    placeholder.textContent = entries.some((entry) => entry.kind === 'file')
      ? 'Open a file from the list on the left.'
      : !canEdit()
        ? 'This workspace has no files yet.'
        : 'This workspace has no files yet. Create one with “+ File”.';
  }
  const frame = h(
    'div',
    {
      class: 'relative min-h-0 flex-1 overflow-hidden bg-surface focus-within:outline-2 focus-within:-outline-offset-2 focus-within:outline-focus',
      role: 'tabpanel',
      'aria-label': 'Editor',
    },
    host,
    placeholder,
  );

  const languageStatus = h('span', { dataset: { statusLanguage: '' } }, '');
  const cursorStatus = h('span', { dataset: { statusCursor: '' } }, '');
  const connectionStatus = h('span', { dataset: { connection: 'offline' } }, '');
  const saveStatus = h('span', { dataset: { saveState: 'offline', statusSave: '' }, role: 'status' }, '');
  const statusBar = h(
    'div',
    {
      class: 'flex min-h-6 flex-wrap items-center gap-x-4 gap-y-1 border-t border-line bg-subtle px-3 py-1 font-mono text-xs text-muted',
      role: 'group',
      'aria-label': 'Editor status',
    },
    cursorStatus,
    languageStatus,
    h('span', { class: 'ml-auto flex gap-x-4' }, connectionStatus, saveStatus),
  );

  const main = h('section', { class: 'flex min-h-0 min-w-0 flex-1 flex-col', 'aria-label': 'Editor' }, tabList, editorNotice, frame, statusBar);
  const root = h(
    'div',
    { class: 'flex min-h-0 flex-1 flex-col', dataset: { view: 'workspace', workspaceId } },
    header,
    connectionBanner,
    h('div', { class: 'flex min-h-0 flex-1' }, sidebar, main),
  );
  outlet.append(root);
  document.body.classList.add('workspace-open');

  // Editor ----------------------------------------------------------------------
  defineEditorThemes(monaco);
  const editor = monaco.editor.create(host, {
    model: null,
    theme: themeFor(prefersDark()),
    automaticLayout: true,
    readOnly: isReadOnly(),
    readOnlyMessage: { value: 'You can only read this file.' },
    ariaLabel: 'File editor',
    fontSize: 14,
    fontFamily: 'ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace',
    minimap: { enabled: window.matchMedia('(min-width: 1024px)').matches },
    scrollBeyondLastLine: false,
    fixedOverflowWidgets: true,
    padding: { top: 8, bottom: 8 },
  });
  onColorSchemeChange((dark) => monaco.editor.setTheme(themeFor(dark)), signal);

  // Undo and redo only what this user typed (Y.UndoManager tracking the binding's origin).
  const undo = () => open.get(activeId)?.session?.undoManager.undo();
  const redo = () => open.get(activeId)?.session?.undoManager.redo();
  const { KeyMod, KeyCode } = monaco;
  editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyZ, undo);
  editor.addCommand(KeyMod.CtrlCmd | KeyMod.Shift | KeyCode.KeyZ, redo);
  editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyY, redo);

  // The assistant: ghost text, its chat panel and toolbar button (see src/assistant/).
  const assistant = attachAssistant({
    monaco,
    editor,
    workspaceId,
    canEdit,
    signal,
    activeFileId: () => activeId,
    openFiles: () => [...open].map(([fileId, item]) => ({ fileId, path: item.entry.path, model: item.model, session: item.session })),
  });
  main.after(assistant.panel);
  peersBox.after(assistant.button);

  // File history, authorship and comments on the code (see src/history/).
  const fileHistory = attachHistory({
    monaco,
    editor,
    frame,
    workspaceId,
    canEdit,
    signal,
    activeFileId: () => activeId,
    openFiles: () => [...open].map(([fileId, item]) => ({ fileId, path: item.entry.path, model: item.model, session: item.session })),
  });
  assistant.panel.after(fileHistory.panel);
  peersBox.after(fileHistory.button);

  // Code in messages (docs/chat.md): "Send selection in a message…", and links into a file.
  attachSendSelection({
    editor,
    workspaceId,
    signal,
    activeFile: () => (open.has(activeId) ? { fileId: activeId, path: open.get(activeId).entry.path } : null),
  });
  attachCodeLink({
    monaco,
    editor,
    signal,
    fileId: initialFileId,
    activeFileId: () => activeId,
    modelOf: (id) => open.get(id)?.model ?? null,
    showVersion: fileHistory.showVersion,
  });

  editor.onDidChangeCursorSelection(({ selection }) => {
    const model = editor.getModel();
    if (!model) return;
    const selected = model.getValueLengthInRange(selection);
    cursorStatus.textContent = `Ln ${selection.positionLineNumber}, Col ${selection.positionColumn}${selected ? ` (${selected} selected)` : ''}`;
  });

  /** Read-only when we are a viewer, or the open file is gone or out of reach. */
  function applyReadOnly() {
    const item = open.get(activeId);
    const gone = item?.gone ?? null;
    editor.updateOptions({
      readOnly: !canEdit() || Boolean(gone),
      readOnlyMessage: { value: gone ? GONE_TEXT[gone] : 'You are a viewer in this workspace: you can read but not edit.' },
    });
    replaceChildren(
      editorNotice,
      gone && h('div', { class: 'border-b border-bad/40 bg-bad-bg px-4 py-1.5 text-sm text-bad', dataset: { gone } }, GONE_TEXT[gone]),
      !gone && item && roleNotice && h('div', { class: 'border-b border-wait/40 bg-wait-bg px-4 py-1.5 text-sm text-wait', dataset: { roleChanged: '' } }, roleNotice),
    );
  }
  let roleNotice = '';

  // Status ----------------------------------------------------------------------
  function showStatus() {
    const item = open.get(activeId);
    const connection = item?.state.connection ?? 'offline';
    const save = item?.state.save ?? 'offline';
    connectionStatus.dataset.connection = item ? connection : 'offline';
    connectionStatus.textContent = item ? (item.gone ? 'Closed' : CONNECTION_TEXT[connection]) : '';
    saveStatus.dataset.saveState = save;
    let text = SAVE_TEXT[save];
    // The connection already says "Offline": say what that means for the edits.
    if (save === 'offline') text = item?.state.pending ? 'Edits kept in this browser' : 'All saved';
    if (!canEdit() && (save === 'saved' || save === 'offline')) text = 'Read only';
    saveStatus.textContent = item && !item.gone ? text : '';
    languageStatus.textContent = item ? languageLabel(item.model.getLanguageId()) : '';
    if (!item) cursorStatus.textContent = '';
    showConnectionBanner();
  }

  function languageLabel(id) {
    const language = monaco.languages.getLanguages().find((l) => l.id === id);
    return language?.aliases?.[0] ?? id;
  }

  // Offline banner: the browser is offline, or the active file's socket stayed down a while.
  let bannerTimer = 0;
  function showConnectionBanner() {
    clearTimeout(bannerTimer);
    const item = open.get(activeId);
    const live = [...open.values()].filter((other) => !other.gone);
    const pending = live.some((other) => other.state.pending);
    let text = '';
    if (!navigator.onLine) {
      text = canEdit()
        ? 'You are offline. Keep typing: your edits are kept in this browser and merged when the connection is back.'
        : 'You are offline. The files shown may be out of date.';
    } else if (item && !item.gone && item.state.connection !== 'connected') {
      const waited = Date.now() - (item.downSince ?? Date.now());
      if (waited >= LOST_CONNECTION_BANNER_MS) {
        text = `The connection to the server was lost. Reconnecting…${pending ? ' Your edits are kept in this browser meanwhile.' : ''}`;
      } else bannerTimer = setTimeout(showConnectionBanner, LOST_CONNECTION_BANNER_MS - waited + 50);
    }
    if (connectionBanner.textContent !== text) connectionBanner.textContent = text;
  }
  window.addEventListener('online', () => {
    for (const item of open.values()) item.session?.reconnect();
    showConnectionBanner();
  }, { signal });
  window.addEventListener('offline', () => {
    for (const item of open.values()) item.session?.goOffline();
    showConnectionBanner();
  }, { signal });

  // Presence and follow mode ----------------------------------------------------
  let following = null; // { key, name }
  let lastFollowReveal = '';

  function showPeers() {
    const people = peopleIn(open, me);
    if (following && !people.some((person) => person.key === following.key)) stopFollowing();
    renderPeople(peersBox, people, {
      followingKey: following?.key ?? null,
      pathOf,
      onFollow: (person) => (person ? follow(person) : stopFollowing()),
      signal,
    });
  }

  function follow(person) {
    following = { key: person.key, name: person.user.name };
    lastFollowReveal = '';
    followText.textContent = `Following ${person.user.name}`;
    followPill.hidden = false;
    showPeers();
    applyFollow();
  }

  function stopFollowing() {
    if (!following) return;
    following = null;
    followPill.hidden = true;
    showPeers();
  }

  /** Show what the followed person is looking at: their file, then their lines. */
  function applyFollow() {
    if (!following) return;
    const person = peopleIn(open, me).find((p) => p.key === following.key);
    const view = person?.view;
    if (!view) return;
    if (view.file !== activeId) {
      const entry = entryById().get(view.file);
      if (entry?.kind === 'file') openFile(view.file);
      return;
    }
    const reveal = `${view.file}:${view.top}:${view.bottom}`;
    // Wait for the text to arrive before scrolling to lines it does not have yet.
    if (reveal === lastFollowReveal || (editor.getModel()?.getLineCount() ?? 0) < view.top) return;
    lastFollowReveal = reveal;
    editor.setScrollTop(editor.getTopForLineNumber(view.top));
  }

  editor.onKeyDown((event) => {
    if (!following) return;
    if (event.keyCode === KeyCode.Escape) {
      stopFollowing();
      return;
    }
    // Any key but a bare modifier (typing, moving your own cursor) means you took over.
    if (!event.ctrlKey && !event.metaKey && !event.altKey && ![KeyCode.Shift, KeyCode.Ctrl, KeyCode.Alt, KeyCode.Meta].includes(event.keyCode)) stopFollowing();
  });
  root.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && following && !event.defaultPrevented) stopFollowing();
  }, { signal });

  // What we show, published to everyone in our open files (for their follow mode).
  let publishTimer = 0;
  function publishView() {
    clearTimeout(publishTimer);
    publishTimer = setTimeout(() => {
      const ranges = editor.getVisibleRanges();
      const view = activeId && ranges.length
        ? { file: activeId, top: ranges[0].startLineNumber, bottom: ranges[ranges.length - 1].endLineNumber }
        : null;
      for (const item of open.values()) item.session?.setLocalFields({ view });
    }, 150);
  }
  editor.onDidScrollChange(publishView);
  editor.onDidLayoutChange(publishView);

  // Tabs ------------------------------------------------------------------------
  function tabFor(fileId, entry) {
    const label = h('span', { class: 'truncate', dataset: { tabLabel: '' } }, baseName(entry.path));
    // A mouse target only (a control inside a tab would be nested in it): keyboard users close
    // the focused tab with Delete, as its description says.
    const close = h(
      'span',
      {
        class: 'cursor-pointer rounded-sm px-1 text-muted hover:bg-subtle hover:text-fg',
        'aria-hidden': 'true',
        title: 'Close (Delete)',
        dataset: { tabClose: '' },
        onClick: (event) => {
          event.stopPropagation();
          closeFile(fileId);
        },
        signal,
      },
      '×',
    );
    const tab = h(
      'div',
      {
        role: 'tab',
        tabindex: '-1',
        'aria-selected': 'false',
        title: entry.path,
        'aria-description': 'Delete closes the tab',
        class:
          'flex max-w-48 shrink-0 cursor-pointer items-center gap-1 border-r border-line px-3 py-1.5 text-sm text-muted outline-none hover:text-fg focus-visible:ring-2 focus-visible:ring-focus aria-selected:bg-surface aria-selected:text-fg data-[gone]:italic',
        dataset: { tab: '', fileId },
        onClick: () => activate(fileId, { focus: true }),
        onKeydown: (event) => {
          const tabs = [...tabList.querySelectorAll('[role=tab]')];
          const i = tabs.indexOf(tab);
          if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
            event.preventDefault();
            const next = tabs[(i + (event.key === 'ArrowRight' ? 1 : -1) + tabs.length) % tabs.length];
            next.focus();
            activate(next.dataset.fileId, { focus: false });
          } else if (event.key === 'Delete') {
            event.preventDefault();
            closeFile(fileId);
          } else if (event.key === 'Enter') {
            editor.focus();
          }
        },
        signal,
      },
      label,
      h('span', { class: 'shrink-0 text-xs text-bad not-italic', dataset: { tabGone: '' } }, ''),
      close,
    );
    return tab;
  }

  function showTabGone(item) {
    const text = item.gone === 'deleted' ? '(deleted)' : item.gone ? '(closed)' : '';
    item.tab.querySelector('[data-tab-gone]').textContent = text;
    if (item.gone) item.tab.dataset.gone = item.gone;
    else delete item.tab.dataset.gone;
  }

  function persistTabs() {
    const active = open.get(activeId);
    const position = active && !active.restore && editor.getModel() === active.model ? editor.getPosition() : null;
    if (position) active.place = { line: position.lineNumber, column: position.column, top: Math.round(editor.getScrollTop()) };
    const tabs = [...open.keys()].filter((id) => !open.get(id).gone);
    const places = Object.fromEntries(tabs.filter((id) => open.get(id).place).map((id) => [id, open.get(id).place]));
    saveTabs(workspaceId, { tabs, active: activeId, places });
  }
  let persistTimer = 0;
  const persistSoon = () => {
    clearTimeout(persistTimer);
    persistTimer = setTimeout(persistTabs, 500);
  };
  editor.onDidChangeCursorPosition(persistSoon);
  editor.onDidScrollChange(persistSoon);

  /** Put the cursor and scroll back where they were last time, once the text has arrived. */
  function restorePlace(item) {
    const place = item.restore;
    // Wait for the text (Monaco clamps a position past its end, if the file got shorter).
    if (!place || editor.getModel() !== item.model || item.model.getValueLength() === 0) return;
    item.restore = null;
    // After the binding has finished applying the change (it restores selections itself).
    setTimeout(() => {
      if (editor.getModel() !== item.model) return;
      editor.setPosition({ lineNumber: place.line, column: place.column });
      editor.setScrollTop(place.top);
    }, 0);
  }

  /** (Re)connect an open file's document, read-only or not as our role says. */
  function startSession(fileId, item) {
    const token = {};
    item.token = token;
    item.state = { connection: 'connecting', save: 'offline', pending: false };
    item.downSince = Date.now();
    item.session = openCollabSession({
      workspaceId,
      fileId,
      userId: me,
      writable: canEdit(),
      model: item.model,
      editor,
      onState: (state) => {
        if (item.token !== token) return;
        if (state.connection === 'connected') item.downSince = null;
        else item.downSince ??= Date.now();
        item.state = state;
        if (activeId === fileId) showStatus();
      },
      onPeers: (peers) => {
        if (item.token !== token) return;
        item.peers = peers;
        showPeers();
        applyFollow();
      },
      onFatal: (reason) => {
        if (item.token !== token) return;
        sessionLost(fileId, item, reason);
      },
    });
    publishView();
  }

  function stopSession(item) {
    item.token = null;
    item.session?.destroy();
    item.session = null;
    item.peers = [];
  }

  function openFile(fileId, { focus = false, activateIt = true } = {}) {
    const entry = entryById().get(fileId);
    if (!entry || entry.kind !== 'file') return false;
    if (!open.has(fileId)) {
      const model = monaco.editor.createModel('', languageForPath(monaco, entry.path));
      const item = { entry, model, session: null, token: null, tab: tabFor(fileId, entry), state: {}, peers: [], viewState: null, gone: null };
      item.restore = savedTabs.places[fileId] ?? null;
      item.place = item.restore;
      model.onDidChangeContent(() => {
        if (item.restore) restorePlace(item);
        if (following && activeId === fileId) applyFollow();
      });
      open.set(fileId, item);
      tabList.append(item.tab);
      startSession(fileId, item);
    }
    if (activateIt) activate(fileId, { focus });
    persistTabs();
    return true;
  }

  function activate(fileId, { focus = false } = {}) {
    const item = open.get(fileId);
    if (!item) return;
    const previous = open.get(activeId);
    if (previous && previous !== item) previous.viewState = editor.saveViewState();
    activeId = fileId;
    editor.setModel(item.model);
    if (item.viewState) editor.restoreViewState(item.viewState);
    else restorePlace(item);
    placeholder.hidden = true;
    for (const [id, other] of open) {
      other.tab.setAttribute('aria-selected', String(id === fileId));
      other.tab.tabIndex = id === fileId ? 0 : -1;
    }
    item.tab.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    fileTree.select(item.entry);
    const url = `/w/${workspaceId}/f/${fileId}${window.location.search}`;
    // Replace, not push: the router owns history entries, and switching tabs is not a page.
    if (window.location.pathname !== `/w/${workspaceId}/f/${fileId}`) history.replaceState(null, '', url);
    document.title = `${baseName(item.entry.path)} · ${workspace.name} · collabcode`;
    const position = editor.getPosition();
    cursorStatus.textContent = position ? `Ln ${position.lineNumber}, Col ${position.column}` : 'Ln 1, Col 1';
    applyReadOnly();
    showStatus();
    showPeers();
    exposeForTests();
    persistTabs();
    publishView();
    lastFollowReveal = '';
    applyFollow();
    if (focus) editor.focus();
  }

  function closeFile(fileId) {
    const item = open.get(fileId);
    if (!item) return;
    const ids = [...open.keys()];
    const index = ids.indexOf(fileId);
    open.delete(fileId);
    item.tab.remove();
    if (activeId === fileId) {
      activeId = null;
      editor.setModel(null);
      const next = ids[index + 1] ?? ids[index - 1];
      if (next && open.has(next)) activate(next);
      else {
        placeholder.hidden = false;
        fileTree.select(null);
        history.replaceState(null, '', `/w/${workspaceId}${window.location.search}`);
        document.title = `${workspace.name} · collabcode`;
        applyReadOnly();
        showStatus();
        exposeForTests();
        publishView();
      }
    }
    stopSession(item);
    item.model.dispose();
    showPeers();
    persistTabs();
  }

  /** The file is out of reach: keep its text on screen, read-only, with the reason. */
  function markGone(fileId, item, gone) {
    if (item.gone) return;
    item.gone = gone;
    if (item.session && gone !== 'session') item.session.forgetLocalCopy();
    stopSession(item);
    showTabGone(item);
    if (activeId === fileId) {
      applyReadOnly();
      showStatus();
    }
    showPeers();
    persistTabs();
  }

  async function sessionLost(fileId, item, reason) {
    if (reason === 'session') {
      markGone(fileId, item, 'session');
      return;
    }
    if (reason === 'read_only') {
      // The server refused our edit: we were made a viewer. Confirm, then reopen read-only.
      if (!isReadOnly()) setRole('viewer', 'Your role was changed to viewer: you can read but no longer edit.');
      refreshRole();
      return;
    }
    // Access revoked: the file was deleted, or we were removed from the workspace.
    const stillMember = await refreshRole();
    if (signal.aborted || !open.has(fileId)) return;
    if (stillMember) {
      await refreshTree();
      if (signal.aborted || !open.has(fileId) || item.gone) return;
      if (entryById().has(fileId)) {
        // Still there and still ours: the close was about something else; try again.
        stopSession(item);
        startSession(fileId, item);
        return;
      }
    }
    markGone(fileId, item, stillMember ? 'deleted' : 'access');
  }

  // Roles -----------------------------------------------------------------------
  function setRole(next, why = '') {
    const wasWritable = canEdit();
    role = next;
    roleNotice = why;
    readOnlyBadge.hidden = !isReadOnly();
    newFileButton.hidden = !canEdit();
    newFolderButton.hidden = !canEdit();
    treeHint.hidden = !canEdit();
    fileTree.render();
    showPlaceholderText();
    if (wasWritable !== canEdit()) {
      // Reconnect every open file with the new rights; what the server refused is dropped.
      for (const [id, item] of open) {
        if (item.gone) continue;
        if (!canEdit()) item.session?.forgetLocalCopy();
        stopSession(item);
        startSession(id, item);
      }
    }
    applyReadOnly();
    showStatus();
  }

  /** Ask the server for our role. Resolves false if we are no longer a member. */
  async function refreshRole() {
    try {
      const { data } = await authRequest(`/api/workspaces/${workspaceId}`, { signal });
      if (signal.aborted) return true;
      if (data.role !== role) {
        setRole(data.role, data.role === 'viewer' ? 'Your role was changed to viewer: you can read but no longer edit.' : '');
      }
      return true;
    } catch (error) {
      if (signal.aborted || error?.status !== 404) return true;
      if (!lostAccess) {
        lostAccess = true;
        setRole(role);
        for (const [id, item] of open) markGone(id, item, 'access');
        forgetOfflineDocumentsExcept(me, workspaceId, []);
        treeError.replaceChildren(notice('error', 'You are no longer a member of this workspace.'));
      }
      return false;
    }
  }

  function exposeForTests() {
    if (!TEST_MODE) return;
    const item = open.get(activeId);
    window.__collabcode = item?.session
      ? { monaco, editor, ydoc: item.session.ydoc, provider: item.session.provider, undoManager: item.session.undoManager }
      : { monaco, editor };
  }

  // Tree operations -------------------------------------------------------------
  function applyEntries(next) {
    entries = next;
    const byId = entryById();
    for (const [id, item] of open) {
      const entry = byId.get(id);
      if (!entry) {
        if (deletedHere.has(id)) closeFile(id);
        else markGone(id, item, 'deleted');
        continue;
      }
      if (entry.path !== item.entry.path) {
        item.entry = entry;
        item.tab.querySelector('[data-tab-label]').textContent = baseName(entry.path);
        item.tab.title = entry.path;
        monaco.editor.setModelLanguage(item.model, languageForPath(monaco, entry.path));
        if (activeId === id) document.title = `${baseName(entry.path)} · ${workspace.name} · collabcode`;
      }
    }
    fileTree.setEntries(entries);
    fileTree.select(open.get(activeId)?.entry ?? null);
    showPlaceholderText();
    showPeers();
    if (activeId) showStatus();
  }

  async function refreshTree() {
    try {
      const { data } = await authRequest(`/api/workspaces/${workspaceId}/tree`, { signal });
      if (signal.aborted) return;
      treeError.replaceChildren();
      if (data.version !== treeVersion || data.entries.length !== entries.length) {
        treeVersion = data.version;
        applyEntries(data.entries);
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error?.status === 404) refreshRole();
    }
  }

  function showTreeError(error) {
    treeError.replaceChildren(notice('error', error?.message || 'That did not work.'));
  }

  async function createEntry(kind) {
    const folder = fileTree.targetFolder();
    const path = await askText({
      title: kind === 'file' ? 'New file' : 'New folder',
      label: 'Path (use “/” for folders)',
      value: folder ? `${folder}/` : '',
      submitLabel: 'Create',
      validate: validatePath,
    });
    if (!path || signal.aborted) return;
    try {
      const { data } = await authRequest(`/api/workspaces/${workspaceId}/files`, { method: 'POST', body: { path, kind }, signal });
      treeError.replaceChildren();
      await refreshTree();
      if (kind === 'file') openFile(data.id, { focus: true });
      else {
        fileTree.expand(data.path);
        fileTree.setEntries(entries);
      }
    } catch (error) {
      if (!signal.aborted) showTreeError(error);
    }
  }

  async function changePath(entry, path) {
    try {
      await authRequest(`/api/workspaces/${workspaceId}/files/${entry.id}`, { method: 'PATCH', body: { path }, signal });
      treeError.replaceChildren();
      await refreshTree();
    } catch (error) {
      if (!signal.aborted) showTreeError(error);
    }
  }

  async function renameEntry(entry) {
    const path = await askText({ title: `Rename ${entry.kind}`, label: 'New path', value: entry.path, submitLabel: 'Rename', validate: validatePath });
    if (path && path !== entry.path && !signal.aborted) await changePath(entry, path);
    fileTree.focus();
  }

  /** Move into `folder` ('' = the top level), keeping the name (and the id). */
  async function moveEntry(entry, folder) {
    if (!canEdit() || !canMoveInto(entry, folder)) return;
    const name = baseName(entry.path);
    if (folder) fileTree.expand(folder);
    await changePath(entry, folder ? `${folder}/${name}` : name);
    fileTree.focus();
  }

  async function moveEntryTo(entry) {
    const folders = ['', ...entries.filter((e) => e.kind === 'folder').map((e) => e.path)].filter(
      (folder) => folder === parentOf(entry.path) || canMoveInto(entry, folder),
    );
    const folder = await chooseFolder({ title: `Move “${baseName(entry.path)}” to…`, folders, current: parentOf(entry.path) });
    if (folder == null || signal.aborted || folder === parentOf(entry.path)) {
      fileTree.focus();
      return;
    }
    await moveEntry(entry, folder);
  }

  function entryMenu(entry, li, at) {
    const items = [];
    if (entry.kind === 'file') items.push({ id: 'open', label: 'Open', action: () => openFile(entry.id, { focus: true }) });
    if (canEdit()) {
      items.push(
        { id: 'rename', label: 'Rename…', action: () => renameEntry(entry) },
        { id: 'move', label: 'Move to…', action: () => moveEntryTo(entry) },
        { id: 'delete', label: 'Delete…', action: () => deleteEntry(entry) },
      );
    }
    if (items.length) openContextMenu({ at, items, returnFocus: li, label: `Actions for ${baseName(entry.path)}` });
  }

  async function deleteEntry(entry) {
    const ok = await confirmDanger({
      title: `Delete ${entry.kind}?`,
      message:
        entry.kind === 'folder'
          ? `“${entry.path}” and everything in it will be deleted for everyone in this workspace.`
          : `“${entry.path}” will be deleted for everyone in this workspace.`,
    });
    if (!ok || signal.aborted) {
      fileTree.focus();
      return;
    }
    const doomed = entries.filter((e) => e.id === entry.id || (entry.kind === 'folder' && e.path.startsWith(`${entry.path}/`)));
    for (const e of doomed) deletedHere.add(e.id);
    try {
      await authRequest(`/api/workspaces/${workspaceId}/files/${entry.id}`, { method: 'DELETE', signal });
      treeError.replaceChildren();
      for (const e of doomed) open.get(e.id)?.session?.forgetLocalCopy();
      await refreshTree();
    } catch (error) {
      for (const e of doomed) deletedHere.delete(e.id);
      if (!signal.aborted) showTreeError(error);
    }
    fileTree.focus();
  }

  // Start -----------------------------------------------------------------------
  // Copies of files that were deleted while this browser was away can never be synced.
  forgetOfflineDocumentsExcept(me, workspaceId, entries.map((entry) => entry.id));
  setRole(role);
  fileTree.setEntries(entries);
  showPlaceholderText();
  for (const id of savedTabs.tabs) openFile(id, { activateIt: false });
  const first = initialFileId && entryById().has(initialFileId) ? initialFileId : open.has(savedTabs.active) ? savedTabs.active : null;
  if (first) {
    openFile(first, { activateIt: false });
    activate(first);
  } else {
    showStatus();
    exposeForTests();
  }
  document.documentElement.dataset.editorReady = '1';

  // Tree and role changes arrive as `workspace.event` frames on the tab's events socket
  // (docs/protocol.md "Workspace events"); they are ephemeral, so the tree is re-read when the
  // socket (re)opens, when a version is skipped, and by a slow poll as a safety net. Without the
  // socket the poll is the only source, every 15 s.
  let lastRefresh = Date.now();
  const refreshAll = () => {
    lastRefresh = Date.now();
    refreshTree();
    refreshRole();
  };
  const refreshTimer = setInterval(() => {
    if (document.visibilityState !== 'visible' || !navigator.onLine) return;
    if (events.state === 'open' && Date.now() - lastRefresh < EVENTS_FALLBACK_MS) return;
    refreshAll();
  }, TREE_REFRESH_MS);
  const unsubscribe = [
    events.on('workspace.event', (frame) => {
      const event = frame?.event;
      if (frame?.workspace_id !== workspaceId || !event || typeof event !== 'object') return;
      if (event.type === 'tree.changed') {
        if (event.resync || event.version !== treeVersion) refreshTree();
      } else if (event.type === 'members.changed') {
        if (event.user_id === me) refreshRole();
      } else if (event.type === 'workspace.updated' && typeof event.name === 'string') {
        workspace.name = event.name;
        nameHeading.textContent = event.name;
      } else if (event.type === 'workspace.deleted') {
        refreshRole();
      }
    }),
    events.onState((state) => state === 'open' && refreshAll()),
  ];

  signal.addEventListener(
    'abort',
    () => {
      clearInterval(refreshTimer);
      for (const off of unsubscribe) off();
      clearTimeout(bannerTimer);
      clearTimeout(publishTimer);
      clearTimeout(persistTimer);
      for (const item of open.values()) {
        stopSession(item);
        item.model.dispose();
      }
      open.clear();
      editor.dispose();
      document.body.classList.remove('workspace-open');
      delete document.documentElement.dataset.editorReady;
      if (TEST_MODE) delete window.__collabcode;
    },
    { once: true },
  );
}
