/**
 * Container image references: parsing, validation and Docker-style normalization.
 *
 * Follows the OCI distribution reference grammar (github.com/distribution/reference,
 * `regexp.go` and `normalize.go`), and refuses anything that could be mistaken for
 * shell syntax, since the references end up in commands run on the builder instance.
 * Dependency-free.
 */

export interface ImageReference {
  /** What the user wrote, trimmed. */
  original: string;
  /**
   * Registry host[:port], normalized: lowercase, and docker.io for Docker Hub
   * (index.docker.io and registry-1.docker.io also map to docker.io).
   */
  registry: string;
  /** Repository path, e.g. library/busybox for Docker Hub official images. */
  repository: string;
  /** The tag as written; undefined when none was given (normalized still says ':latest'). */
  tag?: string;
  /** The digest as written, e.g. sha256:<64 hex>. */
  digest?: string;
  /**
   * Full normalized reference: registry/repository[:tag][@digest]; ':latest' added
   * when neither tag nor digest was given.
   */
  normalized: string;
}

/** An input that is not a valid image reference. `reason` says what is wrong and how to fix it. */
export class ImageReferenceError extends Error {
  override readonly name = 'ImageReferenceError';
  constructor(
    readonly reference: string,
    readonly reason: string,
  ) {
    super(`'${visible(reference)}' is not a valid image reference: ${reason}`);
  }
}

export interface ParsedImageList {
  /** Valid references, in input order, without duplicates. */
  images: ImageReference[];
  /** Originals dropped because they normalize to an earlier one. */
  duplicates: string[];
  /** One error per invalid item, in input order. */
  errors: ImageReferenceError[];
}

const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const NAME_MAX_LENGTH = 255;
const TAG_MAX_LENGTH = 128;

/** Characters that may appear anywhere in a reference ('+' only in a digest algorithm). */
const ALLOWED_CHARACTERS = /^[A-Za-z0-9._\-/:@[\]+]$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const HOST_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_ADDRESS = /^\[[a-fA-F0-9:]+\]$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]*$/;
const DIGEST_ALGORITHM = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*$/;
const DIGEST_HEX = /^[0-9a-fA-F]{32,}$/;
/** A bare image ID, which distribution refuses as a repository name. */
const IMAGE_ID = /^[a-f0-9]{64}$/;
/** Digest algorithms go-digest (and so containerd) accepts, with their hex lengths. */
const DIGEST_HEX_LENGTHS: ReadonlyMap<string, number> = new Map([
  ['sha256', 64],
  ['sha384', 96],
  ['sha512', 128],
]);

type Refuse = (reason: string) => ImageReferenceError;

/** What is refused before the reference is taken apart: emptiness, a scheme, odd characters, an ID. */
function checkText(original: string, refuse: Refuse): void {
  if (original === '') throw refuse('empty');

  const scheme = SCHEME.exec(original);
  if (scheme) {
    const rest = original.slice(scheme[0].length);
    throw refuse(`remove the scheme '${scheme[0]}'` + (isClean(rest) ? ` (write '${rest}')` : ''));
  }

  for (const char of original) {
    if (/\s/.test(char)) {
      throw refuse(
        /[\r\n]/.test(char) ? 'contains whitespace (a line break)' : 'contains whitespace',
      );
    }
    if (!ALLOWED_CHARACTERS.test(char)) {
      throw refuse(`contains a character not allowed in image references: ${showCharacter(char)}`);
    }
  }

  if (IMAGE_ID.test(original)) {
    throw refuse(
      'is a 64-character hex image ID, not a reference; give a repository name ' +
        '(add @sha256:<digest> to pin a manifest)',
    );
  }
}

interface Parts {
  name: string;
  tag?: string;
  digest?: string;
}

