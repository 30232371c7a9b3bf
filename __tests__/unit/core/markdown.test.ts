/** Text put in a markdown table cell stays in its cell, on one line, and renders as text. */
import { describe, expect, it } from '@jest/globals';
import { escapeCell } from '../../../src/core/markdown.js';

describe('escapeCell', () => {
  it('escapes cells onto one line', () => {
    expect(escapeCell('a|b`c\nd<e>')).toBe('a\\|b\\`c d&lt;e&gt;');
  });

  it('turns every kind of line break into one space', () => {
    expect(escapeCell('a\r\nb\rc\nd')).toBe('a b c d');
    expect(escapeCell('a\n\nb')).toBe('a  b');
  });

  it('escapes every pipe and backtick, not only the first', () => {
    expect(escapeCell('a|b|c')).toBe('a\\|b\\|c');
    expect(escapeCell('``x``')).toBe('\\`\\`x\\`\\`');
  });

  it('escapes a backslash first, so one already in the text cannot undo an escape', () => {
    // "a\|b" would otherwise become "a\\|b": an escaped backslash, then a bare pipe.
    expect(escapeCell('a\\|b')).toBe('a\\\\\\|b');
    expect(escapeCell('C:\\path')).toBe('C:\\\\path');
  });

  it('leaves no raw HTML', () => {
    expect(escapeCell('<img src=x onerror=alert(1)>')).toBe('&lt;img src=x onerror=alert(1)&gt;');
    expect(escapeCell('</td></tr>')).not.toMatch(/[<>]/);
  });

  it('leaves plain text as it is', () => {
    expect(escapeCell('')).toBe('');
    expect(escapeCell('public.ecr.aws/eks-distro/kubernetes/pause:3.2')).toBe(
      'public.ecr.aws/eks-distro/kubernetes/pause:3.2',
    );
  });
});
