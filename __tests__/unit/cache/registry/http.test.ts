/**
 * src/cache/registry/http.ts: registry URLs, retries (5xx, 429 with Retry-After, network errors,
 * timeouts) and which it never retries, cancellation, size limits and redirects.
 */
import { describe, expect, it } from '@jest/globals';
import {
  AMD64,
  BOTH,
  HOST,
  HUB,
  json,
  ref,
  failure,
  setup,
} from '../../../../test-support/registry-fake.js';
import { AbortedError } from '../../../../src/core/errors.js';
import {
  isLoopbackHost,
  MediaTypes,
  registryBaseUrl,
  resolveImage,
  resolveImages,
} from '../../../../src/cache/registry/index.js';

describe('resolveImage: registry URLs', () => {
  it('maps docker.io to registry-1.docker.io over https', async () => {
    const { registry, deps } = setup();
    const digest = registry.image('registry-1.docker.io', 'library/busybox', ['latest'], AMD64);
    const resolved = await resolveImage(ref('busybox'), ['linux/amd64'], deps);
    expect(resolved.platforms[0]?.digest).toBe(digest);
    expect(registry.requests[0]?.url.toString()).toBe(`${HUB}/v2/library/busybox/manifests/latest`);
  });

  it('uses plain http for loopback hosts only', () => {
    expect(registryBaseUrl('localhost:5000')).toBe('http://localhost:5000');
    expect(registryBaseUrl('localhost')).toBe('http://localhost');
    expect(registryBaseUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(registryBaseUrl('127.3.2.1')).toBe('http://127.3.2.1');
    expect(registryBaseUrl('[::1]:5000')).toBe('http://[::1]:5000');
    expect(registryBaseUrl('registry.example.com:5000')).toBe('https://registry.example.com:5000');
    expect(registryBaseUrl('10.0.0.1:5000')).toBe('https://10.0.0.1:5000');
    expect(registryBaseUrl('127.0.0.1.nip.io')).toBe('https://127.0.0.1.nip.io');
    expect(registryBaseUrl('localhost.example.com')).toBe('https://localhost.example.com');
    expect(registryBaseUrl('ghcr.io')).toBe('https://ghcr.io');
    expect(isLoopbackHost('127.256.0.1')).toBe(false);
    expect(isLoopbackHost('[::2]:5000')).toBe(false);
  });

  it('requests loopback registries over http', async () => {
    const { registry, deps } = setup();
    const digest = registry.image('localhost:5000', 'app', ['v1'], AMD64);
    const resolved = await resolveImage(ref('localhost:5000/app:v1'), ['linux/amd64'], deps);
    expect(resolved.digest).toBe(digest);
    expect(registry.requests[0]?.url.toString()).toBe('http://localhost:5000/v2/app/manifests/v1');
  });
});

describe('resolveImage: retries, timeouts, limits', () => {
  it('never retries other 4xx', async () => {
    const { registry, deps } = setup();
    registry.interceptors.push(() =>
      json(400, { errors: [{ code: 'NAME_INVALID', message: 'bad' }] }),
    );
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.kind).toBe('http');
    expect(error.reason).toBe('unexpected HTTP 400: NAME_INVALID: bad');
    expect(registry.requests).toHaveLength(1);
  });

  it('retries 5xx with backoff, then succeeds', async () => {
    const { registry, deps, clock, logger } = setup();
    const digest = registry.image(HOST, 'a/b', ['v1'], AMD64);
    let failures = 2;
    registry.interceptors.push(() =>
      failures-- > 0 ? new Response('upstream', { status: 503 }) : undefined,
    );
    const start = clock.now();
    const resolved = await resolveImage(ref(`${HOST}/a/b:v1`), ['linux/amd64'], deps);
    expect(resolved.digest).toBe(digest);
    expect(registry.requests).toHaveLength(4); // 503, 503, manifest, config
    expect(clock.now() - start).toBe(500 + 1500);
    expect(logger.messages('debug').filter((m) => m.includes('retrying'))).toHaveLength(2);
  });

  it('gives up on 5xx after three attempts', async () => {
    const { registry, deps } = setup();
    registry.interceptors.push(() =>
      json(502, { errors: [{ code: 'UNAVAILABLE', message: 'try later' }] }),
    );
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.kind).toBe('server');
    expect(error.reason).toBe(
      'registry server error HTTP 502 after 3 attempts: UNAVAILABLE: try later',
    );
    expect(registry.requests).toHaveLength(3);
  });

  it('retries 429 honouring a short Retry-After, then explains Docker Hub limits', async () => {
    const { registry, deps, clock } = setup();
    registry.interceptors.push(() =>
      json(
        429,
        {
          errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }],
        },
        { 'Retry-After': '3' },
      ),
    );
    const start = clock.now();
    const error = await failure(resolveImage(ref('nginx:1.27'), BOTH, deps));
    expect(error.kind).toBe('rate-limited');
    expect(error.reason).toContain(
      'rate limited by docker.io (HTTP 429 after 3 attempts: TOOMANYREQUESTS: You have reached your pull rate limit.)',
    );
    expect(error.reason).toContain('Docker Hub limits anonymous pulls per IP address');
    expect(registry.requests).toHaveLength(3);
    expect(clock.now() - start).toBe(3000 + 3000);
  });

  it('caps a long Retry-After', async () => {
    const { registry, deps, clock } = setup();
    registry.interceptors.push(
      () => new Response('', { status: 429, headers: { 'Retry-After': '21600' } }),
    );
    const start = clock.now();
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.reason).toBe(`rate limited by ${HOST} (HTTP 429 after 3 attempts)`);
    expect(clock.now() - start).toBe(20_000);
  });

  it('retries network errors and names the cause', async () => {
    const { registry, deps } = setup();
    registry.interceptors.push(() => {
      const cause = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), {
        code: 'ECONNREFUSED',
      });
      throw new TypeError('fetch failed', { cause });
    });
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.kind).toBe('network');
    expect(error.reason).toBe(
      `network error reaching ${HOST}: connect ECONNREFUSED 10.0.0.1:443 (3 attempts)`,
    );
    expect(registry.requests).toHaveLength(3);
  });

  it('times out a request that does not answer', async () => {
    const { registry, deps } = setup({ timeoutMs: 20 });
    registry.interceptors.push(
      (request) =>
        new Promise<Response>((_resolve, reject) => {
          request.signal?.addEventListener('abort', () => reject(request.signal?.reason));
        }),
    );
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.kind).toBe('timeout');
    expect(error.reason).toBe(
      `timed out: no complete answer from ${HOST} within 20 ms (manifest) (3 attempts)`,
    );
  });

  it('stops at once with AbortedError when the signal aborts', async () => {
    const controller = new AbortController();
    const { registry, deps } = setup({ signal: controller.signal });
    registry.interceptors.push((request) => {
      controller.abort(new AbortedError('cancelled by the runner'));
      return Promise.reject(request.signal?.reason);
    });
    const images = [ref(`${HOST}/a/b:v1`), ref(`${HOST}/a/b:v2`)];
    await expect(resolveImages(images, BOTH, deps)).rejects.toThrow(AbortedError);
    expect(registry.requests).toHaveLength(1);
  });

  it('refuses a manifest over 4 MiB', async () => {
    const { registry, deps } = setup();
    registry.interceptors.push(
      () =>
        new Response(new Uint8Array(4 * 1024 * 1024 + 1), {
          status: 200,
          headers: { 'Content-Type': MediaTypes.ociManifest },
        }),
    );
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.kind).toBe('invalid');
    expect(error.reason).toBe('the manifest is larger than 4194304 bytes');
  });
});

