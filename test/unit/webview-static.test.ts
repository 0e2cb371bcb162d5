// Static checks on the webview sources: the rules the CSP and the theme depend on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const shipped = readdirSync(join(root, 'webview'))
  .filter((f) => f.endsWith('.ts') && f !== 'preview.ts' && f !== 'fixture.ts')
  .map((f) => ({ f, src: readFileSync(join(root, 'webview', f), 'utf8') }));

test('webview code never parses strings as HTML or code', () => {
  assert.ok(shipped.length >= 10, 'found the webview sources');
  const banned = [/\.innerHTML\b/, /\.outerHTML\b/, /insertAdjacentHTML/, /document\.write/, /\beval\s*\(/, /new Function\b/, /createContextualFragment/, /setAttribute\(\s*['"]style['"]/];
  for (const { f, src } of shipped) for (const re of banned) assert.doesNotMatch(src, re, `${f} uses ${re}`);
});

/**
 * Pure modules the webview shares with report.html and the SVGs so both draw one picture
 * (same series, colours, titles and words). Each may import at run time only other modules of
 * this list: no engine, no node, no I/O (checked below, transitively).
 */
const SHARED = ['src/io/report/palette.ts', 'src/io/report/words.ts', 'src/io/report/throughTime.ts', 'src/study/format.ts'];

function runtimeImports(src: string): string[] {
  return [...src.matchAll(/^import\s+(?!type\b)[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

test('the bundle entry never imports the engine or node modules (only the shared pure modules from src)', () => {
  for (const { f, src } of shipped) {
    for (const spec of runtimeImports(src)) {
      if (spec.startsWith('../src/')) {
        assert.ok(SHARED.includes(`${spec.slice(3)}.ts`), `${f} imports ${spec} at run time (not a shared pure module)`);
        continue;
      }
      assert.ok(!spec.includes('/src/') && !spec.startsWith('node:'), `${f} imports ${spec} at run time`);
    }
  }
  for (const file of SHARED) {
    const src = readFileSync(join(root, file), 'utf8');
    for (const spec of runtimeImports(src)) {
      const target = join(file, '..', `${spec}.ts`).replace(/\\/g, '/');
      assert.ok(SHARED.includes(target), `${file} imports ${spec} at run time: the webview would bundle it`);
    }
  }
  const shared = readFileSync(join(root, 'src', 'study', 'format.ts'), 'utf8');
  assert.deepEqual([...shared.matchAll(/^import\s+(?!type\b)[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]), [], 'src/study/format.ts imports only types');
});

test('webview.css takes every colour from VS Code theme variables', () => {
  const css = readFileSync(join(root, 'media', 'webview.css'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  assert.doesNotMatch(css, /#[0-9a-f]{3,8}\b/i, 'hex colour');
  assert.doesNotMatch(css, /\b(rgb|rgba|hsl|hsla)\(/i, 'functional colour');
  assert.doesNotMatch(css, /:\s*(white|black|red|blue|green|gray|grey)\s*;/i, 'named colour');
  assert.match(css, /var\(--vscode-foreground\)/);
});
