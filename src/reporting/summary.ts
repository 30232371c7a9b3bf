/**
 * The job summary: what was built, what it holds, how long each phase took,
 * and what a node group needs to use it. Pure: returns markdown.
 */
import type { BuildResult, ImageResult } from '../build/index.js';
import type { ClusterUpdateResult } from '../cluster-update/index.js';
import type { DistributionResult } from '../distribution/index.js';
import type { RetentionResult } from '../cache/retention.js';
import type { PhaseRecord } from '../build/phases.js';
import { escapeCell } from '../core/markdown.js';
import { formatBytes, formatDuration } from '../core/format.js';
import {
  EKSCTL_DEFAULT_VOLUME_GIB,
  KARPENTER_DEFAULT_DATA_GIB,
  eksctlSnippet,
  karpenterSnippet,
} from '../cluster-update/manifests/snippets.js';

const STATUS_ICON: Record<ImageResult['status'], string> = {
  ok: '✅',
  skip: '⚠️ skipped',
  fail: '❌ failed',
};

function resultCell(image: ImageResult): string {
  if (image.status === 'ok') return image.reused ? '♻️ already there' : STATUS_ICON.ok;
  return `${STATUS_ICON[image.status]} ${escapeCell(image.message ?? '')}`.trim();
}

export function imagesTable(images: ImageResult[]): string {
  if (images.length === 0) return '_No image was pulled._\n';
  const rows = images.map((i) => {
    const digest = i.digest ? `\`${i.digest.slice(0, 19)}…\`` : '–';
    return `| ${escapeCell(i.reference)} | ${i.platform} | ${resultCell(i)} | ${digest} | ${formatBytes(i.size)} | ${i.seconds} |`;
  });
  return [
    '| Image | Platform | Result | Digest | Size | Pull (s) |',
    '|---|---|---|---|---|---:|',
    ...rows,
    '',
  ].join('\n');
}

export function timeline(phases: PhaseRecord[]): string {
  if (phases.length === 0) return '';
  const rows = phases.map((p) => {
    const outcome = p.outcome === 'ok' ? '✅' : p.outcome === 'skipped' ? '⏭️' : '❌';
    return `| ${p.index}. ${escapeCell(p.title)} | ${outcome} | ${formatDuration(p.endedAt - p.startedAt)} |`;
  });
  return ['| Phase | | Time |', '|---|---|---:|', ...rows, ''].join('\n');
}

function buildHeadline(result: BuildResult): string[] {
  if (result.cacheHit) {
    return [
      `## ♻️ Bottlerocket data volume snapshot: \`${result.snapshotId}\` (reused)`,
      '',
      `Every image has the same digest as when \`${result.snapshotId}\` was built (build key \`${result.buildKey?.slice(0, 12) ?? ''}…\`), so it was reused: no instance was launched. Checked in ${formatDuration(result.durationSeconds * 1000)} in **${result.region}**.`,
    ];
  }
  const lines = [
    `## 📦 Bottlerocket data volume snapshot: \`${result.snapshotId}\``,
    '',
    `Built in ${formatDuration(result.durationSeconds * 1000)} in **${result.region}** on ${result.instanceType} (${result.imageId}).`,
  ];
  if (result.baseSnapshotId) {
    const reused = result.images.filter((i) => i.reused).length;
    const pulled = result.images.filter((i) => i.status === 'ok' && !i.reused);
    const pulledBytes = pulled.reduce((sum, i) => sum + (i.size ?? 0), 0);
    lines.push(
      '',
      `Incremental build on \`${result.baseSnapshotId}\`: ${reused} image pull(s) already there, ` +
        `${pulled.length} pulled (${formatBytes(pulledBytes)}), ${result.removed.length} image(s) removed` +
        (result.removed.length > 0 ? ` (${result.removed.map(escapeCell).join(', ')})` : '') +
        '. Only changed blocks are written to the new snapshot.',
    );
  }
  return lines;
}

function checkpointNote(result: BuildResult): string[] {
  const taken = result.checkpoints?.ids.length ?? 0;
  if (taken === 0) return [];
  return [
    `While the images pulled, ${taken} checkpoint snapshot${taken === 1 ? '' : 's'} copied the data volume as it filled, ` +
      'so the final snapshot only copied what was written after the last one. They were deleted when the build ended.',
    '',
  ];
}

export function buildSummary(result: BuildResult): string {
  const lines = [
    ...buildHeadline(result),
    '',
    `Nodes need a data volume (\`/dev/xvdb\`) of at least **${result.volumeSizeGiB} GiB** to use it.`,
    '',
    '### Images',
    '',
    imagesTable(result.images),
    '### Timeline',
    '',
    timeline(result.phases),
    ...checkpointNote(result),
    '### Use it',
    '',
    "Karpenter `EC2NodeClass` `spec` (both mappings: a list replaces Karpenter's Bottlerocket defaults):",
    '',
    '```yaml',
    karpenterSnippet(result.snapshotId, Math.max(result.volumeSizeGiB, KARPENTER_DEFAULT_DATA_GIB)),
    '```',
    '',
    'eksctl node group:',
    '',
    '```yaml',
    eksctlSnippet(result.snapshotId, Math.max(result.volumeSizeGiB, EKSCTL_DEFAULT_VOLUME_GIB)),
    '```',
    '',
  ];
  if (result.warnings.length > 0) {
    lines.push('### Warnings', '', ...result.warnings.map((w) => `- ${escapeCell(w)}`), '');
  }
  return lines.join('\n');
}

