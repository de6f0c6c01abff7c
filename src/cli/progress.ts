/**
 * The progress display while the CLI waits: one listr2 task per certificate, its title the
 * certificate's current step. listr2's default renderer redraws in place on a terminal; elsewhere
 * (a pipe, CI logs) its verbose renderer prints one line per change. `--json` shows none.
 */
import { Listr } from 'listr2';
import type { HostnameResult } from './operations';
import type { Redactor } from './redact';

export interface Progress {
  step(hostname: string, text: string): void;
  /** Marks each certificate done or failed and waits for the display to end. */
  finish(results: HostnameResult[] | undefined): Promise<void>;
}

const SILENT: Progress = { step: () => undefined, finish: async () => undefined };

interface Slot {
  title: string;
  setTitle?: (title: string) => void;
  settle?: (result: HostnameResult | undefined) => void;
}

export function startProgress(hostnames: string[], redactor: Redactor, enabled: boolean): Progress {
  if (!enabled) return SILENT;
  const slots = new Map<string, Slot>(hostnames.map((h) => [h, { title: `${h}: waiting to start` }]));
  const list = new Listr(
    hostnames.map((hostname) => ({
      title: slots.get(hostname)!.title,
      task: async (_context: unknown, task: { title: string }) => {
        const slot = slots.get(hostname)!;
        slot.setTitle = (title) => (task.title = title);
        task.title = slot.title;
        const result = await new Promise<HostnameResult | undefined>((resolve) => (slot.settle = resolve));
        if (!result) {
          task.title = `${hostname}: still running`;
          return;
        }
        if (result.status !== 'Completed') throw new Error(redactor.text(`${hostname}: ${result.status}${result.code ? ` ${result.code}` : ''}`));
        task.title = `${hostname}: Completed`;
      },
    })),
    {
      concurrent: true,
      exitOnError: false,
      renderer: 'default',
      rendererOptions: { collapseErrors: false },
      fallbackRenderer: 'verbose',
      fallbackRendererOptions: { logTitleChange: true },
    },
  );
  // A failed task is shown by the renderer; the outcome itself is reported by the command.
  const running = list.run().catch(() => undefined);
  return {
    step(hostname, text) {
      const slot = slots.get(hostname);
      if (!slot) return;
      slot.title = redactor.text(`${hostname}: ${text}`);
      slot.setTitle?.(slot.title);
    },
    async finish(results) {
      // Tasks start at once (concurrent), but wait for each to be ready before settling it.
      while ([...slots.values()].some((s) => !s.settle)) await new Promise((resolve) => setImmediate(resolve));
      for (const [hostname, slot] of slots) slot.settle!(results?.find((r) => r.hostname === hostname) ?? (results ? { hostname, status: 'Unknown' } : undefined));
      await running;
    },
  };
}
