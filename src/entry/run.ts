/**
 * The action's two steps as one function, for the bundle's entry and for running the action in
 * process (tests, local runners): the runner starts the same bundle as the main step and, after
 * the job's steps, as the post step (action.yml `post`). The main step marks the state first
 * thing, so the second start knows it is the post step.
 */
import * as core from '@actions/core';
import { runMain, runPost } from '../action.js';
import { actionsRuntime } from './actions-runtime.js';

const IS_POST = 'isPost';

export async function run(): Promise<void> {
  if (core.getState(IS_POST) === 'true') {
    await runPost(actionsRuntime());
    return;
  }
  core.saveState(IS_POST, 'true');
  await runMain(actionsRuntime());
}
