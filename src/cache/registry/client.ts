/**
 * A minimal read-only OCI distribution client: GET manifests and blobs, with the registry token
 * flow (Bearer via the WWW-Authenticate realm, or Basic), retries for transient failures, per
 * request timeouts, manual redirects (credentials never follow a redirect to another origin),
 * size limits, and errors whose reason says what went wrong.
 *
 * Secrets (passwords, tokens) are only ever put in Authorization headers: never in a log line,
 * an error message or a URL.
 */
import { createHash } from 'node:crypto';
import { abortReason, systemClock, type Clock } from '../../core/clock.js';
import { ActionError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Credentials for a registry host (e.g. from ECR GetAuthorizationToken); undefined = anonymous. */
export type CredentialsProvider = (registry: string) => Promise<RegistryCredentials | undefined>;

export interface RegistryDeps {
  /** Injectable for tests; the global fetch in production. */
  fetch: typeof fetch;
  /** Credentials for a registry host; undefined (or no provider) = anonymous. */
  credentialsFor?: CredentialsProvider;
  logger: Logger;
  /** Per HTTP request (including its redirects and body), default 15000. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** For the backoff between retries; default the system clock. */
  clock?: Clock;
  /**
   * Registers a secret the moment this client holds it (a registry password, the Basic
   * credentials made of it, a bearer token), so the runner masks it wherever it might show, e.g.
   * in a registry's error message that echoes the Authorization header.
   */
  maskSecret?: (value: string) => void;
}

export type RegistryErrorKind =
  /** 401/403 after authenticating, a token service refusing, no credentials where required. */
  | 'unauthorized'
  /** 404: unknown tag, digest, repository or blob. */
  | 'not-found'
  /** 429 after retries. */
  | 'rate-limited'
  /** 5xx after retries. */
  | 'server'
  /** Connection refused/reset, DNS failure, TLS error... after retries. */
  | 'network'
  /** No complete answer within timeoutMs, after retries. */
  | 'timeout'
  /** A format the resolver does not handle (schema 1, artifacts, unknown media types). */
  | 'unsupported'
  /** Content that is broken: bad JSON, digest mismatch, too large, too many redirects. */
  | 'invalid'
  /** Any other HTTP status. */
  | 'http';

/** An image whose digests could not be resolved. `reason` is written for the workflow log. */
export class RegistryError extends ActionError {
  override readonly name: string = 'RegistryError';
  readonly status: number | undefined;
  constructor(
    /** The normalized image reference. */
    readonly reference: string,
    readonly kind: RegistryErrorKind,
    readonly reason: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(
      `Could not resolve ${reference}: ${reason}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.status = options.status;
  }
}

/** The repository a request is for, and the image reference for messages. */
export interface RepositoryTarget {
  registry: string;
  repository: string;
  reference: string;
}

export interface Exchange {
  status: number;
  headers: Headers;
  body: Uint8Array;
  /** The body was longer than the limit and was cut. */
  truncated: boolean;
  attempts: number;
}

type Challenge =
  { scheme: 'bearer'; realm: string; service?: string } | { scheme: 'basic'; realm?: string };

interface CachedToken {
  token: string;
  expiresAt: number;
}

export const DEFAULT_TIMEOUT_MS = 15_000;
/** One attempt plus two retries, for 429, 5xx and network errors only. */
export const MAX_ATTEMPTS = 3;
const BACKOFF_MS = [500, 1500];
/** The longest Retry-After honoured between attempts; longer waits are not worth it here. */
const MAX_RETRY_AFTER_MS = 10_000;
const MAX_REDIRECTS = 5;
/** containerd refuses manifests over 4 MiB. */
export const MANIFEST_LIMIT = 4 * 1024 * 1024;
export const CONFIG_LIMIT = 16 * 1024 * 1024;
const TOKEN_LIMIT = 1024 * 1024;
const ERROR_BODY_LIMIT = 64 * 1024;
const DEFAULT_TOKEN_LIFETIME_S = 60;
const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';

/**
 * The base URL of a registry's API: https, except loopback hosts (localhost, 127.0.0.0/8, [::1],
 * with any port), which get plain http as Docker and containerd do by default. Docker Hub's API
 * is at registry-1.docker.io.
 */
export function registryBaseUrl(registry: string): string {
  const host = registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
  return `${isLoopbackHost(registry) ? 'http' : 'https'}://${host}`;
}

/** Whether host[:port] is localhost, in 127.0.0.0/8, or [::1]. */
export function isLoopbackHost(hostAndPort: string): boolean {
  const value = hostAndPort.toLowerCase();
  let host: string;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    host = close === -1 ? value : value.slice(0, close + 1);
  } else {
    const colon = value.indexOf(':');
    host = colon === -1 ? value : value.slice(0, colon);
  }
  if (host === 'localhost' || host === '[::1]') return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return octets !== null && octets.slice(1).every((octet) => Number(octet) <= 255);
}

/** The digest of `body` with `algorithm` (sha256, sha384 or sha512); undefined for others. */
export function digestOf(body: Uint8Array, algorithm = 'sha256'): string | undefined {
  if (algorithm !== 'sha256' && algorithm !== 'sha384' && algorithm !== 'sha512') return undefined;
  return `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`;
}

export class RegistryClient {
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  /** Per registry: how it asked to authenticate. */
  private readonly challenges = new Map<string, Challenge>();
  /** Per registry + repository: the pull token (a promise, so concurrent requests share one). */
  private readonly tokens = new Map<string, Promise<CachedToken>>();
  /** Per registry: the credentials provider's answer. */
  private readonly credentials = new Map<string, Promise<RegistryCredentials | undefined>>();

  constructor(private readonly deps: RegistryDeps) {
    this.clock = deps.clock ?? systemClock;
    this.timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * GET /v2/<repository>/<path>, authenticating when the registry asks to. Returns every
   * response but a retriable one that kept failing; 401 after authenticating is returned too.
   */
  async get(
    target: RepositoryTarget,
    path: string,
    accept: string,
    what: string,
    limit: number,
  ): Promise<Exchange> {
    const url = `${registryBaseUrl(target.registry)}/v2/${target.repository}/${path}`;
    let authenticated = false;
    // At most two rounds: as is (anonymous or with cached auth), then after a fresh challenge.
    for (let round = 1; round <= 2; round++) {
      const authorization = await this.authorization(target);
      const headers: Record<string, string> = { Accept: accept };
      if (authorization) headers.Authorization = authorization;
      const response = await this.send(url, headers, target, what, limit);
      if (response.status !== 401 || authenticated) return response;
      const challenge = parseChallenge(response.headers.get('www-authenticate'));
      if (!challenge) return response;
      this.challenges.set(target.registry, challenge);
      // A token that was refused (expired, revoked) must not be offered again; one that
      // another request got meanwhile is kept.
      if (authorization?.startsWith('Bearer ')) {
        await this.forgetToken(target, authorization.slice('Bearer '.length));
      }
      if (challenge.scheme === 'basic' && !(await this.credentialsFor(target))) return response;
      authenticated = true;
    }
    throw new Error('unreachable');
  }

  /** Whether credentials are configured for the target's registry (for messages). */
  async hasCredentials(target: RepositoryTarget): Promise<boolean> {
    return (await this.credentialsFor(target)) !== undefined;
  }

  /** The reason for a non-2xx answer, as a RegistryError. */
  async statusError(
    target: RepositoryTarget,
    response: Exchange,
    notFound: string,
  ): Promise<RegistryError> {
    const { status } = response;
    const message = registryMessage(response.body, response.headers.get('content-type'));
    const detail = message ? `: ${message}` : '';
    const options = { status };
    if (status === 401 || status === 403) {
      const withCredentials = await this.hasCredentials(target);
      const hint = withCredentials
        ? `; the credentials for ${target.registry} do not grant pull access to ${target.repository}`
        : `; no credentials are configured for ${target.registry}` +
          (target.registry === DOCKER_HUB
            ? ' (Docker Hub also answers this for repositories that do not exist)'
            : '');
      return new RegistryError(
        target.reference,
        'unauthorized',
        `not authorized: ${message || `HTTP ${status}`}${hint}`,
        options,
      );
    }
    if (status === 404) {
      return new RegistryError(
        target.reference,
        'not-found',
        notFound + (message ? ` (${message})` : ''),
        options,
      );
    }
    if (status === 429) {
      return new RegistryError(
        target.reference,
        'rate-limited',
        `rate limited by ${target.registry} (HTTP 429 after ${response.attempts} attempts${detail})` +
          (await this.rateLimitHint(target)),
        options,
      );
    }
    if (status >= 500) {
      return new RegistryError(
        target.reference,
        'server',
        `registry server error HTTP ${status} after ${response.attempts} attempts${detail}`,
        options,
      );
    }
    return new RegistryError(
      target.reference,
      'http',
      `unexpected HTTP ${status}${detail}`,
      options,
    );
  }

  private async rateLimitHint(target: RepositoryTarget): Promise<string> {
    if (target.registry !== DOCKER_HUB) return '';
    if (await this.hasCredentials(target)) {
      return '; Docker Hub limits pulls per account: wait, or use an account with a higher limit';
    }
    return (
      '; Docker Hub limits anonymous pulls per IP address (runners share addresses): ' +
      'configure Docker Hub credentials, or use a mirror such as public.ecr.aws/docker/library'
    );
  }

  /** Registers the password, and the Basic credentials made of it, as secrets. */
  private masked(credentials: RegistryCredentials | undefined): RegistryCredentials | undefined {
    if (credentials) {
      this.deps.maskSecret?.(credentials.password);
      this.deps.maskSecret?.(basicAuthorization(credentials).slice('Basic '.length));
    }
    return credentials;
  }

  private credentialsFor(target: RepositoryTarget): Promise<RegistryCredentials | undefined> {
    let pending = this.credentials.get(target.registry);
    if (!pending) {
      const provider = this.deps.credentialsFor;
      pending = provider
        ? provider(target.registry).then(
            (credentials) => this.masked(credentials),
            (error: unknown) => {
              this.credentials.delete(target.registry);
              throw new RegistryError(
                target.reference,
                'unauthorized',
                `could not get credentials for ${target.registry}: ${errorMessage(error)}`,
                { cause: error },
              );
            },
          )
        : Promise.resolve(undefined);
      this.credentials.set(target.registry, pending);
    }
    return pending;
  }

  private async authorization(target: RepositoryTarget): Promise<string | undefined> {
    const challenge = this.challenges.get(target.registry);
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      const credentials = await this.credentialsFor(target);
      return credentials ? basicAuthorization(credentials) : undefined;
    }
    return `Bearer ${await this.token(target, challenge)}`;
  }

  private async token(
    target: RepositoryTarget,
    challenge: Extract<Challenge, { scheme: 'bearer' }>,
  ): Promise<string> {
    const key = tokenKey(target);
    const cached = this.tokens.get(key);
    if (cached) {
      const token = await cached;
      if (token.expiresAt > this.clock.now()) return token.token;
      if (this.tokens.get(key) === cached) this.tokens.delete(key);
    }
    let pending = this.tokens.get(key);
    if (!pending) {
      const request = this.requestToken(target, challenge);
      pending = request;
      this.tokens.set(key, request);
      request.catch(() => {
        if (this.tokens.get(key) === request) this.tokens.delete(key);
      });
    }
    return (await pending).token;
  }

  private async forgetToken(target: RepositoryTarget, refused: string): Promise<void> {
    const key = tokenKey(target);
    const cached = this.tokens.get(key);
    if (!cached) return;
    const token = await cached.catch(() => undefined);
    if (token?.token === refused && this.tokens.get(key) === cached) this.tokens.delete(key);
  }

  private async requestToken(
    target: RepositoryTarget,
    challenge: Extract<Challenge, { scheme: 'bearer' }>,
  ): Promise<CachedToken> {
    const refuse = (reason: string, status?: number): RegistryError =>
      new RegistryError(target.reference, 'unauthorized', reason, status ? { status } : {});
    let realm: URL;
    try {
      realm = new URL(challenge.realm);
    } catch {
      throw refuse(`${target.registry} named an invalid token service URL`);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw refuse(`${target.registry} named a token service that is not http(s)`);
    }
    const credentials = await this.credentialsFor(target);
    if (credentials && realm.protocol === 'http:' && !isLoopbackHost(realm.host)) {
      throw refuse(
        `refusing to send the credentials for ${target.registry} over plain http to ${realm.host}`,
      );
    }
    if (challenge.service !== undefined) realm.searchParams.set('service', challenge.service);
    realm.searchParams.append('scope', `repository:${target.repository}:pull`);
    if (credentials) realm.searchParams.set('account', credentials.username);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (credentials) headers.Authorization = basicAuthorization(credentials);

    const response = await this.send(realm.toString(), headers, target, 'token', TOKEN_LIMIT);
    if (response.status === 401 || response.status === 403) {
      const message = registryMessage(response.body, response.headers.get('content-type'));
      throw refuse(
        `not authorized: the token service ${realm.host} refused ` +
          (credentials ? `the credentials for ${target.registry}` : 'anonymous access') +
          (message ? `: ${message}` : ` (HTTP ${response.status})`),
        response.status,
      );
    }
    if (response.status < 200 || response.status > 299) {
      throw await this.statusError(
        target,
        response,
        `the token service ${realm.origin}${realm.pathname} was not found`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(response.body));
    } catch {
      json = undefined;
    }
    const record = (typeof json === 'object' && json !== null ? json : {}) as Record<
      string,
      unknown
    >;
    const token = [record.token, record.access_token].find(
      (value): value is string => typeof value === 'string' && value !== '',
    );
    if (!token) {
      throw new RegistryError(
        target.reference,
        'invalid',
        `the token service ${realm.host} answered without a token`,
      );
    }
    const lifetime =
      typeof record.expires_in === 'number' && record.expires_in > 0
        ? record.expires_in
        : DEFAULT_TOKEN_LIFETIME_S;
    this.deps.maskSecret?.(token);
    return { token, expiresAt: this.clock.now() + lifetime * 1000 * 0.9 };
  }

  /** One request with retries: 429, 5xx, network errors and timeouts; never other statuses. */
  private async send(
    url: string,
    headers: Record<string, string>,
    target: RepositoryTarget,
    what: string,
    limit: number,
  ): Promise<Exchange> {
    for (let attempt = 1; ; attempt++) {
      let outcome: Exchange | RegistryError;
      try {
        outcome = {
          ...(await this.exchange(url, headers, target, what, limit)),
          attempts: attempt,
        };
      } catch (error) {
        if (
          !(error instanceof RegistryError) ||
          (error.kind !== 'network' && error.kind !== 'timeout')
        ) {
          throw error;
        }
        outcome = error;
      }
      const retriable =
        outcome instanceof RegistryError || outcome.status === 429 || outcome.status >= 500;
      if (!retriable || attempt >= MAX_ATTEMPTS) {
        if (outcome instanceof RegistryError) {
          throw attempt > 1
            ? new RegistryError(
                outcome.reference,
                outcome.kind,
                `${outcome.reason} (${attempt} attempts)`,
                { cause: outcome.cause },
              )
            : outcome;
        }
        return outcome;
      }
      const delay = backoff(attempt, outcome);
      this.deps.logger.debug(
        `registry: ${what} request to ${hostOf(url)} failed (` +
          (outcome instanceof RegistryError ? outcome.kind : `HTTP ${outcome.status}`) +
          `), retrying in ${delay} ms`,
      );
      await this.clock.sleep(delay, this.deps.signal);
    }
  }

  /** One HTTP exchange, following up to MAX_REDIRECTS redirects, under one timeout. */
  private async exchange(
    url: string,
    headers: Record<string, string>,
    target: RepositoryTarget,
    what: string,
    limit: number,
  ): Promise<Omit<Exchange, 'attempts'>> {
    const { signal } = this.deps;
    if (signal?.aborted) throw abortReason(signal);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let current = new URL(url);
    let currentHeaders = { ...headers };
    const started = Date.now();
    try {
      for (let redirects = 0; ; redirects++) {
        const response = await this.deps.fetch(current, {
          method: 'GET',
          headers: currentHeaders,
          redirect: 'manual',
          signal: combined,
        });
        const location = response.headers.get('location');
        if (response.status >= 300 && response.status < 400 && location) {
          await response.body?.cancel().catch(() => undefined);
          if (redirects >= MAX_REDIRECTS) {
            throw new RegistryError(
              target.reference,
              'invalid',
              `too many redirects fetching the ${what} from ${target.registry}`,
            );
          }
          const next = new URL(location, current);
          if (next.origin !== current.origin) {
            // Credentials are for the registry (or token service) only, not for storage backends.
            currentHeaders = { ...currentHeaders };
            delete currentHeaders.Authorization;
          }
          current = next;
          continue;
        }
        const successful = response.status >= 200 && response.status < 300;
        const read = await readBody(response, successful ? limit : ERROR_BODY_LIMIT);
        this.deps.logger.debug(
          `registry: GET ${current.origin}${current.pathname} -> ${response.status} ` +
            `(${Date.now() - started} ms)`,
        );
        if (successful && read.truncated) {
          throw new RegistryError(
            target.reference,
            'invalid',
            `the ${what} is larger than ${limit} bytes`,
          );
        }
        return { status: response.status, headers: response.headers, ...read };
      }
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      if (signal?.aborted) throw abortReason(signal);
      if (timeout.aborted) {
        throw new RegistryError(
          target.reference,
          'timeout',
          `timed out: no complete answer from ${current.host} within ${this.timeoutMs} ms (${what})`,
          { cause: error },
        );
      }
      throw new RegistryError(
        target.reference,
        'network',
        `network error reaching ${current.host}: ${describeNetworkError(error)}`,
        { cause: error },
      );
    }
  }
}

function tokenKey(target: RepositoryTarget): string {
  return `${target.registry}/${target.repository}`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the registry';
  }
}

function basicAuthorization(credentials: RegistryCredentials): string {
  const pair = `${credentials.username}:${credentials.password}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

function backoff(attempt: number, outcome: Exchange | RegistryError): number {
  const base = BACKOFF_MS[attempt - 1] ?? BACKOFF_MS[BACKOFF_MS.length - 1] ?? 1000;
  if (outcome instanceof RegistryError || outcome.status !== 429) return base;
  const retryAfter = outcome.headers.get('retry-after');
  const seconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : NaN;
  return Number.isFinite(seconds)
    ? Math.min(Math.max(seconds * 1000, base), MAX_RETRY_AFTER_MS)
    : base;
}

async function readBody(
  response: Response,
  limit: number,
): Promise<{ body: Uint8Array; truncated: boolean }> {
  const declared = Number(response.headers.get('content-length'));
  if (!response.body) return { body: new Uint8Array(), truncated: false };
  if (Number.isFinite(declared) && declared > limit) {
    await response.body.cancel().catch(() => undefined);
    return { body: new Uint8Array(), truncated: true };
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      return { body: Buffer.concat(chunks), truncated: true };
    }
    chunks.push(value);
  }
  return { body: Buffer.concat(chunks), truncated: false };
}

/**
 * The message of a registry error body: `{"errors":[{"code","message"}]}` (distribution spec),
 * `{"details"}` / `{"message"}` / `{"error"}` (token services), or short plain text. One line,
 * at most 300 characters; '' when there is nothing useful (empty, HTML).
 */
export function registryMessage(body: Uint8Array, contentType: string | null): string {
  const text = new TextDecoder().decode(body).trim();
  if (text === '') return '';
  let message = '';
  try {
    const json = JSON.parse(text) as unknown;
    if (typeof json === 'object' && json !== null) {
      const record = json as Record<string, unknown>;
      if (Array.isArray(record.errors)) {
        message = record.errors
          .map((entry: unknown) => {
            if (typeof entry !== 'object' || entry === null) return '';
            const { code, message: text } = entry as Record<string, unknown>;
            return [code, text]
              .filter((part) => typeof part === 'string' && part !== '')
              .join(': ');
          })
          .filter((part) => part !== '')
          .join('; ');
      }
      for (const field of ['details', 'message', 'error_description', 'error']) {
        const value = record[field];
        if (message === '' && typeof value === 'string') message = value;
      }
    }
  } catch {
    const html = /html/i.test(contentType ?? '') || text.startsWith('<');
    message = html ? '' : text;
  }
  const line = message.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

/** Parses `Bearer realm="...",service="..."` or `Basic realm="..."`; undefined for others. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = (match[1] ?? '').toLowerCase();
  const params = new Map<string, string>();
  const param = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  for (const found of (match[2] ?? '').matchAll(param)) {
    const key = (found[1] ?? '').toLowerCase();
    const value = found[2] !== undefined ? found[2].replace(/\\(.)/g, '$1') : (found[3] ?? '');
    if (!params.has(key)) params.set(key, value);
  }
  if (scheme === 'bearer') {
    const realm = params.get('realm');
    if (!realm) return undefined;
    const service = params.get('service');
    return service === undefined ? { scheme, realm } : { scheme, realm, service };
  }
  if (scheme === 'basic') {
    const realm = params.get('realm');
    return realm === undefined ? { scheme } : { scheme, realm };
  }
  return undefined;
}

function describeNetworkError(error: unknown): string {
  // Duck-typed: fetch's errors may come from another realm (e.g. a test VM context).
  const record = (value: unknown): Record<string, unknown> | undefined =>
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  const cause = record(record(error)?.cause);
  if (cause) {
    if (typeof cause.message === 'string' && cause.message !== '') return cause.message;
    if (typeof cause.code === 'string') return cause.code;
  }
  const message = record(error)?.message;
  return typeof message === 'string' && message !== '' ? message : errorMessage(error);
}
