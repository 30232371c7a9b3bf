// The shape of src/, as one definition that three things read: eslint.config.js (a folder
// imports only from the folders before it), __tests__/unit/repository/architecture.test.ts (no
// module cycle, no file outside the folders, every arrow pointing down, functions short) and
// scripts/readme-tables.mjs (the folder map in the README's Development section).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The folders of src/, lowest layer first: each imports only from itself and those before it. */
export const LAYERS = [
  ['core', 'errors, clock, logger, the Deps shape, formats, limits, proxy, device names'],
  ['config', 'what a run is configured to do (types), image references, the run context'],
  ['aws', 'SDK clients, OIDC credentials, paging, waits, snapshots, tags, AWS errors'],
  ['cache', 'build key, reuse and base snapshots, retention; registry/ digests'],
  ['build', 'the build as its phases, the builder, SSM, the instance script, the sweep'],
  ['distribution', 'copies, sharing, SSM parameter, fast snapshot restore'],
  ['cluster-update', 'manifests/ (YAML rewriting), pull-request/ (GitHub)'],
  ['reporting', 'the job summary'],
  ['action', 'the main and post steps, outputs, the input parsers, the runtime port'],
  ['entry', 'the bundle entry points: the only importers of @actions/*'],
];

/** What each subfolder holds (a subfolder belongs to its folder's layer). */
export const SUBFOLDERS = {
  'cache/registry': 'image digests from the registries (OCI distribution API, ECR auth)',
  'cluster-update/manifests': 'eksctl and Karpenter YAML, rewritten keeping comments',
  'cluster-update/pull-request': 'the branch, commit and pull request on GitHub',
  'action/inputs': 'the input parsers, one per part they configure',
};

export const LAYER_NAMES = LAYERS.map(([name]) => name);

function walk(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
}

/** Every TypeScript module of src/, repository-relative. */
export function sourceModules(root = ROOT) {
  return walk(join(root, 'src'))
    .filter((path) => path.endsWith('.ts'))
    .map((path) => relative(root, path));
}

/** The layer a repository-relative path is in (its first folder under src/), or undefined. */
export function layerOf(path) {
  const [top, folder, next] = path.split(/[\\/]/);
  return top === 'src' && next !== undefined ? folder : undefined;
}

/** Module -> the src modules it imports (relative `./x.js` specifiers resolved to `.ts`). */
export function importGraph(root = ROOT) {
  const graph = new Map();
  for (const file of sourceModules(root)) {
    const text = readFileSync(join(root, file), 'utf8');
    const { importedFiles } = ts.preProcessFile(text, true, false);
    const targets = importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts'));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Imports that point up the layer list (or out of it): "from -> to". */
export function upwardImports(graph) {
  const rank = new Map(LAYER_NAMES.map((name, i) => [name, i]));
  const found = [];
  for (const [from, targets] of graph) {
    const own = rank.get(layerOf(from) ?? '');
    for (const to of targets) {
      const theirs = rank.get(layerOf(to) ?? '');
      if (own === undefined || theirs === undefined || theirs > own) found.push(`${from} -> ${to}`);
    }
  }
  return found;
}

/** Every import cycle between modules (Tarjan's strongly connected components of two or more). */
export function importCycles(graph) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const visit = (node) => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node), low.get(next)));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node), index.get(next)));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component = [];
    for (let top = stack.pop(); ; top = stack.pop()) {
      onStack.delete(top);
      component.push(top);
      if (top === node) break;
    }
    const selfLoop = (graph.get(node) ?? []).includes(node);
    if (component.length > 1 || selfLoop) cycles.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

/** Files in src/ that are in no folder of LAYERS (loose files or unknown folders). */
export function filesOutsideLayers(root = ROOT) {
  return walk(join(root, 'src'))
    .map((path) => relative(root, path))
    .filter((path) => !LAYER_NAMES.includes(layerOf(path) ?? ''));
}

/** Folders of src/ that neither LAYERS nor SUBFOLDERS names (the map would leave them out). */
export function unknownFolders(root = ROOT) {
  const known = new Set([...LAYER_NAMES, ...Object.keys(SUBFOLDERS)]);
  const folders = walk(join(root, 'src')).map((path) => dirname(relative(join(root, 'src'), path)));
  return [...new Set(folders)].filter((folder) => folder !== '.' && !known.has(folder));
}

function wrap(words, width) {
  const lines = [];
  let line = '';
  for (const word of words) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** The folder map: each folder (and subfolder) with what it holds and its modules, lowest first. */
export function folderMap(root = ROOT) {
  const files = walk(join(root, 'src')).map((path) => relative(join(root, 'src'), path));
  const column = 20;
  const out = ['src/   (lowest layer first: a folder imports only from the folders above it)'];
  const entry = (folder, holds, indent) => {
    const inFolder = files
      .filter((f) => dirname(f) === folder)
      .map((f) => f.slice(folder.length + 1).replace(/\.ts$/, ''));
    const label = `${' '.repeat(indent)}${folder.split('/').pop()}/`;
    out.push(`${label.padEnd(column)}${holds}`);
    for (const line of wrap(inFolder, 96 - column)) out.push(`${' '.repeat(column + 2)}${line}`);
  };
  for (const [folder, holds] of LAYERS) {
    entry(folder, holds, 2);
    for (const [sub, subHolds] of Object.entries(SUBFOLDERS)) {
      if (dirname(sub) === folder && files.some((f) => dirname(f) === sub)) {
        entry(sub, subHolds, 4);
      }
    }
  }
  return out.join('\n');
}
