/**
 * The bundled action behind an HTTP proxy, as a self-hosted runner behind one runs it: with
 * HTTPS_PROXY / HTTP_PROXY set, the AWS SDK's calls and the registry digest lookups go through
 * the proxy (absolute-form requests for the emulator's http:// endpoints, a CONNECT tunnel for
 * the registry client), and NO_PROXY takes hosts out of it. The proxy is the `proxy` package
 * (an HTTP proxy server in Node.js, CONNECT included) on loopback; the registry is the CNCF
 * distribution registry, AWS is moto, as in the other bundle tests.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxy, type ProxyServer } from 'proxy';
import { BUILD_INPUTS, startEmulator, type Emulator } from '../../test-support/emulator.js';
import {
  registryAvailable,
  startRegistry,
  type TestRegistry,
} from '../../test-support/registry.js';
import { runMainAndPost } from '../../test-support/runner.js';

const available = registryAvailable();
if (!available && process.env.CI)
  throw new Error('docker-registry is missing: apt-get install docker-registry');
const suite = available ? describe : describe.skip;

let registry: TestRegistry;
let emu: Emulator;
let proxy: ProxyServer;
let proxyUrl = '';
/** What reached the proxy: `CONNECT host:port` tunnels and `METHOD absolute-url` requests. */
let seen: string[] = [];
let image = '';

beforeAll(async () => {
  if (!available) return;
  registry = await startRegistry();
  emu = await startEmulator([]);
  proxy = createProxy(createServer());
  proxy.on('connect', (req: IncomingMessage) => seen.push(`CONNECT ${req.url ?? ''}`));
  proxy.on('request', (req: IncomingMessage) => seen.push(`${req.method ?? ''} ${req.url ?? ''}`));
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const pushed = await registry.pushImage('proxied/app', '1', {
    platforms: ['linux/amd64'],
    index: true,
  });
  image = `${registry.host}/proxied/app:1`;
  emu.setRegistry([
    { ref: image, platforms: ['linux/amd64'], digest: pushed.digest, size: '12.0 MiB' },
  ]);
}, 60_000);
afterAll(async () => {
  await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
  await emu?.close();
  await registry?.stop();
}, 30_000);
beforeEach(() => {
  seen = [];
});

let run = 700;
async function action(env: Record<string, string>) {
  run++;
  return runMainAndPost({
    inputs: {
      ...BUILD_INPUTS,
      name: 'proxied',
      images: image,
    },
    env: { ...emu.env, GITHUB_RUN_ID: String(run), ...env },
    timeoutMs: 90_000,
  });
}

suite('behind an HTTP proxy', () => {
  const awsHost = () => new URL(emu.env.AWS_ENDPOINT_URL ?? '').host;

  it('sends the AWS calls and the registry lookups through HTTPS_PROXY / HTTP_PROXY', async () => {
    const { main, post } = await action({ HTTPS_PROXY: proxyUrl, HTTP_PROXY: proxyUrl });
    expect(main.stdout).not.toContain('::error::');
    expect(main.code).toBe(0);
    expect(post.code).toBe(0);
    // The digest was resolved (through the proxy), so the snapshot has a build key.
    expect(main.outputs['build-key']).toMatch(/^[0-9a-f]{64}$/);
    expect(seen).toContain(`CONNECT ${registry.host}`);
    const awsCalls = seen.filter((s) => s.startsWith(`POST http://${awsHost()}/`));
    expect(awsCalls.length).toBeGreaterThan(5);
  }, 120_000);

  it('leaves the hosts NO_PROXY names out of it', async () => {
    const { main } = await action({
      HTTPS_PROXY: proxyUrl,
      HTTP_PROXY: proxyUrl,
      NO_PROXY: `${registry.host},${awsHost()}`,
    });
    expect(main.code).toBe(0);
    expect(main.outputs['cache-hit']).toBe('true');
    expect(seen).toEqual([]);
  }, 120_000);

  it('uses no proxy when none is set', async () => {
    const { main } = await action({});
    expect(main.code).toBe(0);
    expect(seen).toEqual([]);
  }, 120_000);
});
