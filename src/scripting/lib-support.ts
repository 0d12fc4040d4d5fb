// What the JS libraries (libs.ts, lib-cmsgpack.ts, lib-struct.ts) share: the function shape and
// the error a library raises (with the calling line in front, as luaL_error does).

import type { LuaVm } from './lua-vm.js';

/** A JS library function: reads its arguments, pushes its results and returns their count, or
 * throws LibError. */
export type LibFn = (L: LuaVm) => number;

/** Raised from a library function; its message becomes the Lua error. */
export class LibError extends Error {}
