/**
 * The registry client's tests' in-memory registry (any host, with a token service at REALM)
 * behind an injected fetch: no network. Shared by __tests__/unit/cache/registry/*.test.ts.
 */
import { createHash } from 'node:crypto';
import { VirtualClock } from './virtual-clock.js';
import { MemoryLogger } from './memory-logger.js';
import { rejectionOf } from './rejection.js';
import { parseImageReference } from '../src/config/image-ref.js';
import type { Platform } from '../src/config/types.js';
import { MediaTypes, RegistryError, type RegistryDeps } from '../src/cache/registry/index.js';

export const BOTH: Platform[] = ['linux/amd64', 'linux/arm64'];
export const REALM = 'https://auth.example.com/token';
export const HUB = 'https://registry-1.docker.io';
export const ATTESTATION = { 'vnd.docker.reference.type': 'attestation-manifest' };

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface FakeRequest {
  url: URL;
  headers: Headers;
  signal: AbortSignal | null | undefined;
}
export type Interceptor = (
  request: FakeRequest,
) => Response | undefined | Promise<Response | undefined>;

export interface BearerAuth {
  scheme: 'bearer';
  service: string;
  /** Accepted Basic credentials at the token service; others get 401 there. */
  account?: { username: string; password: string };
  /** Whether a token gives pull access to `repo` for `user` (undefined = anonymous). */
  grant?: (repo: string, user: string | undefined) => boolean;
  tokenField?: 'token' | 'access_token';
}
export interface BasicAuth {
  scheme: 'basic';
  username: string;
  password: string;
}

/** An in-memory registry (any host) with a token service at REALM. */
export class FakeRegistry {
  readonly requests: FakeRequest[] = [];
  readonly interceptors: Interceptor[] = [];
  auth: BearerAuth | BasicAuth | undefined;
  sendDigestHeader = true;
  private readonly content = new Map<string, { body: Buffer; mediaType: string }>();
  private readonly tokens = new Map<string, { scopes: string[]; user: string | undefined }>();
  private issued = 0;

