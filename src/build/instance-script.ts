/**
 * The script the builder runs over SSM (AWS-RunShellScript, in Bottlerocket's control
 * container), and the parser for the report it prints. The script itself is
 * `instance-script.sh` beside this file (checked by shellcheck; the bundle carries it as an
 * asset); this module only writes the header of values it starts with.
 *
 * What it does on the instance:
 *  - stops kubelet, so nothing garbage-collects or starts pods while pulling;
 *  - pulls every image for every platform into containerd's k8s.io namespace on the client-side
 *    path (`--local`), so every platform is fetched and unpacked for the chosen snapshotter,
 *    several images at once (bounded), the platforms of one image in turn; all flags come
 *    before the reference (containerd 2.x ignores later ones);
 *  - labels each image managed (visible to the kubelet) and pinned (kept by image GC), and
 *    checks both are there at the end of every path;
 *  - stores each image under the name the kubelet looks up (`repo@digest` for `repo:tag@digest`);
 *  - for private ECR images, asks the host's ecr-credential-provider for a token minted from the
 *    instance's own role, so no credential ever travels in the SSM command;
 *  - pulls an image from its source when that differs (an ECR pull-through cache), then names
 *    it with its own reference and drops the source's name;
 *  - removes what belongs to this builder rather than to the images (SCRUB_PATHS);
 *  - prints one tab-separated report line per image and platform, and exits non-zero when any
 *    pull failed.
 *
 * Every user-supplied value reaches the script as a single-quoted shell word, and image
 * references are validated against the OCI grammar before that.
 */
import { readFileSync } from 'node:fs';
import type { ImageReference } from '../config/image-ref.js';
import type { Platform, Snapshotter } from '../config/types.js';
import { parseEcrRegistry } from '../cache/registry/ecr.js';

export const REPORT_PREFIX = '@@BES';
export const ECR_CREDENTIAL_PROVIDER =
  '/usr/libexec/kubernetes/kubelet/plugins/ecr-credential-provider';
/**
 * ctr reasons worth another try: server errors and rate limits (containerd's resolver says
 * "unexpected status from GET request to <url>: 503 Service Unavailable"), timeouts, dropped
 * connections.
 */
export const TRANSIENT_PULL_ERRORS =
  '(status|code):? *(429|5[0-9][0-9])|: (429|5[0-9][0-9]) [A-Z]|too many requests|service unavailable|bad gateway|gateway time|internal server error|timeout|timed out|connection reset|connection refused|unexpected EOF|i/o timeout|temporar';
/** ctr reasons that another try will not change. */
export const PERMANENT_PULL_ERRORS =
  'not found|no match for platform|unauthorized|denied|forbidden|authorization failed|no space left on device';
/** Longest registry message kept per failed pull, so the report fits SSM's 24,000-character output. */
export const MAX_MESSAGE_CHARS = 300;
/** Bytes of a command's output kept (ctr 2.x reprints its whole progress table on every update). */
export const LOG_BYTES = 65_536;

/**
 * What on the data volume (/local) belongs to this one builder rather than to the images, and is
 * removed before the snapshot: every node booting from it would otherwise inherit it. Each item,
 * and what stays and why, is in the README ("What the snapshot holds").
 */
export const SCRUB_PATHS: readonly string[] = [
  // The admin container's persistent storage (host-ctr bind-mounts /local/host-containers/<name>,
  // bottlerocket-core-kit sources/host-ctr/cmd/host-ctr/main.go): SSH host private keys, which
  // bottlerocket-admin-container start_admin.sh reuses when present, and the admin user data
  // (this builder's authorized keys); both are made anew at boot.
  '/local/host-containers/admin/etc/ssh',
  '/local/host-containers/admin/user-data',
  // The persistent journal (core-kit packages/systemd/journald.conf Storage=persistent): this
  // builder's logs under its machine ID, never vacuumed by a node.
  '/local/var/log/journal',
  // containerd's random per-daemon UUID (containerd services/introspection/local.go).
  '/local/var/lib/containerd/io.containerd.service.v1.introspection-service/uuid',
  // A self-signed kubelet serving key, made only when server TLS bootstrap is off.
  '/local/var/lib/kubelet/pki',
];
/** Directories whose contents go, the directory staying (something expects it at boot). */
export const SCRUB_CONTENTS: readonly string[] = [
  // wicked's DHCP leases and DUID (variants up to aws-k8s-1.27): nodes would share the DUID.
  '/local/var/lib/wicked',
  // host-local IPAM reservations, if the CNI ever ran: a node would skip those addresses.
  '/local/var/lib/cni',
];
/** The control container's SSM agent state (its /var/lib/amazon/ssm): the registration key. */
export const SSM_STATE = '/local/host-containers/control/ssm';