describe('resolveImage: redirects', () => {
  it('drops the Authorization header on a redirect to another origin', async () => {
    const { registry, deps } = setup({
      credentialsFor: async () => ({ username: 'AWS', password: 'pw' }),
    });
    registry.auth = { scheme: 'basic', username: 'AWS', password: 'pw' };
    registry.image(HOST, 'a/b', ['v1'], AMD64);
    registry.interceptors.push((request) => {
      if (request.url.host === HOST && request.url.pathname.includes('/blobs/')) {
        if (request.headers.get('authorization') === null) return undefined; // the 401 path
        return new Response(null, {
          status: 307,
          headers: { Location: `https://storage.example.net${request.url.pathname}?sig=1` },
        });
      }
      if (request.url.host === 'storage.example.net') {
        // Storage checks its signature, not the registry's credentials.
        return registry.serve({
          url: new URL(`https://${HOST}${request.url.pathname}`),
          headers: new Headers({
            Authorization: `Basic ${Buffer.from('AWS:pw').toString('base64')}`,
          }),
          signal: undefined,
        });
      }
      return undefined;
    });
    const resolved = await resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps);
    expect(resolved.platforms[0]?.digest).toBe(resolved.digest);
    const storage = registry.requests.find((r) => r.url.host === 'storage.example.net');
    expect(storage?.headers.get('authorization')).toBeNull();
    expect(storage?.url.searchParams.get('sig')).toBe('1');
  });
});
