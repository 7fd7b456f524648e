// Tell Monaco how to start its web workers. Must run before any editor is created.
//
// The build emits each worker as its own ES module with a content-hashed name and
// provides their URLs through the generated module imported below; the URLs are
// resolved against this bundle's own location, so the app works under any mount prefix.

import { workerUrls } from 'collabcode:monaco-worker-urls';

const WORKER_FOR_LABEL = {
  json: 'json',
  css: 'css',
  scss: 'css',
  less: 'css',
  html: 'html',
  handlebars: 'html',
  razor: 'html',
  typescript: 'ts',
  javascript: 'ts',
};

self.MonacoEnvironment = {
  getWorker(_moduleId, label) {
    const name = WORKER_FOR_LABEL[label] ?? 'editor';
    return new Worker(workerUrls[name], { type: 'module', name: label });
  },
};
