/** Every page of a paginated list call, each token handed to the next request, within a bound. */
import { describe, expect, it } from '@jest/globals';
import { collectPages, MAX_PAGES } from '../../../src/aws/pages.js';

/** A list call over `pages`, recording the token each request was given. */
function pagedCall<T>(pages: T[][]) {
  const tokens: Array<string | undefined> = [];
  const fetchPage = async (nextToken: string | undefined) => {
    tokens.push(nextToken);
    const index = nextToken === undefined ? 0 : Number(nextToken.slice('t'.length));
    const items = pages[index] ?? [];
    return index + 1 < pages.length ? { items, nextToken: `t${index + 1}` } : { items };
  };
  return { fetchPage, tokens };
}

describe('collectPages', () => {
  it('reads one page when the answer has no next token', async () => {
    const { fetchPage, tokens } = pagedCall([['a', 'b']]);
    expect(await collectPages(fetchPage)).toEqual(['a', 'b']);
    expect(tokens).toEqual([undefined]);
  });

  it('follows the next token, in order, until there is none', async () => {
    const { fetchPage, tokens } = pagedCall([['a'], [], ['b', 'c'], ['d']]);
    expect(await collectPages(fetchPage)).toEqual(['a', 'b', 'c', 'd']);
    expect(tokens).toEqual([undefined, 't1', 't2', 't3']);
  });

  it('takes an empty next token as the last page', async () => {
    let calls = 0;
    const items = await collectPages(async () => {
      calls++;
      return { items: [calls], nextToken: '' };
    });
    expect(items).toEqual([1]);
    expect(calls).toBe(1);
  });

  it('stops at its bound of pages, with what those pages held', async () => {
    const { fetchPage, tokens } = pagedCall(Array.from({ length: 10 }, (_, i) => [i]));
    expect(await collectPages(fetchPage, 3)).toEqual([0, 1, 2]);
    expect(tokens).toHaveLength(3);
  });

  it('reads at most MAX_PAGES (20) pages by default', async () => {
    expect(MAX_PAGES).toBe(20);
    const { fetchPage, tokens } = pagedCall(Array.from({ length: 50 }, (_, i) => [i]));
    const items = await collectPages(fetchPage);
    expect(items).toHaveLength(MAX_PAGES);
    expect(tokens).toHaveLength(MAX_PAGES);
  });

  it('fails with the error of the page that failed', async () => {
    const failure = new Error('RequestLimitExceeded');
    let calls = 0;
    await expect(
      collectPages(async () => {
        if (++calls === 2) throw failure;
        return { items: [calls], nextToken: 'more' };
      }),
    ).rejects.toBe(failure);
    expect(calls).toBe(2);
  });
});
