// Small messages are deflated and inflated through Node's zlib internals, which may change between Node majors. The
// path in use is reported here on every Node the suite runs on, and internals that differ (made to differ through the
// module's test hook) must send every call to the public API with the same output.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { deflateRawWhole, inflateRawWhole, resetZlibPathForTests, zlibPath, type SyncStream } from '../lib/protocol/one-shot-zlib.js';

const inputs = [
  Buffer.alloc(0),
  Buffer.from('Halibut'),
  Buffer.from('Hello, Halibut! '.repeat(300)),
  randomBytes(5000),
  Buffer.concat([randomBytes(100), Buffer.alloc(16 * 1024 - 100, 0x41)]),
  Buffer.from('a shorter one after a longer one'),
  Buffer.from('x'.repeat(40_000)),
];

/** Every input, at several levels, deflates as the one-shot function does and inflates back, with the bytes it took. */
function assertSameAsPublicApi(): void {
  for (const level of [constants.Z_DEFAULT_COMPRESSION, 0, 1, 9]) {
    for (const input of inputs) {
      const deflated = deflateRawWhole(input, level);
      assert.ok(deflated.equals(deflateRawSync(input, { level })), `level ${level}, ${input.length} bytes`);
      const wire = Buffer.concat([deflated, Buffer.from('after')]);
      const inflated = inflateRawWhole(wire, 1 << 20);
      assert.ok(inflated?.output.equals(input), `inflating ${input.length} bytes`);
      assert.equal(inflated?.consumed, deflated.length);
      assert.ok(inflateRawSync(deflated).equals(input));
    }
  }
  assert.equal(inflateRawWhole(Buffer.from('not deflate at all'), 1 << 20), undefined);
  assert.equal(inflateRawWhole(deflateRawSync(Buffer.alloc(10_000)), 1000), undefined, 'past the output bound');
}

/** A stream whose property `name` reads as `value`: what a Node with different internals might present. */
function withProperty(name: keyof SyncStream, value: (stream: SyncStream) => unknown): (stream: SyncStream) => SyncStream {
  return (stream) => new Proxy(stream, { get: (target, key) => (key === name ? value(target) : Reflect.get(target, key, target) as unknown) });
}

const pathOnThisNode = zlibPath();

describe('one-shot zlib', () => {
  after(() => resetZlibPathForTests());

  it(`on Node ${process.version}, small messages take the ${pathOnThisNode} path and match the public API`, (t) => {
    t.diagnostic(`zlib path on Node ${process.version}: ${zlibPath()}`);
    assertSameAsPublicApi();
  });

  it('falls back to the public API when the handle has no synchronous write', () => {
    resetZlibPathForTests(withProperty('_handle', () => ({})));
    assert.equal(zlibPath(), 'public-api');
    assertSameAsPublicApi();
  });

  it('falls back to the public API when the write state is gone', () => {
    resetZlibPathForTests(withProperty('_writeState', () => undefined));
    assert.equal(zlibPath(), 'public-api');
    assertSameAsPublicApi();
  });

  it('falls back, without looping, when the write state keeps saying zero (internals that mean something else)', () => {
    resetZlibPathForTests(withProperty('_writeState', () => new Uint32Array(2)));
    assert.equal(zlibPath(), 'public-api');
    assertSameAsPublicApi();
  });

  it('takes the path found at first again once the internals are left as they are', () => {
    resetZlibPathForTests();
    assert.equal(zlibPath(), pathOnThisNode);
    assertSameAsPublicApi();
  });
});
