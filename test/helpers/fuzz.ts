/**
 * Shared pieces of the wire fuzz tests: a seeded PRNG (every run prints its
 * seed, and SHIFTGATE_FUZZ_SEED replays it), frame mutations, a watch on
 * the process for errors nobody caught, and a memory reading.
 *
 * SHIFTGATE_FUZZ_FRAMES sets how many frames each direction sends
 * (10,000 by default; `npm run fuzz` runs 100,000).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** mulberry32: a 32-bit PRNG, small and good enough to pick mutations reproducibly. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Rng {
  readonly seed: number;
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  chance(p: number): boolean;
  pick<T>(list: readonly T[]): T;
}

/** The run's seed: SHIFTGATE_FUZZ_SEED when set, else random. One per process, so one number replays a run. */
const BASE_SEED = process.env.SHIFTGATE_FUZZ_SEED
  ? Number(process.env.SHIFTGATE_FUZZ_SEED) >>> 0
  : Math.floor(Math.random() * 2 ** 32) >>> 0;

/** A PRNG from the run's seed; `salt` gives each stream (direction, side) its own sequence. */
export function fuzzRng(salt: number): Rng {
  const base = BASE_SEED;
  const seed = (base ^ Math.imul(salt, 0x9e3779b1)) >>> 0;
  const next = mulberry32(seed);
  return {
    seed: base,
    next,
    int: (n) => Math.floor(next() * n),
    chance: (p) => next() < p,
    pick: (list) => list[Math.floor(next() * list.length)]!,
  };
}

export const FUZZ_FRAMES = Number(process.env.SHIFTGATE_FUZZ_FRAMES ?? 10_000);

/** How a frame's header is laid out, so length mutations hit the length field. */
export interface FrameLayout {
  /** Offset and size of the length field. */
  lengthOffset: number;
  lengthBytes: 3 | 4;
  littleEndian: boolean;
  /** Lengths worth trying that are far too large, or negative when read signed. */
  hugeLengths: readonly number[];
}

export const PG_LAYOUT: FrameLayout = {
  lengthOffset: 1,
  lengthBytes: 4,
  littleEndian: false,
  hugeLengths: [0x7fffffff, 0xffffffff, 0x80000000, 0x10000000, 0x00100001, 0x01000000, 3, 0],
};

export const MYSQL_LAYOUT: FrameLayout = {
  lengthOffset: 0,
  lengthBytes: 3,
  littleEndian: true,
  hugeLengths: [0xffffff, 0xfffffe, 0x800000, 0x100001, 0x200000],
};

export type MutationKind =
  | 'bitflip'
  | 'byte'
  | 'truncate'
  | 'length-off'
  | 'length-huge'
  | 'header-byte'
  | 'garbage'
  | 'duplicate';

export const MUTATION_KINDS: readonly MutationKind[] = [
  'bitflip',
  'byte',
  'truncate',
  'length-off',
  'length-huge',
  'header-byte',
  'garbage',
  'duplicate',
];

function readLength(b: Buffer, layout: FrameLayout): number {
  if (layout.lengthBytes === 4) return b.readUInt32BE(layout.lengthOffset);
  return b.readUIntLE(layout.lengthOffset, 3);
}

function writeLength(b: Buffer, layout: FrameLayout, value: number): void {
  if (layout.lengthBytes === 4) b.writeUInt32BE(value >>> 0, layout.lengthOffset);
  else b.writeUIntLE(value & 0xffffff, layout.lengthOffset, 3);
}

