// Types for scripts/architecture.mjs (plain JavaScript, so eslint.config.js can import it).
export const ROOT: string;
export const LAYERS: ReadonlyArray<readonly [name: string, holds: string]>;
export const SUBFOLDERS: Readonly<Record<string, string>>;
export const LAYER_NAMES: readonly string[];
export function sourceModules(root?: string): string[];
export function layerOf(path: string): string | undefined;
export function importGraph(root?: string): Map<string, string[]>;
export function upwardImports(graph: Map<string, string[]>): string[];
export function importCycles(graph: Map<string, string[]>): string[][];
export function filesOutsideLayers(root?: string): string[];
export function unknownFolders(root?: string): string[];
export function folderMap(root?: string): string;
