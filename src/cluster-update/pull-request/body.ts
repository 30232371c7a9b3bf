/**
 * The markdown body of the pull request: which manifests change, which images
 * the snapshot holds, and what happens after merge.
 */
import { escapeCell } from '../../core/markdown.js';
import { formatBytes } from '../../core/format.js';

export interface PullRequestBodyTarget {
  /** e.g. `eksctl managedNodeGroup`, `EC2NodeClass`. */
  kind: string;
  name: string;
  previousSnapshotId: string | null;
  snapshotId: string;
  /** Data volume size before/after: a number of GiB, or a quantity string such as `80Gi`. */
  previousSize?: number | string | null;
  size?: number | string | null;
}

export interface PullRequestBodyFile {
  path: string;
  targets: PullRequestBodyTarget[];
}

export interface PullRequestBodyImage {
  reference: string;
  platform: string;
  digest?: string;
  sizeBytes?: number;
}

export interface PullRequestBodyData {
  files: PullRequestBodyFile[];
  images: PullRequestBodyImage[];
  /** The data volume size nodes need for this snapshot, in GiB. */
  volumeSizeGiB: number;
  snapshotId: string;
  region: string;
  runUrl?: string;
  /** Whether any Karpenter EC2NodeClass changed. */
  karpenterTouched: boolean;
}

/** GitHub's limit on a pull request body, in characters. */
export const MAX_BODY_CHARS = 65536;

/** A code span for a table cell; plain escaped text when the value itself holds a backtick. */
function code(text: string): string {
  const line = text.replace(/\r?\n|\r/g, ' ');
  if (line === '' || line.includes('`')) return escapeCell(line);
  return '`' + line.replace(/\|/g, '\\|') + '`';
}

function formatSize(size: number | string | null | undefined): string | undefined {
  if (size === undefined || size === null || size === '') return undefined;
  return typeof size === 'number' ? `${size} GiB` : size;
}

function snapshotCell(target: PullRequestBodyTarget): string {
  const next = code(target.snapshotId);
  if (target.previousSnapshotId === null) return `(none) → ${next}`;
  if (target.previousSnapshotId === target.snapshotId) return `${next} (unchanged)`;
  return `${code(target.previousSnapshotId)} → ${next}`;
}

function sizeCell(target: PullRequestBodyTarget): string {
  const before = formatSize(target.previousSize);
  const after = formatSize(target.size);
  if (after === undefined) return before === undefined ? '' : escapeCell(before);
  if (before === undefined) return escapeCell(after);
  if (before === after) return `${escapeCell(after)} (unchanged)`;
  return `${escapeCell(before)} → ${escapeCell(after)}`;
}

/** A URL safe to put inside a markdown link's parentheses. */
function linkTarget(url: string): string {
  return url.replace(
    /[()<>\s]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

interface Row {
  path: string;
  target: PullRequestBodyTarget;
}

function render(data: PullRequestBodyData, targetRows: number, imageRows: number): string {
  const rows: Row[] = data.files.flatMap((file) =>
    file.targets.map((target) => ({ path: file.path, target })),
  );
  const targetCount = rows.length;
  const lines: string[] = [];

  lines.push(`## Bottlerocket data volume snapshot ${code(data.snapshotId)}`);
  lines.push('');
  lines.push(
    `This points ${targetCount} node group(s) / node class(es) in ${data.files.length} file(s) at a new ` +
      `EBS snapshot in ${code(data.region)}: a Bottlerocket data volume with the container images below ` +
      'already pulled, so pods on new nodes start without pulling them.',
  );
  lines.push('');

  lines.push('### Changes');
  lines.push('');
  if (targetCount === 0) {
    lines.push('No manifest targets.');
  } else {
    lines.push('| File | Kind | Name | Snapshot | Volume size |');
    lines.push('| --- | --- | --- | --- | --- |');
    for (const { path, target } of rows.slice(0, targetRows)) {
      lines.push(
        `| ${code(path)} | ${escapeCell(target.kind)} | ${code(target.name)} | ${snapshotCell(target)} | ${sizeCell(target)} |`,
      );
    }
    if (targetRows < targetCount) {
      lines.push(`| … and ${targetCount - targetRows} more | | | | |`);
    }
  }
  lines.push('');

  lines.push(`### Images in the snapshot (${data.images.length})`);
  lines.push('');
  if (data.images.length === 0) {
    lines.push('No images.');
  } else {
    lines.push('| Image | Platform | Digest | Size |');
    lines.push('| --- | --- | --- | --- |');
    for (const image of data.images.slice(0, imageRows)) {
      lines.push(
        `| ${code(image.reference)} | ${escapeCell(image.platform)} | ${image.digest ? code(image.digest) : ''} | ${formatBytes(image.sizeBytes, '')} |`,
      );
    }
    if (imageRows < data.images.length) {
      lines.push(`| … and ${data.images.length - imageRows} more | | | |`);
    }
  }
  lines.push('');

  lines.push('### Volume size');
  lines.push('');
  lines.push(
    `Nodes launched from this snapshot need a data volume of at least **${data.volumeSizeGiB} GiB**; ` +
      'a smaller volume cannot be created from it.',
  );
  lines.push('');

  if (data.karpenterTouched) {
    lines.push('> [!NOTE]');
    lines.push(
      '> After this is merged and applied, Karpenter sees that the changed EC2NodeClass(es) drifted ' +
        'and replaces their nodes with nodes that use the new snapshot (subject to disruption budgets).',
    );
    lines.push('');
  }

  if (data.runUrl) {
    lines.push(`Built by [this workflow run](${linkTarget(data.runUrl)}).`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The largest n in [0, max] with fits(n), assuming fits is monotone and fits(0). */
function largest(max: number, fits: (n: number) => boolean): number {
  let low = 0;
  let high = max;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}

/**
 * The markdown body. Below GitHub's 65536-character limit: the images table
 * (then, if needed, the changes table) is cut short with an "… and N more" row.
 */
export function renderPullRequestBody(
  data: PullRequestBodyData,
  maxChars = MAX_BODY_CHARS,
): string {
  const targets = data.files.reduce((n, file) => n + file.targets.length, 0);
  const images = data.images.length;
  const full = render(data, targets, images);
  if (full.length < maxChars) return full;
  const fits = (t: number, i: number) => render(data, t, i).length < maxChars;
  if (fits(targets, 0)) {
    return render(
      data,
      targets,
      largest(images, (i) => fits(targets, i)),
    );
  }
  const shown = largest(targets, (t) => fits(t, 0));
  return render(data, shown, 0).slice(0, maxChars - 1);
}
