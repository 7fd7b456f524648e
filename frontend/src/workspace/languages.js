// Monaco language id for a file path, from the languages Monaco has registered
// (extensions and file names such as "Dockerfile").

const cache = new Map();

export function languageForPath(monaco, path) {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  if (cache.has(name)) return cache.get(name);
  const dot = name.lastIndexOf('.');
  const extension = dot >= 0 ? name.slice(dot) : '';
  let found = 'plaintext';
  for (const language of monaco.languages.getLanguages()) {
    const filenames = (language.filenames ?? []).map((f) => f.toLowerCase());
    if (filenames.includes(name)) {
      found = language.id;
      break;
    }
    if (extension && found === 'plaintext' && (language.extensions ?? []).some((e) => e.toLowerCase() === extension)) {
      found = language.id;
    }
  }
  cache.set(name, found);
  return found;
}
