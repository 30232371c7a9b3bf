/**
 * The comment-keeping YAML editor (./editor.ts): values replaced in their own quoting style, keys
 * inserted at the siblings' indentation or into flow mappings, missing mappings created, and
 * text shared through anchors edited only when every user of it is a target.
 */
import { describe, expect, it } from '@jest/globals';
import { isMap, parseDocument, type YAMLMap } from 'yaml';
import {
  ManifestEditor,
  type ParsedDocument,
  type WriteResult,
} from '../../../../src/cluster-update/manifests/editor.js';
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

describe('through a Karpenter node class', () => {
  describe('ebs mapping shapes', () => {
    it('creates ebs when the /dev/xvdb mapping has none, at the detected indentation', () => {
      const source = nodeClass('    - deviceName: /dev/xvdb');
      const result = run(source);
      expect(result.content).toBe(`${source}      ebs:\n        snapshotID: ${NEW}\n`);
    });

    it('fills an empty ebs: after its comment', () => {
      const source = nodeClass('    - deviceName: /dev/xvdb\n      ebs: # filled in by CI');
      const result = run(source);
      expect(result.content).toBe(`${source}        snapshotID: ${NEW}\n`);
    });

    it('fills an empty ebs inside a flow mapping with a flow mapping (valid YAML)', () => {
      const source = nodeClass('    - {deviceName: /dev/xvdb, ebs: }');
      expect(run(source).content).toBe(source.replace('ebs: }', `ebs: {snapshotID: ${NEW}}}`));
    });

    it('replaces an explicit null ebs with a flow mapping', () => {
      const source = nodeClass('    - deviceName: /dev/xvdb\n      ebs: ~');
      expect(run(source).content).toBe(source.replace('ebs: ~', `ebs: {snapshotID: ${NEW}}`));
    });

    it('fills an empty snapshotID value and keeps its comment a comment', () => {
      const source = nodeClass(
        '    - deviceName: /dev/xvdb\n      ebs:\n        snapshotID: # set by CI\n        volumeSize: 20Gi',
      );
      const result = run(source);
      expect(result.content).toBe(
        source.replace('snapshotID: # set by CI', `snapshotID: ${NEW} # set by CI`),
      );
      expect(run(result.content).content).toBe(result.content);
    });

    it('inserts into an empty flow mapping and into one with a trailing comma', () => {
      const empty = nodeClass('    - {deviceName: /dev/xvdb, ebs: {}}');
      expect(run(empty).content).toBe(empty.replace('ebs: {}', `ebs: {snapshotID: ${NEW}}`));
      const comma = nodeClass('    - {deviceName: /dev/xvdb, ebs: {volumeType: gp3, }}');
      expect(run(comma).content).toBe(
        comma.replace('volumeType: gp3, }', `volumeType: gp3, snapshotID: ${NEW}, }`),
      );
    });

    it('keeps the key quoting of the mapping it inserts into', () => {
      const source = nodeClass(
        '    - "deviceName": "/dev/xvdb"\n      "ebs":\n        "volumeSize": "20Gi"',
      );
      expect(run(source).content).toBe(`${source}        "snapshotID": "${NEW}"\n`);
    });

    it('uses a 4-space indentation step when the file does', () => {
      const source = [
        'apiVersion: karpenter.k8s.aws/v1',
        'kind: EC2NodeClass',
        'metadata:',
        '    name: wide',
        'spec:',
        '    amiSelectorTerms:',
        '        -   alias: bottlerocket@latest',
        '    blockDeviceMappings:',
        '        -   deviceName: /dev/xvda',
        '        -   deviceName: /dev/xvdb',
        '',
      ].join('\n');
      expect(run(source).content).toBe(
        `${source}            ebs:\n                snapshotID: ${NEW}\n`,
      );
    });

    it('does not change a block scalar that ends the file without a newline', () => {
      const source = nodeClass(
        '    - deviceName: /dev/xvdb\n      ebs:\n        kmsKeyID: |\n          abc',
      ).slice(0, -1);
      const result = run(source);
      expect(result.content).toBe(
        source.replace('        kmsKeyID: |', `        snapshotID: ${NEW}\n        kmsKeyID: |`),
      );
    });

    it('inserts after the last key even when deviceName comes after ebs', () => {
      const source = nodeClass('    - ebs:\n        volumeType: gp3\n      deviceName: /dev/xvdb');
      expect(run(source).content).toBe(
        source.replace('gp3\n', `gp3\n        snapshotID: ${NEW}\n`),
      );
    });

    it('warns and skips a snapshotID written as a block scalar', () => {
      const source = nodeClass(
        `    - deviceName: /dev/xvdb\n      ebs:\n        snapshotID: |\n          ${OLD}`,
      );
      const result = run(source);
      expect(result.content).toBe(source);
      expect(result.targets).toEqual([]);
      expect(messages(result)).toEqual([
        "13: EC2NodeClass 'cached': snapshotID is written as a block scalar; left unchanged (write it as a plain or quoted value)",
      ]);
    });

    it('warns when ebs is not a mapping', () => {
      const source = nodeClass('    - deviceName: /dev/xvdb\n      ebs: [1, 2]');
      const result = run(source);
      expect(result.content).toBe(source);
      expect(messages(result)).toEqual([
        "12: EC2NodeClass 'cached': ebs is not a mapping; left unchanged",
      ]);
    });
  });
});

