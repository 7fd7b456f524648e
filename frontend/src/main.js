// Entry point of the browser app: start the router in <main>.
// Monaco is not imported here; the scratch editor loads it on demand.

import { NOT_FOUND, ROUTES } from './routes.js';
import { startRouter } from './shell/router.js';
import { preloadEditorOnIntent } from './shell/preload-editor.js';

const outlet = document.getElementById('main');
outlet.replaceChildren();
startRouter({ routes: ROUTES, notFound: NOT_FOUND, outlet });
preloadEditorOnIntent();
