/**
 * The deterministic event trace: one text line per kernel event (context switch, wake-up, fork, exec, exit,
 * syscall), stamped with virtual time and CPU. Two runs with the same seed and workload give the same lines
 * byte for byte; `digest()` summarises them for comparison.
 */
export class TraceLog {
  readonly lines: string[] = [];
  /** Also record every syscall entry and exit. */
  syscalls = false;
  private h1 = 0x811c9dc5;
  private h2 = 0x01000193;

  constructor(
    public enabled: boolean,
    /** Keep at most this many lines in memory (the digest covers all of them). */
    private readonly maxLines = 1_000_000,
  ) {}

  emit(now: number, cpu: number, text: string): void {
    const line = `${now} [${cpu}] ${text}`;
    if (this.lines.length < this.maxLines) this.lines.push(line);
    // Two independent 32-bit FNV-1a-style hashes make a 64-bit digest without BigInt.
    let h1 = this.h1;
    let h2 = this.h2;
    for (let index = 0; index < line.length; index++) {
      const c = line.charCodeAt(index);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    }
    h1 = Math.imul(h1 ^ 10, 0x01000193);
    this.h1 = h1;
    this.h2 = h2;
  }

  /** A 64-bit digest of every line emitted, as 16 hex digits. */
  digest(): string {
    return (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0');
  }

  text(): string {
    return this.lines.join('\n') + (this.lines.length > 0 ? '\n' : '');
  }
}
