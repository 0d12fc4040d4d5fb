// struct (Roberto Ierusalimschy's struct library as Redis bundles it): pack, unpack, size.
// Not written yet: the table is there so that scripts see Redis's names.

import type { LuaVm } from './lua-vm.js';
import type { LibFn } from './lib-support.js';

export function installStruct(L: LuaVm, define: (name: string, fn: LibFn) => void): void {
  void L;
  void define;
}
