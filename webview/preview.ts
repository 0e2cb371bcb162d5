// Dev-only stand-in for the VS Code webview host (bundled to dist/webview-preview.js by
// scripts/webview-preview.mjs, never shipped): theme variables, a fake acquireVsCodeApi,
// and the fixture report posted after the page says 'ready'. Query string:
//   view=report|heatmaps  theme=light|dark|hc  kind=timestepIteration|timestepLayer|itemized
//   quantity=gradNormH|gradNormC|weightGradByStep|inputGradNorm
//   run=<fixture run id>|big (heatmaps view)  width=<px>  mode=empty|busy|error
import type { HostToWebview } from '../src/protocol';
import { bigRun, fixtureReport } from './fixture';

const THEMES: Record<string, { cls: string; vars: Record<string, string> }> = {
  dark: {
    cls: 'vscode-dark',
    vars: {
      foreground: '#cccccc', 'editor-foreground': '#d4d4d4', 'editor-background': '#1e1e1e', descriptionForeground: '#9d9d9d',
      'editorWidget-border': '#454545', 'editorWidget-background': '#252526', focusBorder: '#007fd4', 'panel-border': '#80808059',
      'charts-red': '#f14c4c', 'charts-blue': '#3794ff', 'charts-green': '#89d185', 'charts-yellow': '#cca700', 'charts-orange': '#d18616', 'charts-purple': '#b180d7',
      'textLink-foreground': '#3794ff', errorForeground: '#f48771', 'editorWarning-foreground': '#cca700',
      'inputValidation-errorBorder': '#be1100', 'inputValidation-errorBackground': '#5a1d1d',
      'button-background': '#0e639c', 'button-foreground': '#ffffff', 'button-hoverBackground': '#1177bb',
      'button-secondaryBackground': '#3a3d41', 'button-secondaryForeground': '#ffffff', 'button-secondaryHoverBackground': '#45494e',
      'settings-dropdownBackground': '#3c3c3c', 'settings-dropdownBorder': '#3c3c3c', 'settings-dropdownForeground': '#f0f0f0', 'settings-dropdownListBorder': '#454545',
      'checkbox-background': '#3c3c3c', 'checkbox-border': '#6b6b6b', 'checkbox-foreground': '#f0f0f0', 'settings-checkboxBackground': '#3c3c3c', 'settings-checkboxBorder': '#6b6b6b',
      'list-activeSelectionBackground': '#04395e', 'list-activeSelectionForeground': '#ffffff', 'list-hoverBackground': '#2a2d2e',
      'progressBar-background': '#0e70c0',
    },
  },
  light: {
    cls: 'vscode-light',
    vars: {
      foreground: '#616161', 'editor-foreground': '#000000', 'editor-background': '#ffffff', descriptionForeground: '#717171',
      'editorWidget-border': '#c8c8c8', 'editorWidget-background': '#f3f3f3', focusBorder: '#0090f1', 'panel-border': '#80808059',
      'charts-red': '#e51400', 'charts-blue': '#1a85ff', 'charts-green': '#388a34', 'charts-yellow': '#bf8803', 'charts-orange': '#d18616', 'charts-purple': '#652d90',
      'textLink-foreground': '#006ab1', errorForeground: '#a1260d', 'editorWarning-foreground': '#bf8803',
      'inputValidation-errorBorder': '#be1100', 'inputValidation-errorBackground': '#f2dede',
      'button-background': '#007acc', 'button-foreground': '#ffffff', 'button-hoverBackground': '#0062a3',
      'button-secondaryBackground': '#5f6a79', 'button-secondaryForeground': '#ffffff', 'button-secondaryHoverBackground': '#4c5561',
      'settings-dropdownBackground': '#ffffff', 'settings-dropdownBorder': '#cecece', 'settings-dropdownForeground': '#616161', 'settings-dropdownListBorder': '#c8c8c8',
      'checkbox-background': '#ffffff', 'checkbox-border': '#919191', 'checkbox-foreground': '#616161', 'settings-checkboxBackground': '#ffffff', 'settings-checkboxBorder': '#919191',
      'list-activeSelectionBackground': '#0060c0', 'list-activeSelectionForeground': '#ffffff', 'list-hoverBackground': '#e8e8e8',
      'progressBar-background': '#0e70c0',
    },
  },
  hc: {
    cls: 'vscode-high-contrast',
    vars: {
      foreground: '#ffffff', 'editor-foreground': '#ffffff', 'editor-background': '#000000', descriptionForeground: '#ffffff',
      'editorWidget-border': '#6fc3df', 'editorWidget-background': '#0c141f', focusBorder: '#f38518', 'panel-border': '#6fc3df',
      'charts-red': '#f14c4c', 'charts-blue': '#3794ff', 'charts-green': '#89d185', 'charts-yellow': '#ffff00', 'charts-orange': '#d18616', 'charts-purple': '#b180d7',
      'textLink-foreground': '#21a6ff', errorForeground: '#f48771', 'editorWarning-foreground': '#ffd370',
      'inputValidation-errorBorder': '#6fc3df', 'inputValidation-errorBackground': '#000000',
      'button-background': '#000000', 'button-foreground': '#ffffff', 'button-border': '#6fc3df',
      'button-secondaryBackground': '#000000', 'button-secondaryForeground': '#ffffff',
      'settings-dropdownBackground': '#000000', 'settings-dropdownBorder': '#6fc3df', 'settings-dropdownForeground': '#ffffff', 'settings-dropdownListBorder': '#6fc3df',
      'checkbox-background': '#000000', 'checkbox-border': '#6fc3df', 'checkbox-foreground': '#ffffff', 'settings-checkboxBackground': '#000000', 'settings-checkboxBorder': '#6fc3df',
      'list-activeSelectionBackground': '#000000', 'list-activeSelectionForeground': '#ffffff',
      'progressBar-background': '#6fc3df',
    },
  },
};

