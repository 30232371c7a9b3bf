/** action.yml, the code and the examples agree on input and output names. */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseActionInputs } from '../../../src/action/inputs/index.js';
import { OPERATIONS } from '../../../test-support/iam-authorization.js';
import { REPO_ROOT } from '../../../test-support/runner.js';

interface ActionYaml {
  inputs: Record<string, { default?: string; required?: boolean }>;
  outputs: Record<string, unknown>;
  runs: { using: string; main: string; post: string; 'post-if': string };
}
const action = parse(readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8')) as ActionYaml;

describe('action.yml', () => {
  it('runs the bundle on node24 with an always-run post step', () => {
    expect(action.runs).toEqual({
      using: 'node24',
      main: 'dist/index.js',
      post: 'dist/index.js',
      'post-if': 'always()',
    });
  });

  it('declares exactly the inputs the code reads', () => {
    const asked = new Set<string>();
    const values: Record<string, string> = {
      images: 'busybox',
      'aws-region': 'us-west-2',
      'instance-profile': 'builder',
      'update-files': 'a.yaml',
      'create-pull-request': 'true',
      'github-token': 't',
    };
    parseActionInputs((name) => {
      asked.add(name);
      return values[name] ?? '';
    });
    const undeclared = [...asked].filter((name) => !(name in action.inputs));
    expect(undeclared).toEqual([]);
    // and reads every input it declares
    expect(Object.keys(action.inputs).filter((name) => !asked.has(name))).toEqual([]);
  });

  it('declares every output the code sets', () => {
    // Every module, in every folder of src/ (a move into a folder must not hide one).
    const source = readdirSync(join(REPO_ROOT, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(join(REPO_ROOT, 'src', f), 'utf8'))
      .join('\n');
    const set = [...source.matchAll(/setOutput\('([a-z-]+)'/g)].map((m) => m[1] ?? '');
    expect(set.length).toBeGreaterThan(10);
    expect(set.filter((name) => !(name in action.outputs))).toEqual([]);
  });

  // image.yml, the image workflow another example runs after, does not use the action.
  it.each(readdirSync(join(REPO_ROOT, 'examples/workflows')).filter((f) => f !== 'image.yml'))(
    'example %s uses only declared inputs',
    (file) => {
      const workflow = parse(readFileSync(join(REPO_ROOT, 'examples/workflows', file), 'utf8')) as {
        jobs: Record<string, { steps: Array<{ uses?: string; with?: Record<string, unknown> }> }>;
      };
      const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);
      const ours = steps.filter((s) => s.uses?.includes('bottlerocket-ebs-snapshot'));
      expect(ours.length).toBeGreaterThan(0);
      for (const step of ours) {
        expect(Object.keys(step.with ?? {}).filter((k) => !(k in action.inputs))).toEqual([]);
      }
    },
  );
});

describe('examples/iam-policy.json', () => {
  interface Statement {
    Sid?: string;
    Action: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
  }
  const policy = JSON.parse(readFileSync(join(REPO_ROOT, 'examples/iam-policy.json'), 'utf8')) as {
    Statement: Statement[];
  };
  const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
  const allowed = new Set(policy.Statement.flatMap(actions));

  /** service:Operation for every AWS command the action's code sends. */
  function operationsInCode(): string[] {
    const services: Record<string, string> = {
      'client-ec2': 'ec2',
      'client-ssm': 'ssm',
      'client-ecr': 'ecr',
      'client-sts': 'sts',
    };
    const found = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) {
          const text = readFileSync(path, 'utf8');
          for (const m of text.matchAll(
            /import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/(client-\w+)'/g,
          )) {
            const service = services[m[2] ?? ''];
            if (!service) continue;
            for (const name of (m[1] ?? '').split(',')) {
              const command = /^\s*(\w+)Command\s*$/.exec(name)?.[1];
              if (command) found.add(`${service}:${command}`);
            }
          }
        }
      }
    };
    walk(join(REPO_ROOT, 'src'));
    return [...found].sort();
  }

  it('every AWS operation the code sends has a row in the IAM evaluation, and the policy names its actions', () => {
    // The evaluation itself (every recorded call Allowed) is the bundle tests' "IAM" test
    // and __tests__/unit/repository/iam-policy.test.ts; this keeps the code, the mapping and the policy in step.
    const operations = operationsInCode();
    expect(operations).toContain('ec2:CreateSnapshot');
    expect(operations.filter((op) => !(op in OPERATIONS))).toEqual([]);
    const exempt = new Set(['sts:GetCallerIdentity', 'sts:AssumeRoleWithWebIdentity']);
    const missing = operations.filter((op) => !exempt.has(op) && !allowed.has(op));
    expect(missing).toEqual([]);
  });

  it('lets the role create and delete both the snapshots and the checkpoints it tags', () => {
    for (const [sid, key] of [
      ['CreateTaggedSnapshots', 'aws:RequestTag/bottlerocket-ebs-snapshot:role'],
      ['DeleteOnlyOwnSnapshots', 'aws:ResourceTag/bottlerocket-ebs-snapshot:role'],
    ] as const) {
      const statement = policy.Statement.find((s) => s.Sid === sid);
      expect(statement?.Condition?.StringEquals?.[key]).toEqual(['snapshot', 'checkpoint']);
    }
  });
});
