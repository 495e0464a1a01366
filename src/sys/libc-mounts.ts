/**
 * libc functions and raw system calls used only by the mount namespace
 * mechanism. Same conventions as libc.ts: fixed-arity prototypes, Buffers for
 * pointers (preallocated off-heap ones in code that runs after fork).
 */
import koffi from 'koffi';
import { SYS } from './arch/index.js';
import type { Ptr } from './libc.js';

const lib = koffi.load('libc.so.6');

function fn<T>(decl: string): T {
  return lib.func(decl) as unknown as T;
}

/** mount(2). source/fstype/data may be NULL. */
export const mount = fn<(source: Ptr, target: Ptr, fstype: Ptr, flags: number, data: Ptr) => number>(
  'int mount(void *source, void *target, void *fstype, unsigned long flags, void *data)',
);
export const umount2 = fn<(target: Ptr, flags: number) => number>('int umount2(void *target, int flags)');
export const mkdir = fn<(path: Ptr, mode: number) => number>('int mkdir(void *path, uint32_t mode)');
export const rmdir = fn<(path: Ptr) => number>('int rmdir(void *path)');
export const symlink = fn<(target: Ptr, linkpath: Ptr) => number>('int symlink(void *target, void *linkpath)');
/** dev: glibc's dev_t encoding (what stat's st_rdev holds). */
export const mknod = fn<(path: Ptr, mode: number, dev: number) => number>('int mknod(void *path, uint32_t mode, uint64_t dev)');
export const chroot = fn<(path: Ptr) => number>('int chroot(void *path)');
export const lseek = fn<(fd: number, offset: number, whence: number) => number>('long lseek(int fd, long offset, int whence)');
/** statx(2) through glibc (2.28+). buf: struct statx (256 bytes). */
export const statx = fn<(dirfd: number, path: Ptr, flags: number, mask: number, buf: Ptr) => number>(
  'int statx(int dirfd, void *path, int flags, uint32_t mask, void *buf)',
);
/** Returns the mapping's address (MAP_FAILED is 2^64-1). */
export const mmap = fn<(addr: null, length: number, prot: number, flags: number, fd: number, offset: number) => bigint>(
  'void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset)',
);

const syscallOpenTree = fn<(nr: number, dfd: number, path: Ptr, flags: number) => number>('long syscall(long nr, int dfd, void *path, uint32_t flags)');
const syscallMoveMount = fn<(nr: number, fromDfd: number, fromPath: Ptr, toDfd: number, toPath: Ptr, flags: number) => number>(
  'long syscall(long nr, int from_dfd, void *from_path, int to_dfd, void *to_path, uint32_t flags)',
);
const syscallMountSetattr = fn<(nr: number, dfd: number, path: Ptr, flags: number, attr: Ptr, size: number) => number>(
  'long syscall(long nr, int dfd, void *path, uint32_t flags, void *attr, size_t size)',
);

/** open_tree(2) (Linux 5.2): with OPEN_TREE_CLONE, a detached copy of the mount (tree) at path. */
export function open_tree(dfd: number, path: Ptr, flags: number): number {
  return syscallOpenTree(SYS.open_tree, dfd, path, flags);
}
/** move_mount(2) (Linux 5.2). */
export function move_mount(fromDfd: number, fromPath: Ptr, toDfd: number, toPath: Ptr, flags: number): number {
  return syscallMoveMount(SYS.move_mount, fromDfd, fromPath, toDfd, toPath, flags);
}
/** mount_setattr(2) (Linux 5.12). attr: struct mount_attr (32 bytes). */
export function mount_setattr(dfd: number, path: Ptr, flags: number, attr: Ptr, size: number): number {
  return syscallMountSetattr(SYS.mount_setattr, dfd, path, flags, attr, size);
}
