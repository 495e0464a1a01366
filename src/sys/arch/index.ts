/** The running architecture's kernel data, picked once by process.arch. */
import { AARCH64 } from './aarch64.js';
import type { ArchInfo } from './types.js';
import { X86_64 } from './x86_64.js';

export type { ArchInfo, SyscallNumbers } from './types.js';

function pick(): ArchInfo {
  switch (process.arch) {
    case 'x64':
      return X86_64;
    case 'arm64':
      return AARCH64;
    default:
      throw new Error(`sysg: unsupported architecture ${process.arch} (x64 and arm64 only)`);
  }
}

export const ARCH: ArchInfo = pick();
export const SYS = ARCH.sys;
