// What the browser tests share: a server of this checkout on free ports (serving console/dist),
// Debian's Chromium driven by playwright-core, an SDK client, screenshots as artifacts.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
// The TypeScript SDK as the console's build compiled it (the same modules the page runs).
import { Concord } from '../dist/js/sdks/node/src/index.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = process.env.CONCORD_CONSOLE_ARTIFACTS ?? join(REPO, '.scratch', 'artifacts', 'console');
export const WAIT = 60_000; // ms: generous, for a loaded machine
const KEY = 'console-test-admin-key';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitReady(url, child, log) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`the test server exited (${child.exitCode}):\n${readFileSync(log, 'utf8').slice(-3000)}`);
    }
    try {
      if ((await fetch(`${url}/v1/health/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the test server at ${url} was not ready in 120s`);
}

/** Starts the server, Chromium and a client; `stop()` ends them. */
export async function start() {
  const data = mkdtempSync(join(tmpdir(), 'concord-console-test-'));
  const port = await freePort();
  const log = join(data, 'server.log');
  const python = process.env.CONCORD_PYTHON ?? join(REPO, '.venv', 'bin', 'python');
  const out = openSync(log, 'w');
  const child = spawn(python, ['-m', 'concord_server'], {
    env: {
      ...process.env,
      CONCORD_HTTP_PORT: String(port),
      CONCORD_GRPC_PORT: String(await freePort()),
      CONCORD_DATA_DIR: data,
      CONCORD_BOOTSTRAP_ADMIN_KEY: KEY,
      CONCORD_LOG_LEVEL: 'WARNING',
      CONCORD_RATE_LIMIT_PER_SECOND: '0',
      CONCORD_AUTH_FAILURE_RATE_PER_SECOND: '0',
    },
    stdio: ['ignore', out, out],
  });
  const baseURL = `http://127.0.0.1:${port}`;
  try {
    await waitReady(baseURL, child, log);
  } catch (error) {
    child.kill();
    throw error;
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  const client = new Concord({ baseURL, apiKey: KEY });
  const stop = async () => {
    await browser.close();
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    rmSync(data, { recursive: true, force: true });
  };
  return { baseURL, key: KEY, browser, client, stop };
}

/** A new page, signed in with the admin key, at `route`. */
export async function signedIn(env, route) {
  const page = await env.browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(WAIT);
  await page.goto(`${env.baseURL}/console/`);
  await page.fill('[data-testid=secret]', env.key);
  await page.click('[data-testid=signin]');
  await page.waitForSelector('[data-testid=subject]');
  await page.goto(`${env.baseURL}/console/#/${route}`);
  return page;
}

/** Saves a screenshot under the artifacts folder. */
export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** A name no other test run uses. */
export function unique(prefix) {
  return `${prefix}-${Math.random().toString(16).slice(2, 10)}`;
}