/** One mutation of a whole frame (header included); the result may be shorter, longer or several frames' worth. */
export function mutate(frame: Buffer, layout: FrameLayout, rng: Rng): { bytes: Buffer; kind: MutationKind } {
  const kind = rng.pick(MUTATION_KINDS);
  const out = Buffer.from(frame);
  const headerEnd = layout.lengthOffset + layout.lengthBytes;
  switch (kind) {
    case 'bitflip':
      for (let k = 1 + rng.int(3); k > 0; k--) {
        const at = rng.int(out.length);
        out[at] = out[at]! ^ (1 << rng.int(8));
      }
      return { bytes: out, kind };
    case 'byte':
      out[rng.int(out.length)] = rng.int(256);
      return { bytes: out, kind };
    case 'truncate':
      return { bytes: out.subarray(0, rng.int(out.length)), kind };
    case 'length-off': {
      if (out.length < headerEnd) return { bytes: out, kind };
      let delta = rng.int(17) - 8;
      if (delta === 0) delta = 1;
      writeLength(out, layout, Math.max(0, readLength(out, layout) + delta));
      return { bytes: out, kind };
    }
    case 'length-huge':
      if (out.length < headerEnd) return { bytes: out, kind };
      writeLength(out, layout, rng.pick(layout.hugeLengths));
      return { bytes: out, kind };
    case 'header-byte': {
      // The type byte (PostgreSQL) or the sequence id (MySQL).
      const at = layout.lengthOffset === 0 ? layout.lengthBytes : 0;
      out[at] = rng.int(256);
      return { bytes: out, kind };
    }
    case 'garbage': {
      const junk = Buffer.alloc(1 + rng.int(40));
      for (let i = 0; i < junk.length; i++) junk[i] = rng.int(256);
      const at = rng.int(out.length + 1);
      return { bytes: Buffer.concat([out.subarray(0, at), junk, out.subarray(at)]), kind };
    }
    case 'duplicate': {
      // The header twice: the first copy's length then swallows the start of the second.
      return { bytes: Buffer.concat([out.subarray(0, Math.min(headerEnd, out.length)), out]), kind };
    }
  }
}

/**
 * Records every exception and rejection nobody handled while it is on. The
 * proxy runs in the test process: one of these would crash a real one.
 */
export function watchProcess(): { errors: string[]; stop(): void } {
  const errors: string[] = [];
  const onException = (err: Error) => errors.push(`uncaughtException: ${err.stack ?? err}`);
  const onRejection = (reason: unknown) =>
    errors.push(`unhandledRejection: ${(reason as Error)?.stack ?? String(reason)}`);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return {
    errors,
    stop() {
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
    },
  };
}

let gc: (() => void) | null = null;

/** Resident set size in MB after a full garbage collection, so garbage not yet collected does not count as growth. */
export function settledRssMb(): number {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
  return process.memoryUsage().rss / 1024 / 1024;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An ordinary client beside the fuzzed sessions: its connection, and one `SELECT 1` that returns the number it read. */
export interface NeighbourClient {
  selectOne(): Promise<unknown>;
  end(): Promise<void>;
}

/**
 * Runs `SELECT 1` in a loop on the client `connect` opens (it reports
 * connection errors through `onError`) until `stop`, and tells how many
 * queries ran and every error or wrong answer it saw: a fuzz run passes only
 * if its neighbour saw none.
 */
export function neighbour(connect: (onError: (message: string) => void) => Promise<NeighbourClient>): {
  stop(): Promise<{ queries: number; errors: string[] }>;
} {
  const errors: string[] = [];
  let queries = 0;
  let stopping = false;
  const loop = (async () => {
    const client = await connect((m) => errors.push(`connection error: ${m}`));
    while (!stopping) {
      try {
        const one = await client.selectOne();
        if (one !== 1) errors.push(`wrong answer ${JSON.stringify(one)}`);
        queries++;
      } catch (e) {
        errors.push((e as Error).message);
        await sleep(50);
      }
      await sleep(2);
    }
    await client.end();
  })().catch((e: Error) => errors.push(`neighbour failed: ${e.message}`));
  return {
    async stop() {
      stopping = true;
      await loop;
      return { queries, errors };
    },
  };
}

/** Runs `work(i)` for i = 0, 1, ... with `concurrency` at a time while `more()` says so. */
export async function pool(concurrency: number, more: () => boolean, work: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (more()) await work(next++);
    }),
  );
}
