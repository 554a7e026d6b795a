/**
 * Linux errno numbers (include/uapi/asm-generic/errno-base.h and errno.h) and their strerror texts. A syscall
 * returns `-errno` on failure, exactly as the x86_64 kernel does.
 */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENODATA: 61,
  ENOLINK: 67,
  EPROTO: 71,
  EOVERFLOW: 75,
  EBADFD: 77,
  ENOTSOCK: 88,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  EPROTOTYPE: 91,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  ESOCKTNOSUPPORT: 94,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETUNREACH: 101,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  EISCONN: 106,
  ENOTCONN: 107,
  ECONNREFUSED: 111,
  EALREADY: 114,
  EINPROGRESS: 115,
  ETIMEDOUT: 110,
  ESTALE: 116,
} as const;

export type ErrnoName = keyof typeof Errno;
export type ErrnoValue = (typeof Errno)[ErrnoName];

const MESSAGES: Readonly<Record<ErrnoName, string>> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EINTR: 'Interrupted system call',
  EIO: 'Input/output error',
  ENXIO: 'No such device or address',
  E2BIG: 'Argument list too long',
  ENOEXEC: 'Exec format error',
  EBADF: 'Bad file descriptor',
  ECHILD: 'No child processes',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EFAULT: 'Bad address',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  EXDEV: 'Invalid cross-device link',
  ENODEV: 'No such device',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EINVAL: 'Invalid argument',
  ENFILE: 'Too many open files in system',
  EMFILE: 'Too many open files',
  ENOTTY: 'Inappropriate ioctl for device',
  EFBIG: 'File too large',
  ENOSPC: 'No space left on device',
  ESPIPE: 'Illegal seek',
  EROFS: 'Read-only file system',
  EMLINK: 'Too many links',
  EPIPE: 'Broken pipe',
  ERANGE: 'Numerical result out of range',
  EDEADLK: 'Resource deadlock avoided',
  ENAMETOOLONG: 'File name too long',
  ENOSYS: 'Function not implemented',
  ENOTEMPTY: 'Directory not empty',
  ELOOP: 'Too many levels of symbolic links',
  ENODATA: 'No data available',
  ENOLINK: 'Link has been severed',
  EPROTO: 'Protocol error',
  EOVERFLOW: 'Value too large for defined data type',
  ENOTSOCK: 'Socket operation on non-socket',
  EBADFD: 'File descriptor in bad state',
  EOPNOTSUPP: 'Operation not supported',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EDESTADDRREQ: 'Destination address required',
  EMSGSIZE: 'Message too long',
  EPROTOTYPE: 'Protocol wrong type for socket',
  ENOPROTOOPT: 'Protocol not available',
  EPROTONOSUPPORT: 'Protocol not supported',
  ESOCKTNOSUPPORT: 'Socket type not supported',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENETUNREACH: 'Network is unreachable',
  ECONNABORTED: 'Software caused connection abort',
  ECONNRESET: 'Connection reset by peer',
  EISCONN: 'Transport endpoint is already connected',
  ENOTCONN: 'Transport endpoint is not connected',
  ECONNREFUSED: 'Connection refused',
  EALREADY: 'Operation already in progress',
  EINPROGRESS: 'Operation now in progress',
  ETIMEDOUT: 'Connection timed out',
  ESTALE: 'Stale file handle',
};

const NAME_BY_VALUE = new Map<number, ErrnoName>(Object.entries(Errno).map(([name, value]) => [value, name as ErrnoName]));

/**
 * ENOTSUPP, Linux's kernel-internal errno 524 (include/linux/errno.h, not uapi), which the bpf() commands still
 * hand user space (an LRU map without preallocation, a test run of a type without one). glibc's strerror does
 * not know it; errnoName names it as bpftool's messages do.
 */
export const ENOTSUPP = 524;

/** `errnoName(2)` is `'ENOENT'`; unknown numbers read `'E?<n>'`. Accepts the positive errno or a `-errno` return. */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  if (n === ENOTSUPP) return 'ENOTSUPP';
  return NAME_BY_VALUE.get(n) ?? `E?${n}`;
}

/** strerror(3) text for an errno (positive or negative). */
export function strerror(errno: number): string {
  const name = NAME_BY_VALUE.get(Math.abs(errno));
  return name === undefined ? `Unknown error ${Math.abs(errno)}` : MESSAGES[name];
}

/** The largest errno a negative return carries (MAX_ERRNO, include/linux/err.h). */
export const MAX_ERRNO = 4095;

/** Linux's IS_ERR_VALUE for syscall returns: -MAX_ERRNO..-1 are errors. */
export function isErrorReturn(ret: number): boolean {
  return ret < 0 && ret >= -MAX_ERRNO;
}
