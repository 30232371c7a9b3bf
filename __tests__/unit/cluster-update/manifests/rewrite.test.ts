import { describe, expect, it } from '@jest/globals';
import { InputError } from '../../../../src/core/errors.js';
import {
  ManifestParseError,
  rewriteManifest,
  type RewriteOptions,
} from '../../../../src/cluster-update/manifests/index.js';
import {
  NEW_SNAPSHOT,
  OLD_SNAPSHOT,
  messages,
  nodeClass,
  readFixture,
  run,
} from './fixture-cases.js';

const NEW = NEW_SNAPSHOT;
const OLD = OLD_SNAPSHOT;

describe('targets filter', () => {
  it('only rewrites the named node groups and node classes', () => {
    const source = readFixture('flow-anchors.yaml');
    const result = run(source, { targets: ['inline', 'gpu-cached'], requiredSizeGiB: 100 });
    expect(result.targets.map((t) => t.name)).toEqual(['gpu-cached', 'inline']);
    expect(result.content).toContain(`snapshotID: "${OLD}"}`); // cached-a/b untouched
    expect(messages(result, 'notices')).toEqual(
      expect.arrayContaining([
        "20: eksctl managed node group 'cached-a' is not listed in targets: left unchanged",
        "25: eksctl managed node group 'cached-b' is not listed in targets: left unchanged",
      ]),
    );
  });

  it('treats an empty list (or blank names) as no filter', () => {
    const source = readFixture('eksctl-article.yaml');
    expect(run(source, { targets: [] }).targets).toHaveLength(1);
    expect(run(source, { targets: [' ', ''] }).targets).toHaveLength(1);
  });
});

describe('anchors, aliases and merges', () => {
  it('rejects an alias used before its anchor as a parse error', () => {
    const source = nodeClass(`    - deviceName: /dev/xvdb\n      ebs: {snapshotID: *later}`);
    expect(() => run(source)).toThrow(ManifestParseError);
    try {
      run(source);
    } catch (error) {
      expect(error).toMatchObject({ line: 12, column: 25, code: 'BAD_ALIAS' });
    }
  });
});

describe('documents and files', () => {
  it('leaves every document of another kind byte-for-byte alone', () => {
    const source = readFixture('multi-document.yaml');
    const result = run(source);
    const start = source.indexOf('apiVersion: karpenter.k8s.aws/v1\n');
    const end = source.indexOf('---\napiVersion: v1\nkind: ConfigMap');
    expect(result.content.slice(0, start)).toBe(source.slice(0, start));
    expect(result.content.endsWith(source.slice(end))).toBe(true);
    expect(result.targets.map((t) => [t.name, t.previousSize, t.size])).toEqual([
      ['cached', '100G', '100G'],
    ]);
  });

  it('skips a Helm template with a reason and never edits it', () => {
    const source = readFixture('helm-template.yaml');
    const result = run(source);
    expect(result).toEqual({
      content: source,
      targets: [],
      warnings: [],
      notices: [],
      missingDataVolumes: [],
      karpenterVersions: [],
      skipped:
        "contains a template marker '{{' at line 5 (Helm or Go template), so it is not YAML until rendered; not edited",
    });
  });

  it('does not take {{ in a comment for a template', () => {
    const source = `# rendered from {{ .Values }} once\n${readFixture('eksctl-article.yaml')}`;
    expect(run(source).skipped).toBeUndefined();
  });

  it('throws ManifestParseError with the line and the parser message for broken YAML', () => {
    expect(() => run(readFixture('broken.yaml'))).toThrow(ManifestParseError);
    try {
      run(readFixture('broken.yaml'));
    } catch (error) {
      expect(error).toBeInstanceOf(ManifestParseError);
      expect(error).toMatchObject({
        line: 12,
        column: 1,
        code: 'BAD_INDENT',
        message: 'All mapping items must start at the same column',
      });
    }
  });

  it('ignores empty files, comments only, scalars, lists and unknown kinds', () => {
    for (const source of [
      '',
      '# nothing\n',
      'just text\n',
      '- a\n- b\n',
      'kind: Foo\napiVersion: x/v1\n',
    ]) {
      expect(run(source)).toEqual({
        content: source,
        targets: [],
        warnings: [],
        notices: [],
        missingDataVolumes: [],
        karpenterVersions: [],
      });
    }
  });

  it('ignores an EC2NodeClass under another API group and a mismatched kind', () => {
    const other = nodeClass('    - deviceName: /dev/xvdb').replace(
      'karpenter.k8s.aws/v1',
      'example.com/v1',
    );
    expect(run(other).targets).toEqual([]);
    const mismatched = nodeClass('    - deviceName: /dev/xvdb').replace(
      'kind: EC2NodeClass',
      'kind: AWSNodeTemplate',
    );
    expect(run(mismatched).targets).toEqual([]);
  });
});

describe('options', () => {
  const source = readFixture('eksctl-article.yaml');
  it.each([
    [{ snapshotId: 'snap-123' }, 'snapshot-id'],
    [{ snapshotId: 'ami-0f1e2d3c4b5a69788' }, 'snapshot-id'],
    [{ snapshotId: NEW, requiredSizeGiB: 0 }, 'volume-size'],
    [{ snapshotId: NEW, requiredSizeGiB: 1.5 }, 'volume-size'],
    [{ snapshotId: NEW, volumeInitializationRate: 99 }, 'volume-initialization-rate'],
    [{ snapshotId: NEW, volumeInitializationRate: 301 }, 'volume-initialization-rate'],
  ] as Array<[RewriteOptions, string]>)('rejects %j (%s)', (options, input) => {
    expect(() => rewriteManifest(source, options)).toThrow(InputError);
    expect(() => rewriteManifest(source, options)).toThrow(`Input '${input}'`);
  });

  it('accepts an 8-digit snapshot ID', () => {
    expect(rewriteManifest(source, { snapshotId: 'snap-0123abcd' }).targets).toHaveLength(1);
  });
});
