// The scratch editor's text and language, kept in this browser's localStorage only.

import { DEFAULT_LANGUAGE, isScratchLanguage } from './scratch-languages.js';

const KEY = 'collabcode.scratch.v1';

export const WELCOME_TEXT = `# Scratch pad
# Type anything here. It is saved in this browser only; nothing is sent to the server.

def greet(name: str) -> str:
    return f"Hello, {name}!"

print(greet("collabcode"))
`;

/** Returns { text, language }, falling back to the welcome text when nothing is stored. */
export function loadScratch() {
  try {
    const raw = window.localStorage.getItem(KEY);
    if (raw) {
      const data = JSON.parse(raw);
      if (data && typeof data.text === 'string') {
        return {
          text: data.text,
          language: isScratchLanguage(data.language) ? data.language : DEFAULT_LANGUAGE,
        };
      }
    }
  } catch {
    // Storage blocked or corrupt: start from the welcome text.
  }
  return { text: WELCOME_TEXT, language: DEFAULT_LANGUAGE };
}

/** Returns true when saved, false when this browser refused (storage full or blocked). */
export function saveScratch({ text, language }) {
  try {
    window.localStorage.setItem(KEY, JSON.stringify({ text, language }));
    return true;
  } catch {
    return false;
  }
}
