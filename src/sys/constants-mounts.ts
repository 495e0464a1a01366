/**
 * Constants for the mount namespace mechanism (linux/mount.h, linux/stat.h,
 * uapi/linux/fcntl.h, sys/mman.h). The same on x86-64 and aarch64; the basic
 * MS_* and MOUNT_ATTR_* values live in constants.ts.
 */

// mount(2) flags not in constants.ts (linux/mount.h).
export const MS_SYNCHRONOUS = 16;
export const MS_MANDLOCK = 64;
export const MS_DIRSYNC = 128;
export const MS_NOSYMFOLLOW = 256;
export const MS_NOATIME = 1024;
export const MS_NODIRATIME = 2048;
export const MS_SILENT = 32768;
export const MS_RELATIME = 1 << 21;
export const MS_STRICTATIME = 1 << 24;
export const MS_LAZYTIME = 1 << 25;

// umount2(2)
export const MNT_DETACH = 2;
export const UMOUNT_NOFOLLOW = 8;

/** struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd; } (MOUNT_ATTR_SIZE_VER0). */
export const MOUNT_ATTR_SIZE = 32;

// statx(2)
export const STATX_TYPE = 0x1;
export const STATX_MODE = 0x2;
export const STATX_BASIC_STATS = 0x7ff;
export const STATX_MNT_ID = 0x1000;
/** stx_attributes bit: the path is the root of a mount (Linux 5.8). */
export const STATX_ATTR_MOUNT_ROOT = 0x2000;
export const STATX_SIZE = 256;
export const STATX_OFF_ATTRIBUTES = 8;
export const STATX_OFF_MODE = 28;
export const STATX_OFF_ATTRIBUTES_MASK = 56;

// File types (st_mode & S_IFMT).
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

// lseek(2)
export const SEEK_SET = 0;

// mmap(2)
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 0x01;
export const MAP_ANONYMOUS = 0x20;
