// cmsgpack (lua-cmsgpack as Redis bundles it): pack(...) and unpack(s). Not written yet: the
// table is there so that scripts see Redis's names; the functions raise until they are.

import type { LuaVm } from './lua-vm.js';
import type { LibFn } from './lib-support.js';

export function installMsgpack(L: LuaVm, define: (name: string, fn: LibFn) => void): void {
  L.pushstring('lua-cmsgpack');
  L.setfield(-2, '_NAME');
  void define;
}
