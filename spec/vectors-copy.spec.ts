// The golden vectors in spec/fixtures/vectors are a copy of the workspace's ../shared/vectors, where they were
// captured. Where that folder sits beside the checkout, the two must be identical file for file; CI always runs
// beside it (CI=true), so there its absence is a failure. In any other clone there is nothing to compare, and the
// test says so instead of passing silently.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot, vectorsDir } from './support/vectors.js';

const sharedDir = join(projectRoot, '..', 'shared', 'vectors');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => statSync(join(dir, name)).isFile())
    .sort();
}

describe('the project copy of the golden vectors', () => {
  it('is identical, file for file, to ../shared/vectors where that exists', (t) => {
    if (!existsSync(sharedDir)) {
      assert.notEqual(process.env['CI'], 'true', `CI runs beside ../shared, but ${sharedDir} is missing`);
      t.diagnostic(`checked nothing: ${sharedDir} does not exist beside this checkout`);
      return;
    }
    const ours = filesUnder(vectorsDir).filter((name) => name !== 'ORIGIN.md');
    const theirs = filesUnder(sharedDir);
    assert.deepEqual(ours, theirs, `the same files in ${relative(projectRoot, vectorsDir)} and ${sharedDir}`);
    for (const name of theirs) {
      assert.ok(readFileSync(join(vectorsDir, name)).equals(readFileSync(join(sharedDir, name))), `${name} is byte for byte the same`);
    }
    t.diagnostic(`compared ${theirs.length} files with ${sharedDir}`);
  });
});
