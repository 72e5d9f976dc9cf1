// Finds and reads the golden vectors serialized by real Halibut. They live beside the project (../shared/vectors),
// never inside it. Where the folder is absent (a user's clone) the vector tests skip and say so; under CI=true a
// missing folder fails instead, so CI can never pass without them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Binary, Double, Guid, Int32, Int64 } from '../../lib/protocol/dotnet-values.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const vectorsDir = process.env['HALIBUT_VECTORS_DIR'] ?? join(projectRoot, '..', 'shared', 'vectors');

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

/** Returns the reason vectors are unavailable, or undefined when they can be used. Throws under CI. */
export function vectorsUnavailable(): string | undefined {
  if (existsSync(vectorsDir)) return undefined;
  const reason = `golden vectors not found at ${vectorsDir}`;
  if (process.env['CI'] === 'true') throw new Error(`${reason}; CI must run beside ../shared`);
  return reason;
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