const FONT = {
  'font-family': 'system-ui, -apple-system, "Segoe UI", "Ubuntu", "Droid Sans", sans-serif',
  'font-size': '13px',
  'font-weight': 'normal',
  'editor-font-family': '"Droid Sans Mono", monospace',
};

interface PreviewWindow {
  __posted: unknown[];
  __csp: string[];
  __preview: { send(msg: unknown): void; setTheme(name: string): void };
}

const params = new URLSearchParams(location.search);
const view = params.get('view') === 'heatmaps' ? 'heatmaps' : 'report';
const w = window as unknown as PreviewWindow & Window;
w.__posted = [];
w.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));

function setTheme(name: string): void {
  const t = THEMES[name] ?? THEMES.dark!;
  document.body.classList.remove('vscode-light', 'vscode-dark', 'vscode-high-contrast');
  document.body.classList.add(t.cls);
  // VS Code puts these on <html> through the CSSOM (allowed by the CSP; style attributes are not).
  const root = document.documentElement.style;
  for (const [k, v] of Object.entries({ ...t.vars, ...FONT })) root.setProperty(`--vscode-${k}`, v);
}

document.body.dataset.view = view;
setTheme(params.get('theme') ?? 'dark');
const width = Number(params.get('width'));
if (width > 0) document.body.style.width = `${width}px`;

function send(msg: unknown): void {
  // JSON round trip, like the real host: NaN and Infinity become null.
  window.postMessage(JSON.parse(JSON.stringify(msg)), '*');
}
w.__preview = { send, setTheme };

function hostReply(): HostToWebview[] {
  const mode = params.get('mode');
  if (mode === 'empty') return [{ type: 'clear' }];
  if (mode === 'busy') return [{ type: 'clear' }, { type: 'busy', label: 'Training lstm · clip norm 1 (3 of 12)', fraction: 0.25 }];
  if (mode === 'error') return [{ type: 'clear' }, { type: 'error', message: 'data.csv:14: expected a number in column "passengers", got "n/a"' }];
  const report = fixtureReport();
  if (view === 'report') return [{ type: 'report', report, selectedRunId: 'lstm' }];
  const which = params.get('run') ?? 'big';
  const run = which === 'big' ? bigRun() : report.runs.find((r) => r.id === which) ?? report.runs[0]!;
  return [{ type: 'run', run, study: report.study }];
}

let saved: unknown = JSON.parse(sessionStorage.getItem('bpttLensState') ?? 'null');
const kind = params.get('kind');
if (kind) saved = { ...(saved as object), heatmapKind: kind };
const quantity = params.get('quantity');
if (quantity) saved = { ...(saved as object), heatmapQuantity: quantity };

(window as unknown as { acquireVsCodeApi(): unknown }).acquireVsCodeApi = () => ({
  postMessage(msg: unknown) {
    w.__posted.push(msg);
    if ((msg as { type?: string }).type === 'ready') for (const m of hostReply()) send(m);
  },
  getState: () => saved,
  setState(s: unknown) {
    saved = s;
    sessionStorage.setItem('bpttLensState', JSON.stringify(s));
  },
});
