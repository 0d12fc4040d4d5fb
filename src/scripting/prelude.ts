// The Lua side of the sandbox, run once per engine with the full standard library: Lua 5.1 names
// scripts written for Redis use, Redis's error handler, and the read-only globals of Redis 7.0.
// Scripts see only the proxy `env`: reading a missing global raises, writing any global raises,
// and library tables are read-only proxies (rawset is guarded too).

/** Chunk name of this code: the error handler skips its frames as Redis skips C frames. */
export const PRELUDE_CHUNK = '=tessera';

export const PRELUDE = `
local G = _G
local dbg = debug
local type, error, tostring, setmetatable, rawset, rawget, pairs, next, load =
      type, error, tostring, setmetatable, rawset, rawget, pairs, next, load
local INTERNAL = '${PRELUDE_CHUNK}'

-- Lua 5.1 names.
unpack = table.unpack
table.getn = function(t) return #t end
table.maxn = function(t)
  local n = 0
  for k in pairs(t) do if type(k) == 'number' and k > n then n = k end end
  return n
end
table.setn = function() error("'setn' is obsolete", 2) end
table.foreach = function(t, f)
  for k, v in pairs(t) do local r = f(k, v) if r ~= nil then return r end end
end
table.foreachi = function(t, f)
  for i = 1, #t do local r = f(i, t[i]) if r ~= nil then return r end end
end
math.pow = function(x, y) return x ^ y end
math.mod = math.fmod
math.log10 = function(x) return math.log(x, 10) end
math.ldexp = function(m, e) return m * 2.0 ^ e end
math.frexp = function(x)
  if x == 0 or x ~= x or x == math.huge or x == -math.huge then return x, 0 end
  local e = math.floor(math.log(math.abs(x), 2)) + 1
  local m = x / 2.0 ^ e
  if math.abs(m) >= 1 then m = m / 2; e = e + 1 elseif math.abs(m) < 0.5 then m = m * 2; e = e - 1 end
  return m, e
end
math.cosh = math.cosh or function(x) return (math.exp(x) + math.exp(-x)) / 2 end
math.sinh = math.sinh or function(x) return (math.exp(x) - math.exp(-x)) / 2 end
math.tanh = math.tanh or function(x) local a, b = math.exp(x), math.exp(-x) return (a - b) / (a + b) end
string.gfind = string.gmatch
-- Lua 5.1's error() put the position in front of a number message too.
G.error = function(msg, level)
  level = level or 1
  if type(msg) == 'number' then msg = G.tostring(msg) end
  if level > 0 then level = level + 1 end
  error(msg, level)
end
-- Lua 5.4 prints integral floats as "5.0"; Lua 5.1 printed every number with "%.14g".
if math.type and _VERSION ~= 'Lua 5.3' then
  local tostring54, mtype, format = tostring, math.type, string.format
  G.tostring = function(v)
    if mtype(v) == 'float' then return format('%.14g', v) end
    return tostring54(v)
  end
end
gcinfo = function() return math.floor(collectgarbage('count')) end
_VERSION = 'Lua 5.1'

-- Redis's error handler (script_lua.c), which names the script's line: C frames (fengari calls
-- them 'J'; and this file's frames) are skipped to reach the caller.
local function errh(err)
  local level = 2
  local i = dbg.getinfo(level, 'nSl')
  while i and (i.what == 'C' or i.what == 'J' or i.source == INTERNAL) do
    level = level + 1
    i = dbg.getinfo(level, 'nSl')
  end
  if type(err) ~= 'table' then
    err = {err = 'ERR ' .. tostring(err)}
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end
__redis__err__handler = errh

-- What scripts must not reach.
for _, name in ipairs({'print', 'dofile', 'loadfile', 'require', 'package', 'io', 'os', 'utf8',
                       'debug', 'rawlen', 'warn'}) do
  G[name] = nil
end

local readonly = setmetatable({}, {__mode = 'k'})
local function ro_newindex() error('Attempt to modify a readonly table', 2) end
local function protect(t)
  local p = setmetatable({}, {
    __index = t,
    __newindex = ro_newindex,
    __pairs = function() return next, t, nil end,
    __len = function() return #t end,
    __metatable = false,
  })
  readonly[p] = true
  return p
end

local env = protect(G)
G._G = env
G.rawset = function(t, k, v)
  if readonly[t] then error('Attempt to modify a readonly table', 0) end
  return rawset(t, k, v)
end

-- loadstring / load compile text only, into the sandbox.
local function load_text(chunk, name)
  if type(chunk) ~= 'string' then return load(chunk, name, 't', env) end
  return load(chunk, name, 't', env)
end
loadstring = function(s, name) return load_text(s, name or s) end
G.load = load_text

setmetatable(G, {__index = function(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end})

-- The engine's entry points (returned, never globals).
return {
  env = env,
  errh = errh,
  protect = protect,
  compile = function(body, name) return load(body, name, 't', env) end,
  setglobal = function(k, v) rawset(G, k, v) end,
  -- Library tables become read-only once the engine has filled them.
  seal = function(names)
    for _, name in ipairs(names) do rawset(G, name, protect(G[name])) end
  end,
  -- The globals of FUNCTION libraries (Redis 7.0 function_lua.c): while a library loads it sees
  -- only redis.register_function, redis.log and the constants; its functions then run with the
  -- script globals minus KEYS, ARGV and the debugger calls. One env, whose __index is switched.
  function_env = function(register_function)
    local strict = {__index = function(_, k)
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end}
    local rt = {}
    for k, v in next, G do
      if k ~= 'KEYS' and k ~= 'ARGV' and k ~= '__redis__err__handler' then rt[k] = v end
    end
    local r = {}
    for k, v in pairs(G.redis) do
      if k ~= 'breakpoint' and k ~= 'debug' and k ~= 'replicate_commands' then r[k] = v end
    end
    rt.redis = protect(r)
    setmetatable(rt, strict)
    local lr = setmetatable({register_function = register_function, log = r.log,
      LOG_DEBUG = r.LOG_DEBUG, LOG_VERBOSE = r.LOG_VERBOSE, LOG_NOTICE = r.LOG_NOTICE,
      LOG_WARNING = r.LOG_WARNING, REDIS_VERSION = r.REDIS_VERSION,
      REDIS_VERSION_NUM = r.REDIS_VERSION_NUM}, strict)
    local loadapi = setmetatable({redis = protect(lr)}, strict)
    local meta = {__index = rt, __newindex = ro_newindex, __metatable = false}
    local fenv = setmetatable({}, meta)
    readonly[fenv] = true
    rt._G = fenv
    local compile = function(body, name) return load(body, name, 't', fenv) end
    local loading = function(on) if on then meta.__index = loadapi else meta.__index = rt end end
    return compile, loading
  end,
}
`;
