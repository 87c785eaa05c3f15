#!/usr/bin/env node
// Compares two ARM templates ignoring the Bicep generator stamp (version and template hash), and
// prints where they differ. CI uses it to check that the committed azuredeploy.json is what
// `az bicep build --file infra/resources.bicep` produces.
// Usage: node infra/scripts/compare-arm.mjs <committed.json> <compiled.json>
import { readFileSync } from 'node:fs';

const [committedPath, compiledPath] = process.argv.slice(2);
if (!committedPath || !compiledPath) {
  console.error('usage: compare-arm.mjs <committed.json> <compiled.json>');
  process.exit(2);
}

function withoutGeneratorStamp(value) {
  if (Array.isArray(value)) return value.map(withoutGeneratorStamp);
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'metadata' && inner && typeof inner === 'object' && '_generator' in inner) {
      const { _generator, ...rest } = inner;
      if (Object.keys(rest).length) out[key] = withoutGeneratorStamp(rest);
      continue;
    }
    out[key] = withoutGeneratorStamp(inner);
  }
  return out;
}

function differences(a, b, path, found) {
  if (found.length >= 25) return;
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null)) {
    found.push(`${path}: ${JSON.stringify(a)?.slice(0, 120)} != ${JSON.stringify(b)?.slice(0, 120)}`);
    return;
  }
  if (a === null || typeof a !== 'object') {
    if (a !== b) found.push(`${path}: ${JSON.stringify(a).slice(0, 120)} != ${JSON.stringify(b).slice(0, 120)}`);
    return;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const next = Array.isArray(a) ? `${path}[${key}]` : `${path}.${key}`;
    if (!(key in a)) found.push(`${next}: only in the compiled template`);
    else if (!(key in b)) found.push(`${next}: only in the committed template`);
    else differences(a[key], b[key], next, found);
  }
}

const read = (p) => withoutGeneratorStamp(JSON.parse(readFileSync(p, 'utf8')));
const found = [];
differences(read(committedPath), read(compiledPath), '$', found);
if (found.length) {
  console.error(`${committedPath} differs from the compiled Bicep (${compiledPath}):`);
  for (const line of found) console.error(`  ${line}`);
  console.error('Run: az bicep build --file infra/resources.bicep --outfile azuredeploy.json');
  process.exit(1);
}
console.log(`${committedPath} matches the compiled Bicep.`);
