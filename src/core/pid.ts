/**
 * kill(pid, 0): true while a process with this pid exists (EPERM: it exists,
 * owned by someone else). Used for the data directory's lock and for a dead
 * build's leftovers (scripts/build-if-needed.ts); dependency-free, so the build
 * script can load it before anything is compiled.
 */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
