export { startKeyVaultEmulator } from './emulator';
export type { KeyVaultEmulator, KeyVaultEmulatorOptions } from './emulator';
export type { LifecycleDelays } from './lifecycle';
export type { ThrottleOptions } from './throttle';
