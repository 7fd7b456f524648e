// /w/{workspace_id} and /w/{workspace_id}/f/{file_id}: the workspace editor. A file tree on
// the left, tabs and a collaborative Monaco editor on the right, a status bar below.
// Loaded on demand (it brings Monaco, Yjs and the collaboration provider with it).

import { authRequest } from '../auth/auth-request.js';
import { getSession } from '../auth/session.js';
import { h, replaceChildren } from '../dom.js';
import { onColorSchemeChange, prefersDark } from '../editor/color-scheme.js';
import { defineEditorThemes, themeFor } from '../editor/editor-themes.js';
import { loadEditor } from '../editor/load-editor.js';
import { TEST_MODE } from '../shell/test-mode.js';
import { avatar } from '../ui/avatar.js';
import { notice } from '../ui/notice.js';
import { loadingLine } from '../ui/spinner.js';
import { openCollabSession } from './collab-session.js';
import { askText, confirmDanger } from './dialogs.js';
import { createFileTree } from './file-tree.js';
import { languageForPath } from './languages.js';
import { loadTabs, saveTabs } from './tab-storage.js';

const TREE_REFRESH_MS = 15000;

const CONNECTION_TEXT = { connected: 'Connected', connecting: 'Connecting…', offline: 'Offline' };
const SAVE_TEXT = { saved: 'Saved', saving: 'Saving…', offline: 'Offline' };

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
  const readOnly = workspace.role === 'viewer';
  const canEdit = () => !readOnly;
  let entries = Array.isArray(tree?.entries) ? tree.entries : [];
  let treeVersion = tree?.version ?? 0;
  const entryById = () => new Map(entries.map((entry) => [entry.id, entry]));

  /** fileId -> { entry, model, session, tab, state, peers, viewState } */
  const open = new Map();
  let activeId = null;

  // Layout --------------------------------------------------------------------
  const peersBox = h('div', { class: 'flex items-center -space-x-2', dataset: { presence: '' }, 'aria-label': 'People in this file', role: 'group' });
  const header = h(
    'div',
    { class: 'flex flex-wrap items-center gap-3 border-b border-line bg-surface px-4 py-2' },
    h('a', { href: '/workspaces', class: 'text-sm text-muted hover:text-fg' }, 'Workspaces'),
    h('span', { class: 'text-muted', 'aria-hidden': 'true' }, '/'),
    h('h1', { class: 'truncate text-base font-semibold', tabindex: '-1', dataset: { workspaceName: '' } }, workspace.name),
    readOnly &&
      h(
        'span',
        {
          class: 'rounded-full border border-wait/40 bg-wait-bg px-2 py-0.5 text-xs font-semibold text-wait',
          dataset: { readonlyBadge: '' },
          title: 'You are a viewer in this workspace',
        },
        'Read only',
      ),
    h('div', { class: 'ml-auto flex items-center gap-2' }, peersBox),
  );

  const fileTree = createFileTree({
    signal,
    canEdit,
    onOpen: (entry) => openFile(entry.id, { focus: true }),
    onRename: (entry) => renameEntry(entry),
    onDelete: (entry) => deleteEntry(entry),
  });
  const treeError = h('div', { class: 'px-2', role: 'alert' });

  const sidebar = h(
    'nav',
    { class: 'flex min-h-0 w-60 shrink-0 flex-col border-r border-line bg-surface', 'aria-label': 'Workspace files' },
    h(
      'div',
      { class: 'flex items-center gap-1 border-b border-line px-2 py-1.5' },
      h('h2', { class: 'mr-auto text-xs font-semibold tracking-wide text-muted uppercase' }, 'Files'),
      !readOnly && h('button', { type: 'button', class: TOOL_BUTTON, dataset: { newFile: '' }, title: 'New file', onClick: () => createEntry('file'), signal }, '+ File'),
      !readOnly && h('button', { type: 'button', class: TOOL_BUTTON, dataset: { newFolder: '' }, title: 'New folder', onClick: () => createEntry('folder'), signal }, '+ Folder'),
      h('button', { type: 'button', class: TOOL_BUTTON, title: 'Reload the file list', 'aria-label': 'Reload the file list', onClick: () => refreshTree(), signal }, '⟳'),
    ),
    treeError,
    h('div', { class: 'min-h-0 flex-1 overflow-auto px-1' }, fileTree.element),
    !readOnly &&
      h('p', { class: 'border-t border-line px-2 py-1 text-[11px] text-muted' }, 'F2 renames, Delete deletes the focused entry.'),
  );

  const tabList = h('div', { role: 'tablist', 'aria-label': 'Open files', class: 'flex min-h-9 items-end overflow-x-auto border-b border-line bg-subtle' });
  const host = h('div', { class: 'absolute inset-0' });
  const placeholder = h(
    'div',
    { class: 'absolute inset-0 z-10 flex items-center justify-center bg-surface p-6 text-center text-muted', dataset: { editorPlaceholder: '' } },
    '',
  );
  function showPlaceholderText() {
    placeholder.textContent = entries.some((entry) => entry.kind === 'file')
      ? 'Open a file from the list on the left.'
      : readOnly
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

  const main = h('section', { class: 'flex min-h-0 min-w-0 flex-1 flex-col', 'aria-label': 'Editor' }, tabList, frame, statusBar);
  const root = h(
    'div',
    { class: 'flex min-h-0 flex-1 flex-col', dataset: { view: 'workspace', workspaceId } },
    header,
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
    readOnly,
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
  const undo = () => open.get(activeId)?.session.undoManager.undo();
  const redo = () => open.get(activeId)?.session.undoManager.redo();
  const { KeyMod, KeyCode } = monaco;
  editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyZ, undo);
  editor.addCommand(KeyMod.CtrlCmd | KeyMod.Shift | KeyCode.KeyZ, redo);
  editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyY, redo);

  editor.onDidChangeCursorSelection(({ selection }) => {
    const model = editor.getModel();
    if (!model) return;
    const selected = model.getValueLengthInRange(selection);
    cursorStatus.textContent = `Ln ${selection.positionLineNumber}, Col ${selection.positionColumn}${selected ? ` (${selected} selected)` : ''}`;
  });

  // Status ----------------------------------------------------------------------
  function showStatus() {
    const item = open.get(activeId);
    const connection = item?.state.connection ?? 'offline';
    const save = item?.state.save ?? 'offline';
    connectionStatus.dataset.connection = item ? connection : 'offline';
    connectionStatus.textContent = item ? CONNECTION_TEXT[connection] : '';
    saveStatus.dataset.saveState = save;
    saveStatus.textContent = item ? (readOnly && save === 'saved' ? 'Read only' : SAVE_TEXT[save]) : '';
    languageStatus.textContent = item ? languageLabel(item.model.getLanguageId()) : '';
    if (!item) cursorStatus.textContent = '';
  }

  function languageLabel(id) {
    const language = monaco.languages.getLanguages().find((l) => l.id === id);
    return language?.aliases?.[0] ?? id;
  }

  function showPeers() {
    const item = open.get(activeId);
    const seen = new Set();
    const me = getSession().user?.id;
    const people = [];
    for (const peer of item?.peers ?? []) {
      const key = peer.user.id ?? peer.clientId;
      if (seen.has(key) || key === me) continue;
      seen.add(key);
      people.push(peer.user);
    }
    replaceChildren(
      peersBox,
      people.slice(0, 6).map((user) => {
        const badge = avatar({ display_name: user.name, avatar_color: user.color, username: user.name });
        badge.classList.add('ring-2', 'ring-surface');
        return h('span', { title: user.name, dataset: { peer: user.name } }, badge, h('span', { class: 'sr-only' }, user.name));
      }),
      people.length > 6 && h('span', { class: 'pl-3 text-xs text-muted' }, `+${people.length - 6}`),
    );
  }

  // Tabs ------------------------------------------------------------------------
  function tabFor(fileId, entry) {
    const label = h('span', { class: 'truncate', dataset: { tabLabel: '' } }, baseName(entry.path));
    const close = h(
      'button',
      {
        type: 'button',
        class: 'rounded-sm px-1 text-muted hover:bg-subtle hover:text-fg',
        'aria-label': `Close ${baseName(entry.path)}`,
        tabindex: '-1',
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
        class:
          'flex max-w-48 shrink-0 cursor-pointer items-center gap-1 border-r border-line px-3 py-1.5 text-sm text-muted outline-none hover:text-fg focus-visible:ring-2 focus-visible:ring-focus aria-selected:bg-surface aria-selected:text-fg',
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
      close,
    );
    return tab;
  }

  function persistTabs() {
    saveTabs(workspaceId, { tabs: [...open.keys()], active: activeId });
  }

  function openFile(fileId, { focus = false, activateIt = true } = {}) {
    const entry = entryById().get(fileId);
    if (!entry || entry.kind !== 'file') return false;
    if (!open.has(fileId)) {
      const model = monaco.editor.createModel('', languageForPath(monaco, entry.path));
      const item = { entry, model, session: null, tab: tabFor(fileId, entry), state: { connection: 'connecting', save: 'offline' }, peers: [], viewState: null };
      open.set(fileId, item);
      tabList.append(item.tab);
      item.session = openCollabSession({
        workspaceId,
        fileId,
        model,
        editor,
        onState: (state) => {
          item.state = state;
          if (activeId === fileId) showStatus();
        },
        onPeers: (peers) => {
          item.peers = peers;
          if (activeId === fileId) showPeers();
        },
        onFatal: (message) => {
          item.state = { connection: 'offline', save: 'offline' };
          if (activeId === fileId) {
            showStatus();
            connectionStatus.textContent = message;
          }
        },
      });
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
    showStatus();
    showPeers();
    exposeForTests();
    persistTabs();
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
        showStatus();
        showPeers();
        exposeForTests();
      }
    }
    item.session.destroy();
    item.model.dispose();
    persistTabs();
  }

  function exposeForTests() {
    if (!TEST_MODE) return;
    const item = open.get(activeId);
    window.__collabcode = item
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
        closeFile(id);
        continue;
      }
      if (entry.path !== item.entry.path) {
        item.entry = entry;
        item.tab.querySelector('[data-tab-label]').textContent = baseName(entry.path);
        item.tab.title = entry.path;
        monaco.editor.setModelLanguage(item.model, languageForPath(monaco, entry.path));
      }
    }
    fileTree.setEntries(entries);
    fileTree.select(open.get(activeId)?.entry ?? null);
    showPlaceholderText();
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
      if (error?.status === 404) {
        treeError.replaceChildren(notice('error', 'This workspace is gone, or you are no longer a member.'));
      }
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

  async function renameEntry(entry) {
    const path = await askText({ title: `Rename ${entry.kind}`, label: 'New path', value: entry.path, submitLabel: 'Rename', validate: validatePath });
    if (!path || path === entry.path || signal.aborted) {
      fileTree.focus();
      return;
    }
    try {
      await authRequest(`/api/workspaces/${workspaceId}/files/${entry.id}`, { method: 'PATCH', body: { path }, signal });
      treeError.replaceChildren();
      await refreshTree();
    } catch (error) {
      if (!signal.aborted) showTreeError(error);
    }
    fileTree.focus();
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
    try {
      await authRequest(`/api/workspaces/${workspaceId}/files/${entry.id}`, { method: 'DELETE', signal });
      treeError.replaceChildren();
      await refreshTree();
    } catch (error) {
      if (!signal.aborted) showTreeError(error);
    }
    fileTree.focus();
  }

  // Start -----------------------------------------------------------------------
  fileTree.setEntries(entries);
  showPlaceholderText();
  const saved = loadTabs(workspaceId);
  for (const id of saved.tabs) openFile(id, { activateIt: false });
  const first = initialFileId && entryById().has(initialFileId) ? initialFileId : open.has(saved.active) ? saved.active : null;
  if (first) {
    openFile(first, { activateIt: false });
    activate(first);
  } else {
    showStatus();
    exposeForTests();
  }
  document.documentElement.dataset.editorReady = '1';

  const refreshTimer = setInterval(() => document.visibilityState === 'visible' && refreshTree(), TREE_REFRESH_MS);

  signal.addEventListener(
    'abort',
    () => {
      clearInterval(refreshTimer);
      for (const item of open.values()) {
        item.session.destroy();
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
