import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { MULTIPLEXED_STREAM, RAW_STREAM, hijackContentType, upgradeResponseHead, wantsTcpUpgrade } from './hijack.js';

test('hijack: content type by API version and TTY, as dockerd', () => {
  assert.equal(hijackContentType('1.41', true), RAW_STREAM);
  assert.equal(hijackContentType('1.42', true), MULTIPLEXED_STREAM);
  assert.equal(hijackContentType('1.50', false), RAW_STREAM);
  assert.equal(hijackContentType('1.50', true), MULTIPLEXED_STREAM);
});

test('hijack: upgrade detection', () => {
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  assert.equal(wantsTcpUpgrade(req({ connection: 'Upgrade', upgrade: 'tcp' })), true);
  assert.equal(wantsTcpUpgrade(req({ connection: 'keep-alive, Upgrade', upgrade: 'TCP' })), true);
  assert.equal(wantsTcpUpgrade(req({ connection: 'Upgrade', upgrade: 'h2c' })), false);
  assert.equal(wantsTcpUpgrade(req({ upgrade: 'tcp' })), false);
});

test('hijack: the 101 head', () => {
  const h = upgradeResponseHead(RAW_STREAM, { 'Api-Version': '1.50', 'Content-Length': '5', 'X-Bad': 'a\r\nInjected: 1' });
  assert.equal(
    h,
    'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n' +
      'Api-Version: 1.50\r\nX-Bad: a  Injected: 1\r\n\r\n',
  );
});
