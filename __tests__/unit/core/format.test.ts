/** Durations and sizes as a reader of the log and the job summary sees them. */
import { describe, expect, it } from '@jest/globals';
import { formatBytes, formatDuration } from '../../../src/core/format.js';

describe('formatDuration', () => {
  it('gives whole seconds under a minute, rounded', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(499)).toBe('0s');
    expect(formatDuration(500)).toBe('1s');
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(59_499)).toBe('59s');
  });

  it('gives minutes and seconds from one minute, without "0s"', () => {
    // 59.5 s rounds up to a whole minute.
    expect(formatDuration(59_500)).toBe('1m');
    expect(formatDuration(60_000)).toBe('1m');
    expect(formatDuration(61_000)).toBe('1m1s');
    expect(formatDuration(200_000)).toBe('3m20s');
    expect(formatDuration(3_599_000)).toBe('59m59s');
  });

  it('gives hours and minutes from one hour, seconds dropped', () => {
    expect(formatDuration(3_600_000)).toBe('1h0m');
    expect(formatDuration(3_659_000)).toBe('1h0m');
    expect(formatDuration(3_900_000)).toBe('1h5m');
    expect(formatDuration(6 * 3_600_000)).toBe('6h0m');
    expect(formatDuration(30 * 3_600_000 + 60_000)).toBe('30h1m');
  });
});

describe('formatBytes', () => {
  it('gives bytes below 1 KiB as a whole number', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1)).toBe('1 B');
    expect(formatBytes(1023)).toBe('1023 B');
  });

  it('gives binary units with one decimal from 1 KiB', () => {
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(301.6 * 1024)).toBe('301.6 KiB');
    expect(formatBytes(1024 ** 2)).toBe('1.0 MiB');
    expect(formatBytes(4.6 * 1024 ** 3)).toBe('4.6 GiB');
    expect(formatBytes(2 * 1024 ** 4)).toBe('2.0 TiB');
  });

  it('moves to the next unit when the value would round to 1024', () => {
    expect(formatBytes(1024 ** 2 - 1)).toBe('1.0 MiB');
    expect(formatBytes(1024 ** 3 - 1)).toBe('1.0 GiB');
    expect(formatBytes(1023.9 * 1024)).toBe('1023.9 KiB');
  });

  it('stops at TiB', () => {
    expect(formatBytes(5 * 1024 ** 5)).toBe('5120.0 TiB');
  });

  it('gives the empty mark for an unknown, negative or infinite size', () => {
    expect(formatBytes(undefined)).toBe('–');
    expect(formatBytes(-1)).toBe('–');
    expect(formatBytes(Number.NaN)).toBe('–');
    expect(formatBytes(Number.POSITIVE_INFINITY)).toBe('–');
    expect(formatBytes(undefined, '')).toBe('');
    expect(formatBytes(Number.NaN, 'unknown')).toBe('unknown');
    // The empty mark is only for an unknown size.
    expect(formatBytes(0, '')).toBe('0 B');
  });
});
