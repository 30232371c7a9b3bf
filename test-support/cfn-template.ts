/**
 * Reads examples/setup/bottlerocket-ebs-snapshot.yaml and resolves the intrinsic functions
 * it uses, as CloudFormation does (the "Intrinsic function reference" of the CloudFormation
 * User Guide), for given parameters: so a test can compare the stack's policies with the
 * examples and evaluate them. The template uses the long form (Fn::Sub, ...), so the YAML
 * parser reads it as plain data.
 *
 * Only the functions the template uses are resolved; any other throws, naming it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './runner.js';

export const TEMPLATE = join(REPO_ROOT, 'examples', 'setup', 'bottlerocket-ebs-snapshot.yaml');

interface ParameterSpec {
  Type: string;
  Default?: string;
}

export interface Template {
  Parameters: Record<string, ParameterSpec>;
  Conditions: Record<string, unknown>;
  Resources: Record<
    string,
    { Type: string; Condition?: string; Properties: Record<string, unknown> }
  >;
  Outputs: Record<string, { Value: unknown }>;
}

export function readTemplate(): Template {
  return parse(readFileSync(TEMPLATE, 'utf8')) as Template;
}

export interface Context {
  parameters: Record<string, string>;
  accountId: string;
  partition?: string;
  region?: string;
  /** Values of Fn::GetAtt and of Ref to resources, by "Logical.Attribute" or logical ID. */
  resources: Record<string, string>;
}

type Value = unknown;

/** Resolves every intrinsic function in `value`. */
export function resolve(template: Template, value: Value, context: Context): Value {
  const parameter = (name: string): string | string[] => {
    const spec = template.Parameters[name];
    if (!spec) throw new Error(`no parameter ${name}`);
    const raw = context.parameters[name] ?? spec.Default;
    if (raw === undefined) throw new Error(`parameter ${name} has no value`);
    return spec.Type === 'CommaDelimitedList' ? raw.split(',').map((s) => s.trim()) : raw;
  };
  const pseudo: Record<string, string> = {
    'AWS::AccountId': context.accountId,
    'AWS::Partition': context.partition ?? 'aws',
    'AWS::Region': context.region ?? 'us-west-2',
  };
  const ref = (name: string): Value => {
    if (name in pseudo) return pseudo[name];
    if (name in template.Parameters) return parameter(name);
    if (name in context.resources) return context.resources[name];
    throw new Error(`Ref to ${name}: unknown`);
  };
  const condition = (name: string): boolean => {
    const spec = template.Conditions[name];
    if (spec === undefined) throw new Error(`no condition ${name}`);
    return Boolean(go(spec));
  };
  const sub = (text: string, vars: Record<string, Value>): string =>
    text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      const v =
        name in vars ? vars[name] : name.includes('.') ? context.resources[name] : ref(name);
      if (typeof v !== 'string') throw new Error(`Fn::Sub: \${${name}} is not a string`);
      return v;
    });
  const functions: Record<string, (arg: Value) => Value> = {
    Ref: (arg) => ref(String(arg)),
    'Fn::GetAtt': (arg) => {
      const [logical, attribute] = arg as [string, string];
      const v = context.resources[`${logical}.${attribute}`];
      if (v === undefined) throw new Error(`Fn::GetAtt ${logical}.${attribute}: unknown`);
      return v;
    },
    'Fn::Sub': (arg) => {
      if (typeof arg === 'string') return sub(arg, {});
      const [text, vars] = arg as [string, Record<string, Value>];
      return sub(text, go(vars) as Record<string, Value>);
    },
    'Fn::If': (arg) => {
      const [name, yes, no] = arg as [string, Value, Value];
      return condition(name) ? go(yes) : go(no);
    },
    'Fn::Equals': (arg) => {
      const [a, b] = go(arg) as [Value, Value];
      return a === b;
    },
    'Fn::Not': (arg) => !(go(arg) as [boolean])[0],
    'Fn::Select': (arg) => {
      const [index, list] = go(arg) as [number, Value[]];
      return list[index];
    },
    'Fn::Split': (arg) => {
      const [separator, text] = go(arg) as [string, string];
      return text.split(separator);
    },
  };
  const go = (v: Value): Value => {
    if (Array.isArray(v)) return v.map(go);
    if (v && typeof v === 'object') {
      const entries = Object.entries(v);
      const [only] = entries;
      if (entries.length === 1 && only && (only[0] === 'Ref' || only[0].startsWith('Fn::'))) {
        const fn = functions[only[0]];
        if (!fn) throw new Error(`${only[0]} is not resolved by test-support/cfn-template.ts`);
        return fn(only[1]);
      }
      return Object.fromEntries(entries.map(([k, x]) => [k, go(x)]));
    }
    return v;
  };
  return go(value);
}