/** name[:tag][@digest], taken apart as written. */
function splitParts(original: string, refuse: Refuse): Parts {
  let name = original;
  let digest: string | undefined;
  const at = name.indexOf('@');
  if (at !== -1) {
    if (name.indexOf('@', at + 1) !== -1) throw refuse("contains more than one '@'");
    digest = name.slice(at + 1);
    name = name.slice(0, at);
    if (digest === '') throw refuse("empty digest after '@'");
  }
  let tag: string | undefined;
  const colon = name.lastIndexOf(':');
  if (colon !== -1 && colon > name.lastIndexOf('/') && colon > name.lastIndexOf(']')) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  const parts: Parts = { name };
  if (tag !== undefined) parts.tag = tag;
  if (digest !== undefined) parts.digest = digest;
  return parts;
}

/** The name's shape: present, not a bare digest, no leading, trailing or doubled '/'. */
function checkName({ name, tag, digest }: Parts, original: string, refuse: Refuse): void {
  if (name === '') throw refuse('missing repository name');
  if (
    digest === undefined &&
    tag !== undefined &&
    !name.includes('/') &&
    DIGEST_HEX_LENGTHS.get(name) === tag.length &&
    /^[a-f0-9]+$/.test(tag)
  ) {
    throw refuse(`is a digest without a repository name; write <repository>@${original}`);
  }
  if (name.startsWith('/')) throw refuse("starts with '/'");
  if (name.endsWith('/')) throw refuse("ends with '/'; a repository name must follow it");
  if (name.includes('//')) throw refuse("contains '//' (an empty path component)");
}

interface Located {
  /** Normalized: lowercase, docker.io for Docker Hub's aliases. */
  registry: string;
  path: string;
  /** The registry as written, when one was. */
  writtenRegistry?: string;
}

/** Registry: the first component, when it looks like a host (normalize.go splitDockerDomain). */
function splitRegistry(name: string, refuse: Refuse): Located {
  const slash = name.indexOf('/');
  if (slash === -1) return { registry: DOCKER_HUB, path: name };
  const first = name.slice(0, slash);
  const looksLikeHost = /[.:]/.test(first) || first === 'localhost';
  if (!looksLikeHost && first === first.toLowerCase()) return { registry: DOCKER_HUB, path: name };
  if (!looksLikeHost && first.toLowerCase() !== 'localhost') {
    // distribution would read 'UPPER/x' as registry host 'UPPER'; no one means that.
    throw refuse(`repository names must be lowercase (use '${name.toLowerCase()}')`);
  }
  const problem = registryProblem(first);
  if (problem) throw refuse(problem);
  const lower = first.toLowerCase();
  const registry = DOCKER_HUB_ALIASES.has(lower) ? DOCKER_HUB : lower;
  return { registry, path: name.slice(slash + 1), writtenRegistry: first };
}

/** The repository path, checked; Docker Hub's official images under library/. */
function repositoryOf({ registry, path, writtenRegistry }: Located, refuse: Refuse): string {
  if (path !== path.toLowerCase()) {
    const suggestion = (writtenRegistry ? `${writtenRegistry}/` : '') + path.toLowerCase();
    throw refuse(`repository names must be lowercase (use '${suggestion}')`);
  }
  for (const component of path.split('/')) {
    const problem = pathComponentProblem(component);
    if (problem) throw refuse(problem);
  }
  return registry === DOCKER_HUB && !path.includes('/') ? `library/${path}` : path;
}

function checkTagAndDigest({ tag, digest }: Parts, refuse: Refuse): void {
  if (tag !== undefined) {
    const problem = tagProblem(tag);
    if (problem) throw refuse(problem);
  }
  if (digest !== undefined) {
    const problem = digestProblem(digest);
    if (problem) throw refuse(problem);
  }
}

/**
 * Parses and normalizes one image reference.
 * @throws ImageReferenceError when `input` is not a valid reference.
 */
