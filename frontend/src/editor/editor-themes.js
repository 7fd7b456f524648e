// Monaco themes matching the app's light and dark colours.

export const LIGHT_THEME = 'collabcode-light';
export const DARK_THEME = 'collabcode-dark';

let defined = false;

export function defineEditorThemes(monaco) {
  if (defined) return;
  defined = true;
  monaco.editor.defineTheme(LIGHT_THEME, {
    base: 'vs',
    inherit: true,
    rules: [],
    colors: { 'editor.background': '#ffffff', 'editorGutter.background': '#ffffff' },
  });
  monaco.editor.defineTheme(DARK_THEME, {
    base: 'vs-dark',
    inherit: true,
    rules: [],
    colors: { 'editor.background': '#111a2e', 'editorGutter.background': '#111a2e', 'minimap.background': '#111a2e' },
  });
}

export function themeFor(isDark) {
  return isDark ? DARK_THEME : LIGHT_THEME;
}
