export { startKeyVaultEmulator } from './emulator';
export type { KeyVaultEmulator, KeyVaultEmulatorOptions } from './emulator';
