/**
 * The registry client's transport: where a registry's API is (https, plain http for loopback
 * hosts, Docker Hub's API host), and GET requests with retries for transient failures (429,
 * 5xx, network errors, timeouts), a timeout per request, manual redirects (credentials never
 * follow a redirect to another origin) and size limits on the body read.
 *
 * It only carries the Authorization header it is given: it never logs it, and a URL it logs has
 * no query string.
 */
import { abortReason } from '../../core/clock.js';
import type { Deps } from '../../core/deps.js';
import { describeNetworkError, RegistryError } from './errors.js';

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

/** One GET: where to, with which headers, for which target, what it fetches, and how much of it. */
export interface HttpRequest {
  url: string;
  headers: Record<string, string>;
  target: RepositoryTarget;
  /** What is fetched, for messages: 'manifest', 'image config', 'token'. */
  what: string;
  /** The most bytes of a successful answer's body read. */
  limit: number;
}

export interface HttpDeps extends Pick<Deps, 'clock' | 'logger' | 'signal'> {
  /** Injectable for tests; the global fetch in production. */
  fetch: typeof fetch;
  /** Per HTTP request (including its redirects and body). */
  timeoutMs: number;
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
const ERROR_BODY_LIMIT = 64 * 1024;
export const DOCKER_HUB = 'docker.io';
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

export class RegistryHttp {
  constructor(private readonly deps: HttpDeps) {}

  /** One request with retries: 429, 5xx, network errors and timeouts; never other statuses. */
  async send(request: HttpRequest): Promise<Exchange> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(request, attempt);
      const retriable =
        outcome instanceof RegistryError || outcome.status === 429 || outcome.status >= 500;
      if (!retriable || attempt >= MAX_ATTEMPTS) {
        if (outcome instanceof RegistryError) throw withAttempts(outcome, attempt);
        return outcome;
      }
      const delay = backoff(attempt, outcome);
      this.deps.logger.debug(
        `registry: ${request.what} request to ${hostOf(request.url)} failed (` +
          (outcome instanceof RegistryError ? outcome.kind : `HTTP ${outcome.status}`) +
          `), retrying in ${delay} ms`,
      );
      await this.deps.clock.sleep(delay, this.deps.signal);
    }
  }

  /** One attempt: its answer, or the network error or timeout it ended with (others throw). */
  private async attempt(request: HttpRequest, attempt: number): Promise<Exchange | RegistryError> {
    try {
      return { ...(await this.exchange(request)), attempts: attempt };
    } catch (error) {
      if (
        !(error instanceof RegistryError) ||
        (error.kind !== 'network' && error.kind !== 'timeout')
      ) {
        throw error;
      }
      return error;
    }
  }

  /** One HTTP exchange, following up to MAX_REDIRECTS redirects, under one timeout. */
  private async exchange(request: HttpRequest): Promise<Omit<Exchange, 'attempts'>> {
    const { signal } = this.deps;
    const { target, what } = request;
    if (signal.aborted) throw abortReason(signal);
    const timeout = AbortSignal.timeout(this.deps.timeoutMs);
    const combined = AbortSignal.any([signal, timeout]);
    let current = new URL(request.url);
    let currentHeaders = { ...request.headers };
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
        return await this.answer(response, current, started, request);
      }
    } catch (error) {
      throw this.failure(error, current, timeout, request);
    }
  }

  /** Reads the body of a final (non-redirect) response, within the limit for its status. */
  private async answer(
    response: Response,
    url: URL,
    started: number,
    { target, what, limit }: HttpRequest,
  ): Promise<Omit<Exchange, 'attempts'>> {
    const successful = response.status >= 200 && response.status < 300;
    const read = await readBody(response, successful ? limit : ERROR_BODY_LIMIT);
    this.deps.logger.debug(
      `registry: GET ${url.origin}${url.pathname} -> ${response.status} ` +
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

  /** What an exchange that threw ended with: the abort, a timeout, or a network error. */
  private failure(error: unknown, url: URL, timeout: AbortSignal, request: HttpRequest): unknown {
    const { signal } = this.deps;
    const { target, what } = request;
    if (error instanceof RegistryError) return error;
    if (signal.aborted) return abortReason(signal);
    if (timeout.aborted) {
      return new RegistryError(
        target.reference,
        'timeout',
        `timed out: no complete answer from ${url.host} within ${this.deps.timeoutMs} ms (${what})`,
        { cause: error },
      );
    }
    return new RegistryError(
      target.reference,
      'network',
      `network error reaching ${url.host}: ${describeNetworkError(error)}`,
      { cause: error },
    );
  }
}

/** The error of the last attempt, saying how many there were when more than one. */
function withAttempts(error: RegistryError, attempts: number): RegistryError {
  if (attempts <= 1) return error;
  return new RegistryError(error.reference, error.kind, `${error.reason} (${attempts} attempts)`, {
    cause: error.cause,
  });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the registry';
  }
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
