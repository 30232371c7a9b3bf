/** The user's tags for what the action creates, checked against EC2's tag rules and limits. */
import { InputError } from '../../core/errors.js';
import { splitList } from '../../config/image-ref.js';
import { RESERVED_TAG_PREFIX } from '../../aws/tags.js';

const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+@-]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+@-]{0,256}$/u;

/**
 * EC2 allows 50 tags per resource. The action's own take up to 15 on a snapshot (Name, run,
 * repository, invocation, role, images, digests, variant, platforms, snapshotter, lineage,
 * encryption, build key, base, state) and a copy adds its source: 34 are left.
 */
export const MAX_USER_TAGS = 34;

function checkTag(key: string, value: string): void {
  if (!TAG_KEY.test(key)) {
    throw new InputError(
      'tags',
      `key '${key}' is not a valid EC2 tag key (1-128 letters, digits, spaces and _.:/=+-@).`,
    );
  }
  if (key.toLowerCase().startsWith('aws:')) {
    throw new InputError('tags', `key '${key}' uses the reserved prefix 'aws:'.`);
  }
  if (key.startsWith(RESERVED_TAG_PREFIX)) {
    throw new InputError(
      'tags',
      `key '${key}' uses the prefix '${RESERVED_TAG_PREFIX}' that the action sets itself.`,
    );
  }
  if (!TAG_VALUE.test(value)) {
    throw new InputError(
      'tags',
      `value of '${key}' is not a valid EC2 tag value (0-256 letters, digits, spaces and _.:/=+-@).`,
    );
  }
}

export function parseTags(raw: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const line of splitList(raw)) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new InputError('tags', `'${line}' is not key=value.`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    checkTag(key, value);
    tags[key] = value;
  }
  if (Object.keys(tags).length > MAX_USER_TAGS) {
    throw new InputError(
      'tags',
      `at most ${MAX_USER_TAGS} tags are allowed (EC2's limit is 50 and the action sets some).`,
    );
  }
  return tags;
}
