/**
 * Tags on everything the action creates. The run tag lets the post step (or a
 * person) find and remove what a run left behind; the rest describe the
 * snapshot for whoever finds it in the console later.
 */
import type { Tag, TagSpecification, ResourceType } from '@aws-sdk/client-ec2';
import { runKey, type RunContext } from '../config/run-context.js';

/** Tags this action reserves for itself. */
export const RESERVED_TAG_PREFIX = 'bottlerocket-ebs-snapshot:';

export const TAG_RUN = `${RESERVED_TAG_PREFIX}run`;
/** This use of the action within the run (RunContext.invocation): what the post step removes. */
export const TAG_INVOCATION = `${RESERVED_TAG_PREFIX}invocation`;
export const TAG_REPOSITORY = `${RESERVED_TAG_PREFIX}repository`;
export const TAG_ROLE = `${RESERVED_TAG_PREFIX}role`;
export const TAG_IMAGES = `${RESERVED_TAG_PREFIX}images`;
export const TAG_DIGESTS = `${RESERVED_TAG_PREFIX}digests`;
export const TAG_VARIANT = `${RESERVED_TAG_PREFIX}variant`;
export const TAG_PLATFORMS = `${RESERVED_TAG_PREFIX}platforms`;
export const TAG_SNAPSHOTTER = `${RESERVED_TAG_PREFIX}snapshotter`;
export const TAG_BUILD_KEY = `${RESERVED_TAG_PREFIX}build-key`;
export const TAG_LINEAGE = `${RESERVED_TAG_PREFIX}lineage`;
export const TAG_ENCRYPTION = `${RESERVED_TAG_PREFIX}encryption`;
export const TAG_BASE = `${RESERVED_TAG_PREFIX}base-snapshot`;
/**
 * `building` from CreateSnapshot on, `complete` once the build finished (every image pulled,
 * the snapshot completed). A snapshot left `building` (a killed or failed run's) is never reused,
 * built on or counted by retention.
 */
export const TAG_STATE = `${RESERVED_TAG_PREFIX}state`;
export const STATE_BUILDING = 'building';
export const STATE_COMPLETE = 'complete';

/**
 * Whether a snapshot's build finished. One without the state tag was made before the tag existed,
 * when only finished builds were output, and counts as finished.
 */
export function buildFinished(snapshot: { Tags?: Tag[] | undefined }): boolean {
  return snapshot.Tags?.find((t) => t.Key === TAG_STATE)?.Value !== STATE_BUILDING;
}

const MAX_TAG_VALUE = 256;

/** Trims a tag value to EC2's limit, marking the cut. */
export function tagValue(value: string): string {
  if (value.length <= MAX_TAG_VALUE) return value;
  return `${value.slice(0, MAX_TAG_VALUE - 1)}…`;
}

/**
 * The tags that say which use of the action created something: the run's, and the
 * invocation's when known. The post step searches by exactly these, so a matrix job's
 * post step never touches a sibling job's resources.
 */
export function invocationTags(context: RunContext): Record<string, string> {
  return {
    [TAG_RUN]: tagValue(runKey(context)),
    ...(context.invocation ? { [TAG_INVOCATION]: context.invocation } : {}),
  };
}

export function runTags(
  context: RunContext,
  userTags: Record<string, string>,
): Record<string, string> {
  return {
    ...userTags,
    ...invocationTags(context),
    [TAG_REPOSITORY]: tagValue(context.repository),
  };
}

export function toTagList(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function tagSpecifications(
  types: ResourceType[],
  tags: Record<string, string>,
): TagSpecification[] {
  return types.map((ResourceType) => ({ ResourceType, Tags: toTagList(tags) }));
}
