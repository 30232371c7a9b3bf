/**
 * What a repository's YAML says about the Karpenter version it deploys, as far as it matters
 * here: whether `EC2NodeClass` v1 has `ebs.volumeInitializationRate`. The field exists from
 * Karpenter v1.5.0 (absent from the CRD at v1.4.4, present at v1.5.0:
 * aws/karpenter-provider-aws pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml). On an older
 * cluster the API server rejects a node class carrying it (strict field validation).
 *
 * Read from: the EC2NodeClass CRD itself; a Flux `HelmRelease` or Argo CD `Application` of the
 * `karpenter` / `karpenter-crd` chart; a Helm `Chart.yaml` depending on one. Only exact
 * versions count (`1.4.0`, `v1.4.0`); ranges tell nothing.
 */
import type { Document } from 'yaml';

export interface KarpenterVersionHint {
  /** 1-based line of the document that tells. */
  line: number;
  /** What it is, for messages: `HelmRelease 'karpenter' (chart karpenter 1.4.0)`. */
  what: string;
  /** Whether that Karpenter's EC2NodeClass v1 has `ebs.volumeInitializationRate`. */
  supportsInitializationRate: boolean;
  /** The file it was found in (set by updateManifestFiles for hints from other files). */
  file?: string;
}

const CHARTS = new Set(['karpenter', 'karpenter-crd']);
const FIRST_WITH_RATE: readonly [number, number, number] = [1, 5, 0];

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
const text = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Whether an exact version (`1.4.0`, `v1.5.2`) has the field; undefined for anything else. */
export function versionSupportsRate(version: string): boolean | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(version.trim());
  if (!match) return undefined;
  const parts = match.slice(1, 4).map(Number);
  for (let i = 0; i < 3; i++) {
    const have = parts[i] ?? 0;
    const need = FIRST_WITH_RATE[i] ?? 0;
    if (have !== need) return have > need;
  }
  return true;
}

function chartHint(chart: unknown, version: unknown, what: string, line: number) {
  const name = text(chart)?.split('/').at(-1);
  const v = text(version);
  if (name === undefined || !CHARTS.has(name) || v === undefined) return undefined;
  const supports = versionSupportsRate(v);
  if (supports === undefined) return undefined;
  return { line, what: `${what} (chart ${name} ${v})`, supportsInitializationRate: supports };
}

function crdHint(data: Obj, line: number): KarpenterVersionHint | undefined {
  const spec = obj(data.spec);
  const v1 = list(spec?.versions)
    .map(obj)
    .find((v) => v?.name === 'v1');
  const path = [
    ...['schema', 'openAPIV3Schema', 'properties', 'spec', 'properties'],
    ...['blockDeviceMappings', 'items', 'properties', 'ebs', 'properties'],
  ];
  const fields = path.reduce<Obj | undefined>((at, key) => obj(at?.[key]), v1) ?? {};
  const supports = 'volumeInitializationRate' in fields;
  return {
    line,
    what: `the EC2NodeClass CRD${supports ? '' : ' (no v1 ebs.volumeInitializationRate in it)'}`,
    supportsInitializationRate: supports,
  };
}

/** The hints one parsed document gives (usually none). */
export function karpenterVersionHints(doc: Document, line: number): KarpenterVersionHint[] {
  // Only the kinds that can tell are turned into data (aliases expanded).
  const kind0 = text(doc.get('kind'));
  const candidate =
    kind0 === 'CustomResourceDefinition' ||
    kind0 === 'HelmRelease' ||
    kind0 === 'Application' ||
    (kind0 === undefined && doc.has('dependencies'));
  if (!candidate) return [];
  const data = obj(doc.toJS({ maxAliasCount: 1000 }) as unknown);
  if (!data) return [];
  const apiVersion = text(data.apiVersion) ?? '';
  const kind = text(data.kind);
  const name = text(obj(data.metadata)?.name) ?? '';
  const spec = obj(data.spec);
  const found: Array<KarpenterVersionHint | undefined> = [];
  if (kind === 'CustomResourceDefinition' && name === 'ec2nodeclasses.karpenter.k8s.aws') {
    found.push(crdHint(data, line));
  } else if (kind === 'HelmRelease' && apiVersion.startsWith('helm.toolkit.fluxcd.io/')) {
    const chart = obj(obj(spec?.chart)?.spec);
    found.push(chartHint(chart?.chart, chart?.version, `HelmRelease '${name}'`, line));
  } else if (kind === 'Application' && apiVersion.startsWith('argoproj.io/')) {
    for (const source of [spec?.source, ...list(spec?.sources)].map(obj)) {
      found.push(
        chartHint(source?.chart, source?.targetRevision, `Argo CD Application '${name}'`, line),
      );
    }
  } else if (kind === undefined && typeof data.name === 'string' && 'dependencies' in data) {
    for (const dep of list(data.dependencies).map(obj)) {
      found.push(chartHint(dep?.name, dep?.version, `Chart.yaml of '${data.name}'`, line));
    }
  }
  return found.filter((h): h is KarpenterVersionHint => h !== undefined);
}
