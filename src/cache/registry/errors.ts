/**
 * The error of an image whose digests could not be resolved: a RegistryError whose `kind` says
 * what failed and whose `reason` is written for the workflow log, and the two readers that word
 * such reasons: a registry's (or token service's) error body, and a network failure's cause.
 */
import { ActionError, errorMessage } from '../../core/errors.js';

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

/** `code: message` of each entry of a distribution-spec `errors` list, joined with '; '. */
function specErrors(errors: unknown[]): string {
  return errors
    .map((entry: unknown) => {
      if (typeof entry !== 'object' || entry === null) return '';
      const { code, message: text } = entry as Record<string, unknown>;
      return [code, text].filter((part) => typeof part === 'string' && part !== '').join(': ');
    })
    .filter((part) => part !== '')
    .join('; ');
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
      if (Array.isArray(record.errors)) message = specErrors(record.errors);
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

/** What a failed fetch says went wrong: its cause's message or code, else its own message. */
export function describeNetworkError(error: unknown): string {
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
