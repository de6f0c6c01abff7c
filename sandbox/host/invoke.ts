import { randomUUID } from 'node:crypto';
import { registry, RegisteredFunction } from './functionsCore';

/**
 * Invokes a registered function through the library's own invocation model, with RPC-shaped typed
 * data (the worker protocol's TypedData: string / json / bytes / http), so every argument and
 * result conversion is the real one.
 */
export type TypedData =
  | { string: string }
  | { json: string }
  | { bytes: Uint8Array }
  | { http: RpcHttp }
  | Record<string, unknown>;

export interface RpcHttp {
  method: string;
  url: string;
  headers: Record<string, string>;
  query: Record<string, string>;
  params: Record<string, string>;
  body?: { bytes?: Uint8Array; string?: string };
}

export interface RpcHttpResponse {
  statusCode?: string | number;
  headers?: Record<string, string>;
  body?: { bytes?: Uint8Array; string?: string };
}

export type LogSink = (functionName: string, level: string, message: string) => void;

export const defaultLogSink: LogSink = (functionName, level, message) => {
  const line = `[${new Date().toISOString()}] ${functionName} ${level}: ${message}`;
  if (level === 'error' || level === 'warning') console.error(line);
  else console.log(line);
};

export interface Invocation {
  fn: RegisteredFunction;
  trigger: TypedData;
  /** Extra input bindings by binding type (e.g. durableClient). */
  extraInputs?: Record<string, TypedData>;
  log?: LogSink;
}

export async function invoke(invocation: Invocation): Promise<unknown> {
  const model = registry.programmingModel;
  if (!model) throw new Error('No programming model registered.');
  const { fn } = invocation;
  const log = invocation.log ?? defaultLogSink;
  const inputData = [{ name: fn.trigger.name, data: invocation.trigger }];
  for (const [bindingName, binding] of Object.entries(fn.metadata.bindings)) {
    if (binding.direction === 'in' && !/trigger$/i.test(binding.type)) {
      const data = invocation.extraInputs?.[binding.type];
      if (data) inputData.push({ name: bindingName, data });
    }
  }
  const coreContext = {
    invocationId: randomUUID(),
    request: { inputData, triggerMetadata: {} },
    metadata: fn.metadata,
    state: 'invocation',
    log: (level: string, category: string, message: string) => {
      if (category === 'system' && level === 'debug') return;
      log(fn.metadata.name, level, message);
    },
  };
  const invocationModel = model.getInvocationModel(coreContext);
  const { context, inputs } = await invocationModel.getArguments();
  const result = await invocationModel.invokeFunction(context, inputs, fn.callback);
  const response = await invocationModel.getResponse(context, result);
  return response.returnValue;
}

/** TypedData back to a JS value, the way the host reads a function's return value. */
export function fromTypedData(data: unknown): unknown {
  if (data === undefined || data === null) return undefined;
  const typed = data as Record<string, unknown>;
  if (typeof typed.json === 'string') return JSON.parse(typed.json);
  if (typeof typed.string === 'string') {
    try {
      return JSON.parse(typed.string);
    } catch {
      return typed.string;
    }
  }
  if (typed.bytes !== undefined) return Buffer.from(typed.bytes as Uint8Array);
  if (typeof typed.int === 'number') return typed.int;
  if (typeof typed.double === 'number') return typed.double;
  if (typed.http !== undefined) return typed.http;
  return undefined;
}

export const jsonData = (value: unknown): TypedData => ({ json: JSON.stringify(value ?? null) });