export interface ScriptPlan {
  images: ImageReference[];
  /** Where to pull each image from, when not from itself (ECR pull-through cache); same order. */
  sources?: ImageReference[];
  platforms: Platform[];
  snapshotter: Snapshotter;
  onMissingPlatform: 'fail' | 'skip';
  concurrency: number;
  /** Stop containerd and flush at the end, for a snapshot of the running instance. */
  quiesce: boolean;
  /**
   * The data volume came from an earlier snapshot: remove the images not listed
   * (containerd then garbage-collects their content) before pulling.
   */
  prune: boolean;
  /**
   * How long to wait for the admin host container, which `apiclient exec admin` needs and
   * which may start a little after the SSM agent (default 180 s).
   */
  adminWaitSeconds?: number;
  /** Base delay before retrying a transient pull failure: 1x, then 4x (default 5 s). */
  retryDelaySeconds?: number;
  /**
   * Where on the builder the script keeps its whole report, for when SSM cuts the output
   * (reportFilePath gives one per use of the action).
   */
  reportFile: string;
}

/** The builder's copy of the pull report: in the control container, outside the data volume. */
export function reportFilePath(invocation: string): string {
  return `/tmp/bottlerocket-ebs-snapshot/${invocation.replace(/[^A-Za-z0-9_.-]/g, '_')}.report`;
}

/** Quotes a value as one POSIX shell word. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Private ECR registries need a token; public.ecr.aws and others pull anonymously. The hosts are
 * those the credential provider serves (see parseEcrRegistry).
 */
export function needsEcrAuth(image: ImageReference): boolean {
  return parseEcrRegistry(image.registry) !== undefined;
}

/**
 * The name containerd stores an image under, which is the name the kubelet looks it up by: CRI
 * resolves `repo:tag@sha256:d` with ParseDockerRef, which drops the tag when there is a digest
 * (containerd internal/cri/server/images/service.go), so it must be stored as `repo@sha256:d`.
 */
export function storageName(image: ImageReference): string {
  if (image.digest === undefined) return image.normalized;
  return `${image.registry}/${image.repository}@${image.digest}`;
}

let body: string | undefined;
/** The script's body, read once (the bundle carries the file next to itself). */
function scriptBody(): string {
  body ??= readFileSync(new URL('./instance-script.sh', import.meta.url), 'utf8');
  return body;
}

const words = (values: readonly string[]): string => values.map(shellQuote).join(' ');

export function renderInstanceScript(plan: ScriptPlan): string {
  const sources = plan.images.map((image, i) => plan.sources?.[i] ?? image);
  const header = [
    '#!/bin/bash',
    "# Generated by bottlerocket-ebs-snapshot: pulls images onto this builder's data volume.",
    `REFS=(${words(plan.images.map(storageName))})`,
    `SRCS=(${words(sources.map(storageName))})`,
    `AUTH=(${sources.map((i) => (needsEcrAuth(i) ? 'ecr' : 'none')).join(' ')})`,
    `PLATFORMS=(${words(plan.platforms)})`,
    `SNAPSHOTTER=${shellQuote(plan.snapshotter)}`,
    `ON_MISSING_PLATFORM=${shellQuote(plan.onMissingPlatform)}`,
    `CONCURRENCY=${plan.concurrency}`,
    `QUIESCE=${plan.quiesce ? 1 : 0}`,
    `PRUNE=${plan.prune ? 1 : 0}`,
    `ADMIN_WAIT_SECONDS=${plan.adminWaitSeconds ?? 180}`,
    `RETRY_DELAY=${plan.retryDelaySeconds ?? 5}`,
    'CTR_SOCKET=/run/containerd/containerd.sock',
    `ECR_CREDENTIAL_PROVIDER=${shellQuote(ECR_CREDENTIAL_PROVIDER)}`,
    `TRANSIENT=${shellQuote(TRANSIENT_PULL_ERRORS)}`,
    `PERMANENT=${shellQuote(PERMANENT_PULL_ERRORS)}`,
    `MAX_MESSAGE_CHARS=${MAX_MESSAGE_CHARS}`,
    `LOG_BYTES=${LOG_BYTES}`,
    `SCRUB_PATHS=(${words(SCRUB_PATHS)})`,
    `SCRUB_CONTENTS=(${words(SCRUB_CONTENTS)})`,
    `SSM_STATE=${shellQuote(SSM_STATE)}`,
    `REPORT_FILE=${shellQuote(plan.reportFile)}`,
    `P=${REPORT_PREFIX}`,
  ];
  return `${header.join('\n')}\n\n${scriptBody()}`;
}

