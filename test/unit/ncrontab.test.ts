import { parseSchedule } from '../../sandbox/host/ncrontab';

const utc = (text: string): Date => new Date(`${text}Z`);

describe('NCRONTAB schedules of the local host', () => {
  it('finds the next daily run at 03:00 UTC', () => {
    const daily = parseSchedule('0 0 3 * * *');
    expect(daily.next(utc('2026-11-22T02:59:59'))).toEqual(utc('2026-11-22T03:00:00'));
    expect(daily.next(utc('2026-11-22T03:00:00'))).toEqual(utc('2026-11-23T03:00:00'));
  });

  it('handles steps, ranges, lists and names', () => {
    expect(parseSchedule('*/15 * * * * *').next(utc('2026-01-01T00:00:14'))).toEqual(utc('2026-01-01T00:00:15'));
    expect(parseSchedule('0 30 9-17/4 * * *').next(utc('2026-01-01T13:31:00'))).toEqual(utc('2026-01-01T17:30:00'));
    // 2026-11-22 is a Sunday: the next Monday or Friday at 08:00.
    expect(parseSchedule('0 0 8 * * Mon,Fri').next(utc('2026-11-22T12:00:00'))).toEqual(utc('2026-11-23T08:00:00'));
    expect(parseSchedule('0 0 0 1 Jan *').next(utc('2026-03-01T00:00:00'))).toEqual(utc('2027-01-01T00:00:00'));
    expect(parseSchedule('0 0 0 29 2 *').next(utc('2026-03-01T00:00:00'))).toEqual(utc('2028-02-29T00:00:00'));
  });

  it('takes a TimeSpan as an interval', () => {
    expect(parseSchedule('00:05:00').next(utc('2026-01-01T00:00:00'))).toEqual(utc('2026-01-01T00:05:00'));
  });

  it('refuses what it cannot read, saying why', () => {
    expect(() => parseSchedule('0 3 * * *')).toThrow('expected 6 fields');
    expect(() => parseSchedule('0 0 25 * * *')).toThrow('"25" is not in 0-23');
    expect(() => parseSchedule('0 0 0 31 2 *').next(new Date())).toThrow('never fires');
  });
});
