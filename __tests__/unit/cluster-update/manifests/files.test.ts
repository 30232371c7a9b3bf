import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ActionError, InputError } from '../../../../src/core/errors.js';
import { MemoryLogger } from '../../../../test-support/memory-logger.js';
import {
  updateManifestFiles,
  type RewriteOptions,
} from '../../../../src/cluster-update/manifests/index.js';
import {
  eksctlSnippet,
  karpenterSnippet,
} from '../../../../src/cluster-update/manifests/snippets.js';
import { FIXTURES, NEW_SNAPSHOT, OLD_SNAPSHOT, readFixture } from './fixture-cases.js';

const OPTIONS: RewriteOptions = { snapshotId: NEW_SNAPSHOT };
const OLD_TIME = new Date('2020-01-01T00:00:00Z');

let workspace: string;
let outside: string;

async function put(rel: string, content: string | Buffer): Promise<void> {
  const file = path.join(workspace, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
  await utimes(file, OLD_TIME, OLD_TIME);
}

const read = (rel: string) => readFile(path.join(workspace, rel), 'utf8');
const mtime = async (rel: string) => (await stat(path.join(workspace, rel))).mtimeMs;

beforeEach(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'manifests-ws-'));
  outside = await mkdtemp(path.join(tmpdir(), 'manifests-outside-'));
  await put('deploy/eksctl/cluster.yaml', readFixture('eksctl-article.yaml'));
  await put('deploy/karpenter/nodeclass.yaml', readFixture('karpenter-v1-ec2nodeclass.yaml'));
  await put(
    'deploy/karpenter/current.yaml',
    readFixture('karpenter-v1beta1.yaml').replace(OLD_SNAPSHOT, NEW_SNAPSHOT),
  );
  await put('deploy/apps/deployment.yaml', 'apiVersion: apps/v1\nkind: Deployment\n');
  await put('charts/karpenter/templates/nodeclass.yaml', readFixture('helm-template.yaml'));
  await put('.github/hidden.yaml', readFixture('karpenter-v1-ec2nodeclass.yaml'));
  await put('docs/notes.md', '# notes\n');
});

afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('updateManifestFiles', () => {
  it('lists every snapshot ID written in the matched files as referenced: groups left out by targets, and templates', async () => {
    const KEPT = 'snap-0123456789abcdef1';
    const TEMPLATED = 'snap-0fedcba9876543210';
    // A second cluster whose group is not among the targets: it keeps its snapshot.
    await put(
      'deploy/eksctl/other.yaml',
      readFixture('eksctl-article.yaml')
        .replace(OLD_SNAPSHOT, KEPT)
        .replace('name: prefetch-mng', 'name: other-mng'),
    );
    await put(
      'charts/x/templates/nc.yaml',
      `{{ if .Values.x }}\nsnapshotID: ${TEMPLATED}\n{{ end }}\n`,
    );
    const result = await updateManifestFiles({
      workspace,
      patterns: ['deploy/eksctl/*.yaml', 'charts/x/**'],
      options: { ...OPTIONS, targets: ['prefetch-mng'] },
      write: false,
      logger: new MemoryLogger(),
    });
    const other = result.files.find((f) => f.path === 'deploy/eksctl/other.yaml');
    expect(other?.changed).toBe(false);
    expect(result.referencedSnapshotIds).toEqual(
      [KEPT, NEW_SNAPSHOT, OLD_SNAPSHOT, TEMPLATED].sort(),
    );
  });

  it('reports every matched file and writes nothing when write is false', async () => {
    const logger = new MemoryLogger();
    const result = await updateManifestFiles({
      workspace,
      patterns: ['deploy/**/*.yaml', 'charts/**/*.yaml', '**/*.yml'],
      options: OPTIONS,
      write: false,
      logger,
    });
    expect(result.lookedAt).toEqual([
      'charts/karpenter/templates/nodeclass.yaml',
      'deploy/apps/deployment.yaml',
      'deploy/eksctl/cluster.yaml',
      'deploy/karpenter/current.yaml',
      'deploy/karpenter/nodeclass.yaml',
    ]);
    expect(result.files.map((f) => [f.path, f.changed, f.targets.length])).toEqual([
      ['deploy/apps/deployment.yaml', false, 0],
      ['deploy/eksctl/cluster.yaml', true, 1],
      ['deploy/karpenter/current.yaml', false, 1],
      ['deploy/karpenter/nodeclass.yaml', true, 1],
    ]);
    expect(result.skipped).toEqual([
      {
        path: 'charts/karpenter/templates/nodeclass.yaml',
        reason:
          "contains a template marker '{{' at line 5 (Helm or Go template), so it is not YAML until rendered; not edited",
      },
    ]);
    const cluster = result.files.find((f) => f.path === 'deploy/eksctl/cluster.yaml');
    expect(cluster?.original).toBe(readFixture('eksctl-article.yaml'));
    expect(cluster?.content).toBe(readFixture('eksctl-article.expected.yaml'));
    expect(await read('deploy/eksctl/cluster.yaml')).toBe(readFixture('eksctl-article.yaml'));
    expect(await mtime('deploy/karpenter/nodeclass.yaml')).toBe(OLD_TIME.getTime());
    expect(logger.entries.filter((e) => e.level === 'notice')).toEqual([
      {
        level: 'notice',
        message: `charts/karpenter/templates/nodeclass.yaml skipped: ${result.skipped[0]?.reason}`,
        annotation: { file: 'charts/karpenter/templates/nodeclass.yaml' },
      },
    ]);
    expect(logger.messages('info')).toContain(
      `deploy/eksctl/cluster.yaml:28: eksctl-managed-nodegroup 'prefetch-mng': snapshotID ${OLD_SNAPSHOT} -> ${NEW_SNAPSHOT}`,
    );
    expect(logger.messages('info')).toContain(
      `deploy/karpenter/current.yaml:23: karpenter-ec2nodeclass 'bottlerocket-cached': snapshotID ${NEW_SNAPSHOT} -> ${NEW_SNAPSHOT} (already up to date)`,
    );
  });

  it('writes only the changed files when write is true', async () => {
    await updateManifestFiles({
      workspace,
      patterns: ['deploy/**/*.yaml'],
      options: { ...OPTIONS, requiredSizeGiB: 50, volumeInitializationRate: 150 },
      write: true,
      logger: new MemoryLogger(),
    });
    // The article's entry has no volumeSize: eksctl gives it 80 GiB, more than the 50 GiB
    // snapshot needs, so no size is written (writing 50 would shrink the nodes' data volume).
    expect(await read('deploy/eksctl/cluster.yaml')).toBe(
      readFixture('eksctl-article.yaml').replace(OLD_SNAPSHOT, NEW_SNAPSHOT),
    );
    expect(await read('deploy/karpenter/nodeclass.yaml')).toBe(
      readFixture('karpenter-v1-ec2nodeclass.expected.yaml'),
    );
    expect(await mtime('deploy/karpenter/current.yaml')).toBe(OLD_TIME.getTime());
    expect(await mtime('deploy/apps/deployment.yaml')).toBe(OLD_TIME.getTime());
    expect(await read('.github/hidden.yaml')).toBe(readFixture('karpenter-v1-ec2nodeclass.yaml'));
  });

  it('sends warnings to the logger as annotations on the file and line', async () => {
    await put('deploy/al2023.yaml', readFixture('non-bottlerocket.yaml'));
    const logger = new MemoryLogger();
    await updateManifestFiles({
      workspace,
      patterns: ['deploy/al2023.yaml'],
      options: { ...OPTIONS, targets: ['al2023-mng', 'al2023'] },
      write: false,
      logger,
    });
    const warnings = logger.entries.filter((e) => e.level === 'warning');
    expect(warnings.map((w) => w.annotation)).toEqual([
      { file: 'deploy/al2023.yaml', startLine: 8 },
      { file: 'deploy/al2023.yaml', startLine: 20 },
      { file: 'deploy/al2023.yaml', startLine: 21 },
      { file: 'deploy/al2023.yaml', startLine: 29 },
    ]);
    expect(warnings[2]?.message).toContain('RAID0');
  });

  it('honours negated patterns and the targets filter, and warns about unknown target names', async () => {
    const logger = new MemoryLogger();
    const result = await updateManifestFiles({
      workspace,
      patterns: ['deploy/**/*.yaml', '!deploy/eksctl/**'],
      options: { ...OPTIONS, targets: ['bottlerocket-example', 'missing-pool'] },
      write: false,
      logger,
    });
    expect(result.lookedAt).not.toContain('deploy/eksctl/cluster.yaml');
    expect(result.files.flatMap((f) => f.targets.map((t) => t.name))).toEqual([
      'bottlerocket-example',
    ]);
    const unknown =
      "targets lists 'missing-pool', but no eksctl node group or Karpenter node class of that name with a /dev/xvdb data volume was found in the matched files";
    expect(logger.messages('warning')).toEqual([unknown]);
    expect(result.warnings).toEqual([unknown]);
  });

  it.each([
    ['../other/*.yaml'],
    ['deploy/../../x.yaml'],
    ['/etc/*.yaml'],
    ['!../x'],
    ['C:/x.yaml'],
  ])('refuses the pattern %s', async (pattern) => {
    const run = updateManifestFiles({
      workspace,
      patterns: ['deploy/**/*.yaml', pattern],
      options: OPTIONS,
      write: true,
      logger: new MemoryLogger(),
    });
    await expect(run).rejects.toBeInstanceOf(InputError);
    await expect(run).rejects.toThrow("Input 'update-files'");
    expect(await read('deploy/eksctl/cluster.yaml')).toBe(readFixture('eksctl-article.yaml'));
  });

  it('refuses an empty pattern list', async () => {
    await expect(
      updateManifestFiles({
        workspace,
        patterns: ['', '  '],
        options: OPTIONS,
        write: false,
        logger: new MemoryLogger(),
      }),
    ).rejects.toThrow(InputError);
  });

  it('says so, listing the patterns, when no file matched', async () => {
    const run = updateManifestFiles({
      workspace,
      patterns: ['k8s/**/*.yaml', 'eks/*.yml'],
      options: OPTIONS,
      write: false,
      logger: new MemoryLogger(),
    });
    await expect(run).rejects.toBeInstanceOf(ActionError);
    await expect(run).rejects.toThrow(
      `Nothing was updated: no file matched update-files (k8s/**/*.yaml, eks/*.yml) in ${workspace}.`,
    );
  });

  it('says nothing was updated, listing the files looked at, when no target was found', async () => {
    const run = updateManifestFiles({
      workspace,
      patterns: ['deploy/apps/*.yaml', 'charts/**/*.yaml'],
      options: OPTIONS,
      write: true,
      logger: new MemoryLogger(),
    });
    await expect(run).rejects.toBeInstanceOf(ActionError);
    await expect(run).rejects.toThrow(
      [
        'Nothing was updated: no eksctl node group (additionalVolumes entry with volumeName /dev/xvdb) or Karpenter EC2NodeClass/AWSNodeTemplate (blockDeviceMappings entry with deviceName /dev/xvdb) was found in the files looked at:',
        "  - charts/karpenter/templates/nodeclass.yaml (skipped: contains a template marker '{{' at line 5 (Helm or Go template), so it is not YAML until rendered; not edited)",
        '  - deploy/apps/deployment.yaml',
      ].join('\n'),
    );
  });

  it('says what to add, per file kind, when only implicit data volumes and other OSes were found', async () => {
    const CORPUS = path.join(FIXTURES, 'corpus');
    const corpus = (name: string) => readFile(path.join(CORPUS, name), 'utf8');
    await put('real/eksctl.yaml', await corpus('eksctl-20-bottlerocket.yaml'));
    await put('real/karpenter.yaml', await corpus('blueprints-karpenter.yaml'));
    await put('real/al2023.yaml', await corpus('karpenter-v1-multiple-ebs.yaml'));
    const run = updateManifestFiles({
      workspace,
      patterns: ['real/*.yaml'],
      options: { ...OPTIONS, requiredSizeGiB: 100 },
      write: true,
      logger: new MemoryLogger(),
    });
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionError);
    const message = (error as Error).message;
    const indented = (text: string) =>
      text
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n');
    expect(message).toContain(
      `real/eksctl.yaml:14: eksctl node group 'ng1-public' runs Bottlerocket but has no /dev/xvdb entry; add to the node group:\n${indented(eksctlSnippet(NEW_SNAPSHOT, 100))}`,
    );
    expect(message).toContain(
      `real/karpenter.yaml:2: EC2NodeClass 'default' runs Bottlerocket but has no /dev/xvdb entry; set in spec (both mappings):\n${indented(karpenterSnippet(NEW_SNAPSHOT, 100))}`,
    );
    expect(message).toContain(
      "real/al2023.yaml:49: EC2NodeClass 'multiple-ebs' selects the AMI alias al2023@latest, not Bottlerocket",
    );
    expect(karpenterSnippet(NEW_SNAPSHOT, 100)).toContain('deviceName: /dev/xvda');
  });

  it('withholds volumeInitializationRate when another matched file pins Karpenter below v1.5.0', async () => {
    const release = (version: string) =>
      [
        'apiVersion: helm.toolkit.fluxcd.io/v2',
        'kind: HelmRelease',
        'metadata:',
        '  name: karpenter',
        'spec:',
        '  chart:',
        '    spec:',
        '      chart: karpenter',
        `      version: "${version}"`,
        '',
      ].join('\n');
    await put('flux/karpenter.yaml', release('1.4.0'));
    const logger = new MemoryLogger();
    const result = await updateManifestFiles({
      workspace,
      patterns: ['deploy/karpenter/nodeclass.yaml', 'flux/*.yaml'],
      options: { ...OPTIONS, volumeInitializationRate: 200 },
      write: false,
      logger,
    });
    const nodeClass = result.files.find((f) => f.path === 'deploy/karpenter/nodeclass.yaml');
    expect(nodeClass?.content).not.toContain('volumeInitializationRate');
    expect(logger.messages('warning')).toContain(
      "EC2NodeClass 'bottlerocket-example': volumeInitializationRate not written: HelmRelease 'karpenter' (chart karpenter 1.4.0) at flux/karpenter.yaml:1 is a Karpenter older than v1.5.0, whose EC2NodeClass has no such field (the API server would reject the node class)",
    );
    // The pull request's reapply uses the same knowledge.
    expect(result.options.karpenterVersions?.map((h) => h.file)).toEqual(['flux/karpenter.yaml']);

    await put('flux/karpenter.yaml', release('1.5.0'));
    const newer = await updateManifestFiles({
      workspace,
      patterns: ['deploy/karpenter/nodeclass.yaml', 'flux/*.yaml'],
      options: { ...OPTIONS, volumeInitializationRate: 200 },
      write: false,
      logger: new MemoryLogger(),
    });
    expect(newer.files[0]?.content).toContain('volumeInitializationRate: 200');
  });

  it('names the targets filter in the nothing-updated error', async () => {
    await expect(
      updateManifestFiles({
        workspace,
        patterns: ['deploy/**/*.yaml'],
        options: { ...OPTIONS, targets: ['nope'] },
        write: false,
        logger: new MemoryLogger(),
      }),
    ).rejects.toThrow('named in targets (nope)');
  });

  it('throws on a parse error with file:line and the parser message, before writing anything', async () => {
    await put('deploy/zz-broken.yaml', readFixture('broken.yaml'));
    const run = updateManifestFiles({
      workspace,
      patterns: ['deploy/**/*.yaml'],
      options: OPTIONS,
      write: true,
      logger: new MemoryLogger(),
    });
    await expect(run).rejects.toBeInstanceOf(ActionError);
    await expect(run).rejects.toThrow(
      'deploy/zz-broken.yaml:12:1: not valid YAML: All mapping items must start at the same column. No file was changed.',
    );
    expect(await read('deploy/eksctl/cluster.yaml')).toBe(readFixture('eksctl-article.yaml'));
    expect(await mtime('deploy/karpenter/nodeclass.yaml')).toBe(OLD_TIME.getTime());
  });

  it('skips links to files outside the workspace and files that are not UTF-8', async () => {
    await writeFile(
      path.join(outside, 'secret.yaml'),
      readFixture('karpenter-v1-ec2nodeclass.yaml'),
    );
    await symlink(path.join(outside, 'secret.yaml'), path.join(workspace, 'deploy/link.yaml'));
    await put('deploy/latin1.yaml', Buffer.from('name: caf\xe9\n', 'latin1'));
    const result = await updateManifestFiles({
      workspace,
      patterns: ['deploy/*.yaml', 'deploy/karpenter/*.yaml'],
      options: OPTIONS,
      write: true,
      logger: new MemoryLogger(),
    });
    expect(result.skipped).toEqual([
      { path: 'deploy/latin1.yaml', reason: 'it is not valid UTF-8 text' },
      { path: 'deploy/link.yaml', reason: 'it is a link to a file outside the workspace' },
    ]);
    expect(await readFile(path.join(outside, 'secret.yaml'), 'utf8')).toBe(
      readFixture('karpenter-v1-ec2nodeclass.yaml'),
    );
  });

  it('edits a link inside the workspace as the file it points to, once', async () => {
    await symlink('karpenter/nodeclass.yaml', path.join(workspace, 'deploy/alias.yaml'));
    await symlink('../deploy/karpenter/nodeclass.yaml', path.join(workspace, 'docs/nc.yaml'));
    const result = await updateManifestFiles({
      workspace,
      patterns: ['deploy/alias.yaml', 'deploy/karpenter/nodeclass.yaml', 'docs/nc.yaml'],
      options: OPTIONS,
      write: true,
      logger: new MemoryLogger(),
    });
    // Reported (and so committed) under the real path only.
    expect(result.files.map((f) => [f.path, f.changed])).toEqual([
      ['deploy/karpenter/nodeclass.yaml', true],
    ]);
    expect(result.skipped).toEqual([
      {
        path: 'deploy/alias.yaml',
        reason: 'it is a link to deploy/karpenter/nodeclass.yaml, which is updated itself',
      },
      {
        path: 'docs/nc.yaml',
        reason: 'it is a link to deploy/karpenter/nodeclass.yaml, which is updated itself',
      },
    ]);
    expect(await read('deploy/karpenter/nodeclass.yaml')).toContain(NEW_SNAPSHOT);
  });

  it('edits a link whose target was not matched under the target path', async () => {
    await symlink('karpenter/nodeclass.yaml', path.join(workspace, 'deploy/alias.yaml'));
    const result = await updateManifestFiles({
      workspace,
      patterns: ['deploy/alias.yaml'],
      options: OPTIONS,
      write: true,
      logger: new MemoryLogger(),
    });
    expect(result.files.map((f) => f.path)).toEqual(['deploy/karpenter/nodeclass.yaml']);
    expect(await read('deploy/karpenter/nodeclass.yaml')).toContain(NEW_SNAPSHOT);
  });

  it('keeps CRLF files CRLF on disk', async () => {
    await put('deploy/windows.yaml', readFixture('crlf.yaml'));
    await updateManifestFiles({
      workspace,
      patterns: ['deploy/windows.yaml'],
      options: { ...OPTIONS, requiredSizeGiB: 30 },
      write: true,
      logger: new MemoryLogger(),
    });
    expect(await read('deploy/windows.yaml')).toBe(readFixture('crlf.expected.yaml'));
  });
});
