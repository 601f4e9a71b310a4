/**
 * The README's examples, compiled with the pinned TypeScript (so they type-check) and run against
 * the live server of CONCORD_TEST_BASE_URL / CONCORD_TEST_API_KEY.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const baseURL = process.env.CONCORD_TEST_BASE_URL;
const apiKey = process.env.CONCORD_TEST_API_KEY;
const skip = baseURL && apiKey ? false : 'CONCORD_TEST_BASE_URL / CONCORD_TEST_API_KEY not set';

/** The ```ts blocks of the README. */
function examples(): string[] {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

describe('README examples', { skip }, () => {
  const dir = join(root, '.build', 'readme');
  const blocks = examples();

  it('has examples', () => {
    assert.ok(blocks.length >= 5, `only ${blocks.length} examples`);
  });

  it('type-check', () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    blocks.forEach((code, i) => {
      writeFileSync(join(dir, `example-${i}.ts`), `${code}\nexport {};\n`);
    });
    const config = {
      extends: '../../tsconfig.base.json',
      compilerOptions: { types: ['node'], rootDir: '.' },
      include: ['*.ts'],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '-p', dir], { stdio: 'inherit' });
  });

  const env = { ...process.env, CONCORD_BASE_URL: baseURL, CONCORD_API_KEY: apiKey };
  const firstCall = (code: string): string | undefined =>
    code
      .split('\n')
      .find((l) => l.includes('client.'))
      ?.trim();

  blocks.forEach((code, i) => {
    it(`runs example ${i}: ${firstCall(code)}`, () => {
      execFileSync(process.execPath, [join(dir, `example-${i}.js`)], { env, stdio: 'inherit' });
    });
  });

  // A reader runs an example more than once against the same server: each must still work.
  blocks.forEach((code, i) => {
    it(`runs example ${i} again: ${firstCall(code)}`, () => {
      execFileSync(process.execPath, [join(dir, `example-${i}.js`)], { env, stdio: 'inherit' });
    });
  });
});
