import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

/**
 * Counts occurrences of `needle` in this process's readable, private memory
 * (heap, anonymous mappings, stacks), read through /proc/self/mem. Lets a test
 * assert that plaintext bytes are nowhere in memory, not merely absent from
 * one object. The needle itself is one of the copies found, so a value held
 * nowhere else counts 1. Linux only; returns undefined elsewhere.
 */
export function countInProcessMemory(needle: Buffer): number | undefined {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return undefined;
  }
  const fd = openSync('/proc/self/mem', 'r');
  const chunk = Buffer.allocUnsafeSlow(1 << 20);
  let found = 0;
  try {
    for (const line of maps.split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (r)..p \S+ \S+ (\d+)\s*(.*)$/.exec(line);
      if (!m) continue;
      const path = m[5] ?? '';
      // Skip mapped files (code, data of libraries) and the vvar/vsyscall pages; keep heap, stack and anonymous memory.
      if (path !== '' && path !== '[heap]' && !path.startsWith('[stack') && !path.startsWith('[anon')) continue;
      const start = BigInt(`0x${m[1]}`);
      const end = BigInt(`0x${m[2]}`);
      for (let pos = start; pos < end; pos += BigInt(chunk.length - needle.length + 1)) {
        const want = Number(end - pos < BigInt(chunk.length) ? end - pos : BigInt(chunk.length));
        let n: number;
        try {
          n = readSync(fd, chunk, 0, want, pos);
        } catch {
          break;
        }
        if (n <= 0) break;
        let at = chunk.subarray(0, n).indexOf(needle);
        while (at >= 0) {
          found += 1;
          // Wipe the match from the read buffer, so reading the buffer's own pages later finds no stale copy.
          chunk.fill(0, at, at + needle.length);
          at = chunk.subarray(0, n).indexOf(needle, at + 1);
        }
        if (n < want) break;
      }
    }
  } finally {
    closeSync(fd);
    chunk.fill(0);
  }
  return found;
}
