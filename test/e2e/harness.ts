// Drives the packaged extension in a real VS Code: code-server 4.100.3 (VS Code 1.100)
// on loopback, opened in Debian's Chromium through playwright-core. Everything started
// here is stopped by `close()`. Installation is done by scripts/e2e/setup.sh (cached).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';

export const repoRoot = resolve(__dirname, '..', '..');
export const artifactsDir = join(repoRoot, 'test-artifacts', 'e2e');

export type Theme = 'dark' | 'light' | 'high-contrast';
const themes: Record<Theme, string> = { dark: 'Default Dark Modern', light: 'Default Light Modern', 'high-contrast': 'Default High Contrast' };

let codeServerDir: string | undefined;

/** Installs (once, cached) code-server and Chromium; returns code-server's folder. */
export function ensureCodeServer(): string {
  codeServerDir ??= execFileSync('bash', [join(repoRoot, 'scripts', 'e2e', 'setup.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return codeServerDir;
}

/** The .vsix built by `npm run test:e2e` (scripts/package.mjs). */
export function findVsix(): string {
  if (process.env.BPTT_LENS_VSIX) return resolve(process.env.BPTT_LENS_VSIX);
  const vsix = readdirSync(repoRoot).filter((f) => f.endsWith('.vsix'));
  if (vsix.length !== 1) throw new Error(`expected one .vsix in ${repoRoot}, found ${vsix.length}: run npm run package`);
  return join(repoRoot, vsix[0]!);
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

async function waitForHttp(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(url, { redirect: 'manual' });
      if (res.status < 500) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > end) throw new Error(`code-server did not answer at ${url} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface Session {
  page: Page;
  workspace: string;
  port: number;
  /** Where the extension writes its last run's main-thread stall figures (BPTT_LENS_E2E_STATS). */
  statsFile: string;
  /** Runs a command from the palette by its full title, e.g. "BPTT Lens: Run Diagnosis". */
  runCommand(title: string): Promise<void>;
  /** Presses Enter on every quick pick / input box that appears until none is left. */
  acceptPrompts(opts?: { quietMs?: number; maxMs?: number }): Promise<number>;
  /** The webview document whose body carries data-view=`view`. */
  webviewFrame(view: 'report' | 'heatmaps' | 'heatmapEditor' | 'captures' | 'probe', timeoutMs?: number): Promise<Frame>;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function openVsCode(opts: { theme: Theme; name: string; prepareWorkspace?: (dir: string) => void }): Promise<Session> {
  const cs = ensureCodeServer();
  const vsix = findVsix();
  const base = mkdtempSync(join(tmpdir(), `bptt-e2e-${opts.name}-`));
  const workspace = join(base, 'workspace');
  const userData = join(base, 'user-data');
  const extensions = join(base, 'extensions');
  mkdirSync(workspace, { recursive: true });
  mkdirSync(join(userData, 'User'), { recursive: true });
  mkdirSync(extensions, { recursive: true });
  opts.prepareWorkspace?.(workspace);
  writeFileSync(
    join(userData, 'User', 'settings.json'),
    JSON.stringify({
      'workbench.colorTheme': themes[opts.theme],
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.welcomePage.walkthroughs.openOnInstall': false,
      'security.workspace.trust.enabled': false,
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
    }),
  );
  const entry = join(cs, 'out', 'node', 'entry.js');
  const common = ['--user-data-dir', userData, '--extensions-dir', extensions];
  execFileSync(process.execPath, [entry, ...common, '--install-extension', vsix], { stdio: 'pipe' });

  const port = await freePort();
  const server: ChildProcess = spawn(
    process.execPath,
    [entry, ...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check',
      '--disable-workspace-trust', workspace],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BPTT_LENS_E2E_STATS: join(base, 'stats.json') } },
  );
  let serverLog = '';
  server.stdout?.on('data', (d) => (serverLog += d));
  server.stderr?.on('data', (d) => (serverLog += d));

  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    await browser?.close().catch(() => undefined);
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    mkdirSync(artifactsDir, { recursive: true });
    writeFileSync(join(artifactsDir, `${opts.name}-code-server.log`), serverLog);
    rmSync(base, { recursive: true, force: true });
  };

  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 30_000);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--no-first-run', '--disable-quic'],
    });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    // Let the workbench finish restoring (activity bar, status bar) before typing.
    await page.waitForSelector('.part.statusbar', { timeout: 30_000 });
    await page.waitForTimeout(1500);

    const quickInput = page.locator('.quick-input-widget');
    const session: Session = {
      page,
      workspace,
      port,
      statsFile: join(base, 'stats.json'),
      async runCommand(title) {
        // Right after start-up on a loaded machine the palette may not list the extension's
        // commands yet (its host still activating): a second try after a pause.
        for (let attempt = 1; ; attempt++) {
          await page.keyboard.press('Escape');
          await page.keyboard.press('F1');
          await quickInput.waitFor({ state: 'visible', timeout: 10_000 });
          await page.keyboard.type(title, { delay: 5 });
          // Click the row whose label is exactly the title: fuzzy matching also lists other
          // commands ("Save Report" matches "Open Saved Report"), and Enter runs the top one.
          const row = page.locator(`.quick-input-list .monaco-list-row[aria-label^="${title.replace(/"/g, '\\"')}"]`).first();
          try {
            await row.waitFor({ state: 'visible', timeout: 20_000 });
          } catch (e) {
            if (attempt >= 2) throw e;
            await page.keyboard.press('Escape');
            await page.waitForTimeout(3000);
            continue;
          }
          await row.click();
          return;
        }
      },
      async acceptPrompts({ quietMs = 2500, maxMs = 30_000 } = {}) {
        const end = Date.now() + maxMs;
        let accepted = 0;
        let quietSince = Date.now();
        while (Date.now() < end) {
          if (await quickInput.isVisible()) {
            await page.waitForTimeout(300); // the list fills in asynchronously
            await page.keyboard.press('Enter');
            accepted++;
            quietSince = Date.now();
            await page.waitForTimeout(400);
          } else if (Date.now() - quietSince > quietMs) {
            break;
          } else {
            await page.waitForTimeout(150);
          }
        }
        return accepted;
      },
      async webviewFrame(view, timeoutMs = 60_000) {
        const end = Date.now() + timeoutMs;
        while (Date.now() < end) {
          for (const frame of page.frames()) {
            const match = await frame
              .evaluate((v) => document.body?.dataset?.view === v, view)
              .catch(() => false);
            if (match) return frame;
          }
          await page.waitForTimeout(250);
        }
        throw new Error(`no webview with data-view=${view} within ${timeoutMs} ms`);
      },
      async screenshot(name) {
        mkdirSync(artifactsDir, { recursive: true });
        const file = join(artifactsDir, `${name}-${opts.theme}.png`);
        await page.screenshot({ path: file });
        return file;
      },
      close,
    };
    return session;
  } catch (e) {
    await close();
    throw new Error(`${(e as Error).message}\n--- code-server log ---\n${serverLog.slice(-4000)}`);
  }
}

/** Counts canvas pixels that differ from the canvas's top-left pixel, per canvas. */
export async function canvasInk(frame: Frame): Promise<number[]> {
  return frame.evaluate(() =>
    Array.from(document.querySelectorAll('canvas')).map((c) => {
      const ctx = c.getContext('2d');
      if (!ctx || c.width === 0 || c.height === 0) return 0;
      const { data } = ctx.getImageData(0, 0, c.width, c.height);
      let ink = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 0) ink++;
      return ink;
    }),
  );
}