describe('anchors, aliases and merges', () => {
  it('edits a shared entry once when every user is a selected target', () => {
    const result = run(readFixture('flow-anchors.yaml'), { requiredSizeGiB: 100 });
    expect(messages(result, 'notices')).toEqual([
      "14: EC2NodeClass 'gpu-cached': snapshotID was the alias *snap, whose anchor (line 6) is also used elsewhere; replaced by the value, the anchor is unchanged",
      '24: anchor &cachedVolumes is used in 2 places, all data volumes being updated: edited once, where it is defined',
    ]);
    // The annotation holding the anchor keeps its old value.
    expect(result.content).toContain(`&snap "${OLD}"`);
  });

  it('refuses to edit an entry shared with a group outside targets', () => {
    const source = readFixture('flow-anchors.yaml');
    const result = run(source, { targets: ['cached-b'] });
    expect(result.content).toBe(source);
    expect(result.targets).toEqual([]);
    expect(messages(result)).toEqual([
      "24: eksctl managed node group 'cached-b': the text to change is shared through anchor &cachedVolumes, and the anchored value itself at line 24 is not the data volume of a selected target; left unchanged (write the value out for this target)",
    ]);
  });

  it('refuses to put the snapshot on an ebs mapping shared with /dev/xvda', () => {
    const source = nodeClass('    - deviceName: /dev/xvdb\n      ebs: *e').replace(
      '      ebs:\n        volumeSize: 4Gi',
      '      ebs: &e\n        volumeSize: 4Gi',
    );
    const result = run(source);
    expect(result.content).toBe(source);
    expect(messages(result)).toEqual([
      "10: EC2NodeClass 'cached': the text to change is shared through anchor &e, and the anchored value itself at line 10 is not the data volume of a selected target; left unchanged (write the value out for this target)",
    ]);
  });

  it('refuses to change a snapshotID anchor that another mapping also uses', () => {
    const source = nodeClass(
      `    - deviceName: /dev/xvdb\n      ebs: {snapshotID: &s ${OLD}}\n    - deviceName: /dev/xvdc\n      ebs: {snapshotID: *s}`,
    );
    const result = run(source);
    expect(result.content).toBe(source);
    expect(messages(result)[0]).toContain('the alias *s at line 14 is not the data volume');
  });

  it('overrides a value merged with << on the mapping itself', () => {
    const source = nodeClass(
      `    - deviceName: /dev/xvdb\n      ebs:\n        <<: *e\n        encrypted: true`,
    ).replace('      ebs:\n        volumeSize: 4Gi', '      ebs: &e\n        volumeSize: 4Gi');
    const result = run(source, { requiredSizeGiB: 100 });
    expect(result.content).toBe(
      source.replace(
        '        encrypted: true\n',
        `        encrypted: true\n        snapshotID: ${NEW}\n        volumeSize: 100Gi\n`,
      ),
    );
    expect(result.targets[0]).toMatchObject({ previousSize: '4Gi', size: '100Gi' });
    expect(run(result.content, { requiredSizeGiB: 100 }).content).toBe(result.content);
  });
});

