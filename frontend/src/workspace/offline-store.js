// Where open documents are kept in this browser (IndexedDB, through y-indexeddb) so edits made
// offline survive a reload. One database per user and document: another account signed in on
// the same browser never opens someone else's copy, and signing out deletes the user's copies.
//
// Small on purpose: the shell imports it for the sign-out hook, without Yjs.

import { onSessionChange } from '../auth/session.js';

const PREFIX = 'collabcode.doc.v1.';
const ID = /^[0-9a-f]{32}$/;

/** The IndexedDB database name of one user's copy of one file's document. */
export function offlineDocumentName(userId, workspaceId, fileId) {
  if (![userId, workspaceId, fileId].every((id) => typeof id === 'string' && ID.test(id))) return null;
  return `${PREFIX}${userId}.${workspaceId}.${fileId}`;
}

function deleteDatabase(name) {
  return new Promise((resolve) => {
    try {
      const request = indexedDB.deleteDatabase(name);
      request.onsuccess = () => resolve(true);
      request.onerror = () => resolve(false);
      // Another tab still has it open: it is deleted once that tab closes it.
      request.onblocked = () => resolve(false);
    } catch {
      resolve(false);
    }
  });
}

/** Forget this browser's copy of one document (removed file, access lost, read-only now). */
export function forgetOfflineDocument(userId, workspaceId, fileId) {
  const name = offlineDocumentName(userId, workspaceId, fileId);
  return name ? deleteDatabase(name) : Promise.resolve(false);
}

/**
 * Delete `userId`'s copies of files of `workspaceId` that are not in `keepIds` (deleted while
 * this browser was away, or the whole workspace when we lost access): they can never be synced.
 */
export async function forgetOfflineDocumentsExcept(userId, workspaceId, keepIds) {
  if (!ID.test(userId ?? '') || !ID.test(workspaceId ?? '')) return 0;
  if (typeof indexedDB === 'undefined' || typeof indexedDB.databases !== 'function') return 0;
  const prefix = `${PREFIX}${userId}.${workspaceId}.`;
  let names = [];
  try {
    names = (await indexedDB.databases()).map((db) => db.name).filter((name) => typeof name === 'string');
  } catch {
    return 0;
  }
  const keep = new Set(keepIds);
  const stale = names.filter((name) => name.startsWith(prefix) && !keep.has(name.slice(prefix.length)));
  await Promise.all(stale.map(deleteDatabase));
  return stale.length;
}

/** Delete every document copy of `userId` (or of everyone, without one) in this browser. */
export async function forgetOfflineDocuments(userId) {
  if (typeof indexedDB === 'undefined' || typeof indexedDB.databases !== 'function') return 0;
  let names = [];
  try {
    names = (await indexedDB.databases()).map((db) => db.name).filter((name) => typeof name === 'string');
  } catch {
    return 0;
  }
  const prefix = userId ? `${PREFIX}${userId}.` : PREFIX;
  const mine = names.filter((name) => name.startsWith(prefix));
  await Promise.all(mine.map(deleteDatabase));
  return mine.length;
}

/** Delete the signed-in user's document copies when they sign out in this tab or another. */
export function clearOfflineDocumentsOnSignOut() {
  let userId = null;
  onSessionChange((state, reason) => {
    if (state.status === 'signed-in') {
      userId = state.user?.id ?? null;
      return;
    }
    if ((reason === 'sign-out' || reason === 'elsewhere') && userId) forgetOfflineDocuments(userId);
    userId = null;
  });
}
