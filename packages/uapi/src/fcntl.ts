/** File flags and modes (include/uapi/asm-generic/fcntl.h, linux/stat.h, linux/fs.h) as on x86_64. */
export const O = {
  RDONLY: 0o0,
  WRONLY: 0o1,
  RDWR: 0o2,
  ACCMODE: 0o3,
  CREAT: 0o100,
  EXCL: 0o200,
  NOCTTY: 0o400,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  NONBLOCK: 0o4000,
  DSYNC: 0o10000,
  DIRECT: 0o40000,
  LARGEFILE: 0o100000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  NOATIME: 0o1000000,
  CLOEXEC: 0o2000000,
  PATH: 0o10000000,
} as const;

/** `dirfd` meaning "the current working directory". */
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;

export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
/** Highest whence lseek accepts (SEEK_HOLE = 4 in Linux; data/hole seeking is answered like SEEK_END/SET). */
export const SEEK_MAX = 4;

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

/** linux_dirent64.d_type values (DT_*). */
export const DT = { UNKNOWN: 0, FIFO: 1, CHR: 2, DIR: 4, BLK: 6, REG: 8, LNK: 10, SOCK: 12 } as const;

/** Longest path (including the NUL) and path component Linux accepts. */
export const PATH_MAX = 4096;
export const NAME_MAX = 255;
/** Default RLIMIT_NOFILE soft limit. */
export const NR_OPEN_DEFAULT = 1024;
/** Pipe capacity (16 pages). */
export const PIPE_BUF_CAPACITY = 65536;
/** Writes up to this size to a pipe are atomic. */
export const PIPE_BUF = 4096;
