/**
 * Fault injection and request counters shared by every emulator. Tests (and the admin endpoint)
 * arm a fault for the next N matching calls of a service; each emulator asks `take` before it
 * answers and counts every call it serves.
 */
export type ServiceName = 'keyvault' | 'arm' | 'acme' | 'blob' | 'gateway';

export interface FaultSpec {
  service: ServiceName;
  /** HTTP status to answer instead of the real one (409, 429, 500, 503...). Omit for delay only. */
  status?: number;
  /** Service error code for the body (e.g. AnotherOperationInProgress, rateLimited). */
  code?: string;
  message?: string;
  /** Seconds for a Retry-After header. */
  retryAfterSeconds?: number;
  /** Delay before answering (ms), applied with or without a status. */
  delayMs?: number;
  /** How many matching calls this fault applies to. */
  count: number;
  /** Only calls whose `METHOD path` contains this text match (e.g. "PUT", "/applicationGateways/"). */
  match?: string;
}

interface ArmedFault extends FaultSpec {
  remaining: number;
}

export class FaultInjector {
  private faults: ArmedFault[] = [];

  arm(spec: FaultSpec): void {
    if (!Number.isInteger(spec.count) || spec.count < 1) throw new Error('fault count must be a positive integer');
    this.faults.push({ ...spec, remaining: spec.count });
  }

  /** The fault to apply to this call, if one is armed; consumes one of its uses. */
  take(service: ServiceName, method: string, path: string): FaultSpec | undefined {
    const call = `${method.toUpperCase()} ${path}`;
    const fault = this.faults.find((f) => f.service === service && (!f.match || call.includes(f.match)));
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    return fault;
  }

  clear(): void {
    this.faults = [];
  }
}

/** Per-service request counters by operation name, e.g. counters.get('arm', 'applicationGateways.put'). */
export class Counters {
  private readonly counts = new Map<string, number>();

  increment(service: ServiceName, operation: string): void {
    const key = `${service}:${operation}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  get(service: ServiceName, operation: string): number {
    return this.counts.get(`${service}:${operation}`) ?? 0;
  }

  snapshot(): Record<string, Record<string, number>> {
    const result: Record<string, Record<string, number>> = {};
    for (const [key, count] of this.counts) {
      const [service, operation] = key.split(/:(.*)/s);
      (result[service] ??= {})[operation] = count;
    }
    return result;
  }

  reset(): void {
    this.counts.clear();
  }
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
