/**
 * Reads every page of a paginated AWS list call, with a bound on the number
 * of pages. (The SDK's paginators cannot pass an abort signal to each request;
 * this can.)
 */
export const MAX_PAGES = 20;

export async function collectPages<T>(
  fetchPage: (
    nextToken: string | undefined,
  ) => Promise<{ items: T[]; nextToken?: string | undefined }>,
  maxPages = MAX_PAGES,
): Promise<T[]> {
  const items: T[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const out = await fetchPage(nextToken);
    items.push(...out.items);
    nextToken = out.nextToken;
    if (!nextToken) break;
  }
  return items;
}
