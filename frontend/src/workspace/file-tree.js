// The workspace's file tree: an ARIA tree with a roving tabindex.
// Keys: Up/Down move, Right opens a folder or moves into it, Left closes it or moves to the
// parent, Home/End, Enter opens a file (or toggles a folder), F2 renames, Delete deletes,
// Shift+F10 or the Menu key opens the context menu (with "Move to…"). Entries can be dragged
// onto a folder, or onto the empty space below the tree (the top level).

import { h } from '../dom.js';

/** Nested nodes from the flat entry list, folders first, then by name. */
export function buildTree(entries) {
  const root = { children: [] };
  const byPath = new Map([['', root]]);
  const sorted = [...entries].sort((a, b) => a.path.split('/').length - b.path.split('/').length);
  for (const entry of sorted) {
    const slash = entry.path.lastIndexOf('/');
    const parentPath = slash < 0 ? '' : entry.path.slice(0, slash);
    let parent = byPath.get(parentPath);
    if (!parent) {
      parent = { entry: { id: null, path: parentPath, kind: 'folder' }, children: [] };
      byPath.set(parentPath, parent);
      root.children.push(parent);
    }
    const node = { entry, name: entry.path.slice(slash + 1), children: [] };
    byPath.set(entry.path, node);
    parent.children.push(node);
  }
  const sort = (node) => {
    node.children.sort((a, b) => {
      if (a.entry.kind !== b.entry.kind) return a.entry.kind === 'folder' ? -1 : 1;
      return (a.name ?? '').localeCompare(b.name ?? '', undefined, { numeric: true, sensitivity: 'base' });
    });
    node.children.forEach(sort);
  };
  sort(root);
  return root;
}

const SVG = 'http://www.w3.org/2000/svg';

/** A small decorative folder or file icon. */
function icon(isFolder) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', isFolder ? 'size-4 shrink-0 text-wait' : 'size-4 shrink-0 text-muted');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('fill', isFolder ? 'currentColor' : 'none');
  path.setAttribute('stroke', 'currentColor');
  path.setAttribute('stroke-width', isFolder ? '0' : '1.2');
  path.setAttribute(
    'd',
    isFolder ? 'M1.5 3.5a1 1 0 0 1 1-1h3.6l1.5 1.5h5.9a1 1 0 0 1 1 1v7.5a1 1 0 0 1-1 1h-11a1 1 0 0 1-1-1z' : 'M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3',
  );
  svg.append(path);
  return svg;
}

const DRAG_TYPE = 'application/x-collabcode-entry';

