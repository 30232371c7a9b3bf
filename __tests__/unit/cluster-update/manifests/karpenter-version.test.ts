import { describe, expect, it } from '@jest/globals';
import { parseDocument, stringify } from 'yaml';
import {
  karpenterVersionHints,
  versionSupportsRate,
} from '../../../../src/cluster-update/manifests/karpenter-version.js';
import { karpenterCrdYamlData } from './schemas.js';

const hints = (text: string) => karpenterVersionHints(parseDocument(text), 3);

describe('versionSupportsRate', () => {
  it.each([
    ['1.5.0', true],
    ['v1.5.0', true],
    ['1.14.1', true],
    ['2.0.0', true],
    ['1.4.4', false],
    ['v1.0.0', false],
    ['0.37.8', false],
    ['1.5.0-rc.1', true],
    ['~1.4', undefined],
    ['>=1.0.0', undefined],
    ['latest', undefined],
  ])('%s -> %s', (version, expected) => {
    expect(versionSupportsRate(version)).toBe(expected);
  });
});

describe('karpenterVersionHints', () => {
  it('reads the EC2NodeClass CRD: v1.4.4 has no volumeInitializationRate, v1.5.0 has', () => {
    expect(hints(stringify(karpenterCrdYamlData('v1.4.4')))).toEqual([
      {
        line: 3,
        what: 'the EC2NodeClass CRD (no v1 ebs.volumeInitializationRate in it)',
        supportsInitializationRate: false,
      },
    ]);
    expect(hints(stringify(karpenterCrdYamlData('v1.5.0')))).toEqual([
      { line: 3, what: 'the EC2NodeClass CRD', supportsInitializationRate: true },
    ]);
  });

  it('reads a Flux HelmRelease, an Argo CD Application and a Chart.yaml dependency', () => {
    expect(
      hints(
        'apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: k}\nspec: {chart: {spec: {chart: karpenter, version: 1.3.2}}}\n',
      ),
    ).toEqual([
      {
        line: 3,
        what: "HelmRelease 'k' (chart karpenter 1.3.2)",
        supportsInitializationRate: false,
      },
    ]);
    expect(
      hints(
        'apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: karpenter}\nspec:\n  sources:\n    - chart: karpenter-crd\n      targetRevision: 1.6.0\n    - chart: karpenter\n      targetRevision: 1.6.0\n',
      ).map((h) => h.what),
    ).toEqual([
      "Argo CD Application 'karpenter' (chart karpenter-crd 1.6.0)",
      "Argo CD Application 'karpenter' (chart karpenter 1.6.0)",
    ]);
    expect(
      hints(
        'apiVersion: v2\nname: platform\nversion: 0.1.0\ndependencies:\n  - name: karpenter\n    version: 1.0.5\n    repository: oci://public.ecr.aws/karpenter\n',
      ),
    ).toEqual([
      {
        line: 3,
        what: "Chart.yaml of 'platform' (chart karpenter 1.0.5)",
        supportsInitializationRate: false,
      },
    ]);
  });

  it('ignores other charts, version ranges and other documents', () => {
    expect(
      hints(
        'apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: x}\nspec: {chart: {spec: {chart: cilium, version: 1.3.2}}}\n',
      ),
    ).toEqual([]);
    expect(
      hints(
        'apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: k}\nspec: {chart: {spec: {chart: karpenter, version: "1.x"}}}\n',
      ),
    ).toEqual([]);
    expect(hints('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n')).toEqual([]);
    expect(hints('')).toEqual([]);
  });
});
