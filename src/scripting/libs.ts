// The libraries Redis 7.0 loads into its Lua state: cjson, cmsgpack, bit, struct.

import type { LuaVm } from './lua-vm.js';

export function installLibraries(L: LuaVm): void {
  for (const name of ['cjson', 'cmsgpack', 'bit', 'struct']) {
    L.createtable(0, 8);
    L.setglobal(name);
  }
}
