// `?test=1` on the URL the page was loaded with turns on test hooks for browser tests.
// Read once at start-up, so in-app navigation keeps the flag.
export const TEST_MODE = new URLSearchParams(window.location.search).get('test') === '1';