export interface PullRecord {
  image: ImageReference;
  platform: string;
  status: 'ok' | 'skip' | 'fail';
  seconds: number;
  digest?: string;
  /** Size as containerd reports it, e.g. "27.6 MiB". */
  size?: string;
  sizeBytes?: number;
  /** The image was already on the volume (from the base snapshot) with the same digest. */
  reused: boolean;
  message?: string;
}

export interface ScriptReport {
  pulls: PullRecord[];
  /** Images removed from a volume that came from an earlier snapshot. */
  removed: string[];
  /** Images that could not be removed, with containerd's message. */
  removeFailures: Array<{ name: string; message: string }>;
  /** The script reached its end line (the output was not cut short). */
  complete: boolean;
  phaseFailure?: { phase: string; message: string };
  /** Counts of pulls by outcome, printed before the pull lines (failures first) and at the end. */
  totals?: { pulled: number; skipped: number; failed: number };
}

const UNITS: Record<string, number> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
  kB: 1000,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
};

export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]+)?$/.exec(text.trim());
  if (!match) return undefined;
  const factor = UNITS[match[2] ?? 'B'];
  if (factor === undefined) return undefined;
  return Math.round(Number(match[1]) * factor);
}

export function parseScriptReport(stdout: string, images: ImageReference[]): ScriptReport {
  const report: ScriptReport = { pulls: [], removed: [], removeFailures: [], complete: false };
  for (const line of stdout.split('\n')) {
    const fields = line.replace(/\r$/, '').split('\t');
    if (fields[0] !== REPORT_PREFIX) continue;
    const kind = fields[1];
    if (kind === 'pull') {
      const image = images[Number(fields[2])];
      const status = fields[4];
      if (!image || (status !== 'ok' && status !== 'skip' && status !== 'fail')) continue;
      const record: PullRecord = {
        image,
        platform: fields[3] ?? '',
        status,
        seconds: Math.round(Number(fields[5] ?? 0) / 100) / 10,
        reused: fields[8] === '1',
      };
      const digest = fields[6];
      const size = fields[7];
      const message = fields.slice(9).join(' ').trim();
      if (digest && digest !== '-') record.digest = digest;
      if (size && size !== '-') {
        record.size = size;
        const bytes = parseSize(size);
        if (bytes !== undefined) record.sizeBytes = bytes;
      }
      if (message) record.message = message;
      report.pulls.push(record);
    } else if (kind === 'remove' && fields[2]) {
      report.removed.push(fields[2]);
    } else if (kind === 'remove-failed' && fields[2]) {
      report.removeFailures.push({ name: fields[2], message: fields.slice(3).join(' ') });
    } else if (kind === 'phase' && fields[3] === 'fail') {
      report.phaseFailure = { phase: fields[2] ?? 'unknown', message: fields.slice(4).join(' ') };
    } else if (kind === 'count' || kind === 'end') {
      // The counts come first and again at the end; only the end says nothing was cut.
      if (kind === 'end') report.complete = true;
      report.totals = {
        pulled: Number(fields[2] ?? 0),
        skipped: Number(fields[3] ?? 0),
        failed: Number(fields[4] ?? 0),
      };
    }
  }
  // Failures come first in the output; the report is in the order of the images, then platforms.
  const order = new Map(images.map((image, i) => [image, i]));
  report.pulls.sort(
    (a, b) =>
      (order.get(a.image) ?? 0) - (order.get(b.image) ?? 0) || a.platform.localeCompare(b.platform),
  );
  return report;
}
