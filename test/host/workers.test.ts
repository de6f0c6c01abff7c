import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostProcess, spawnHost, waitForStatus } from '../../sandbox/hostProcess';

/**
 * Activities run in separate worker processes, as on the separate instances of Flex Consumption:
 * no module state is shared between activity runs that Azure would not share.
 */
const APP = 'dist/test/fixtures/durable-app/index.js';

interface Ran {
  pid: number;
  calls: number;
}

/** Starts an orchestration through the fixture's HTTP starter and waits for its end. */
async function runOn(host: HostProcess, name: string, input?: unknown): Promise<{ runtimeStatus: string; output: unknown }> {
  const response = await fetch(`${host.url}/api/orchestrators/${name}`, {
    method: 'POST',
    headers: { 'x-functions-key': host.functionKey },
    body: input === undefined ? undefined : JSON.stringify(input),
  });
  expect(response.status).toBe(202);
  const { statusQueryGetUri } = (await response.json()) as { statusQueryGetUri: string };
  return (await waitForStatus(statusQueryGetUri)).body;
}

/** Each process's counter values, by pid. */
function countersByPid(runs: Ran[]): Map<number, number[]> {
  const byPid = new Map<number, number[]>();
  for (const run of runs) byPid.set(run.pid, [...(byPid.get(run.pid) ?? []), run.calls].sort((a, b) => a - b));
  return byPid;
}

const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('activity workers', () => {
  let dir: string;
  let host: HostProcess | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'host-workers-'));
  });
  afterEach(async () => {
    await host?.kill();
    host = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs activities in separate worker processes (default 2), each with its own module state', async () => {
    host = await spawnHost({ app: APP, stateDir: path.join(dir, 'state') });
    const { runtimeStatus, output } = await runOn(host, 'FanOutPids');
    expect(runtimeStatus).toBe('Completed');
    const runs = output as Ran[];
    expect(runs).toHaveLength(6);
    const byPid = countersByPid(runs);
    expect(byPid.size).toBeGreaterThanOrEqual(2);
    expect(byPid.has(host.pid)).toBe(false);
    // Every process counted only its own calls: nothing saw all six.
    for (const counters of byPid.values()) expect(counters).toEqual(upTo(counters.length));
    expect(Math.max(...runs.map((r) => r.calls))).toBeLessThan(6);
  });

  it('runs every activity in the host process with activityWorkers 0', async () => {
    host = await spawnHost({ app: APP, stateDir: path.join(dir, 'state'), activityWorkers: 0 });
    const { output } = await runOn(host, 'FanOutPids');
    const byPid = countersByPid(output as Ran[]);
    expect([...byPid.keys()]).toEqual([host.pid]);
    expect(byPid.get(host.pid)).toEqual(upTo(6));
  });

  it('runs an activity again when the worker running it dies, and replaces the worker', async () => {
    const log = path.join(dir, 'log');
    const gate = path.join(dir, 'gate');
    host = await spawnHost({ app: APP, stateDir: path.join(dir, 'state'), env: { FIXTURE_LOG: log } });
    const gateStarts = (): number[] =>
      (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n') : [])
        .filter((line) => line.startsWith('PidGate started ') && line.endsWith(` ${gate}`))
        .map((line) => Number(line.split(' ')[2]));
    const waitForStarts = async (n: number): Promise<number[]> => {
      for (let i = 0; i < 400 && gateStarts().length < n; i++) await new Promise((r) => setTimeout(r, 25));
      return gateStarts();
    };

    const finished = runOn(host, 'PidGated', gate);
    const [victim] = await waitForStarts(1);
    expect(victim).not.toBe(host.pid);
    process.kill(victim, 'SIGKILL');

    const [, rerun] = await waitForStarts(2);
    expect(rerun).toBeDefined();
    expect(rerun).not.toBe(victim);
    fs.writeFileSync(gate, 'open');
    const { runtimeStatus, output } = await finished;
    expect(runtimeStatus).toBe('Completed');
    expect(output).toEqual({ pid: rerun });
    const exited = host.output.find((line) => line.includes(`Activity worker ${victim} exited (SIGKILL)`));
    expect(exited).toContain('running again: PidGate');
    const replacement = Number(/replaced by worker (\d+)/.exec(exited ?? '')?.[1]);
    expect([victim, rerun, host.pid]).not.toContain(replacement);

    // The pool is back to two workers once the replacement has loaded the app (until then,
    // activities go to the worker that is ready).
    let after = new Map<number, number[]>();
    for (let i = 0; i < 40 && !after.has(replacement); i++) {
      after = countersByPid((await runOn(host, 'FanOutPids')).output as Ran[]);
      if (!after.has(replacement)) await new Promise((r) => setTimeout(r, 50));
    }
    expect([...after.keys()].sort((a, b) => a - b)).toEqual([rerun, replacement].sort((a, b) => a - b));
  });
});
