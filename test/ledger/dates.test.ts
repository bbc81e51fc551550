import { describe, expect, it } from 'vitest';
import { compileDateFormat, compileDateFormats, dateFormatProblem } from '../../src/ledger/dates.js';

describe('date formats', () => {
  it('reads US dates with or without leading zeros', () => {
    const us = compileDateFormat('MM/DD/YYYY');
    expect(us.parse('09/02/2026')).toBe('2026-09-02');
    expect(us.parse('9/2/2026')).toBe('2026-09-02');
    expect(us.parse('02/29/2028')).toBe('2028-02-29');
  });

  it('refuses dates that do not exist and text that is not a date', () => {
    const us = compileDateFormat('MM/DD/YYYY');
    for (const bad of ['02/29/2026', '31/02/2026', '13/01/2026', '09/31/2026', '2026-09-02', '09/02/26', 'Total', '']) expect(us.parse(bad)).toBeNull();
  });

  it('reads month names, two-digit years and dotted dates', () => {
    expect(compileDateFormat('DD MMM YYYY').parse('02 Sep 2026')).toBe('2026-09-02');
    expect(compileDateFormat('DD MMM YYYY').parse('2  September 2026')).toBe('2026-09-02');
    expect(compileDateFormat('D-MMM-YY').parse('2-Sept-26')).toBe('2026-09-02');
    expect(compileDateFormat('DD MMM YYYY').parse('02 Sepx 2026')).toBeNull();
    expect(compileDateFormat('dd.MM.yyyy').parse('03.09.2026')).toBe('2026-09-03');
  });

  it('tries several formats in order and names them all when none fits', () => {
    const p = compileDateFormats(['YYYY-MM-DD', 'DD/MM/YYYY']);
    expect(p.parse('2026-09-03')).toBe('2026-09-03');
    expect(p.parse('03/09/2026')).toBe('2026-09-03');
    expect(p.expected).toBe('YYYY-MM-DD or DD/MM/YYYY');
  });

  it('explains a format it cannot use', () => {
    expect(dateFormatProblem('YYYY-MM')).toBe('date format "YYYY-MM" must have exactly one year, one month and one day (e.g. MM/DD/YYYY)');
    expect(dateFormatProblem('YYYY-MM-DD HH')).toMatch(/has "H" where a token was expected/);
    expect(dateFormatProblem('DD.MM.YYYY')).toBeNull();
  });
});
