// Reads the golden vectors serialized by real Halibut and real Tentacles. They are kept in the project
// (spec/fixtures/vectors, see ORIGIN.md there), so the wire tests run on every clone.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Binary, Double, Guid, Int32, Int64 } from '../../lib/protocol/dotnet-values.js';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const vectorsDir = join(projectRoot, 'spec', 'fixtures', 'vectors');

/** The four sets: Halibut's own test service on 4.4.8 and 8.1, and the Tentacle contracts from 4.4.8-era and 9.2. */
export const vectorSets = ['halibut-4.4.8', 'halibut-8.1', 'tentacle-4.4.8', 'tentacle-9.2'] as const;

export interface VectorStream {
  idHex: string;
  length: number;
  trailerLength: number;
  dataHex: string;
}

export interface Vector {
  name: string;
  file: string;
  /** The bytes exactly as Halibut put them on the wire. */
  wire: Buffer;
  bsonHex: string;
  document: unknown;
  deflateBytes?: number;
  streams?: VectorStream[];
}

export function loadVectors(set: string): Vector[] {
  const dir = join(vectorsDir, set);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((jsonFile) => {
      const file = jsonFile.slice(0, -'.json'.length);
      const meta = JSON.parse(readFileSync(join(dir, jsonFile), 'utf8')) as Omit<Vector, 'name' | 'file' | 'wire'>;
      return { ...meta, name: `${set}/${file}`, file, wire: readFileSync(join(dir, file)) };
    });
}

/** Turns the vectors' JSON notation ({"$int32": n}, {"$binary": hex}, …) into our .NET value types. */
export function fromVectorJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromVectorJson);
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if ('$int32' in o) return new Int32(o['$int32'] as number);
  if ('$int64' in o) return new Int64(BigInt(o['$int64'] as string));
  if ('$double' in o) return new Double(o['$double'] as number);
  if ('$date' in o) return new Date(o['$date'] as string);
  if ('$binary' in o) {
    const bytes = Buffer.from(o['$binary'] as string, 'hex');
    const subtype = o['$subtype'] as number;
    if (subtype === 4 && bytes.length === 16) return Guid.fromDotnetBytes(bytes);
    return subtype === 0 ? bytes : new Binary(subtype, bytes);
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fromVectorJson(v)]));
}

/** The inverse of {@link fromVectorJson}, for comparing a decoded document with the vector's. */
export function toVectorJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toVectorJson);
  if (value instanceof Int32) return { $int32: value.value };
  if (value instanceof Int64) return { $int64: value.value.toString() };
  if (value instanceof Double) return { $double: value.value };
  if (value instanceof Date) return { $date: value.toISOString() };
  if (value instanceof Guid) return { $binary: value.toDotnetBytes().toString('hex'), $subtype: 4 };
  if (value instanceof Binary) return { $binary: value.bytes.toString('hex'), $subtype: value.subtype };
  if (Buffer.isBuffer(value)) return { $binary: value.toString('hex'), $subtype: 0 };
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toVectorJson(v)]));
}
