// The login and refresh answers carry a user object; if the server sends only part of
// the profile there, fetch the rest from /api/me so the header and banner have it.

import { getMe } from './auth-api.js';
import { onSessionChange, updateUser } from './session.js';

const NEEDED = ['display_name', 'avatar_color', 'email_verified', 'username'];

export function completeProfilesOnSignIn() {
  let loadingFor = null;
  onSessionChange((state, reason) => {
    if (state.status !== 'signed-in' || (reason !== 'sign-in' && reason !== 'restore')) return;
    const user = state.user ?? {};
    if (NEEDED.every((key) => Object.hasOwn(user, key)) || loadingFor === user.id) return;
    loadingFor = user.id;
    getMe()
      .then((profile) => profile && typeof profile === 'object' && updateUser(profile))
      .catch(() => {
        // The header falls back to the username; the settings page loads /api/me itself.
      })
      .finally(() => {
        loadingFor = null;
      });
  });
}
