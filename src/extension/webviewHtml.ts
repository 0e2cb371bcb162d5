// The one place the webviews' HTML is built. Both views share one shell: a strict CSP with a
// fresh nonce, the bundle dist/webview.js and media/webview.css, and `data-view` telling the
// bundle which UI to draw. No vscode import: the URIs come in as strings, so it is tested.
import { randomBytes } from 'node:crypto';
import type { WebviewKind } from '../protocol';

export interface ShellOptions {
  /** data-view on <body>: which bundle's view to start (the captures view has its own bundle; 'probe' is the state dict editor). */
  view: WebviewKind | 'captures' | 'probe';
  title: string;
  /** webview.cspSource */
  cspSource: string;
  /** asWebviewUri(dist/webview.js) */
  scriptUri: string;
  /** asWebviewUri(media/webview.css) */
  styleUri: string;
  nonce?: string;
}

/** 128 random bits, base64 without padding: a fresh one per render. */
export function makeNonce(): string {
  return randomBytes(16).toString('base64').replace(/=+$/, '');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    // Not covered by default-src: no <base> may redirect the bundle's URLs, no form may post anywhere.
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export function renderShell(o: ShellOptions): string {
  const nonce = o.nonce ?? makeNonce();
  const csp = contentSecurityPolicy(o.cspSource, nonce);
  const a = escapeHtml;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${a(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${a(o.styleUri)}">
<title>${a(o.title)}</title>
</head>
<body data-view="${a(o.view)}">
<div id="app" role="main" aria-busy="true"><p class="loading">Loading…</p></div>
<script nonce="${a(nonce)}" src="${a(o.scriptUri)}"></script>
</body>
</html>`;
}
