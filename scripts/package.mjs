// Packages the extension as a lean .vsix: everything the extension needs is bundled into
// dist/ by esbuild, so node_modules is left out (--no-dependencies); .vscodeignore keeps
// sources, tests and maps out.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { statSync } from 'node:fs';

const require = createRequire(import.meta.url);
const pkg = require('../package.json');
const out = process.argv[2] ?? `${pkg.name}-${pkg.version}.vsix`;
const vsce = require.resolve('@vscode/vsce/vsce');
execFileSync(process.execPath, [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '-o', out], {
  stdio: 'inherit',
});
console.log(`${out}: ${(statSync(out).size / 1024).toFixed(0)} KiB`);
