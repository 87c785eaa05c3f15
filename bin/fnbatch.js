#!/usr/bin/env node
// The fnbatch command: runs the compiled CLI (npm run build produces dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('fnbatch: not built yet; run `npm run build` first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv.slice(2));