  readonly fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const request: FakeRequest = { url, headers: new Headers(init?.headers), signal: init?.signal };
    this.requests.push(request);
    for (const interceptor of this.interceptors) {
      const response = await interceptor(request);
      if (response) return response;
    }
    if (`${url.origin}${url.pathname}` === REALM) return this.token(request);
    return this.serve(request);
  }) as typeof fetch;

  /** The registry API: auth check, then the stored manifest or blob. */
  serve(request: FakeRequest): Response {
    const { url } = request;
    const match = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!match) return json(404, { errors: [{ code: 'NOT_FOUND', message: 'no route' }] });
    const [, repo = '', kind = '', reference = ''] = match;
    const denied = this.check(request, url.host, repo);
    if (denied) return denied;
    const found = this.content.get(`${url.host}/${repo}/${kind}/${reference}`);
    if (!found) {
      const code = kind === 'manifests' ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN';
      return json(404, { errors: [{ code, message: `${kind.slice(0, -1)} unknown` }] });
    }
    const headers: Record<string, string> = { 'Content-Type': found.mediaType };
    if (this.sendDigestHeader) headers['Docker-Content-Digest'] = sha256(found.body);
    return new Response(found.body, { status: 200, headers });
  }

  /** Stores a manifest under its digest and the given tags; returns the digest. */
  manifest(host: string, repo: string, tags: string[], document: Record<string, unknown>): string {
    const body = Buffer.from(JSON.stringify(document, null, 2));
    const digest = sha256(body);
    const mediaType = typeof document.mediaType === 'string' ? document.mediaType : 'text/plain';
    for (const reference of [digest, ...tags]) {
      this.content.set(`${host}/${repo}/manifests/${reference}`, { body, mediaType });
    }
    return digest;
  }

  /** Stores a blob; returns its digest. */
  blob(host: string, repo: string, data: string): string {
    const body = Buffer.from(data);
    const digest = sha256(body);
    this.content.set(`${host}/${repo}/blobs/${digest}`, {
      body,
      mediaType: 'application/octet-stream',
    });
    return digest;
  }

  /** A single-platform OCI (or Docker) image; returns the manifest digest. */
  image(
    host: string,
    repo: string,
    tags: string[],
    platform: { os: string; architecture: string; variant?: string },
    docker = false,
  ): string {
    const config = this.blob(
      host,
      repo,
      JSON.stringify({ ...platform, rootfs: { type: 'layers' } }),
    );
    return this.manifest(host, repo, tags, {
      schemaVersion: 2,
      mediaType: docker ? MediaTypes.dockerManifest : MediaTypes.ociManifest,
      config: {
        mediaType: docker ? MediaTypes.dockerConfig : MediaTypes.ociConfig,
        digest: config,
        size: 10,
      },
      layers: [],
    });
  }

  /** An index over entries; returns the index digest. */
  index(
    host: string,
    repo: string,
    tags: string[],
    entries: Array<{
      digest: string;
      platform?: { os: string; architecture: string; variant?: string };
      annotations?: Record<string, string>;
    }>,
    docker = false,
  ): string {
    return this.manifest(host, repo, tags, {
      schemaVersion: 2,
      mediaType: docker ? MediaTypes.dockerManifestList : MediaTypes.ociIndex,
      manifests: entries.map((entry) => ({
        mediaType: docker ? MediaTypes.dockerManifest : MediaTypes.ociManifest,
        size: 100,
        ...entry,
      })),
    });
  }

  tokenRequests(): FakeRequest[] {
    return this.requests.filter((r) => `${r.url.origin}${r.url.pathname}` === REALM);
  }

  registryRequests(): FakeRequest[] {
    return this.requests.filter((r) => `${r.url.origin}${r.url.pathname}` !== REALM);
  }

  private token(request: FakeRequest): Response {
    const auth = this.auth;
    if (auth?.scheme !== 'bearer') return json(404, { details: 'no token service' });
    let user: string | undefined;
    const header = request.headers.get('authorization');
    if (header) {
      const decoded = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString();
      const account = auth.account;
      if (!account || decoded !== `${account.username}:${account.password}`) {
        return json(401, { details: 'incorrect username or password' });
      }
      user = account.username;
    }
    const token = `token-${++this.issued}`;
    this.tokens.set(token, { scopes: request.url.searchParams.getAll('scope'), user });
    return json(200, { [auth.tokenField ?? 'token']: token, expires_in: 300 });
  }

  private check(request: FakeRequest, host: string, repo: string): Response | undefined {
    const auth = this.auth;
    const header = request.headers.get('authorization') ?? '';
    if (!auth) return undefined;
    if (auth.scheme === 'basic') {
      const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      if (header === expected) return undefined;
      return new Response('Not Authorized\n', {
        status: 401,
        headers: {
          'Content-Type': 'text/plain',
          'WWW-Authenticate': `Basic realm="https://${host}/",service="ecr.amazonaws.com"`,
        },
      });
    }
    const token = this.tokens.get(header.replace(/^Bearer /, ''));
    const scope = `repository:${repo}:pull`;
    if (token && token.scopes.includes(scope) && (auth.grant?.(repo, token.user) ?? true)) {
      return undefined;
    }
    return json(
      401,
      { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
      {
        'WWW-Authenticate':
          `Bearer realm="${REALM}",service="${auth.service}",scope="${scope}"` +
          (token ? ',error="insufficient_scope"' : ''),
      },
    );
  }
}

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

export function setup(overrides: Partial<RegistryDeps> = {}) {
  const registry = new FakeRegistry();
  const logger = new MemoryLogger();
  const clock = new VirtualClock();
  const deps: RegistryDeps = {
    fetch: registry.fetch,
    logger,
    clock,
    signal: new AbortController().signal,
    ...overrides,
  };
  return { registry, logger, clock, deps };
}

export const ref = parseImageReference;

/** The RegistryError a resolution fails with. */
export const failure = (promise: Promise<unknown>) => rejectionOf(promise, RegistryError);

export const AMD64 = { os: 'linux', architecture: 'amd64' };
export const ARM64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
export const UNKNOWN = { os: 'unknown', architecture: 'unknown' };
export const HOST = 'registry.example.com';
