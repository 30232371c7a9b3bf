// src/core/proxy.ts: the SDK's agent routes each request by HTTPS_PROXY / HTTP_PROXY / NO_PROXY,
// through a real CONNECT proxy (the `proxy` package) on loopback to an HTTPS server with a
// certificate made by the openssl CLI; nothing is proxied when no proxy is set.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProxy, type ProxyServer } from 'proxy';
import {
  EnvProxyAgent,
  proxyConfigured,
  proxyFetch,
  proxyRequestHandler,
} from '../../../src/core/proxy.js';
import { describeWith } from '../../../test-support/requires.js';

const openssl = spawnSync('openssl', ['version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'bes-proxy-'));
const saved = { ...process.env };
let server: https.Server;
let proxy: ProxyServer;
let origin = '';
let proxyUrl = '';
let ca = '';
let tunnels: string[] = [];

beforeAll(async () => {
  if (!openssl) return;
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
    ].concat(
      ['-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem')],
      ['-out', join(dir, 'cert.pem')],
    ),
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
  server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: ca }, (_, res) =>
    res.end('hello over TLS'),
  );
  // By name, as AWS endpoints are (a tunnel to an IP address checks the certificate against
  // no name at all).
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  origin = `localhost:${(server.address() as AddressInfo).port}`;
  proxy = createProxy(createServer());
  proxy.on('connect', (req: IncomingMessage) => tunnels.push(req.url ?? ''));
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}, 30_000);
afterEach(() => {
  tunnels = [];
  for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'no_proxy'])
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
});
afterAll(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
  rmSync(dir, { recursive: true, force: true });
});

function get(agent: https.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(`https://${origin}/`, { agent, ca, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

describe('proxy settings', () => {
  it('are read from HTTPS_PROXY / HTTP_PROXY in either case', () => {
    expect(proxyConfigured({})).toBe(false);
    expect(proxyConfigured({ NO_PROXY: '*' })).toBe(false);
    expect(proxyConfigured({ https_proxy: 'http://proxy:3128' })).toBe(true);
    expect(proxyConfigured({ HTTP_PROXY: 'http://proxy:3128' })).toBe(true);
    expect(proxyRequestHandler({})).toBeUndefined();
    expect(proxyRequestHandler({ HTTPS_PROXY: 'http://proxy:3128' })?.httpsAgent).toBeInstanceOf(
      EnvProxyAgent,
    );
    expect(proxyFetch({})).toBeInstanceOf(Function);
  });
});

describeWith(openssl ? undefined : 'openssl not found: apt-get install openssl')(
  'the SDK agent (EnvProxyAgent)',
  () => {
    it('tunnels an HTTPS request through HTTPS_PROXY with CONNECT', async () => {
      process.env.HTTPS_PROXY = proxyUrl;
      const agent = new EnvProxyAgent();
      expect(await get(agent)).toBe('hello over TLS');
      expect(await get(agent)).toBe('hello over TLS');
      expect(tunnels).toEqual([origin, origin]);
      agent.destroy();
    });

    it('goes direct for a host NO_PROXY names, and without a proxy', async () => {
      process.env.HTTPS_PROXY = proxyUrl;
      process.env.NO_PROXY = 'example.com,localhost';
      expect(await get(new EnvProxyAgent())).toBe('hello over TLS');
      delete process.env.HTTPS_PROXY;
      delete process.env.NO_PROXY;
      expect(await get(new EnvProxyAgent())).toBe('hello over TLS');
      expect(tunnels).toEqual([]);
    });
  },
);
