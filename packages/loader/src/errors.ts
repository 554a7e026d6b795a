/**
 * Why libbpf refuses an object, by its error class: `format` is LIBBPF_ERRNO__FORMAT (the ELF does not hold
 * what a BPF object must), `reloc` is LIBBPF_ERRNO__RELOC (a relocation the loader cannot apply), `unsupported`
 * is ENOTSUP (a construct libbpf declines, such as a static entry program), `invalid` is EINVAL (a key or value
 * that does not fit its map, as libbpf's bpf_map__lookup_elem checks sizes), `syscall` a bpf() command the kernel
 * refused (its errno in `errno`).
 */
export type LoaderErrorKind = 'format' | 'reloc' | 'unsupported' | 'invalid' | 'syscall';

/**
 * An object the loader cannot turn into programs. The message is libbpf's own warning for the same case
 * (`prog 'xdp_prog': bad call relo against 'f' in section 'xdp'`); `hint` says what to change, when it helps.
 */
export class LoaderError extends Error {
  override readonly name = 'LoaderError';
  constructor(
    message: string,
    readonly kind: LoaderErrorKind,
    readonly hint?: string,
    /** For `syscall`: the errno the kernel returned (positive). */
    readonly errno?: number,
  ) {
    super(hint === undefined ? message : `${message} (${hint})`);
  }
}
