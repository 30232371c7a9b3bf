import { describe, expect, it } from '@jest/globals';
import {
  applyEdits,
  commentStart,
  detectEol,
  findTemplateMarker,
  lineEndAfter,
  renderScalar,
} from '../../../../src/cluster-update/manifests/source.js';

describe('detectEol', () => {
  it('picks the line ending most used', () => {
    expect(detectEol('a\r\nb\r\nc\n')).toBe('\r\n');
    expect(detectEol('a\nb\r\nc\n')).toBe('\n');
    expect(detectEol('no break')).toBe('\n');
  });
});

describe('commentStart', () => {
  it.each([
    ['key: value # note', 11],
    ['# whole line', 0],
    ['key: "a # b" # c', 13],
    ["key: 'it''s # x' # c", 17],
    ["note: it's {{ x }}", -1],
    ['url: http://x#frag', -1],
    ['key: value', -1],
  ])('%s -> %i', (line, expected) => {
    expect(commentStart(line)).toBe(expected);
  });
});

describe('findTemplateMarker', () => {
  it('finds {{ outside comments, quoted or not', () => {
    expect(findTemplateMarker('a: 1\nname: {{ .Values.name }}\n')).toBe(2);
    expect(findTemplateMarker('a: 1\nname: "{{ .Values.name }}"\n')).toBe(2);
    expect(findTemplateMarker('{{- if .Values.enabled }}\na: 1\n')).toBe(1);
  });
  it('ignores {{ inside comments', () => {
    expect(findTemplateMarker('# uses {{ x }}\na: 1 # and {{ y }}\n')).toBeUndefined();
    expect(findTemplateMarker('a: 1\n')).toBeUndefined();
  });
});

describe('lineEndAfter', () => {
  it('returns the start of the next line, or the end of the text', () => {
    expect(lineEndAfter('ab\ncd\n', 1)).toBe(3);
    expect(lineEndAfter('ab\ncd\n', 3)).toBe(3);
    expect(lineEndAfter('ab\r\ncd', 1)).toBe(4);
    expect(lineEndAfter('ab\ncd', 4)).toBe(5);
  });
});

describe('renderScalar', () => {
  it('keeps the requested quoting style', () => {
    expect(renderScalar('snap-0123abcd', 'PLAIN')).toBe('snap-0123abcd');
    expect(renderScalar('snap-0123abcd', 'QUOTE_SINGLE')).toBe("'snap-0123abcd'");
    expect(renderScalar('snap-0123abcd', 'QUOTE_DOUBLE')).toBe('"snap-0123abcd"');
    expect(renderScalar("it's", 'QUOTE_SINGLE')).toBe("'it''s'");
    expect(renderScalar('100Gi', 'PLAIN')).toBe('100Gi');
    expect(renderScalar(100, 'PLAIN')).toBe('100');
    expect(renderScalar(100, 'QUOTE_SINGLE')).toBe("'100'");
  });
  it('quotes strings that would not stay strings as plain scalars', () => {
    expect(renderScalar('yes', 'PLAIN')).toBe('"yes"');
    expect(renderScalar('123', 'PLAIN')).toBe('"123"');
    expect(renderScalar('a: b', 'PLAIN')).toBe('"a: b"');
  });
});

describe('applyEdits', () => {
  it('applies replacements and insertions against original offsets', () => {
    const text = 'a: 1\nb: 2\n';
    expect(
      applyEdits(text, [
        { start: 8, end: 9, text: '20', depth: 0 },
        { start: 3, end: 4, text: '10', depth: 0 },
        { start: 10, end: 10, text: 'c: 3\n', depth: 0 },
      ]),
    ).toBe('a: 10\nb: 20\nc: 3\n');
  });
  it('writes an insertion before a replacement at the same offset, deeper insertions first', () => {
    expect(
      applyEdits('xy', [
        { start: 1, end: 2, text: 'Y', depth: 0 },
        { start: 1, end: 1, text: '[outer]', depth: 0 },
        { start: 1, end: 1, text: '[inner]', depth: 4 },
      ]),
    ).toBe('x[inner][outer]Y');
  });
  it('applies identical edits once and throws on overlaps', () => {
    expect(
      applyEdits('abc', [
        { start: 1, end: 2, text: 'B', depth: 0 },
        { start: 1, end: 2, text: 'B', depth: 0 },
      ]),
    ).toBe('aBc');
    expect(() =>
      applyEdits('abc', [
        { start: 0, end: 2, text: 'X', depth: 0 },
        { start: 1, end: 3, text: 'Y', depth: 0 },
      ]),
    ).toThrow(/overlapping/);
  });
});