/** The folder `path` is in ('' for the top level). */
export function parentOf(path) {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** Whether `entry` may be moved into the folder `folder` (not into itself, not where it is). */
export function canMoveInto(entry, folder) {
  if (!entry?.id) return false;
  if (folder === parentOf(entry.path)) return false;
  return !(entry.kind === 'folder' && (folder === entry.path || folder.startsWith(`${entry.path}/`)));
}

const ITEM =
  'flex w-full cursor-pointer items-center gap-1.5 rounded-sm py-0.5 pr-2 text-left text-sm outline-none hover:bg-subtle focus-visible:ring-2 focus-visible:ring-focus aria-selected:bg-accent/15 aria-selected:text-fg';

/**
 * @param {object} options
 * @param {AbortSignal} options.signal
 * @param {(entry) => void} options.onOpen
 * @param {(entry) => void} options.onRename
 * @param {(entry) => void} options.onDelete
 * @param {(entry, folder: string) => void} options.onMove  move into `folder` ('' = top level)
 * @param {(entry, li: HTMLElement, at: {x: number, y: number}) => void} options.onMenu
 * @param {() => boolean} options.canEdit
 */
export function createFileTree({ signal, onOpen, onRename, onDelete, onMove, onMenu, canEdit }) {
  // Folders start open (so every entry is reachable at once); the user may close them.
  const collapsed = new Set();
  const expanded = {
    has: (path) => !collapsed.has(path),
    add: (path) => collapsed.delete(path),
    delete: (path) => collapsed.add(path),
  };
  let root = { children: [] };
  let selectedId = null;
  let focusedId = null;

  const element = h('ul', {
    role: 'tree',
    'aria-label': 'Files',
    class: 'flex min-h-full flex-col py-1',
    dataset: { fileTree: '' },
  });

  function items() {
    return [...element.querySelectorAll('[role=treeitem]')];
  }

  function rowFor(node, level) {
    const { entry } = node;
    const isFolder = entry.kind === 'folder';
    const open = isFolder && expanded.has(entry.path);
    const row = h(
      'div',
      {
        class: ITEM,
        style: `padding-left:${0.5 + (level - 1) * 0.9}rem`,
      },
      h('span', { class: 'w-3 shrink-0 text-center text-xs text-muted', 'aria-hidden': 'true' }, isFolder ? (open ? '▾' : '▸') : ''),
      icon(isFolder),
      h('span', { class: 'truncate' }, node.name),
    );
    const li = h(
      'li',
      {
        role: 'treeitem',
        draggable: canEdit() && entry.id ? 'true' : null,
        'aria-level': String(level),
        'aria-expanded': isFolder ? String(open) : null,
        'aria-selected': String(entry.id != null && entry.id === selectedId),
        tabindex: '-1',
        class: 'outline-none focus-visible:[&>div]:ring-2 focus-visible:[&>div]:ring-focus aria-selected:[&>div]:bg-accent/15 aria-selected:[&>div]:font-medium',
        dataset: { treeItem: '', fileId: entry.id ?? '', path: entry.path, kind: entry.kind },
      },
      row,
    );
    li._entry = entry;
    if (isFolder && open && node.children.length) {
      li.append(h('ul', { role: 'group' }, node.children.map((child) => rowFor(child, level + 1))));
    } else if (isFolder && open) {
      const empty = h('div', { class: 'py-0.5 text-xs text-muted italic', dataset: { emptyFolder: '' } }, 'Empty folder');
      empty.style.paddingLeft = `${0.5 + level * 0.9 + 1.1}rem`;
      li.append(empty);
    }
    return li;
  }

  function render() {
    const hadFocus = element.contains(document.activeElement);
    element.replaceChildren(...root.children.map((node) => rowFor(node, 1)));
    if (!root.children.length) {
      element.append(h('li', { role: 'none', class: 'px-3 py-2 text-sm text-muted' }, 'No files yet.'));
    }
    const all = items();
    let target = all.find((li) => li.dataset.fileId === focusedId && focusedId) ?? all.find((li) => li.getAttribute('aria-selected') === 'true') ?? all[0];
    for (const li of all) li.tabIndex = li === target ? 0 : -1;
    if (hadFocus && target) target.focus();
  }

  function focusItem(li) {
    if (!li) return;
    for (const other of items()) other.tabIndex = other === li ? 0 : -1;
    focusedId = li.dataset.fileId || null;
    li.focus();
  }

  function toggle(entry, open) {
    const isOpen = expanded.has(entry.path);
    const next = open ?? !isOpen;
    if (next === isOpen) return;
    if (next) expanded.add(entry.path);
    else expanded.delete(entry.path);
    focusedId = entry.id;
    render();
  }

  function activate(li) {
    const entry = li._entry;
    if (entry.kind === 'folder') toggle(entry);
    else onOpen(entry);
  }

  element.addEventListener(
    'click',
    (event) => {
      const li = event.target.closest('[role=treeitem]');
      if (!li) return;
      event.stopPropagation();
      focusItem(li);
      activate(li);
    },
    { signal },
  );

  // Drag and drop: files and folders onto folders (or the empty space: the top level).
  let dragged = null;
  const dropTarget = (event) => {
    const li = event.target.closest?.('[role=treeitem]');
    if (li && element.contains(li)) {
      const entry = li._entry;
      const folder = entry.kind === 'folder' ? entry.path : parentOf(entry.path);
      const folderLi = entry.kind === 'folder' ? li : li.parentElement.closest('[role=treeitem]');
      return { folder, row: folderLi?.firstElementChild ?? null };
    }
    return { folder: '', row: null };
  };
  let highlighted = null;
  const highlight = (row) => {
    if (highlighted === row) return;
    highlighted?.classList.remove('bg-accent/25', 'ring-1', 'ring-accent');
    element.classList.remove('bg-accent/10');
    highlighted = row;
    row?.classList.add('bg-accent/25', 'ring-1', 'ring-accent');
  };
  element.addEventListener(
    'dragstart',
    (event) => {
      const li = event.target.closest?.('[role=treeitem]');
      if (!li || !canEdit() || !li._entry.id) {
        event.preventDefault();
        return;
      }
      dragged = li._entry;
      event.dataTransfer.effectAllowed = 'move';
      event.dataTransfer.setData(DRAG_TYPE, dragged.id);
      event.dataTransfer.setData('text/plain', dragged.path);
    },
    { signal },
  );
  const over = (event) => {
    if (!dragged) return;
    const { folder, row } = dropTarget(event);
    if (!canMoveInto(dragged, folder)) {
      highlight(null);
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = 'move';
    highlight(row);
    if (!row) element.classList.add('bg-accent/10');
  };
  element.addEventListener('dragenter', over, { signal });
  element.addEventListener('dragover', over, { signal });
  element.addEventListener('dragleave', (event) => element.contains(event.relatedTarget) || highlight(null), { signal });
  element.addEventListener(
    'drop',
    (event) => {
      const entry = dragged;
      highlight(null);
      if (!entry) return;
      const { folder } = dropTarget(event);
      if (!canMoveInto(entry, folder)) return;
      event.preventDefault();
      dragged = null;
      onMove(entry, folder);
    },
    { signal },
  );
  element.addEventListener(
    'dragend',
    () => {
      dragged = null;
      highlight(null);
    },
    { signal },
  );

  element.addEventListener(
    'contextmenu',
    (event) => {
      const li = event.target.closest('[role=treeitem]');
      if (!li || !li._entry.id) return;
      event.preventDefault();
      focusItem(li);
      onMenu(li._entry, li, { x: event.clientX, y: event.clientY });
    },
    { signal },
  );

  element.addEventListener(
    'keydown',
    (event) => {
      const li = event.target.closest('[role=treeitem]');
      if (!li || event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.key === 'ContextMenu' || (event.shiftKey && event.key === 'F10')) {
        event.preventDefault();
        if (!li._entry.id) return;
        const box = li.firstElementChild.getBoundingClientRect();
        onMenu(li._entry, li, { x: box.left + 24, y: box.bottom });
        return;
      }
      const all = items();
      const index = all.indexOf(li);
      const entry = li._entry;
      let handled = true;
      switch (event.key) {
        case 'ArrowDown':
          focusItem(all[index + 1]);
          break;
        case 'ArrowUp':
          focusItem(all[index - 1]);
          break;
        case 'Home':
          focusItem(all[0]);
          break;
        case 'End':
          focusItem(all[all.length - 1]);
          break;
        case 'ArrowRight':
          if (entry.kind === 'folder') {
            if (!expanded.has(entry.path)) toggle(entry, true);
            else focusItem(li.querySelector('[role=treeitem]'));
          }
          break;
        case 'ArrowLeft':
          if (entry.kind === 'folder' && expanded.has(entry.path)) toggle(entry, false);
          else focusItem(li.parentElement.closest('[role=treeitem]'));
          break;
        case 'Enter':
        case ' ':
          activate(li);
          break;
        case 'F2':
          if (canEdit() && entry.id) onRename(entry);
          break;
        case 'Delete':
          if (canEdit() && entry.id) onDelete(entry);
          break;
        default:
          handled = false;
      }
      if (handled) {
        event.preventDefault();
        event.stopPropagation();
      }
    },
    { signal },
  );

  return {
    element,
    setEntries(entries) {
      root = buildTree(entries);
      render();
    },
    /** Draw again (after the user's role changed: whether rows can be dragged). */
    render,
    /** Mark `fileId` as selected and open the folders above it. */
    select(entry) {
      selectedId = entry?.id ?? null;
      if (entry) {
        const parts = entry.path.split('/');
        for (let i = 1; i < parts.length; i += 1) expanded.add(parts.slice(0, i).join('/'));
      }
      render();
    },
    expand(path) {
      expanded.add(path);
    },
    /** The folder new entries go into: the focused folder, or the focused file's folder. */
    targetFolder() {
      const li = element.querySelector('[role=treeitem][tabindex="0"]');
      const entry = li?._entry;
      if (!entry || (!element.contains(document.activeElement) && !li.matches('[aria-selected=true]'))) return '';
      if (entry.kind === 'folder') return entry.path;
      const slash = entry.path.lastIndexOf('/');
      return slash < 0 ? '' : entry.path.slice(0, slash);
    },
    focus() {
      focusItem(element.querySelector('[role=treeitem][tabindex="0"]'));
    },
  };
}
