// Package check (CommonJS): the packed tarball, installed in a clean project, calls the server.
const assert = require('node:assert/strict');
const { Concord, APIError } = require('@concord/sdk');

const client = new Concord({
  baseURL: process.env.CONCORD_TEST_BASE_URL,
  apiKey: process.env.CONCORD_TEST_API_KEY,
});
client.health.live().then(({ status }) => {
  assert.equal(status, 'SERVING');
  assert.equal(typeof APIError, 'function');
  console.log('cjs: the installed package answered the live server');
});
