import {
  elapsedSeconds,
  formatBytes,
  formatCarbon,
  formatCredits,
  formatDuration,
  formatExpectedStart,
  formatPerHour,
  formatPosition
} from './format';

describe('format', () => {
  it('shows credits with enough digits for small jobs', () => {
    expect(formatCredits(0)).toBe('0');
    expect(formatCredits(0.0042)).toBe('0.0042');
    expect(formatCredits(1.25)).toBe('1.25');
    expect(formatCredits(0.5)).toBe('0.5');
    expect(formatCredits(2e-8)).toBe('2.0e-8');
    expect(formatCredits(120.4)).toBe('120');
  });

  it('turns a per-second price into a per-hour one', () => {
    expect(formatPerHour(0.00001, 'CPU')).toBe('0.036/CPU-h');
  });

  it('says when a queued job is expected to start, relative to now', () => {
    expect(formatExpectedStart(null, 100)).toBe('no estimate yet');
    expect(formatExpectedStart(102, 100)).toBe('any moment now');
    expect(formatExpectedStart(130, 100)).toBe('in ~30 s');
    expect(formatExpectedStart(220, 100)).toBe('in ~2 min');
    expect(formatExpectedStart(100 + 7200, 100)).toBe('in ~2 h 00 min');
  });

  it('formats durations', () => {
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(600)).toBe('10 min');
    expect(formatDuration(3900)).toBe('1 h 05 min');
  });

  it('measures elapsed time to the end, or to now while running', () => {
    expect(elapsedSeconds(null, null, 10)).toBeNull();
    expect(elapsedSeconds(4, null, 10)).toBe(6);
    expect(elapsedSeconds(4, 7, 10)).toBe(3);
  });

  it('formats grams of CO2e, queue positions and sizes', () => {
    expect(formatCarbon(0.314)).toBe('0.31 g');
    expect(formatCarbon(12.2)).toBe('12 g');
    expect(formatCarbon(1400)).toBe('1.4 kg');
    expect(formatPosition(3, 12)).toBe('3 of 12');
    expect(formatPosition(3, null)).toBe('#3');
    expect(formatPosition(null, 12)).toBe('');
    expect(formatBytes(2e9)).toBe('2 GB');
    expect(formatBytes(5e8)).toBe('500 MB');
  });
});
