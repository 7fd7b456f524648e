// Build the browser app into ../collabcode/static/ (run `npm run build` in frontend/),
// or into the directory given as the first argument.
//
// Output (everything the page loads has a content hash in its name):
//   index.html                       the page, served by the server for every app route
//   manifest.json                    logical name -> path of each built asset
//   assets/app-HASH.js               entry module (the app shell; no Monaco)
//   assets/app-HASH.css              Monaco's stylesheet, added by the scratch editor on demand
//   assets/tw-HASH.css               the app's Tailwind stylesheet
//   assets/chunks/*-HASH.js          lazily loaded chunks (Monaco, tokenizers, language services)
//   assets/workers/*.worker-HASH.js  Monaco web workers (ES modules)
//   assets/codicon-HASH.ttf, assets/favicon-HASH.svg
//   LICENSES/                        licence texts of the bundled third-party packages
//   *.gz                             gzip -9 copies of text outputs over 1 KB
//
// The output is deterministic: the same sources and lockfile give byte-identical files.

import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const FRONTEND = path.dirname(fileURLToPath(import.meta.url));
// An output directory may be given (the freshness test builds into a temporary one).
const OUT = process.argv[2] ? path.resolve(process.argv[2]) : path.resolve(FRONTEND, '..', 'collabcode', 'static');
const URL_PREFIX = '/static/'; // where the server mounts OUT
const MONACO = 'node_modules/monaco-editor/esm/vs';
const CHUNK_DIR = 'assets/chunks';
const WORKER_URLS_MODULE = 'collabcode:monaco-worker-urls';
const GZIP_EXTENSIONS = new Set(['.js', '.css', '.html', '.json', '.ttf', '.svg']);
const GZIP_MIN_BYTES = 1024;
// The shell must stay small: fail the build if the entry and its static imports grow past
// this (for example because something imported Monaco statically instead of with import()).
const FIRST_LOAD_JS_BUDGET = 100 * 1024;

const WORKERS = {
  editor: `${MONACO}/editor/editor.worker.js`,
  json: `${MONACO}/languages/features/json/json.worker.js`,
  css: `${MONACO}/languages/features/css/css.worker.js`,
  html: `${MONACO}/languages/features/html/html.worker.js`,
  ts: `${MONACO}/languages/features/typescript/ts.worker.js`,
};

const started = performance.now();

const common = {
  absWorkingDir: FRONTEND,
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  outdir: OUT,
  // y-monaco imports Monaco by its pre-0.56 path; point it at the same module the app uses.
  alias: { 'monaco-editor/esm/vs/editor/editor.api.js': 'monaco-editor/editor/editor.api' },
};

/** Output path (relative to OUT, with forward slashes) of a metafile output key. */
function outRel(metafileKey) {
  return path.relative(OUT, path.resolve(FRONTEND, metafileKey)).split(path.sep).join('/');
}

/** 8-character content hash in the same alphabet esbuild uses for [hash]. */
function contentHash(bytes) {
  const digest = crypto.createHash('sha256').update(bytes).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let result = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && result.length < 8) {
      result += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (result.length === 8) break;
  }
  return result;
}

/** Write `bytes` as OUT/dir/name-HASH.ext and return the path relative to OUT. */
function writeHashed(dir, name, ext, bytes) {
  const rel = `${dir}/${name}-${contentHash(bytes)}${ext}`;
  fs.mkdirSync(path.join(OUT, dir), { recursive: true });
  fs.writeFileSync(path.join(OUT, rel), bytes);
  return rel;
}

function fail(message) {
  console.error(`build failed: ${message}`);
  process.exit(1);
}

// 0. Start from an empty output directory, so renamed hashed files do not pile up.
fs.rmSync(OUT, { recursive: true, force: true });
fs.mkdirSync(OUT, { recursive: true });

// 1. Monaco's workers: standalone ES modules with hashed names.
const workerBuild = await esbuild.build({
  ...common,
  entryPoints: Object.fromEntries(Object.entries(WORKERS).map(([name, file]) => [`${name}.worker`, file])),
  entryNames: 'assets/workers/[name]-[hash]',
});
const workerFiles = {}; // 'ts' -> 'assets/workers/ts.worker-HASH.js'
for (const [key, output] of Object.entries(workerBuild.metafile.outputs)) {
  if (!output.entryPoint) continue;
  const name = Object.keys(WORKERS).find((n) => path.resolve(FRONTEND, output.entryPoint) === path.resolve(FRONTEND, WORKERS[n]));
  if (!name) fail(`unexpected worker output ${key}`);
  workerFiles[name] = outRel(key);
}

