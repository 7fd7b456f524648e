// The header navigation follows the session: "Home" becomes "Dashboard" once signed in,
// Settings shows for signed-in users and Admin for instance admins only (the server
// enforces admin rights on every admin API; this only hides a link members cannot use).
// The sign-in answer's user has no avatar picture: it is read from the own profile once per
// sign-in, so the account menu shows the picture rather than the initials.

import { getSession, onSessionChange, updateUser } from '../auth/session.js';
import { getProfile } from '../profile/social-api.js';

function loadOwnAvatar(user) {
  if (!user?.username || 'avatar_url' in user) return;
  getProfile(user.username).then(
    (profile) => {
      const now = getSession();
      if (now.status !== 'signed-in' || now.user?.id !== user.id || 'avatar_url' in (now.user ?? {})) return;
      updateUser({ avatar_url: typeof profile.avatar_url === 'string' ? profile.avatar_url : null });
    },
    () => {
      // The initials stay; the menu works without the picture.
    },
  );
}

export function startNavState(root = document) {
  let avatarFor = null;
  const render = (state) => {
    const signedIn = state.status === 'signed-in';
    const home = root.querySelector('[data-home-link]');
    if (home) home.textContent = signedIn ? 'Dashboard' : 'Home';
    for (const el of root.querySelectorAll('[data-signed-in-only]')) el.hidden = !signedIn;
    for (const el of root.querySelectorAll('[data-admin-only]')) el.hidden = !(signedIn && state.user?.role === 'admin');
    if (signedIn && state.user?.id !== avatarFor) {
      avatarFor = state.user?.id ?? null;
      loadOwnAvatar(state.user);
    }
    if (!signedIn) avatarFor = null;
  };
  render(getSession());
  onSessionChange(render);
}
