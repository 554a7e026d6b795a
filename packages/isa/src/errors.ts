/**
 * An error in eBPF bytecode, with the kernel-style parts: a title, the detail (slot, field, value) and a hint.
 */
export class IsaError extends Error {
  override readonly name = 'IsaError';
  constructor(
    readonly title: string,
    readonly detail: { readonly slot?: number; readonly field?: string; readonly value?: number | string },
    readonly hint?: string,
  ) {
    super(IsaError.format(title, detail, hint));
  }

  private static format(title: string, detail: { readonly slot?: number; readonly field?: string; readonly value?: number | string }, hint?: string): string {
    const parts: string[] = [];
    if (detail.slot !== undefined) parts.push(`insn ${detail.slot}`);
    if (detail.field !== undefined) parts.push(`field ${detail.field}`);
    if (detail.value !== undefined) {
      parts.push(`value ${typeof detail.value === 'number' ? `0x${(detail.value >>> 0).toString(16)}` : detail.value}`);
    }
    const where = parts.length > 0 ? ` (${parts.join(', ')})` : '';
    return `${title}${where}${hint ? `\n  hint: ${hint}` : ''}`;
  }
}

/** An error in assembly text, with a 1-based line and column. */
export class AsmError extends Error {
  override readonly name = 'AsmError';
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${line}:${column}: ${reason}`);
  }
}
