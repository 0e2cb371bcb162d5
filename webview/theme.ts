// Theme colours come from VS Code's CSS variables, read at draw time, and the views redraw
// when VS Code switches theme (it swaps the body class and the variables together).
import type { PaletteName } from './scales';

export interface Theme {
  kind: 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  fontFamily: string;
  fontSize: number;
  /** Series colours in a fixed order, from --vscode-charts-*. */
  series: string[];
  red: string;
  focus: string;
  palette: PaletteName;
}

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  const v = style.getPropertyValue(name).trim();
  return v || fallback;
}

export function themeKind(body: HTMLElement): Theme['kind'] {
  const c = body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (c.contains('vscode-high-contrast')) return 'high-contrast';
  if (c.contains('vscode-light')) return 'light';
  return 'dark';
}

export function readTheme(): Theme {
  const s = getComputedStyle(document.body);
  const kind = themeKind(document.body);
  const light = kind === 'light' || kind === 'high-contrast-light';
  const fg = cssVar(s, '--vscode-editor-foreground', cssVar(s, '--vscode-foreground', light ? '#333333' : '#cccccc'));
  const series = [
    cssVar(s, '--vscode-charts-blue', '#3794ff'),
    cssVar(s, '--vscode-charts-orange', '#d18616'),
    cssVar(s, '--vscode-charts-green', '#89d185'),
    cssVar(s, '--vscode-charts-purple', '#b180d7'),
    cssVar(s, '--vscode-charts-red', '#f14c4c'),
    cssVar(s, '--vscode-charts-yellow', '#cca700'),
  ];
  const size = parseFloat(cssVar(s, '--vscode-font-size', '13px'));
  return {
    kind,
    foreground: fg,
    muted: cssVar(s, '--vscode-descriptionForeground', fg),
    grid: cssVar(s, '--vscode-editorWidget-border', cssVar(s, '--vscode-widget-border', light ? '#c8c8c8' : '#454545')),
    background: cssVar(s, '--vscode-editor-background', light ? '#ffffff' : '#1e1e1e'),
    fontFamily: cssVar(s, '--vscode-font-family', 'sans-serif'),
    fontSize: Number.isFinite(size) ? size : 13,
    series,
    red: series[4]!,
    focus: cssVar(s, '--vscode-focusBorder', '#007fd4'),
    palette: kind === 'high-contrast' || kind === 'high-contrast-light' ? 'inferno' : 'viridis',
  };
}

/** Calls onChange (debounced to one frame) whenever VS Code changes the theme. */
export function watchTheme(onChange: () => void): void {
  let pending = false;
  const observer = new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      onChange();
    });
  });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });
  // VS Code sets the --vscode-* variables on <html style>; a theme switch rewrites it.
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });
}
