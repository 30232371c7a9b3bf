/** The main step as a function of its own (for local runners that take one per step). */
import * as core from '@actions/core';
import { runMain } from '../action/index.js';
import { actionsRuntime } from './actions-runtime.js';

/** The state the main step leaves, so the same bundle started again knows it is the post step. */
export const IS_POST = 'isPost';

export async function run(): Promise<void> {
  core.saveState(IS_POST, 'true');
  await runMain(actionsRuntime());
}
