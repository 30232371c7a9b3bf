/**
 * The pull request itself: finding the open one for the branch, creating it,
 * updating its title, body and base, and adding labels.
 */
import { ActionError, errorMessage } from '../../core/errors.js';
import { requestOptions, type Context } from './context.js';
import { normalizeNewlines } from './git-data.js';
import { httpStatus, MSG_PULL_EXISTS, toActionError } from './github-errors.js';

export interface OpenPull {
  number: number;
  url: string;
  title: string;
  body: string;
  base: string;
  headSha: string;
  labels: string[];
}

export async function findOpenPull(
  ctx: Context,
  branch: string,
  base: string,
): Promise<OpenPull | undefined> {
  const pulls = await ctx.octokit.rest.pulls
    .list({
      owner: ctx.owner,
      repo: ctx.repo,
      state: 'open',
      head: `${ctx.owner}:${branch}`,
      per_page: 100,
      ...requestOptions(ctx),
    })
    .then(
      (response) => response.data,
      (error: unknown) => {
        throw toActionError(ctx, error, 'pulls', 'list pull requests');
      },
    );
  const pull = pulls.find((p) => p.base.ref === base) ?? pulls[0];
  if (!pull) return undefined;
  if (pulls.length > 1) {
    ctx.logger.warning(
      `${pulls.length} open pull requests use branch '${branch}'; updating #${pull.number}.`,
    );
  }
  return toOpenPull(pull);
}

/** The fields of a pull request (as listed or as created) this module works with. */
function toOpenPull(pull: {
  number: number;
  html_url: string;
  title: string;
  body?: string | null;
  base: { ref: string };
  head: { sha: string };
  labels: Array<{ name?: string | null }>;
}): OpenPull {
  return {
    number: pull.number,
    url: pull.html_url,
    title: pull.title,
    body: pull.body ?? '',
    base: pull.base.ref,
    headSha: pull.head.sha,
    labels: pull.labels.map((l) => l.name ?? '').filter((name) => name !== ''),
  };
}

interface PullFields {
  title: string;
  body: string;
  base: string;
}

export async function createPull(
  ctx: Context,
  fields: PullFields & { branch: string },
  draft: boolean,
): Promise<{ pull: OpenPull; created: boolean }> {
  try {
    const { data } = await ctx.octokit.rest.pulls.create({
      owner: ctx.owner,
      repo: ctx.repo,
      ...requestOptions(ctx),
      title: fields.title,
      head: fields.branch,
      base: fields.base,
      body: fields.body,
      draft,
    });
    return { created: true, pull: toOpenPull(data) };
  } catch (error) {
    const message = errorMessage(error);
    if (draft && /draft pull requests are not supported/i.test(message)) {
      throw new ActionError(
        `${ctx.full} does not support draft pull requests (${message}). Set the draft input to false.`,
        { cause: error },
      );
    }
    if (!(httpStatus(error) === 422 && message.includes(MSG_PULL_EXISTS))) {
      throw toActionError(ctx, error, 'pulls', 'create a pull request');
    }
    // Another run opened it between our lookup and our create.
    ctx.logger.info(`A pull request for '${fields.branch}' was opened concurrently; updating it.`);
    const open = await findOpenPull(ctx, fields.branch, fields.base);
    if (!open) throw toActionError(ctx, error, 'pulls', 'create a pull request');
    await updatePull(ctx, open.number, fields);
    return { pull: open, created: false };
  }
}

export async function updatePull(
  ctx: Context,
  number: number,
  fields: Partial<PullFields>,
): Promise<void> {
  try {
    await ctx.octokit.rest.pulls.update({
      owner: ctx.owner,
      repo: ctx.repo,
      ...requestOptions(ctx),
      pull_number: number,
      ...fields,
    });
  } catch (error) {
    throw toActionError(ctx, error, 'pulls', `update pull request #${number}`);
  }
}

/** Updates what differs; true when anything was changed. */
export async function syncMetadata(
  ctx: Context,
  pull: OpenPull,
  fields: PullFields,
  labels: string[],
): Promise<boolean> {
  const changes: Partial<PullFields> = {};
  if (pull.title !== fields.title) changes.title = fields.title;
  if (normalizeNewlines(pull.body) !== normalizeNewlines(fields.body)) changes.body = fields.body;
  if (pull.base !== fields.base) changes.base = fields.base;
  const changed = Object.keys(changes);
  if (changed.length > 0) {
    await updatePull(ctx, pull.number, changes);
    ctx.logger.info(`Updated the ${changed.join(', ')} of pull request #${pull.number}.`);
  }
  const added = await addLabels(ctx, pull.number, labels, pull.labels);
  return changed.length > 0 || added;
}

/** Adds the labels the pull request does not have yet; true when any were added. */
export async function addLabels(
  ctx: Context,
  number: number,
  labels: string[],
  present: string[],
): Promise<boolean> {
  const have = new Set(present.map((name) => name.toLowerCase()));
  const missing = labels.filter((name) => !have.has(name.toLowerCase()));
  if (missing.length === 0) return false;
  try {
    await ctx.octokit.rest.issues.addLabels({
      owner: ctx.owner,
      repo: ctx.repo,
      ...requestOptions(ctx),
      issue_number: number,
      labels: missing,
    });
  } catch (error) {
    throw toActionError(ctx, error, 'labels', `add labels to pull request #${number}`);
  }
  ctx.logger.info(`Added label(s) ${missing.join(', ')} to pull request #${number}.`);
  return true;
}
