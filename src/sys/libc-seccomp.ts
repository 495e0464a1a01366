/**
 * libc bindings for the seccomp mechanism beyond what libc.ts has (seccomp(2) and prctl live there).
 * Same rules as libc.ts: fixed-arity prototypes, Smis for integers.
 */
import koffi from 'koffi';

const lib = koffi.load('libc.so.6');

/** personality(2) with 0xffffffff only queries: the current persona, or -1. */
const personalityCall = lib.func('int personality(unsigned long persona)') as unknown as (persona: number) => number;

/** The calling process's execution domain (PER_LINUX, PER_LINUX32, … with flags), or undefined if the query fails. */
export function currentPersonality(): number | undefined {
  const p = personalityCall(0xffffffff);
  return p < 0 ? undefined : p;
}
