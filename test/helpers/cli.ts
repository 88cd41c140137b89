/**
 * The command line as tests run it: the TypeScript sources through tsx, so a
 * test never runs a stale `dist/` (the compiled package has its own test,
 * test/cli/package.test.ts). Spawn as `spawn(process.execPath, [...CLI, 'serve', ...])`.
 */
export const CLI_MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
export const CLI: readonly string[] = ['--import', 'tsx', CLI_MAIN];
