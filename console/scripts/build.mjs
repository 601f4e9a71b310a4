// Builds the console into dist/: its TypeScript and the TypeScript SDK's sources
// (sdks/node/src, which the page's import map names '@concord/sdk') compiled together by tsc
// (strict) into dist/js, plus the static files. No bundler, nothing from a CDN.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(here, 'dist');

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [join(here, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', here], {
  stdio: 'inherit',
});
cpSync(join(here, 'static'), dist, { recursive: true });
console.log(`build: console built into ${dist}`);
