/**
 * The real schemas the corpus is checked against (`__fixtures__/schemas/`, sources in
 * `sources.json`): Karpenter's EC2NodeClass / AWSNodeTemplate CRD `openAPIV3Schema` at the
 * versions this action supports, and eksctl's ClusterConfig JSON schema.
 *
 * How the API server is modelled. A CRD schema is structural: on create or update, fields the
 * schema does not declare are pruned, and with field validation `Strict` (kubectl's default
 * `--validate=strict`) the request is rejected instead. The CRD text does not say so itself (it
 * has no `additionalProperties: false`), so every object schema that declares `properties` and
 * neither `additionalProperties` nor `x-kubernetes-preserve-unknown-fields: true` gets
 * `additionalProperties: false` here. `metadata` at the root is only `type: object` in the CRD
 * (the API server checks ObjectMeta itself) and stays open. CEL rules
 * (`x-kubernetes-validations`) are not evaluated: ajv runs with `strict: false`, which ignores
 * the `x-kubernetes-*` keywords, and without format checks (`int64`, `date-time`).
 *
 * eksctl reads a ClusterConfig strictly (unknown fields are an error) and its schema.json already
 * says `additionalProperties: false` on its objects, so it is used as committed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';

export const SCHEMAS = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../__fixtures__/schemas',
);

export interface SchemaSource {
  file: string;
  repository: string;
  ref: string;
  commit: string;
  path: string;
  extract: string;
  kind: string;
  apiVersion: string;
  license: string;
}

export const SCHEMA_SOURCES = JSON.parse(
  readFileSync(path.join(SCHEMAS, 'sources.json'), 'utf8'),
) as SchemaSource[];

type Json = Record<string, unknown>;

/** The schema with `additionalProperties: false` where the API server would prune. */
export function strictStructural(schema: unknown, atRoot = true): unknown {
  if (Array.isArray(schema)) return schema.map((s) => strictStructural(s, false));
  if (schema === null || typeof schema !== 'object') return schema;
  const node = schema as Json;
  const copy: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && value && typeof value === 'object') {
      const props: Json = {};
      for (const [name, sub] of Object.entries(value as Json)) {
        props[name] = atRoot && name === 'metadata' ? sub : strictStructural(sub, false);
      }
      copy[key] = props;
    } else {
      copy[key] = strictStructural(value, false);
    }
  }
  if (
    node.properties !== undefined &&
    node.additionalProperties === undefined &&
    node['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    copy.additionalProperties = false;
  }
  return copy;
}

export interface Validator {
  /** `karpenter v1.4.4 EC2NodeClass v1`, `eksctl HEAD ClusterConfig`. */
  name: string;
  source: SchemaSource;
  /** The error messages; [] when valid. */
  check(data: unknown): string[];
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

function compile(source: SchemaSource): ValidateFunction {
  const raw = JSON.parse(readFileSync(path.join(SCHEMAS, source.file), 'utf8')) as Json;
  const schema = source.repository === 'eksctl-io/eksctl' ? raw : strictStructural(raw);
  // eksctl's schema.json names draft-07; ajv's default meta-schema is draft-07 as well.
  const body = { ...(schema as Json) };
  delete body.$schema;
  return ajv.compile(body);
}

const cache = new Map<string, Validator>();

/** The validators for a document's apiVersion and kind (one per supported release). */
export function validatorsFor(apiVersion: string, kind: string): Validator[] {
  return SCHEMA_SOURCES.filter((s) => s.apiVersion === apiVersion && s.kind === kind).map(
    (source) => {
      const cached = cache.get(source.file);
      if (cached) return cached;
      const validate = compile(source);
      const product = source.repository === 'eksctl-io/eksctl' ? 'eksctl' : 'karpenter';
      const validator: Validator = {
        name: `${product} ${source.ref} ${source.kind} ${source.apiVersion.split('/')[1] ?? ''}`,
        source,
        check(data) {
          if (validate(data)) return [];
          return (validate.errors ?? []).map(
            (e) =>
              `${e.instancePath || '/'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` '${String(e.params.additionalProperty)}'` : ''}`,
          );
        },
      };
      cache.set(source.file, validator);
      return validator;
    },
  );
}

/** The CRD document for one Karpenter release, rebuilt from its committed schema. */
export function karpenterCrdYamlData(ref: string): Json {
  const source = SCHEMA_SOURCES.find(
    (s) => s.ref === ref && s.kind === 'EC2NodeClass' && s.apiVersion === 'karpenter.k8s.aws/v1',
  );
  if (!source) throw new Error(`no EC2NodeClass v1 schema for ${ref}`);
  const schema = JSON.parse(readFileSync(path.join(SCHEMAS, source.file), 'utf8')) as Json;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'ec2nodeclasses.karpenter.k8s.aws' },
    spec: {
      group: 'karpenter.k8s.aws',
      names: { kind: 'EC2NodeClass', plural: 'ec2nodeclasses' },
      scope: 'Cluster',
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: schema } }],
    },
  };
}
