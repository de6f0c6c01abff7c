/**
 * NCRONTAB schedules as Azure Functions timer triggers take them
 * (https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions):
 * six fields `{second} {minute} {hour} {day} {month} {day-of-week}` with `*`, values, ranges,
 * lists, steps and English month/day names, or a TimeSpan `hh:mm:ss` (an interval), in UTC (the
 * default without WEBSITE_TIME_ZONE). Day of month and day of week both restricted: either
 * matching is enough, as in cron.
 */
export interface Schedule {
  next(after: Date): Date;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface Field {
  values: Set<number>;
  restricted: boolean;
}

function parseField(text: string, min: number, max: number, names: string[] = [], nameBase = 0): Field {
  const value = (token: string): number => {
    const named = names.indexOf(token.toLowerCase());
    const n = named >= 0 ? named + nameBase : Number(token);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`"${token}" is not in ${min}-${max}`);
    return n;
  };
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad step in "${part}"`);
    let [from, to] = [min, max];
    if (range !== '*') {
      const [a, b] = range.split('-');
      from = value(a);
      to = b === undefined ? (stepText === undefined ? from : max) : value(b);
    }
    if (from > to) throw new Error(`empty range "${part}"`);
    for (let n = from; n <= to; n += step) values.add(n);
  }
  return { values, restricted: text !== '*' };
}

class Crontab implements Schedule {
  private readonly fields: Field[];

  constructor(expression: string) {
    const parts = expression.trim().split(/\s+/);
    if (parts.length !== 6) throw new Error(`expected 6 fields (second minute hour day month day-of-week), got ${parts.length}`);
    this.fields = [
      parseField(parts[0], 0, 59),
      parseField(parts[1], 0, 59),
      parseField(parts[2], 0, 23),
      parseField(parts[3], 1, 31),
      parseField(parts[4], 1, 12, MONTHS, 1),
      parseField(parts[5], 0, 6, DAYS),
    ];
  }

  private dayMatches(date: Date): boolean {
    const [, , , day, month, weekday] = this.fields;
    if (!month.values.has(date.getUTCMonth() + 1)) return false;
    const byDay = day.values.has(date.getUTCDate());
    const byWeekday = weekday.values.has(date.getUTCDay());
    if (day.restricted && weekday.restricted) return byDay || byWeekday;
    return byDay && byWeekday;
  }

  next(after: Date): Date {
    const [seconds, minutes, hours] = this.fields.map((f) => [...f.values].sort((a, b) => a - b));
    const start = new Date(Date.UTC(after.getUTCFullYear(), after.getUTCMonth(), after.getUTCDate()));
    // Eight years covers every satisfiable day/month/weekday combination, Feb 29 included.
    for (let d = 0; d < 366 * 8; d++) {
      const day = new Date(start.getTime() + d * 86_400_000);
      if (!this.dayMatches(day)) continue;
      for (const h of hours) {
        for (const m of minutes) {
          for (const s of seconds) {
            const candidate = new Date(day.getTime() + ((h * 60 + m) * 60 + s) * 1000);
            if (candidate > after) return candidate;
          }
        }
      }
    }
    throw new Error('the schedule never fires');
  }
}

class Interval implements Schedule {
  constructor(private readonly ms: number) {}
  next(after: Date): Date {
    return new Date(after.getTime() + this.ms);
  }
}

export function parseSchedule(expression: string): Schedule {
  const timeSpan = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(expression.trim());
  if (timeSpan) {
    const ms = ((Number(timeSpan[1]) * 60 + Number(timeSpan[2])) * 60 + Number(timeSpan[3])) * 1000;
    if (ms <= 0) throw new Error('a TimeSpan schedule must be positive');
    return new Interval(ms);
  }
  return new Crontab(expression);
}
