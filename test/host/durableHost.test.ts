import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostProcess, spawnHost, StatusBody, waitForStatus } from '../../sandbox/hostProcess';

const APP = 'dist/test/fixtures/durable-app/index.js';

interface CheckStatus {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
  terminatePostUri: string;
  purgeHistoryDeleteUri: string;
}

/** Starts an orchestration through the fixture's HTTP starter (the real df.getClient inside). */
async function startOn(host: HostProcess, name: string, input?: unknown): Promise<{ response: Response; links: CheckStatus }> {
  const response = await fetch(`${host.url}/api/orchestrators/${name}`, {
    method: 'POST',
    headers: { 'x-functions-key': host.functionKey },
    body: input === undefined ? undefined : JSON.stringify(input),
  });
  return { response, links: (await response.json()) as CheckStatus };
}

describe('local durable host (virtual clock)', () => {
  let dir: string;
  let host: HostProcess;
  const logLines = (): string[] => (fs.existsSync(path.join(dir, 'log')) ? fs.readFileSync(path.join(dir, 'log'), 'utf8').split('\n').filter(Boolean) : []);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'host-'));
    host = await spawnHost({ app: APP, stateDir: path.join(dir, 'state'), env: { FIXTURE_LOG: path.join(dir, 'log') } });
  });
  afterAll(async () => {
    await host.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = (name: string, input?: unknown) => startOn(host, name, input);

  it('runs an orchestration started through df.getClient: retried activity, sub-orchestration, fan-out and timer', async () => {
    const { response, links } = await start('Sample', 'ann');
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe(links.statusQueryGetUri);
    // As the extension's binding builds it: no returnInternalServerErrorOnFailure (the app adds that).
    expect(links.statusQueryGetUri).toBe(
      `http://127.0.0.1:${host.port}/runtime/webhooks/durabletask/instances/${links.id}?taskHub=AppGwCertbotHub&connection=Storage&code=${host.functionKey}`,
    );
    expect(links.sendEventPostUri).toContain(`/instances/${links.id}/raiseEvent/{eventName}?taskHub=AppGwCertbotHub&connection=Storage&code=`);
    expect(links.terminatePostUri).toContain(`/instances/${links.id}/terminate?reason={text}&taskHub=`);
    expect(links.purgeHistoryDeleteUri).toContain(`/instances/${links.id}?taskHub=`);

    const { httpStatus, body } = await waitForStatus(links.statusQueryGetUri);
    expect(httpStatus).toBe(200);
    expect(Object.keys(body)).toEqual(['name', 'instanceId', 'runtimeStatus', 'input', 'customStatus', 'output', 'createdTime', 'lastUpdatedTime']);
    expect(body).toMatchObject({
      name: 'Sample',
      instanceId: links.id,
      runtimeStatus: 'Completed',
      input: 'ann',
      customStatus: { step: 'done' },
      output: { hello: 'Hello ann', flaky: 'Flaky ann ok', child: 'Hello child ann', fanOut: ['Hello ann-a', 'Hello ann-b', 'Hello ann-c'] },
    });
    expect(body.createdTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // The 1-hour timer fired at once on the virtual clock, and the clock moved past it.
    expect(Date.parse(body.lastUpdatedTime) - Date.parse(body.createdTime)).toBeGreaterThanOrEqual(3600_000);
    expect(logLines().filter((l) => l === 'Flaky ann')).toHaveLength(3);
  });

  it('schedules retries like the extension: first interval times the backoff coefficient, capped, then fails the task', async () => {
    const { links } = await start('RetryExhausted');
    const statusUrl = `${links.statusQueryGetUri}&showHistory=true`;
    const { body } = await waitForStatus(statusUrl);
    expect(body.output).toBe("caught: Activity function 'AlwaysFails' failed:  this activity always fails ");
    const events = body.historyEvents ?? [];
    const failures = events.filter((e) => e.EventType === 'TaskFailed');
    const timers = events.filter((e) => e.EventType === 'TimerCreated');
    expect(failures).toHaveLength(3);
    expect(timers).toHaveLength(3); // the engine expects the timer after the last attempt too
    const delays = timers.map((t) => Date.parse(t.FireAt as string) - Date.parse(t.Timestamp as string));
    expect(delays).toEqual([1000, 2000, 2000]); // 1 s, 3 s capped at 2 s, 9 s capped at 2 s
  });

  it('treats tasks listed again by a new Task.any as the same tasks (fan-in with progress)', async () => {
    const { links } = await start('FanInProgress');
    const { body } = await waitForStatus(`${links.statusQueryGetUri}&showHistory=true`);
    expect(body.output).toEqual({ results: ['Hello fan x', 'Hello fan y', 'Hello fan z'], finishedCount: 3 });
    expect(body.historyEvents?.filter((e) => e.EventType === 'TaskCompleted')).toHaveLength(3);
    expect(logLines().filter((l) => l.startsWith('Hello fan'))).toHaveLength(3);
  });

  it('continues as new with fresh history until done', async () => {
    const { links } = await start('Counter', 0);
    const { body } = await waitForStatus(links.statusQueryGetUri);
    expect(body).toMatchObject({ runtimeStatus: 'Completed', output: 3, input: 3 });
    expect(logLines().filter((l) => l.startsWith('Hello count'))).toEqual(['Hello count 0', 'Hello count 1', 'Hello count 2']);
  });

  it('reports a failed orchestrator with 500 only when asked to', async () => {
    const { links } = await start('Failing');
    const failed = await waitForStatus(`${links.statusQueryGetUri}&returnInternalServerErrorOnFailure=true`);
    expect(failed.httpStatus).toBe(500);
    expect(failed.body.runtimeStatus).toBe('Failed');
    expect(failed.body.output).toBe("Orchestrator function 'Failing' failed: orchestrator gave up");
    const plain = await fetch(links.statusQueryGetUri);
    expect(plain.status).toBe(200);
  });

  it('detects a non-deterministic orchestrator and fails it with a clear error', async () => {
    const { links } = await start('Nondeterministic');
    const { body } = await waitForStatus(links.statusQueryGetUri);
    expect(body.runtimeStatus).toBe('Failed');
    expect(String(body.output)).toContain("Non-deterministic workflow detected: action #0 was CallActivity 'Hello' in history but CallActivity 'Flaky' on replay.");
  });

  it('fails an orchestration whose customStatus is over the extension\'s 16 KB of UTF-16, before its new actions', async () => {
    // 17,407 bytes is still "16 KB" to the extension's check (whole KB, rounded down); 17,408 is not.
    const under = await waitForStatus((await start('BigStatus', 8703)).links.statusQueryGetUri);
    expect(under.body).toMatchObject({ runtimeStatus: 'Completed', output: 'status accepted' });
    const { links } = await start('BigStatus', 8704);
    const { body } = await waitForStatus(`${links.statusQueryGetUri}&showHistory=true`);
    expect(body.runtimeStatus).toBe('Failed');
    expect(body.output).toBe(
      "Orchestrator function 'BigStatus' failed: The UTF-16 size of the JSON-serialized payload must not exceed 16 KB. The current payload size is 17 KB.",
    );
    expect(body.customStatus).toBeNull();
    expect(body.historyEvents?.filter((e) => e.EventType === 'TaskScheduled')).toHaveLength(0);
  });

  it('hands a parent the failure texts the extension sends: Reason and Details joined by the engine', async () => {
    const { links } = await start('CatchesFailures');
    const { body } = await waitForStatus(links.statusQueryGetUri);
    const [child, activity] = body.output as string[];
    expect(child).toMatch(/^Orchestrator function 'Failing' failed: orchestrator gave up \n Message: orchestrator gave up, StackTrace: {4}at Microsoft\.Azure\.WebJobs/);
    expect(activity.startsWith("Activity function 'AlwaysFails' failed:  this activity always fails \n {")).toBe(true);
    const details = JSON.parse(activity.slice(activity.indexOf(' \n ') + 3)) as { ClassName: string; Message: string; InnerException: { Message: string } };
    expect(details).toMatchObject({ ClassName: 'System.Exception', Message: ' this activity always fails' });
    expect(details.InnerException.Message).toMatch(/^Result: Failure\nException: this activity always fails\nStack: Error: this activity always fails/);
  });

  it('drops the start of a sub-orchestration whose id a running instance holds: the parent never hears back', async () => {
    const holder = await fetch(`${host.url}/durabletask/orchestrators/WaitsForever/held-id`, { method: 'POST', body: '' });
    expect(holder.status).toBe(202);
    const { links } = await start('StartsChildAs', 'held-id');
    const { body } = await waitForStatus(links.statusQueryGetUri);
    expect(body.output).toEqual({ child: 'no answer' });
    const held = await fetch(`${host.url}/durabletask/instances/held-id`);
    expect(held.status).toBe(202);
    expect(held.headers.get('retry-after')).toBe('5');
    expect(await held.json()).toMatchObject({ name: 'WaitsForever', runtimeStatus: 'Running', input: null });
    // A finished id is free again: the parent's child now starts under it (the parent's timer
    // still wins on the virtual clock, so the child is read from its own status).
    await fetch(`${host.url}/durabletask/instances/held-id/terminate?reason=done`, { method: 'POST' });
    await waitForStatus(`${host.url}/durabletask/instances/held-id`);
    await waitForStatus((await start('StartsChildAs', 'held-id')).links.statusQueryGetUri);
    const child = await waitForStatus(`${host.url}/durabletask/instances/held-id`);
    expect(child.body).toMatchObject({ name: 'Child', input: 'from parent', runtimeStatus: 'Completed', output: 'Hello child from parent' });
  });

  it('treats a task re-listed by Task.any in the episode that delivered its completion as the same task', async () => {
    const { links } = await start('BatchedFanIn');
    const { body } = await waitForStatus(`${links.statusQueryGetUri}&showHistory=true`);
    expect(body.output).toEqual(['Hello batched p', 'Hello batched q', 'Hello batched r', 'Hello batched after']);
    expect(body.historyEvents?.filter((e) => e.EventType === 'TaskCompleted')).toHaveLength(4);
    for (const name of ['p', 'q', 'r', 'after']) expect(logLines().filter((l) => l === `Hello batched ${name}`)).toHaveLength(1);
  });

  it('fails an orchestration that starts a sub-orchestration under its own id, as the extension does', async () => {
    const { links } = await start('ChildWithOwnId');
    const { body } = await waitForStatus(links.statusQueryGetUri);
    expect(body).toMatchObject({
      runtimeStatus: 'Failed',
      output: "Orchestrator function 'ChildWithOwnId' failed: The instance ID of a sub-orchestration must be different than the instance ID of a parent orchestration.",
    });
  });

  it('checks client instance ids as the extension does (400)', async () => {
    for (const id of ['x'.repeat(257), '@entity', 'with%23hash']) {
      const response = await fetch(`${host.url}/durabletask/orchestrators/Approval/${id}`, { method: 'POST', body: '' });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ Message: 'One or more of the arguments submitted is incorrect' });
    }
    const unknown = await fetch(`${host.url}/durabletask/orchestrators/NoSuchOrchestrator`, { method: 'POST', body: '' });
    expect(unknown.status).toBe(400);
  });

  it('enforces auth levels and keys', async () => {
    expect((await fetch(`${host.url}/api/ping`)).status).toBe(200);
    expect((await fetch(`${host.url}/api/orchestrators/Sample`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${host.url}/api/orchestrators/Sample?code=wrong`, { method: 'POST' })).status).toBe(401);
    const { links } = await start('Counter', 3);
    const withoutKey = links.statusQueryGetUri.replace(/&code=[^&]+/, '');
    expect((await fetch(withoutKey)).status).toBe(401);
    expect((await fetch(`${host.url}/runtime/webhooks/durabletask/instances/nope?code=${host.functionKey}`)).status).toBe(404);
  });

  it('runs a timer function on demand through the admin API with the master key', async () => {
    expect((await fetch(`${host.url}/admin/functions/Nightly`, { method: 'POST', headers: { 'x-functions-key': host.functionKey } })).status).toBe(401);
    const run = await fetch(`${host.url}/admin/functions/Nightly`, { method: 'POST', headers: { 'x-functions-key': host.masterKey, 'content-type': 'application/json' }, body: '{}' });
    expect(run.status).toBe(202);
    const statusUrl = `${host.url}/runtime/webhooks/durabletask/instances/nightly?code=${host.functionKey}`;
    for (let i = 0; i < 200 && (await fetch(statusUrl)).status === 404; i++) await new Promise((r) => setTimeout(r, 25));
    const { body } = await waitForStatus(statusUrl);
    expect(body).toMatchObject({ name: 'Sample', runtimeStatus: 'Completed', input: 'nightly' });
  });

});

describe('local durable host (real clock)', () => {
  let dir: string;
  let host: HostProcess;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'host-real-'));
    host = await spawnHost({
      app: APP,
      stateDir: path.join(dir, 'state'),
      clock: 'real',
      env: { FIXTURE_LOG: path.join(dir, 'log'), FIXTURE_TICK_SCHEDULE: '*/2 * * * * *' },
      timers: 'schedule',
    });
  });
  afterAll(async () => {
    await host.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = (name: string, input?: unknown) => startOn(host, name, input);

  it('runs timer functions on their schedule (from an app setting) with the schedule status', async () => {
    const ticks = (): { last: string; next: string }[] =>
      (fs.existsSync(path.join(dir, 'log')) ? fs.readFileSync(path.join(dir, 'log'), 'utf8').split('\n') : [])
        .filter((line) => line.startsWith('tick '))
        .map((line) => JSON.parse(line.slice(5)) as { last: string; next: string });
    for (let i = 0; i < 100 && ticks().length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    const [first, second] = ticks();
    // Every two seconds: each run knows the next occurrence, and the next run's "last" is this run.
    expect(new Date(first.next).getUTCSeconds() % 2).toBe(0);
    expect(Date.parse(second.next) - Date.parse(first.next)).toBe(2000);
    expect(Date.parse(second.last)).toBeLessThanOrEqual(Date.parse(first.next));
  });

  it('delivers external events and cancels the losing timer', async () => {
    const { links } = await start('Approval');
    const raise = await fetch(links.sendEventPostUri.replace('{eventName}', 'Approval'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify('yes'),
    });
    expect(raise.status).toBe(202);
    const { body } = await waitForStatus(links.statusQueryGetUri);
    expect(body.output).toEqual({ approved: 'yes' });
  });

  it('keeps one timer that several Task.any rounds list again', async () => {
    const { links } = await start('Gather');
    for (const item of ['a', 'b', 'c']) {
      await fetch(links.sendEventPostUri.replace('{eventName}', 'Item'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(item) });
    }
    const { body } = await waitForStatus(`${links.statusQueryGetUri}&showHistory=true`);
    expect(body.output).toEqual(['a', 'b', 'c']);
    expect(body.historyEvents?.filter((e) => e.EventType === 'TimerCreated')).toHaveLength(1);
  });

  it('terminates and purges instances', async () => {
    const { links } = await start('Approval');
    const terminate = await fetch(links.terminatePostUri.replace('{text}', 'no%20longer%20needed'), { method: 'POST' });
    expect(terminate.status).toBe(202);
    const { body } = await waitForStatus(links.statusQueryGetUri);
    expect(body.runtimeStatus).toBe('Terminated');
    expect(body.output).toBe('no longer needed');
    const purge = await fetch(links.purgeHistoryDeleteUri, { method: 'DELETE' });
    expect(await purge.json()).toEqual({ instancesDeleted: 1 });
    expect((await fetch(links.statusQueryGetUri)).status).toBe(404);
  });

  it('refuses a client start over a running instance as the extension does (500, OrchestrationAlreadyExistsException)', async () => {
    const { links } = await start('Approval');
    const again = await fetch(`${host.url}/durabletask/orchestrators/Approval/${links.id}`, { method: 'POST', body: '' });
    expect(again.status).toBe(500);
    expect(await again.json()).toMatchObject({
      Message: 'Something went wrong while processing your request',
      ExceptionMessage: 'An Orchestration instance with the status Running already exists.',
      ExceptionType: 'DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException',
    });
    await fetch(links.terminatePostUri.replace('{text}', 'done'), { method: 'POST' });
  });

  it('drops an event that arrived in the last episode before continue-as-new, unread (preserveUnprocessedEvents=false)', async () => {
    const gate = path.join(dir, 'drops-unread-gate');
    const { links } = await start('DropsUnread', { generation: 0, gate });
    const log = path.join(dir, 'log');
    while (!(fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes(`Gate started ${gate}`))) await new Promise((r) => setTimeout(r, 20));
    for (const [name, value] of [['A', 'a'], ['B', 'b']]) {
      const raised = await fetch(links.sendEventPostUri.replace('{eventName}', name), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
      expect(raised.status).toBe(202);
    }
    fs.writeFileSync(gate, 'open');
    const { body } = await waitForStatus(links.statusQueryGetUri);
    // A and B reached the episode of the gate's completion together: A was read there, B went
    // with the first generation's history.
    expect(body).toMatchObject({ runtimeStatus: 'Completed', customStatus: { a: 'a' }, output: { b: 'dropped' } });
  });
});

describe('local durable host (crash and resume)', () => {
  it('resumes an instance after SIGKILL with every completed activity run exactly once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'host-kill-'));
    const log = path.join(dir, 'log');
    const gate = path.join(dir, 'gate');
    const options = { app: APP, stateDir: path.join(dir, 'state'), clock: 'real' as const, env: { FIXTURE_LOG: log } };
    const lines = (): string[] => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
    let host = await spawnHost(options);
    try {
      const started = await fetch(`${host.url}/api/orchestrators/Gated`, {
        method: 'POST',
        headers: { 'x-functions-key': host.functionKey },
        body: JSON.stringify(gate),
      });
      const { id } = (await started.json()) as { id: string };
      while (!lines().includes(`Gate started ${gate}`)) await new Promise((r) => setTimeout(r, 20));
      await host.kill('SIGKILL');

      host = await spawnHost(options);
      fs.writeFileSync(gate, 'open');
      const { body } = await waitForStatus(`${host.url}/runtime/webhooks/durabletask/instances/${id}?code=${host.functionKey}`);
      expect(body.runtimeStatus).toBe('Completed');
      expect(body.output).toEqual(['Hello before gate', 'gate passed', 'Hello after gate']);
      const runs = lines();
      expect(runs.filter((l) => l === 'Hello before gate')).toHaveLength(1);
      expect(runs.filter((l) => l === `Gate started ${gate}`).length).toBeGreaterThanOrEqual(2); // in flight at the kill: run again
      expect(runs.filter((l) => l === `Gate passed ${gate}`)).toHaveLength(1);
      expect(runs.filter((l) => l === 'Hello after gate')).toHaveLength(1);
    } finally {
      await host.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('local durable host (timer latency of a polling backend)', () => {
  it('fires durable timers as late as configured', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'host-latency-'));
    const host = await spawnHost({ app: APP, stateDir: path.join(dir, 'state'), timerLatencyMs: 30_000 });
    try {
      const { links } = await startOn(host, 'Sleeper');
      const { body } = await waitForStatus(links.statusQueryGetUri);
      // The virtual clock moves to the due time plus the latency (a millisecond of its own may pass).
      expect((body.output as { lateMs: number }).lateMs).toBeGreaterThanOrEqual(30_000);
      expect((body.output as { lateMs: number }).lateMs).toBeLessThan(31_000);
    } finally {
      await host.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

export type { StatusBody };