describe('line endings', () => {
  it('preserves CRLF line endings, including on inserted lines', () => {
    const source = readFixture('crlf.yaml');
    const result = run(source, { requiredSizeGiB: 30 });
    expect(result.content.replace(/\r\n/g, '')).not.toContain('\n');
    expect(result.content).toContain(`        snapshotID: ${NEW}\r\n\r\n  # tags applied`);
  });

  it('preserves the absence of a final newline', () => {
    const source = readFixture('no-final-newline.yaml');
    const result = run(source);
    expect(result.content).toBe(`${source}\n        snapshotID: ${NEW}`);
  });
});

/**
 * Runs `body` on the editor over a one-document text as a selected target (twice, as
 * processDocument does: a dry pass, then the real one); returns the editor and the last pass's
 * write results.
 */
function edit(
  source: string,
  body: (ed: ManifestEditor, root: YAMLMap) => WriteResult[],
): { ed: ManifestEditor; results: WriteResult[]; content: string } {
  const ed = new ManifestEditor(source);
  const doc = parseDocument(source) as unknown as ParsedDocument;
  const root = doc.contents;
  if (!isMap(root)) throw new Error('the test text is not a mapping');
  let results: WriteResult[] = [];
  ed.processDocument(doc, root, () => {
    ed.beginTarget();
    results = body(ed, root);
    ed.endTarget(true);
  });
  return { ed, results, content: ed.content() };
}

/** The block mapping under `key` of the root. */
function mapAt(ed: ManifestEditor, root: YAMLMap, key: string): YAMLMap {
  const node = ed.get(root, key);
  if (!isMap(node)) throw new Error(`${key} is not a mapping`);
  return node;
}

describe('ManifestEditor.setScalar', () => {
  const source = [
    '# head comment',
    'ebs:',
    '  # the type',
    '  volumeType: gp3 # fast',
    "  snapshotID: 'snap-old' # replaced",
    '  volumeSize: "20Gi"',
    '',
    '  # tail comment',
    'other: 1',
    '',
  ].join('\n');

  it('replaces a value in its quoting style and keeps every comment and the key order', () => {
    const { content, results } = edit(source, (ed, root) => [
      ed.setScalar(ed.refOf(mapAt(ed, root, 'ebs')), 'snapshotID', NEW, 'test'),
      ed.setScalar(ed.refOf(mapAt(ed, root, 'ebs')), 'volumeSize', '50Gi', 'test'),
    ]);
    expect(content).toBe(source.replace("'snap-old'", `'${NEW}'`).replace('"20Gi"', '"50Gi"'));
    expect(results).toEqual([
      { previous: 'snap-old', changed: true, ok: true },
      { previous: '20Gi', changed: true, ok: true },
    ]);
  });

  it('inserts new keys after the last one, in the order written, before the comments that follow', () => {
    const { content } = edit(source, (ed, root) => {
      const ref = ed.refOf(mapAt(ed, root, 'ebs'));
      return [ed.setScalar(ref, 'iops', 3000, 'test'), ed.setScalar(ref, 'kmsKeyID', 'k', 'test')];
    });
    expect(content).toBe(
      source.replace(
        '  volumeSize: "20Gi"\n',
        '  volumeSize: "20Gi"\n  iops: 3000\n  kmsKeyID: k\n',
      ),
    );
  });

  it('does not change a value that is already there; numbers compare by value', () => {
    const { ed, content, results } = edit(source, (e, root) => {
      const ref = e.refOf(mapAt(e, root, 'ebs'));
      return [
        e.setScalar(ref, 'snapshotID', 'snap-old', 'test'),
        e.setScalar(ref, 'volumeSize', '20Gi', 'test'),
        e.setScalar(e.refOf(root), 'other', 1, 'test'),
        e.setScalar(e.refOf(root), 'other', '1', 'test'),
      ];
    });
    expect(results.map((r) => r.changed)).toEqual([false, false, false, true]);
    // A string '1' is not the number 1: written quoted so that it stays a string.
    expect(content).toBe(source.replace('other: 1', 'other: "1"'));
    expect(ed.warnings).toEqual([]);
  });

  it('refuses to write over a mapping, with a warning naming the key', () => {
    const { ed, content, results } = edit(source, (e, root) => [
      e.setScalar(e.refOf(root), 'ebs', 'x', "EC2NodeClass 'c'"),
    ]);
    expect(content).toBe(source);
    expect(results).toEqual([{ previous: null, changed: false, ok: false }]);
    expect(ed.warnings).toEqual([
      { line: 2, message: "EC2NodeClass 'c': ebs is not a scalar; left unchanged" },
    ]);
  });
});

