/**
 * Clocks for durable timers. The real-time clock waits; the virtual clock fires every timer at once,
 * earliest first, moving its own time forward to the timer's due time (for fast protocol tests).
 */
export interface Clock {
  readonly kind: 'real' | 'virtual';
  now(): Date;
  schedule(fireAt: Date, callback: () => void): () => void;
}

export class RealClock implements Clock {
  readonly kind = 'real';
  now(): Date {
    return new Date();
  }
  schedule(fireAt: Date, callback: () => void): () => void {
    // setTimeout holds at most ~24.8 days; longer timers re-arm.
    const MAX = 2 ** 31 - 1;
    let handle: NodeJS.Timeout;
    const arm = (): void => {
      const remaining = fireAt.getTime() - Date.now();
      handle = setTimeout(remaining > MAX ? arm : callback, Math.max(0, Math.min(remaining, MAX)));
    };
    arm();
    return () => clearTimeout(handle);
  }
}

export class VirtualClock implements Clock {
  readonly kind = 'virtual';
  private offsetMs = 0;
  private queue: { fireAt: number; callback: () => void; cancelled: boolean }[] = [];
  private draining = false;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  schedule(fireAt: Date, callback: () => void): () => void {
    const entry = { fireAt: fireAt.getTime(), callback, cancelled: false };
    this.queue.push(entry);
    this.queue.sort((a, b) => a.fireAt - b.fireAt);
    this.fireSoon();
    return () => {
      entry.cancelled = true;
    };
  }

  private fireSoon(): void {
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => {
      this.draining = false;
      const next = this.queue.shift();
      if (!next) return;
      if (!next.cancelled) {
        const lag = next.fireAt - this.now().getTime();
        if (lag > 0) this.offsetMs += lag;
        next.callback();
      }
      if (this.queue.length) this.fireSoon();
    });
  }
}
