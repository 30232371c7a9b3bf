/**
 * The bundle's single entry point. The runner starts it twice: as the main
 * step and, after the job's steps, as the post step (action.yml `post`). The
 * main step marks the state first thing, so the second start knows it is the post step.
 */
import * as core from '@actions/core';
import { runMain, runPost } from '../action.js';
import { actionsRuntime } from './actions-runtime.js';

const IS_POST = 'isPost';

if (core.getState(IS_POST) === 'true') {
  await runPost(actionsRuntime());
} else {
  core.saveState(IS_POST, 'true');
  await runMain(actionsRuntime());
}
