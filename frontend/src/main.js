// Entry point of the browser app: restore the session, then start the header widgets and
// the router in <main>. Monaco is not imported here; the scratch editor loads it on demand.

import { completeProfilesOnSignIn } from './auth/profile-completion.js';
import { startSession } from './auth/session.js';
import { startEventsWhenSignedIn } from './events/start-events.js';
import { startChatWhenSignedIn } from './messages/start-chat.js';
import { NOT_FOUND, PATTERN_ROUTES, ROUTES } from './routes.js';
import { startCalls } from './calls/start-calls.js';
import { startAccountMenu } from './shell/account-menu.js';
import { startNavState } from './dashboard/nav-state.js';
import { startPalette } from './palette/start-palette.js';
import { preloadEditorOnIntent } from './shell/preload-editor.js';
import { startRouter } from './shell/router.js';
import { startVerifyEmailBanner } from './shell/verify-email-banner.js';
import { registerOfflineShell } from './shell/offline-shell.js';
import { clearOfflineDocumentsOnSignOut } from './workspace/offline-store.js';

completeProfilesOnSignIn();
clearOfflineDocumentsOnSignOut();
startSession();
startEventsWhenSignedIn();
startChatWhenSignedIn();
startCalls();
startAccountMenu(document.querySelector('[data-account-area]'));
startNavState();
startPalette();
startVerifyEmailBanner(document.getElementById('banners'));

const outlet = document.getElementById('main');
outlet.replaceChildren();
startRouter({ routes: ROUTES, patterns: PATTERN_ROUTES, notFound: NOT_FOUND, outlet });
preloadEditorOnIntent();
registerOfflineShell();