export function failureSummary(
  message: string,
  phases: PhaseRecord[],
  images: ImageResult[],
): string {
  const lines = [
    '## ❌ Bottlerocket data volume snapshot failed',
    '',
    '```',
    message,
    '```',
    '',
    'Every builder this run launched was terminated, and an unfinished snapshot is deleted.',
    '',
  ];
  if (images.length > 0) lines.push('### Images', '', imagesTable(images));
  if (phases.length > 0) lines.push('### Timeline', '', timeline(phases));
  return lines.join('\n');
}

export function clusterUpdateSummary(result: ClusterUpdateResult): string {
  const lines = ['### Manifests', ''];
  if (result.updatedFiles.length === 0) {
    lines.push(
      `The ${result.lookedAt.length} matched file(s) already use this snapshot; nothing changed.`,
      '',
    );
  } else {
    lines.push('| File | Target | Snapshot | Size |', '|---|---|---|---|');
    for (const file of result.updatedFiles) {
      for (const t of file.targets) {
        const size = t.size !== undefined ? `${t.previousSize ?? '–'} → ${t.size}` : '';
        const name = t.name === '' ? '(no name)' : t.name;
        lines.push(
          `| ${escapeCell(file.path)}:${t.line} | ${escapeCell(`${t.kind} ${name}`)} | ${t.previousSnapshotId ?? '(none)'} → ${t.snapshotId} | ${escapeCell(size)} |`,
        );
      }
    }
    lines.push('');
  }
  lines.push(...missingDataVolumes(result), ...manifestWarnings(result));
  const pr = result.pullRequest;
  if (pr) {
    lines.push(
      pr.url
        ? `Pull request [#${pr.number ?? ''}](${pr.url}) ${pr.operation} (branch \`${pr.branch}\` → \`${pr.base}\`).`
        : `Pull request: ${pr.operation}.`,
      '',
    );
  }
  return lines.join('\n');
}

function missingDataVolumes(result: ClusterUpdateResult): string[] {
  if (result.missingDataVolumes.length === 0) return [];
  const lines = [
    '#### Bottlerocket node groups and node classes without a data volume entry',
    '',
    'Their data volume (`/dev/xvdb`) is implicit, so the snapshot could not be set on it. Add:',
    '',
  ];
  for (const m of result.missingDataVolumes) {
    const where = m.snippetKind === 'eksctl' ? 'to the node group' : 'in `spec`';
    lines.push(
      `- \`${escapeCell(m.path)}:${m.line}\` ${escapeCell(m.label)}, ${where}:`,
      '',
      '  ```yaml',
      ...m.snippet.split('\n').map((l) => `  ${l}`),
      '  ```',
      '',
    );
  }
  return lines;
}

function manifestWarnings(result: ClusterUpdateResult): string[] {
  if (result.warnings.length === 0) return [];
  return [
    '#### Warnings',
    '',
    ...result.warnings.map((w) =>
      w.path === undefined
        ? `- ${escapeCell(w.message)}`
        : `- \`${escapeCell(w.path)}:${w.line ?? 1}\`: ${escapeCell(w.message)}`,
    ),
    '',
  ];
}

export function promotionSummary(
  snapshotId: string,
  region: string,
  volumeSizeGiB: number,
): string {
  return [
    `## 📦 Promoting Bottlerocket data volume snapshot \`${snapshotId}\``,
    '',
    `Existing snapshot in **${region}**; nodes need a data volume (\`/dev/xvdb\`) of at least **${volumeSizeGiB} GiB**.`,
    '',
  ].join('\n');
}

export function distributionSummary(result: DistributionResult): string {
  const lines = ['### Distribution', '', '| Region | Snapshot |', '|---|---|'];
  for (const [region, id] of Object.entries(result.snapshotIds))
    lines.push(`| ${region} | \`${id}\` |`);
  lines.push('');
  if (result.shared.length > 0) lines.push(`Shared with ${result.shared.join(', ')}.`, '');
  for (const p of result.parameters)
    lines.push(
      `SSM parameter \`${p.name}\` in ${p.region}${p.version ? ` (version ${p.version})` : ''}.`,
    );
  if (result.parameters.length > 0) lines.push('');
  if (result.fastSnapshotRestore.length > 0) {
    lines.push(
      `Fast snapshot restore: ${result.fastSnapshotRestore.map((f) => `${f.az} ${f.state}`).join(', ')} (billed per AZ and hour while enabled).`,
      '',
    );
  }
  return lines.join('\n');
}

export function retentionSummary(results: RetentionResult[]): string {
  const lines = ['### Retention', ''];
  for (const r of results) {
    lines.push(
      `- ${r.region}: deleted ${r.deleted.length === 0 ? 'none' : r.deleted.map((d) => `\`${d}\``).join(', ')}` +
        (r.kept.length > 0
          ? `; kept ${r.kept.map((k) => `\`${k.id}\` (${escapeCell(k.reason)})`).join(', ')}`
          : ''),
    );
  }
  lines.push('');
  return lines.join('\n');
}
