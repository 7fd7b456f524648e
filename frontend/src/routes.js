import { homeView } from './views/home-view.js';
import { notFoundView } from './views/not-found-view.js';
import { scratchView } from './views/scratch-view.js';
import { signinView } from './views/signin-view.js';

/** Paths the app renders. The server answers each of them with index.html. */
export const ROUTES = {
  '/': homeView,
  '/scratch': scratchView,
  '/signin': signinView,
};

export const NOT_FOUND = notFoundView;