// 2. The app. Worker URLs come in through a generated module, resolved relative to the
//    chunk that contains it (checked below), so any mount prefix works.
const workerUrlsPlugin = {
  name: 'monaco-worker-urls',
  setup(build) {
    build.onResolve({ filter: /^collabcode:monaco-worker-urls$/ }, () => ({
      path: 'monaco-worker-urls',
      namespace: 'collabcode',
    }));
    build.onLoad({ filter: /.*/, namespace: 'collabcode' }, () => {
      const entries = Object.keys(WORKERS)
        .map((name) => {
          const rel = path.posix.relative(CHUNK_DIR, workerFiles[name]);
          const spec = rel.startsWith('../') ? rel : `./${rel}`;
          return `  ${JSON.stringify(name)}: new URL(${JSON.stringify(spec)}, import.meta.url).href,`;
        })
        .join('\n');
      return { contents: `export const workerUrls = {\n${entries}\n};\n`, loader: 'js' };
    });
  },
};

const appBuild = await esbuild.build({
  ...common,
  entryPoints: { app: 'src/main.js' },
  splitting: true,
  entryNames: 'assets/[name]-[hash]',
  chunkNames: `${CHUNK_DIR}/[name]-[hash]`,
  assetNames: 'assets/[name]-[hash]',
  loader: { '.ttf': 'file' },
  plugins: [workerUrlsPlugin],
});

const appOutputs = appBuild.metafile.outputs;
const entryKey = Object.keys(appOutputs).find((k) => appOutputs[k].entryPoint === 'src/main.js');
if (!entryKey) fail('no output for src/main.js');
const entry = appOutputs[entryKey];
if (!entry.cssBundle) fail('esbuild produced no stylesheet for the app (Monaco CSS missing)');

// The worker URLs are relative to CHUNK_DIR: make sure the generated module landed there.
const workerUrlsKey = `collabcode:monaco-worker-urls`;
const holders = Object.keys(appOutputs).filter((k) => appOutputs[k].inputs[workerUrlsKey]);
if (holders.length !== 1 || path.posix.dirname(outRel(holders[0])) !== CHUNK_DIR) {
  fail(`the worker URL module must be in exactly one chunk under ${CHUNK_DIR}, got ${holders.map(outRel)}`);
}

// esbuild also writes a stylesheet per lazy chunk. They are never loaded and hold nothing
// that is not already in the entry's stylesheet: check that, then delete them.
const entryCssInputs = new Set(Object.keys(appOutputs[entry.cssBundle].inputs));
for (const [key, output] of Object.entries(appOutputs)) {
  if (!key.endsWith('.css') || key === entry.cssBundle) continue;
  const missing = Object.keys(output.inputs).filter((input) => !entryCssInputs.has(input));
  if (missing.length) fail(`${outRel(key)} has CSS that is not in the app stylesheet: ${missing.join(', ')}`);
  fs.rmSync(path.resolve(FRONTEND, key));
  delete appOutputs[key];
}

// Modules the entry imports statically load with it: preload them.
function staticImports(key, seen = []) {
  for (const imported of appOutputs[key].imports) {
    if (imported.kind !== 'import-statement' || imported.external || seen.includes(imported.path)) continue;
    seen.push(imported.path);
    staticImports(imported.path, seen);
  }
  return seen;
}
const staticClosure = staticImports(entryKey);
const firstLoadJs = [entryKey, ...staticClosure].reduce((sum, key) => sum + appOutputs[key].bytes, 0);
if (firstLoadJs > FIRST_LOAD_JS_BUDGET) {
  fail(`the first-load JavaScript is ${firstLoadJs} bytes, over the ${FIRST_LOAD_JS_BUDGET}-byte budget; load big modules with import()`);
}

// 3. Tailwind (its own CLI; no automatic content detection, see the input file).
const twTemp = fs.mkdtempSync(path.join(os.tmpdir(), 'collabcode-tw-'));
const twOut = path.join(twTemp, 'tw.css');
const tw = spawnSync(
  process.execPath,
  ['node_modules/@tailwindcss/cli/dist/index.mjs', '-i', 'src/styles/tailwind.css', '-o', twOut, '--minify'],
  { cwd: FRONTEND, encoding: 'utf8' },
);
if (tw.status !== 0) fail(`tailwindcss exited with ${tw.status}:\n${tw.stderr}`);
const twCss = writeHashed('assets', 'tw', '.css', fs.readFileSync(twOut));
fs.rmSync(twTemp, { recursive: true, force: true });

// 4. Static files from web/.
const favicon = writeHashed('assets', 'favicon', '.svg', fs.readFileSync(path.join(FRONTEND, 'web/favicon.svg')));

// 4b. The service worker (offline app shell): a fixed name, served as /static/sw.js with
//     Service-Worker-Allowed: / so it can control every app route.
await esbuild.build({ ...common, metafile: false, format: 'iife', entryPoints: { sw: 'src/shell/service-worker.js' }, entryNames: '[name]' });

