// What the command palette can jump to: pages, workspaces, files (from each workspace's
// tree), people and conversations. Fetched when the palette opens, cached for a minute;
// a workspace's tree is dropped from the cache when a workspace event says it changed.

import { authRequest } from '../auth/auth-request.js';
import { getSession } from '../auth/session.js';
import { events } from '../events/events-socket.js';

const TTL_MS = 60000;
const MAX_TREES = 50;
const TREE_CONCURRENCY = 4;

const cache = new Map(); // key -> {at, promise}
let watching = false;

function cached(key, load) {
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.promise;
  const promise = load().catch((error) => {
    cache.delete(key);
    throw error;
  });
  cache.set(key, { at: Date.now(), promise });
  return promise;
}

function watchChanges() {
  if (watching) return;
  watching = true;
  events.on('workspace.event', (frame) => {
    cache.delete(`tree:${frame.workspace_id}`);
    cache.delete('workspaces');
  });
}

/** Forget everything (sign-out, another account). */
export function clearPaletteCache() {
  cache.clear();
}

const get = async (path) => (await authRequest(path)).data ?? {};

export function pageItems() {
  const user = getSession().user ?? {};
  const pages = [
    ['Dashboard', '/'],
    ['Workspaces', '/workspaces'],
    ['Messages', '/messages'],
    ['Calls', '/calls'],
    ['Account settings', '/settings/account'],
    ['Scratch editor', '/scratch'],
  ];
  if (user.username) pages.push(['Your profile', `/u/${encodeURIComponent(user.username)}`]);
  if (user.role === 'admin') {
    pages.push(['Admin: users', '/admin/users'], ['Admin: invites', '/admin/invites'], ['Admin: instance settings', '/admin/settings'], ['Admin: health', '/admin/health']);
  }
  return pages.map(([label, href]) => ({ kind: 'page', key: `page:${href}`, label, detail: 'Page', href, text: label }));
}

async function workspaces() {
  const data = await cached('workspaces', () => get('/api/workspaces'));
  return Array.isArray(data.workspaces) ? data.workspaces : [];
}

function treeItems(workspace, data) {
  const entries = Array.isArray(data.entries) ? data.entries : [];
  return entries
    .filter((e) => e.kind === 'file' && typeof e.path === 'string')
    .map((e) => ({
      kind: 'file',
      key: `file:${e.id}`,
      label: e.path,
      detail: workspace.name,
      href: `/w/${workspace.id}/f/${e.id}`,
      text: e.path,
    }));
}

/** Run `fn` over `items` with at most `limit` at a time. */
async function pool(items, limit, fn) {
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]).catch(() => []);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Start loading every source; `onItems(kind, items)` is called as each arrives.
 * Resolves when all have settled.
 */
export async function loadSources(onItems) {
  watchChanges();
  const me = getSession().user ?? {};
  const tasks = [];

  tasks.push(
    workspaces().then(async (list) => {
      onItems('workspace', list.map((w) => ({ kind: 'workspace', key: `ws:${w.id}`, label: w.name, detail: 'Workspace', href: `/w/${w.id}`, text: w.name })));
      const trees = await pool(list.slice(0, MAX_TREES), TREE_CONCURRENCY, (w) =>
        cached(`tree:${w.id}`, () => get(`/api/workspaces/${w.id}/tree`)).then((data) => treeItems(w, data)),
      );
      onItems('file', trees.flat());
    }),
  );

  tasks.push(
    cached('conversations', () => get('/api/conversations')).then((data) => {
      const list = Array.isArray(data.conversations) ? data.conversations : [];
      const people = [];
      const items = list.map((c) => {
        const peer = c.peer ?? c.other ?? {};
        const name = peer.display_name || peer.username || 'Conversation';
        if (peer.username) people.push(peer);
        return { kind: 'conversation', key: `conv:${c.id}`, label: name, detail: 'Conversation', href: `/messages/${c.id}`, text: `${name} ${peer.username ?? ''}` };
      });
      onItems('conversation', items);
      onItems('person:conversations', people.map(personItem));
    }),
  );

  if (me.username) {
    tasks.push(
      cached('following', () => get(`/api/users/${encodeURIComponent(me.username)}/following`)).then((data) => {
        onItems('person:following', (Array.isArray(data.users) ? data.users : []).map(personItem));
      }),
    );
  }
  await Promise.allSettled(tasks);
}

export function personItem(person) {
  const name = person.display_name || person.username;
  return {
    kind: 'person',
    key: `person:${person.username}`,
    label: name,
    detail: `@${person.username}`,
    href: `/u/${encodeURIComponent(person.username)}`,
    text: `${name} ${person.username}`,
  };
}

/** People whose username starts with `query` (the server's search; 2–32 of a-z 0-9 _ -). */
export async function searchPeople(query, signal) {
  const q = query.trim().toLowerCase();
  if (!/^[a-z0-9_-]{2,32}$/.test(q)) return [];
  const { data } = await authRequest(`/api/users/search?${new URLSearchParams({ q })}`, { signal });
  return (Array.isArray(data?.users) ? data.users : []).map(personItem);
}
