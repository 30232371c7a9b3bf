// scripts/lint-workflows.mjs (npm run lint:workflows, in .ci/run): actionlint and shellcheck on
// the repository's workflows and the examples. It must pass on them and fail on a broken one.
import { afterAll, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWith } from '../../../test-support/requires.js';

const dir = mkdtempSync(join(tmpdir(), 'bes-lint-workflows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function lint(...files: string[]) {
  return spawnSync(process.execPath, ['scripts/lint-workflows.mjs', ...files], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

const shellcheck = spawnSync('shellcheck', ['--version']).status === 0;
describeWith(shellcheck ? undefined : 'shellcheck not found: apt-get install shellcheck')(
  'lint-workflows',
  () => {
    it('passes the repository workflows and the examples', () => {
      const result = lint();
      expect(result.stdout).toMatch(/lint-workflows: [4-9]\d* file\(s\), 0 problem\(s\)/);
      expect(result.status).toBe(0);
    }, 60_000);

    it('fails on what actionlint finds, and on what shellcheck finds in run: scripts', () => {
      const file = join(dir, 'broken.yml');
      writeFileSync(
        file,
        [
          'name: broken',
          'on: push',
          'jobs:',
          '  linux:',
          '    runs-on: ubuntu-latest',
          '    steps:',
          '      - uses: actions/checkout@v4',
          '        with: { no-such-input: true }',
          '      - run: |',
          '          echo "${{ github.sha }}"',
          '          cd $HOME',
          '  windows:', // PowerShell by default: not a shell script
          '    runs-on: windows-latest',
          '    steps:',
          '      - run: cd $HOME',
          '',
        ].join('\n'),
      );
      const result = lint(file);
      expect(result.status).toBe(1);
      expect(result.stdout).toContain('input "no-such-input" is not defined');
      // `${{ }}` is sanitized as actionlint does; the unquoted $HOME is line 2 of the script.
      const findings = result.stdout.split('\n').filter((l) => l.includes('[shellcheck]'));
      expect(findings).toEqual([expect.stringMatching(/broken\.yml:9: .*SC2086:info:2:4:/)]);
    }, 60_000);
  },
);
