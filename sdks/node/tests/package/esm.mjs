// Package check (ESM): the packed tarball, installed in a clean project, calls the live server.
import assert from 'node:assert/strict';
import { Concord, LockConflictError } from '@concord/sdk';

const client = new Concord({
  baseURL: process.env.CONCORD_TEST_BASE_URL,
  apiKey: process.env.CONCORD_TEST_API_KEY,
});
const { status } = await client.health.live();
assert.equal(status, 'SERVING');
assert.equal(typeof LockConflictError, 'function');
console.log('esm: the installed package answered the live server');
