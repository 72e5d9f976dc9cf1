#!/usr/bin/env node
// Runs every spec file with node's own test runner. Node 20 neither expands globs passed to --test nor discovers
// .ts files by itself, so the file list is built here. Extra arguments are passed through (e.g. a file list).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';

function specFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...specFiles(path));
    else if (name.endsWith('.spec.ts')) out.push(path);
  }
  return out;
}

// A hang guard, not a speed limit. Node 20 and 22 apply --test-timeout to each spec file as a whole (its process);
// Node 24 and later apply it to each test. So the bound is per file where it can only be per file.
const major = Number(process.versions.node.split('.')[0]);
const timeoutMs = major >= 24 ? 120_000 : 600_000;

const args = process.argv.slice(2);
const files = args.length > 0 ? args : specFiles('spec');
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', `--test-timeout=${timeoutMs}`, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
