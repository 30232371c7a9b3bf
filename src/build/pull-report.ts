/**
 * The whole pull report when SSM cut the script's output (it keeps 24,000 characters): the
 * script also wrote the report to a file on the builder, which is read back here in pages, each
 * a small command whose output fits, gzip-compressed and base64-encoded by the control
 * container's own tools (Amazon Linux: coreutils, gzip). The last page removes the file.
 */
import { gunzipSync } from 'node:zlib';
import { ActionError } from '../core/errors.js';
import { REPORT_PREFIX, shellQuote } from './instance-script.js';
import { runShellScript, type SsmDeps } from './ssm-command.js';

/** Characters of base64 per page: with the page header, well inside SSM's 24,000. */
export const PAGE_CHARS = 20_000;
/** Pages at most (1.28 MB of base64, several MB of report: far beyond any image list). */
export const MAX_PAGES = 64;

export function pageScript(reportFile: string, offset: number): string {
  return [
    '#!/bin/bash',
    'set -u -o pipefail',
    `f=${shellQuote(reportFile)}`,
    `[ -f "$f" ] || { echo "${REPORT_PREFIX}	page	missing"; exit 3; }`,
    // Encoded once, on the first page; the last page removes both files.
    '[ -s "$f.b64" ] || { gzip -c "$f" | base64 -w0 > "$f.b64"; } || exit 4',
    'total=$(wc -c < "$f.b64")',
    `printf '${REPORT_PREFIX}\tpage\t%s\n' "$total"`,
    `tail -c +${offset + 1} "$f.b64" | head -c ${PAGE_CHARS}; echo`,
    `[ $(( ${offset} + ${PAGE_CHARS} )) -lt "$total" ] || rm -f "$f" "$f.b64"`,
  ].join('\n');
}

/** Parses one page's output: the total length of the encoded report, and this page's part. */
export function parsePage(stdout: string): { total: number; part: string } | undefined {
  const [header = '', part = ''] = stdout.split('\n');
  const [prefix, kind, total] = header.split('\t');
  if (prefix !== REPORT_PREFIX || kind !== 'page' || !/^\d+$/.test(total ?? '')) return undefined;
  return { total: Number(total), part: part.trim() };
}

export interface ReportRequest {
  instanceId: string;
  reportFile: string;
  /** For the commands' comments. */
  comment: string;
  /** Bound on the pages read (default MAX_PAGES). */
  maxPages?: number;
}

/** Reads the report file from the builder, page by page, and returns its text. */
export async function fetchFullReport(request: ReportRequest, deps: SsmDeps): Promise<string> {
  const maxPages = request.maxPages ?? MAX_PAGES;
  let encoded = '';
  for (let page = 0; page < maxPages; page++) {
    const result = await runShellScript(
      {
        instanceId: request.instanceId,
        script: pageScript(request.reportFile, encoded.length),
        comment: `${request.comment}: read the pull report (page ${page + 1})`,
        executionTimeoutSeconds: 60,
        waitTimeoutMs: 120_000,
      },
      deps,
    );
    const parsed = parsePage(result.stdout);
    if (!parsed || result.status !== 'Success') {
      throw new ActionError(
        `Could not read the pull report from the builder (page ${page + 1}: ${result.status}, ` +
          `exit code ${result.responseCode}): ${result.stdout.slice(0, 200)}${result.stderr.slice(0, 200)}`,
      );
    }
    encoded += parsed.part;
    if (encoded.length >= parsed.total) {
      return gunzipSync(Buffer.from(encoded, 'base64')).toString('utf8');
    }
    if (parsed.part === '') {
      throw new ActionError(
        `The pull report on the builder ended after ${encoded.length} of ${parsed.total} characters.`,
      );
    }
  }
  throw new ActionError(`The pull report on the builder is over ${maxPages} pages.`);
}