export function parseImageReference(input: string): ImageReference {
  const original = input.trim();
  const refuse = (reason: string): ImageReferenceError => new ImageReferenceError(original, reason);
  checkText(original, refuse);
  const parts = splitParts(original, refuse);
  checkName(parts, original, refuse);
  const located = splitRegistry(parts.name, refuse);
  const repository = repositoryOf(located, refuse);
  checkTagAndDigest(parts, refuse);
  const { registry } = located;
  const { tag, digest } = parts;

  const fullName = `${registry}/${repository}`;
  if (fullName.length > NAME_MAX_LENGTH) {
    throw refuse(
      `name longer than ${NAME_MAX_LENGTH} characters: '${fullName.slice(0, 40)}…' is ` +
        `${fullName.length} characters including the registry`,
    );
  }

  let normalized = fullName;
  if (tag !== undefined) normalized += `:${tag}`;
  if (digest !== undefined) normalized += `@${digest}`;
  if (tag === undefined && digest === undefined) normalized += ':latest';

  const reference: ImageReference = { original, registry, repository, normalized };
  if (tag !== undefined) reference.tag = tag;
  if (digest !== undefined) reference.digest = digest;
  return reference;
}

/**
 * Splits an input list: items separated by newlines and/or commas; blank items and lines
 * starting with '#' (after trim) are ignored; a '#' after whitespace on a line starts a
 * trailing comment too. Items are trimmed; nothing is validated.
 */
export function splitList(text: string): string[] {
  const items: string[] = [];
  for (const rawLine of text.split(/\r\n|\r|\n/)) {
    let line = rawLine.trim();
    if (line.startsWith('#')) continue;
    const comment = /\s#/.exec(line);
    if (comment) line = line.slice(0, comment.index);
    for (const part of line.split(',')) {
      const item = part.trim();
      if (item !== '') items.push(item);
    }
  }
  return items;
}

/**
 * Splits (see splitList) and parses a list of image references. Invalid items are collected
 * in `errors`, not thrown; items that normalize to an earlier item go to `duplicates`.
 */
export function parseImageList(text: string): ParsedImageList {
  const result: ParsedImageList = { images: [], duplicates: [], errors: [] };
  const seen = new Set<string>();
  for (const item of splitList(text)) {
    let reference: ImageReference;
    try {
      reference = parseImageReference(item);
    } catch (error) {
      if (error instanceof ImageReferenceError) {
        result.errors.push(error);
        continue;
      }
      throw error;
    }
    if (seen.has(reference.normalized)) {
      result.duplicates.push(reference.original);
    } else {
      seen.add(reference.normalized);
      result.images.push(reference);
    }
  }
  return result;
}

function registryProblem(domain: string): string | undefined {
  let host: string;
  let port: string | undefined;
  if (domain.startsWith('[')) {
    const close = domain.indexOf(']');
    if (close === -1) return `registry '${domain}' is missing the closing ']' of its IPv6 address`;
    host = domain.slice(0, close + 1);
    const rest = domain.slice(close + 1);
    if (!IPV6_ADDRESS.test(host)) {
      return `registry IPv6 address '${host}' may contain only hex digits and ':'`;
    }
    if (rest !== '') {
      if (!rest.startsWith(':'))
        return `unexpected '${rest}' after registry IPv6 address '${host}'`;
      port = rest.slice(1);
    }
  } else {
    const colon = domain.indexOf(':');
    if (colon !== -1 && domain.indexOf(':', colon + 1) !== -1) {
      return `registry '${domain}' has more than one ':'; put IPv6 addresses in brackets, e.g. '[::1]:5000'`;
    }
    host = colon === -1 ? domain : domain.slice(0, colon);
    if (colon !== -1) port = domain.slice(colon + 1);
    if (host === '') return `registry '${domain}' has no host before ':'`;
    for (const label of host.split('.')) {
      if (label === '')
        return `registry host '${host}' has an empty label ('..' or a leading or trailing '.')`;
      if (!HOST_COMPONENT.test(label)) {
        return (
          `registry host '${host}' is invalid: labels may contain only letters, digits and '-', ` +
          `and must not start or end with '-'`
        );
      }
    }
  }
  if (port !== undefined) {
    if (port === '') return `registry '${domain}' has an empty port after ':'`;
    if (!/^[0-9]+$/.test(port)) return `registry port '${port}' must be a number`;
    const number = Number(port);
    if (number < 1 || number > 65535) return `registry port ${port} is out of range (1-65535)`;
  }
  return undefined;
}

