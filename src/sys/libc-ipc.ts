/** SysV IPC control calls (for RemoveIPC=). All take IPC_RMID and a NULL buffer here. */
import koffi from 'koffi';

const lib = koffi.load('libc.so.6');

export const IPC_RMID = 0;

export const shmctl = lib.func('int shmctl(int shmid, int cmd, void *buf)') as unknown as (id: number, cmd: number, buf: null) => number;
export const msgctl = lib.func('int msgctl(int msqid, int cmd, void *buf)') as unknown as (id: number, cmd: number, buf: null) => number;
export const semctl = lib.func('int semctl(int semid, int semnum, int cmd, unsigned long arg)') as unknown as (id: number, num: number, cmd: number, arg: number) => number;