describe('ManifestEditor flow and block mappings', () => {
  it('appends `, key: value` to a flow mapping and keeps it on its line', () => {
    const source = 'ebs: {volumeType: gp3} # one line\nnext: 1\n';
    const { content } = edit(source, (ed, root) => [
      ed.setScalar(ed.refOf(mapAt(ed, root, 'ebs')), 'snapshotID', NEW, 'test'),
    ]);
    expect(content).toBe(`ebs: {volumeType: gp3, snapshotID: ${NEW}} # one line\nnext: 1\n`);
  });

  it('creates nested mappings with childMap as one block at the detected indentation', () => {
    const source = 'spec:\n   name: x\n';
    const { content } = edit(source, (ed, root) => {
      const spec = ed.refOf(mapAt(ed, root, 'spec'));
      const ebs = ed.childMap(ed.childMap(spec, 'mapping', 'test') ?? spec, 'ebs', 'test');
      if (!ebs) throw new Error('no ebs');
      return [
        ed.setScalar(ebs, 'snapshotID', NEW, 'test'),
        ed.setScalar(ebs, 'volumeSize', 9, 'test'),
      ];
    });
    expect(content).toBe(
      `spec:\n   name: x\n   mapping:\n      ebs:\n         snapshotID: ${NEW}\n         volumeSize: 9\n`,
    );
  });

  it('creates a missing mapping inside a flow mapping as a flow mapping', () => {
    const source = 'item: {deviceName: /dev/xvdb}\n';
    const { content } = edit(source, (ed, root) => {
      const ebs = ed.childMap(ed.refOf(mapAt(ed, root, 'item')), 'ebs', 'test');
      if (!ebs) throw new Error('no ebs');
      return [ed.setScalar(ebs, 'snapshotID', NEW, 'test')];
    });
    expect(content).toBe(`item: {deviceName: /dev/xvdb, ebs: {snapshotID: ${NEW}}}\n`);
  });

  it('writes the key on the mapping itself when it only comes from a << merge, with a notice', () => {
    const source = 'base: &b {volumeType: gp3}\nebs:\n  <<: *b\n  iops: 3000\n';
    const { ed, content } = edit(source, (e, root) => [
      e.setScalar(e.refOf(mapAt(e, root, 'ebs')), 'volumeType', 'io2', 'test'),
    ]);
    expect(content).toBe(`${source}  volumeType: io2\n`);
    expect(ed.notices).toEqual([
      {
        line: 3,
        message: 'test: volumeType comes from a << merge; written on this mapping to override it',
      },
    ]);
  });
});

describe('ManifestEditor reading', () => {
  const source = 'a: &a {x: 1, y: 2}\nb:\n  <<: [*a, {z: 3}]\n  y: 20\nc: *a\n';
  const { ed, root } = (() => {
    const e = new ManifestEditor(source);
    const doc = parseDocument(source) as unknown as ParsedDocument;
    const r = doc.contents as YAMLMap;
    e.processDocument(doc, r, () => undefined);
    return { ed: e, root: r };
  })();

  it('reads own keys before merged ones, merges in order, and through aliases', () => {
    const b = mapAt(ed, root, 'b');
    expect([ed.str(ed.get(b, 'y')), ed.str(ed.get(b, 'x')), ed.str(ed.get(b, 'z'))]).toEqual([
      '20',
      '1',
      '3',
    ]);
    expect(ed.str(ed.get(mapAt(ed, root, 'c'), 'x'))).toBe('1');
    expect(ed.get(b, 'missing')).toBeUndefined();
  });

  it('gives the line of a merged key where it is written, and 1-based positions', () => {
    expect(ed.keyLine(mapAt(ed, root, 'b'), 'x')).toBe(1);
    expect(ed.keyLine(mapAt(ed, root, 'b'), 'y')).toBe(4);
    expect(ed.position(source.indexOf('y: 20'))).toEqual({ line: 4, column: 3 });
  });

  it('returns the text itself when nothing was edited, and detects CRLF', () => {
    expect(ed.content()).toBe(source);
    expect(new ManifestEditor('a: 1\r\nb: 2\r\n').eol).toBe('\r\n');
  });
});
