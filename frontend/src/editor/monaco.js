// Everything the scratch editor needs from Monaco. Loaded with import() only when an
// editor is shown, so the app shell stays small.
//
// Language tokenizers and language services are registered here but load lazily:
// each tokenizer is its own chunk, and the TS/JS, JSON, CSS and HTML services start
// their worker the first time a model of that language needs them.

import './monaco-environment.js';
import * as monaco from 'monaco-editor/editor';
import 'monaco-editor/features/register.all';
import 'monaco-editor/languages/definitions/register.all';
import 'monaco-editor/languages/features/register.all';

export { monaco };
