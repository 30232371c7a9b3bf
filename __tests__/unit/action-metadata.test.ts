/** action.yml, the code and the examples agree on input and output names. */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseActionInputs } from '../../src/inputs.js';
import { REPO_ROOT } from '../../test-support/runner.js';

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
    const source = readdirSync(join(REPO_ROOT, 'src'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(join(REPO_ROOT, 'src', f), 'utf8'))
      .join('\n');
    const set = [...source.matchAll(/setOutput\('([a-z-]+)'/g)].map((m) => m[1] ?? '');
    expect(set.length).toBeGreaterThan(10);
    expect(set.filter((name) => !(name in action.outputs))).toEqual([]);
  });

  it.each(readdirSync(join(REPO_ROOT, 'examples/workflows')))(
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
