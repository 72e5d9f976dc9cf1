import assert from 'node:assert/strict';
import { inflateRawSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { decodeBson, encodeBson } from '../lib/protocol/bson.js';
import { fromVectorJson, loadVectors, toVectorJson, vectorSets } from './support/vectors.js';

for (const set of vectorSets) {
  describe(`golden vectors: ${set}`, () => {
    for (const v of loadVectors(set)) {
      it(`${v.file} decodes to its document and re-encodes byte for byte`, () => {
        const compressed = v.deflateBytes === undefined ? v.wire : v.wire.subarray(0, v.deflateBytes);
        const bson = inflateRawSync(compressed);
        assert.equal(bson.toString('hex'), v.bsonHex, 'inflated bytes match the vector');
        const decoded = decodeBson(bson, { numbers: 'preserve' });
        assert.deepEqual(toVectorJson(decoded), v.document);
        const encoded = encodeBson(fromVectorJson(v.document) as Record<string, unknown>);
        assert.equal(encoded.toString('hex'), v.bsonHex);
      });
    }
  });
}
