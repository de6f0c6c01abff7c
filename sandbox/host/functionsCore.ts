import Module from 'node:module';

/**
 * A stand-in for `@azure/functions-core`, the module the real Node worker injects. `@azure/functions`
 * registers every function (`app.http`, `app.timer`, `df.app.*`) through it and hands it its
 * programming model, whose invocation model performs the worker's exact conversions.
 */
export interface BindingMetadata {
  type: string;
  direction?: string;
  name?: string;
  [key: string]: unknown;
}

export interface FunctionMetadata {
  name: string;
  bindings: Record<string, BindingMetadata>;
  retryOptions?: unknown;
}

export type FunctionCallback = (...args: unknown[]) => unknown;

export interface RegisteredFunction {
  metadata: FunctionMetadata;
  callback: FunctionCallback;
  trigger: BindingMetadata & { name: string };
}

/** The parts of the library's ProgrammingModel / InvocationModel the host calls. */
export interface CoreInvocationContext {
  invocationId: string;
  request: { inputData: { name: string; data: unknown }[]; triggerMetadata: Record<string, unknown>; retryContext?: unknown };
  metadata: FunctionMetadata;
  state?: string;
  log(level: string, category: string, message: string): void;
}

export interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], handler: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<{ returnValue?: unknown; outputData?: unknown[] }>;
}

export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(context: CoreInvocationContext): InvocationModel;
}

export class FunctionRegistry {
  readonly functions = new Map<string, RegisteredFunction>();
  programmingModel?: ProgrammingModel;

  get(name: string): RegisteredFunction | undefined {
    return this.functions.get(name.toLowerCase());
  }

  byTriggerType(type: string): RegisteredFunction[] {
    return [...this.functions.values()].filter((f) => f.trigger.type.toLowerCase() === type.toLowerCase());
  }
}

export const registry = new FunctionRegistry();

/** The module's API as the library calls it (see @azure/functions: tryGetCoreApiLazy, app.generic). */
const coreApi = {
  version: '3.10.1',
  hostVersion: '4.1037.0',
  setProgrammingModel(model: ProgrammingModel): void {
    registry.programmingModel = model;
  },
  getProgrammingModel(): ProgrammingModel | undefined {
    return registry.programmingModel;
  },
  registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): { dispose(): void } {
    const triggerEntry = Object.entries(metadata.bindings).find(([, b]) => /trigger$/i.test(b.type));
    if (!triggerEntry) throw new Error(`Function ${metadata.name} has no trigger binding.`);
    const trigger = { ...triggerEntry[1], name: triggerEntry[0] };
    registry.functions.set(metadata.name.toLowerCase(), { metadata, callback, trigger });
    return { dispose: () => registry.functions.delete(metadata.name.toLowerCase()) };
  },
  registerHook(): { dispose(): void } {
    return { dispose: () => undefined };
  },
  log(level: string, category: string, message: string): void {
    if (category === 'system' && level === 'debug') return;
    console.log(`[${level}] ${message}`);
  },
};

let installed = false;

/** Makes `require('@azure/functions-core')` resolve to the stand-in, as the worker does. */
export function installFunctionsCore(): void {
  if (installed) return;
  installed = true;
  // Reason: Module._load is Node's internal loader hook, untyped in @types/node.
  const loader = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const original = loader._load;
  loader._load = function load(request: string, parent: unknown, isMain: boolean): unknown {
    if (request === '@azure/functions-core') return coreApi;
    return original.call(this, request, parent, isMain);
  };
}

/** Loads the app's entry module: its top-level registrations land in `registry`. */
export function loadApp(entryModulePath: string): FunctionRegistry {
  installFunctionsCore();
  // The app is plain CommonJS loaded by path at run time, as the worker loads package.json "main".
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(entryModulePath);
  if (!registry.programmingModel) throw new Error(`${entryModulePath} registered no functions through @azure/functions.`);
  return registry;
}