function pathComponentProblem(component: string): string | undefined {
  if (PATH_COMPONENT.test(component)) return undefined;
  const bad = /[^a-z0-9._-]/.exec(component);
  if (bad) {
    return (
      `repository path component '${component}' contains ${showCharacter(bad[0])}; ` +
      `only lowercase letters, digits, '.', '_' and '-' are allowed`
    );
  }
  return (
    `repository path component '${component}' is invalid: it must start and end with a ` +
    `lowercase letter or digit, with only '.', '_', '__' or dashes between them`
  );
}

function tagProblem(tag: string): string | undefined {
  if (tag === '') return "empty tag after ':'";
  if (tag.length > TAG_MAX_LENGTH) {
    return `tag longer than ${TAG_MAX_LENGTH} characters (${tag.length})`;
  }
  if (TAG.test(tag)) return undefined;
  const bad = /[^\w.-]/.exec(tag);
  if (bad) {
    return (
      `tag '${tag}' contains ${showCharacter(bad[0])}; ` +
      `only letters, digits, '_', '.' and '-' are allowed`
    );
  }
  return `tag '${tag}' must start with a letter, digit or '_'`;
}

function digestProblem(digest: string): string | undefined {
  const colon = digest.indexOf(':');
  if (colon === -1) {
    return `digest '${digest}' must be '<algorithm>:<hex>', e.g. 'sha256:<64 hex characters>'`;
  }
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (algorithm === '') return `digest '${digest}' has no algorithm before ':' (e.g. 'sha256')`;
  const length = DIGEST_HEX_LENGTHS.get(algorithm);
  if (length !== undefined) {
    if (hex.length !== length || !/^[0-9a-f]+$/.test(hex)) {
      return (
        `${algorithm} digest must be ${length} lowercase hex characters ` +
        `(got ${hex.length} character${hex.length === 1 ? '' : 's'}` +
        (/^[0-9a-fA-F]*$/.test(hex) ? ')' : ', not all lowercase hex)')
      );
    }
    return undefined;
  }
  if (!DIGEST_ALGORITHM.test(algorithm)) {
    return `digest algorithm '${algorithm}' is invalid; use sha256, sha384 or sha512`;
  }
  if (DIGEST_HEX_LENGTHS.has(algorithm.toLowerCase())) {
    return `digest algorithm must be lowercase ('${algorithm.toLowerCase()}')`;
  }
  if (!DIGEST_HEX.test(hex)) {
    return `digest '${algorithm}:…' must be followed by at least 32 hex characters`;
  }
  return `unsupported digest algorithm '${algorithm}'; use sha256, sha384 or sha512`;
}

/** A single character for a message: quoted, with its code point when it is not plain ASCII. */
function showCharacter(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (isInvisible(char)) return hex;
  if (code > 0x7e) return `'${char}' (${hex})`;
  if (char === "'") return `"'"`;
  return `'${char}'`;
}

/** The text with invisible characters escaped (\n, \t, \u0000, \u200b), so a message stays on one line. */
function visible(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (isInvisible(char)) {
      const hex = code.toString(16);
      out += code > 0xffff ? `\\u{${hex}}` : `\\u${hex.padStart(4, '0')}`;
    } else out += char;
  }
  return out;
}

/** Control, format (e.g. zero-width), line/paragraph separator, private-use and unassigned. */
function isInvisible(char: string): boolean {
  return /^[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}]$/u.test(char);
}

function isClean(text: string): boolean {
  return text !== '' && [...text].every((char) => ALLOWED_CHARACTERS.test(char));
}
