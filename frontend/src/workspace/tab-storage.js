// Open tabs and the active file of each workspace, kept in this browser's localStorage
// (file ids only, never contents).

const PREFIX = 'collabcode.workspace.v1.';
const MAX_TABS = 20;
const ID = /^[0-9a-f]{32}$/;

export function loadTabs(workspaceId) {
  try {
    const raw = JSON.parse(localStorage.getItem(PREFIX + workspaceId) ?? 'null');
    const tabs = Array.isArray(raw?.tabs) ? raw.tabs.filter((id) => typeof id === 'string' && ID.test(id)).slice(0, MAX_TABS) : [];
    const active = typeof raw?.active === 'string' && ID.test(raw.active) ? raw.active : null;
    return { tabs, active };
  } catch {
    return { tabs: [], active: null };
  }
}

export function saveTabs(workspaceId, { tabs, active }) {
  try {
    localStorage.setItem(PREFIX + workspaceId, JSON.stringify({ tabs: tabs.slice(0, MAX_TABS), active }));
  } catch {
    // Storage full or blocked: the tabs are simply not restored next time.
  }
}
