// The fnbatch package folder, found from this module's place (shared/ or dist/shared/) by its bin/:
// the CLI, the local scale-set provider and the agent's launcher find their files from it.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function fnbatchPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'bin', 'fnbatch.js')) && existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the fnbatch package folder (bin/fnbatch.js) above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
