import { requireAuth } from './shell/require-auth.js';
import { lazyView } from './shell/lazy-view.js';
import { checkEmailView } from './views/check-email-view.js';
import { forgotPasswordView } from './views/forgot-password-view.js';
import { homeView } from './views/home-view.js';
import { notFoundView } from './views/not-found-view.js';
import { resetPasswordView } from './views/reset-password-view.js';
import { scratchView } from './views/scratch-view.js';
import { setupView } from './views/setup-view.js';
import { signinView } from './views/signin-view.js';
import { signupView } from './views/signup-view.js';
import { verifyEmailView } from './views/verify-email-view.js';
import { workspacesView } from './views/workspaces-view.js';

/** Paths the app renders. The server answers each of them with index.html. */
export const ROUTES = {
  '/': homeView,
  '/scratch': scratchView,
  '/signin': signinView,
  '/signup': signupView,
  '/check-email': checkEmailView,
  '/verify-email': verifyEmailView,
  '/forgot-password': forgotPasswordView,
  '/reset-password': resetPasswordView,
  '/setup': setupView,
  '/settings/account': requireAuth(
    lazyView('Account settings', () => import('./views/account/account-view.js').then((m) => m.accountView)),
  ),
  '/workspaces': requireAuth(workspacesView),
};

const workspaceView = requireAuth(
  lazyView('Workspace', () => import('./workspace/workspace-view.js').then((m) => m.workspaceView)),
);

/**
 * Paths with ids in them. The server answers index.html for them too:
 * /w/{workspace_id} and /w/{workspace_id}/f/{file_id}.
 */
export const PATTERN_ROUTES = [
  { pattern: /^\/w\/[0-9a-f]{32}$/, view: workspaceView },
  { pattern: /^\/w\/[0-9a-f]{32}\/f\/[0-9a-f]{32}$/, view: workspaceView },
];

export const NOT_FOUND = notFoundView;
