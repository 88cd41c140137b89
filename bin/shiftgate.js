#!/usr/bin/env node
// Runs the compiled CLI (`npm run build` writes dist/; the published package ships it).
process.setSourceMapsEnabled(true);
try {
  await import('../dist/cli/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err;
  process.stderr.write('shiftgate: dist/ is missing; run `npm run build` first (npm ci runs it too)\n');
  process.exit(1);
}
