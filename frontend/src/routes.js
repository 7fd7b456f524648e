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
import { homeRoute } from './dashboard/home-route.js';

const dashboardView = lazyView('Dashboard', () => import('./dashboard/dashboard-view.js').then((m) => m.dashboardView));
const adminView = requireAuth(lazyView('Administration', () => import('./admin/admin-view.js').then((m) => m.adminView)));
const profileView = requireAuth(lazyView('Profile', () => import('./profile/profile-view.js').then((m) => m.profileView)));

const messagesView = requireAuth(
  lazyView('Messages', () => import('./messages/messages-view.js').then((m) => m.messagesView)),
);

const callsView = requireAuth(lazyView('Calls', () => import('./calls/calls-view.js').then((m) => m.callsView)));

/** Paths the app renders. The server answers each of them with index.html. */
export const ROUTES = {
  '/': homeRoute(homeView, dashboardView),
  '/dashboard': requireAuth(dashboardView),
  '/admin': adminView,
  '/admin/users': adminView,
  '/admin/invites': adminView,
  '/admin/settings': adminView,
  '/admin/health': adminView,
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
  '/messages': messagesView,
  '/calls': callsView,
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
  { pattern: /^\/messages\/[0-9a-f]{32}$/, view: messagesView },
  { pattern: /^\/u\/[A-Za-z0-9_-]{1,64}$/, view: profileView },
];

export const NOT_FOUND = notFoundView;
