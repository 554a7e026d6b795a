import type { File, FileOperations, IoContext } from '../fs/file.js';

const decoder = new TextDecoder();

/**
 * The system console (/dev/console, fds 0-2 of spawned processes). Output is kept in order with the virtual
 * time it was written and handed to a listener (demos print it). Input is not modelled: reads return 0.
 */
export class Console {
  readonly lines: Array<{ time: number; text: string }> = [];
  private text = '';

  constructor(
    private readonly clock: { readonly now: number },
    private readonly listener?: (text: string) => void,
  ) {}

  /** Everything written so far. */
  get output(): string {
    return this.text;
  }

  write(text: string): void {
    this.text += text;
    this.lines.push({ time: this.clock.now, text });
    this.listener?.(text);
  }

  readonly ops: FileOperations = {
    name: 'console',
    read: () => 0,
    write: (_io: IoContext, _file: File, data: Uint8Array, count: number): number => {
      this.write(decoder.decode(data.subarray(0, count)));
      return count;
    },
  };
}