// 5. Licences of the third-party packages whose code is in the bundles (legal comments
//    are stripped from the JavaScript, so the texts ship next to it).
const bundledPackages = new Map();
for (const meta of [workerBuild.metafile, appBuild.metafile]) {
  for (const input of Object.keys(meta.inputs)) {
    const match = input.match(/(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//);
    if (match) bundledPackages.set(match[1], path.join(FRONTEND, 'node_modules', match[1]));
  }
}
const licenceLines = [
  'Third-party software bundled in the collabcode web app',
  '',
  'The JavaScript files are minified without their licence comments. The licences of the',
  'packages they contain are in this directory, one folder per package.',
  '',
];
for (const name of [...bundledPackages.keys()].sort()) {
  const dir = bundledPackages.get(name);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const texts = fs
    .readdirSync(dir)
    .filter((file) => /^(licen[cs]e|copying|notice|thirdpartynotices)/i.test(file))
    .sort();
  if (!texts.length) fail(`${name} has no licence file to ship`);
  const target = path.join(OUT, 'LICENSES', name);
  fs.mkdirSync(target, { recursive: true });
  for (const file of texts) fs.copyFileSync(path.join(dir, file), path.join(target, file));
  licenceLines.push(`${name} ${pkg.version} (${pkg.license}): ${texts.map((t) => `${name}/${t}`).join(', ')}`);
}
fs.writeFileSync(path.join(OUT, 'LICENSES', 'README.txt'), `${licenceLines.join('\n')}\n`);

// 6. manifest.json and index.html.
const manifest = {
  'app.js': outRel(entryKey),
  'app.css': outRel(entry.cssBundle),
  'tw.css': twCss,
  'favicon.svg': favicon,
  ...Object.fromEntries(Object.keys(WORKERS).map((name) => [`${name}.worker.js`, workerFiles[name]])),
};
const codicon = Object.keys(appOutputs).find((k) => /\/codicon-[A-Z0-9]+\.ttf$/.test(k));
if (codicon) manifest['codicon.ttf'] = outRel(codicon);
fs.writeFileSync(path.join(OUT, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

const urls = { ...manifest, licenses: 'LICENSES/README.txt' };
let html = fs.readFileSync(path.join(FRONTEND, 'web/index.html'), 'utf8');
html = html.replace(/\{\{asset:([^}]+)\}\}/g, (_, name) => {
  if (!Object.hasOwn(urls, name)) fail(`web/index.html refers to unknown asset "${name}"`);
  return URL_PREFIX + urls[name];
});
const preloads = staticClosure.map((key) => `<link rel="modulepreload" href="${URL_PREFIX}${outRel(key)}">`);
html = html.replace(/^\{\{modulepreload\}\}\n/m, preloads.map((line) => `${line}\n`).join(''));
if (/\{\{/.test(html)) fail('web/index.html has a placeholder the build does not know');
if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(html)) fail('index.html must not contain inline scripts');
fs.writeFileSync(path.join(OUT, 'index.html'), html);

// 7. Pre-compressed copies for the server to send with Content-Encoding: gzip.
function listFiles(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? listFiles(path.join(dir, d.name)) : [path.join(dir, d.name)]))
    .sort();
}
for (const file of listFiles(OUT)) {
  if (!GZIP_EXTENSIONS.has(path.extname(file))) continue;
  const bytes = fs.readFileSync(file);
  if (bytes.length <= GZIP_MIN_BYTES) continue;
  fs.writeFileSync(`${file}.gz`, zlib.gzipSync(bytes, { level: 9 }));
}

// 8. Summary.
const files = listFiles(OUT);
const size = (rel) => fs.statSync(path.join(OUT, rel)).size;
const gzSize = (rel) => (fs.existsSync(path.join(OUT, `${rel}.gz`)) ? size(`${rel}.gz`) : size(rel));
const kib = (n) => `${(n / 1024).toFixed(1).padStart(7)} KiB`;
const monacoKey = Object.keys(appOutputs).find((k) => appOutputs[k].entryPoint === 'src/editor/monaco.js');
const firstLoad = ['index.html', manifest['app.js'], manifest['tw.css'], ...staticClosure.map(outRel)];
const rows = [
  ['first load (html + entry js + tw.css)', firstLoad],
  ['scratch editor (Monaco + app.css)', [monacoKey, ...staticImports(monacoKey)].map(outRel).filter((rel) => !firstLoad.includes(rel)).concat(manifest['app.css'])],
  ...Object.keys(WORKERS).map((name) => [`${name}.worker`, [workerFiles[name]]]),
];
console.log(`built ${path.relative(process.cwd(), OUT) || '.'} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
for (const [label, rels] of rows) {
  const raw = rels.reduce((sum, rel) => sum + size(rel), 0);
  const gz = rels.reduce((sum, rel) => sum + gzSize(rel), 0);
  console.log(`  ${label.padEnd(40)} ${kib(raw)} raw ${kib(gz)} gz`);
}
const plain = files.filter((f) => !f.endsWith('.gz'));
const total = plain.reduce((sum, f) => sum + fs.statSync(f).size, 0);
const totalAll = files.reduce((sum, f) => sum + fs.statSync(f).size, 0);
console.log(`  ${`all ${plain.length} files (+${files.length - plain.length} .gz)`.padEnd(40)} ${kib(total)} raw ${kib(totalAll)} with .gz`);
