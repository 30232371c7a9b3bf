// `npm run readme`: writes the README's input and output tables from action.yml, and its map of
// src/ from scripts/architecture.mjs, so they never drift; `npm run readme -- --check` fails when the README differs (a unit test runs it).
// Options: --readme <file> --action <file> (defaults: README.md, action.yml).
//
// The tables go between the markers <!-- action-inputs:begin/end --> and
// <!-- action-outputs:begin/end -->. Inputs are shown in groups (GROUPS below): an input of
// action.yml that no group names fails the run, so a new input is placed where users look.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as prettier from 'prettier';
import { parse } from 'yaml';
import { folderMap } from './architecture.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The input groups, in order; each lists its inputs in order. */
export const GROUPS = [
  ['Required', ['images', 'aws-region', 'instance-profile', 'role-to-assume']],
  ['Credentials', ['role-session-name', 'role-duration-seconds', 'audience']],
  [
    'The builder',
    [
      'bottlerocket-variant',
      'ami-id',
      'instance-type',
      'subnet-id',
      'security-group-ids',
      'associate-public-ip-address',
      'tags',
      'timeout-minutes',
    ],
  ],
  [
    'The data volume and the pull',
    [
      'platforms',
      'volume-size',
      'volume-type',
      'volume-iops',
      'volume-throughput',
      'encrypted',
      'kms-key-id',
      'snapshotter',
      'on-missing-platform',
      'pull-concurrency',
      'pull-through-cache',
    ],
  ],
  [
    'The snapshot and reuse',
    ['snapshot-mode', 'checkpoint-snapshots', 'reuse', 'base-snapshot', 'name', 'snapshot-id'],
  ],
  ['Cleaning up after dead runs', ['cleanup-older-than']],
  [
    'Distribution',
    [
      'copy-to-regions',
      'copy-kms-key-ids',
      'share-with-accounts',
      'ssm-parameter-name',
      'fast-snapshot-restore-azs',
      'wait-for-fast-snapshot-restore',
      'keep-snapshots',
    ],
  ],
  [
    'Cluster update and pull request',
    [
      'update-files',
      'update-targets',
      'update-files-max-size',
      'volume-initialization-rate',
      'create-pull-request',
      'github-token',
      'pull-request-branch',
      'pull-request-base',
      'pull-request-title',
      'pull-request-labels',
      'pull-request-draft',
      'commit-message',
    ],
  ],
];

/** Where the README says more about an input: [text, anchor]. */
const SEE = {
  images: ['Faster and cheaper reruns', '#faster-and-cheaper-reruns'],
  'instance-profile': ['AWS setup', '#aws-setup'],
  'role-to-assume': ['AWS setup', '#aws-setup'],
  'volume-size': ['Choosing volume-size', '#choosing-volume-size'],
  'pull-through-cache': ['AWS setup', '#aws-setup'],
  'snapshot-mode': ['Snapshot consistency', '#snapshot-consistency'],
  'checkpoint-snapshots': ['Checkpoint snapshots', '#checkpoint-snapshots'],
  reuse: ['Faster and cheaper reruns', '#faster-and-cheaper-reruns'],
  'base-snapshot': ['Faster and cheaper reruns', '#faster-and-cheaper-reruns'],
  'fast-snapshot-restore-azs': ['Cost', '#cost'],
  'update-files': ['Pointing the cluster at the snapshot', '#pointing-the-cluster-at-the-snapshot'],
};

const cell = (text) => String(text).replace(/\s+/g, ' ').trim().replace(/\|/g, '\\|');
const code = (text) => `\`${String(text).replace(/`/g, '')}\``;

function inputRow(name, input) {
  const see = SEE[name] ? ` See [${SEE[name][0]}](${SEE[name][1]}).` : '';
  const dflt = input.required
    ? '**required**'
    : input.default !== undefined
      ? code(input.default)
      : '';
  return `| ${code(name)} | ${dflt} | ${cell(input.description)}${see} |`;
}

export function inputTables(action) {
  const names = Object.keys(action.inputs ?? {});
  const grouped = GROUPS.flatMap(([, inputs]) => inputs);
  const missing = names.filter((n) => !grouped.includes(n));
  const unknown = grouped.filter((n) => !names.includes(n));
  if (missing.length || unknown.length) {
    throw new Error(
      [
        missing.length &&
          `inputs of action.yml in no group of scripts/readme-tables.mjs: ${missing.join(', ')}`,
        unknown.length &&
          `inputs in scripts/readme-tables.mjs that action.yml lacks: ${unknown.join(', ')}`,
      ]
        .filter(Boolean)
        .join('; '),
    );
  }
  return GROUPS.map(([title, inputs]) =>
    [
      `### ${title}`,
      '',
      '| input | default | description |',
      '| --- | --- | --- |',
      ...inputs.map((n) => inputRow(n, action.inputs[n])),
    ].join('\n'),
  ).join('\n\n');
}

export function outputTable(action) {
  return [
    '| output | description |',
    '| --- | --- |',
    ...Object.entries(action.outputs ?? {}).map(
      ([name, o]) => `| ${code(name)} | ${cell(o.description)} |`,
    ),
  ].join('\n');
}

function replaceBetween(text, marker, content, source = 'action.yml') {
  const begin = `<!-- ${marker}:begin (generated from ${source} by npm run readme) -->`;
  const end = `<!-- ${marker}:end -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README has no ${begin} ... ${end} markers`);
  return `${text.slice(0, from + begin.length)}\n\n${content}\n\n${text.slice(to)}`;
}

/** The README with its tables generated from the action metadata, formatted as committed. */
export async function renderReadme(readme, actionYaml) {
  const action = parse(actionYaml);
  let text = replaceBetween(readme, 'action-inputs', inputTables(action));
  text = replaceBetween(text, 'action-outputs', outputTable(action));
  text = replaceBetween(
    text,
    'source-tree',
    `\`\`\`\n${folderMap()}\n\`\`\``,
    'scripts/architecture.mjs',
  );
  const options = (await prettier.resolveConfig(resolve(ROOT, 'README.md'))) ?? {};
  return prettier.format(text, { ...options, parser: 'markdown' });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
  };
  const readmePath = option('--readme', resolve(ROOT, 'README.md'));
  const actionPath = option('--action', resolve(ROOT, 'action.yml'));
  const readme = readFileSync(readmePath, 'utf8');
  let rendered;
  try {
    rendered = await renderReadme(readme, readFileSync(actionPath, 'utf8'));
  } catch (error) {
    console.error(`readme-tables: ${error.message}`);
    process.exit(1);
  }
  if (args.includes('--check')) {
    if (rendered !== readme) {
      console.error(
        `readme-tables: the input/output tables or the folder map of ${readmePath} differ from ${actionPath} or src/: run \`npm run readme\` and commit README.md.`,
      );
      process.exit(1);
    }
    console.log(`readme-tables: ${readmePath} matches ${actionPath}.`);
  } else if (rendered !== readme) {
    writeFileSync(readmePath, rendered);
    console.log(`readme-tables: wrote the tables of ${readmePath}.`);
  }
}
