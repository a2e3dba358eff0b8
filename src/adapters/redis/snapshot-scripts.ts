/**
 * The Lua scripts of the Redis snapshot store. Each runs atomically inside Redis, touches only keys of
 * one bot (one hash tag, so it runs on Redis Cluster), and costs O(1) plus O(what it is given): no script
 * scans a whole snapshot. Every script that takes the data keys takes them as KEYS[1..6] in the order of
 * `dataKeyList` (meta, vec, rows, idx, text, free). See docs/snapshot.md for the invariants they keep.
 */

/**
 * Shared prelude. `snapshot_state` checks, in O(1), that the six data keys agree with the meta hash:
 * a key evicted or lost changes a length, so any partial snapshot is caught here.
 * Returns 'absent' (no meta), 'broken', or 'ok', dim, slots, live.
 */
const PRELUDE = `
-- Vector segment n of the data keys k: the string k[2] .. ':' .. n (same hash tag as every other key).
local function seg_key(k, n)
  return k[2] .. ':' .. n
end

-- Its int8 scan codes: the string k[2] .. ':' .. n .. ':i8' (one byte per float of segment n).
local function code_key(k, n)
  return k[2] .. ':' .. n .. ':i8'
end

local function seg_count(slots, seg)
  if slots == 0 then return 0 end
  return math.floor((slots + seg - 1) / seg)
end

local function snapshot_state(k)
  local m = redis.call('HMGET', k[1], 'dim', 'slots', 'live', 'seg', 'qs', 'qc', 'qr')
  if not m[1] then
    return 'absent'
  end
  local dim, slots, live, seg = tonumber(m[1]), tonumber(m[2]), tonumber(m[3]), tonumber(m[4])
  if not dim or not slots or not live or not seg or live > slots or live < 0
    or (slots > 0 and seg < 1)
    -- The int8 codes' scale and the two maxima their error bound needs (see quantise below).
    or (slots > 0 and not (tonumber(m[5]) and tonumber(m[5]) > 0 and tonumber(m[6]) and tonumber(m[7])))
    or redis.call('HLEN', k[3]) ~= live
    or redis.call('HLEN', k[4]) ~= live
    or redis.call('HLEN', k[5]) ~= live
    or redis.call('LLEN', k[6]) ~= slots - live then
    return 'broken'
  end
  -- Two STRLENs per segment (its vectors and its codes; a 1M-chunk 384-d bot has a few dozen segments),
  -- and no segment past the last.
  local count = seg_count(slots, seg)
  for n = 0, count - 1 do
    local rows = math.min(seg, slots - n * seg)
    if redis.call('STRLEN', seg_key(k, n)) ~= rows * dim * 4 then return 'broken' end
    if redis.call('STRLEN', code_key(k, n)) ~= rows * dim then return 'broken' end
  end
  if redis.call('EXISTS', seg_key(k, count), code_key(k, count)) > 0 then return 'broken' end
  return 'ok', dim, slots, live, seg
end

-- Unlinks segments 0, 1, ...: at least the known ones, then on until the first that is missing.
local function unlink_segments(k, known)
  local n = 0
  while true do
    local removed = redis.call('UNLINK', seg_key(k, n), code_key(k, n))
    if removed == 0 and n >= known then break end
    n = n + 1
  end
end

local function unlink_data(k)
  local m = redis.call('HMGET', k[1], 'slots', 'seg')
  local slots, seg = tonumber(m[1]), tonumber(m[2])
  local known = 0
  if slots and seg and seg >= 1 then known = seg_count(slots, seg) end
  unlink_segments(k, known)
  -- k[2] itself held the whole blob before segments: removed too, so an old snapshot leaves nothing.
  redis.call('UNLINK', k[1], k[2], k[3], k[4], k[5], k[6])
end

local function has_orphans(k)
  return redis.call('EXISTS', seg_key(k, 0), code_key(k, 0), k[2], k[3], k[4], k[5], k[6]) > 0
end

-- The live snapshot as a script may use it: 'ok', dim, slots, live, seg; or 'absent'; or 'dropped' after
-- deleting what a broken snapshot (or the orphans of an evicted meta hash) left behind.
local function live_state(k)
  local state, dim, slots, live, seg = snapshot_state(k)
  if state == 'ok' then return state, dim, slots, live, seg end
  if state == 'broken' or has_orphans(k) then
    unlink_data(k)
    return 'dropped'
  end
  return 'absent'
end

-- int8 codes of a float32 little-endian vector under scale s: c = round(x * s), clamped to +-127 (a
-- clamped code only makes its residual larger, which the bound then covers). Returns the codes as a
-- string, ||c / s|| and ||x - c / s|| (the per-row terms of the error bound of src/domain/quantised-scan.ts).
local function quantise(bytes, dim, s)
  local parts = {}
  local code_squares, residual_squares = 0, 0
  for from = 0, dim - 1, 200 do
    local n = math.min(200, dim - from)
    local xs = { struct.unpack('<' .. string.rep('f', n), bytes, from * 4 + 1) }
    local out = {}
    for j = 1, n do
      local x = xs[j]
      local c = math.floor(x * s + 0.5)
      if c > 127 then c = 127 elseif c < -127 then c = -127 end
      local r = x - c / s
      code_squares = code_squares + c * c
      residual_squares = residual_squares + r * r
      out[j] = c % 256
    end
    parts[#parts + 1] = string.char(unpack(out))
  end
  return table.concat(parts), math.sqrt(code_squares) / s, math.sqrt(residual_squares)
end

-- The scale a snapshot that starts from its first vector takes: room for components half as large
-- again as that vector's largest, so later vectors are rarely clamped. A rebuild picks it from all rows.
local function first_scale(bytes, dim)
  local largest = 0
  for from = 0, dim - 1, 200 do
    local n = math.min(200, dim - from)
    local xs = { struct.unpack('<' .. string.rep('f', n), bytes, from * 4 + 1) }
    for j = 1, n do largest = math.max(largest, math.abs(xs[j])) end
  end
  if largest == 0 or largest ~= largest then return 127 end
  return 127 / math.min(1, 1.5 * largest)
end
`;

/**
 * Applies one batch of changes.
 * KEYS: 6 data keys, building, dirty.
 * ARGV[1]: '' for the live snapshot; for a staging snapshot, the TTL (ms) its keys keep.
 * ARGV[2]: the caller's deadline in Unix ms ('' for none): past it the caller has given up on this call.
 * ARGV[3]: the most bytes a vector segment may hold (sets rows per segment when an empty snapshot takes
 * its dimension).
 * ARGV[4..]: changes in order, 'u', chunk_id, vector bytes, row JSON, text  |  'd', chunk_id.
 * A row is stored as its slot, a space and its JSON (see `encodeRowValue`).
 * Returns 'expired' (ran after the deadline, changed nothing), 'absent', 'dropped' (found broken and
 * deleted), or 'applied'.
 */
export const APPLY_CHANGES_LUA = `${PRELUDE}
local k = { KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6] }
local building, dirty = KEYS[7], KEYS[8]
local staging_ttl = ARGV[1]
local segment_bytes = tonumber(ARGV[3])
local FIRST = 4

-- A call that reaches Redis after its caller gave up (a reconnect re-sent it, a frozen Lambda thawed)
-- must not land: the caller has already reported the snapshot stale, and a later batch or a rebuild
-- may have written newer values since.
if ARGV[2] ~= '' then
  local t = redis.call('TIME')
  if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[2]) then
    return 'expired'
  end
end

-- A running rebuild re-reads every chunk touched while it read DynamoDB. The counter beside the set lets
-- the commit see that the set was evicted (then SCARD no longer equals the counter).
if staging_ttl == '' and redis.call('EXISTS', building) == 1 then
  local added = 0
  local i = FIRST
  while i <= #ARGV do
    added = added + redis.call('SADD', dirty, ARGV[i + 1])
    if ARGV[i] == 'u' then i = i + 5 else i = i + 2 end
  end
  if added > 0 then
    redis.call('HINCRBY', building, 'dirty', added)
  end
  local ttl = redis.call('PTTL', building)
  if ttl > 0 then
    redis.call('PEXPIRE', dirty, ttl)
  end
end

local state, dim, slots, live, seg = live_state(k)
if state ~= 'ok' then return state end
local q = redis.call('HMGET', k[1], 'qs', 'qc', 'qr')
local qs, qc, qr = tonumber(q[1]) or 0, tonumber(q[2]) or 0, tonumber(q[3]) or 0

local touched = false
local function remove(id)
  local slot = redis.call('HGET', k[4], id)
  if slot then
    redis.call('HDEL', k[4], id)
    redis.call('HDEL', k[3], slot)
    redis.call('HDEL', k[5], id)
    redis.call('RPUSH', k[6], slot)
    live = live - 1
    touched = true
    if live == 0 then
      -- Nothing left: forget the vectors and the dimension, so the bot may start over with another model.
      unlink_segments(k, seg_count(slots, seg))
      redis.call('UNLINK', k[6])
      slots = 0
      dim = 0
      qs, qc, qr = 0, 0, 0
    end
  end
end

local i = FIRST
while i <= #ARGV do
  local id = ARGV[i + 1]
  if ARGV[i] == 'u' then
    local bytes = ARGV[i + 2]
    -- An empty snapshot takes the dimension of the first vector it receives.
    if slots == 0 and #bytes > 0 and #bytes % 4 == 0 then
      dim = #bytes / 4
      seg = math.max(1, math.floor(segment_bytes / #bytes))
      qs, qc, qr = first_scale(bytes, dim), 0, 0
    end
    if dim > 0 and #bytes == dim * 4 then
      local slot = redis.call('HGET', k[4], id)
      if not slot then
        slot = redis.call('RPOP', k[6])
        if not slot then
          slot = slots
          slots = slots + 1
        end
        redis.call('HSET', k[4], id, slot)
        live = live + 1
      end
      local n = math.floor(tonumber(slot) / seg)
      redis.call('SETRANGE', seg_key(k, n), (tonumber(slot) - n * seg) * dim * 4, bytes)
      local codes, code_norm, residual_norm = quantise(bytes, dim, qs)
      redis.call('SETRANGE', code_key(k, n), (tonumber(slot) - n * seg) * dim, codes)
      -- Maxima only grow (a delete keeps them): an upper bound stays a valid bound, a rebuild tightens it.
      qc = math.max(qc, code_norm)
      qr = math.max(qr, residual_norm)
      redis.call('HSET', k[3], slot, slot .. ' ' .. ARGV[i + 3])
      redis.call('HSET', k[5], id, ARGV[i + 4])
      touched = true
    else
      -- A vector of another dimension is not a valid embedding for this snapshot: the chunk leaves it.
      remove(id)
    end
    i = i + 5
  else
    remove(id)
    i = i + 2
  end
end

redis.call('HSET', k[1], 'dim', dim, 'slots', slots, 'live', live, 'seg', seg, 'qs', qs, 'qc', qc, 'qr', qr)
if touched then
  redis.call('HINCRBY', k[1], 'seq', 1)
end
if staging_ttl ~= '' then
  for j = 1, 6 do
    redis.call('PEXPIRE', k[j], staging_ttl)
  end
  for n = 0, seg_count(slots, seg) - 1 do
    redis.call('PEXPIRE', seg_key(k, n), staging_ttl)
    redis.call('PEXPIRE', code_key(k, n), staging_ttl)
  end
end
return 'applied'
`;

/**
 * Version of a whole snapshot. KEYS: 6 data keys. Returns [build, seq, epoch]; 'absent'; or 'dropped'
 * when it was broken or left orphans of an evicted meta hash, which it deleted.
 */
export const SNAPSHOT_VERSION_LUA = `${PRELUDE}
local k = { KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6] }
local state = live_state(k)
if state ~= 'ok' then return state end
return redis.call('HMGET', k[1], 'build', 'seq', 'epoch')
`;

/**
 * Deletes a snapshot that a reader found broken, unless it changed since: a rebuild may have published a
 * good one in the meantime. KEYS: 6 data keys. ARGV[1]: the version read ('' when meta was absent).
 * Returns 1 when it deleted.
 */
export const DROP_IF_UNCHANGED_LUA = `${PRELUDE}
local m = redis.call('HMGET', KEYS[1], 'build', 'seq')
local current = ''
if m[1] then current = m[1] .. ':' .. (m[2] or '0') end
if current ~= ARGV[1] then return 0 end
unlink_data({ KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6] })
return 1
`;

/**
 * Claims the bot's rebuild slot. KEYS: building, dirty. ARGV: token, epoch, ttl ms, the caller's deadline
 * (Unix ms): a claim arriving after its caller gave up would block every other rebuild for the whole TTL.
 * Returns 1 when claimed, 0 when another rebuild holds it or the deadline has passed.
 */
export const BEGIN_REBUILD_LUA = `
local t = redis.call('TIME')
if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[4]) then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'epoch', ARGV[2], 'dirty', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

/**
 * Takes the ids changed since the last take, and empties the set. KEYS: building, dirty. ARGV: token.
 * Returns {'ok', ids}, {'lost'} (the slot is not ours any more) or {'evicted'} (ids went missing).
 */
export const TAKE_DIRTY_LUA = `
local b = redis.call('HMGET', KEYS[1], 'token', 'dirty')
if b[1] ~= ARGV[1] then return { 'lost' } end
if tonumber(b[2]) ~= redis.call('SCARD', KEYS[2]) then return { 'evicted' } end
local ids = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'dirty', 0)
return { 'ok', ids }
`;

/**
 * Publishes the staged snapshot. KEYS: 6 data keys, building, dirty, 6 staging keys.
 * ARGV: token, epoch, build id.
 * Returns 'published', 'changed' (ids arrived since the last take), 'lost', 'evicted', or
 * 'staging-broken' (a staging key was evicted).
 */
export const COMMIT_REBUILD_LUA = `${PRELUDE}
local k = { KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6] }
local building, dirty = KEYS[7], KEYS[8]
local s = { KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14] }
local b = redis.call('HMGET', building, 'token', 'dirty')
if b[1] ~= ARGV[1] then return 'lost' end
local pending = redis.call('SCARD', dirty)
if tonumber(b[2]) ~= pending then return 'evicted' end
if pending > 0 then return 'changed' end
local staged, _, staged_slots, _, staged_seg = snapshot_state(s)
if staged ~= 'ok' then return 'staging-broken' end
unlink_data(k)
local moves = { }
for j = 1, 6 do
  if j ~= 2 then moves[#moves + 1] = { s[j], k[j] } end
end
for n = 0, seg_count(staged_slots, staged_seg) - 1 do
  moves[#moves + 1] = { seg_key(s, n), seg_key(k, n) }
  moves[#moves + 1] = { code_key(s, n), code_key(k, n) }
end
for _, move in ipairs(moves) do
  if redis.call('EXISTS', move[1]) == 1 then
    redis.call('RENAME', move[1], move[2])
    redis.call('PERSIST', move[2])
  end
end
redis.call('HSET', k[1], 'build', ARGV[3], 'seq', 0, 'epoch', ARGV[2])
redis.call('UNLINK', building, dirty)
return 'published'
`;

/**
 * Ends a rebuild in any outcome: frees the slot if this token still holds it, deletes the staging keys.
 * KEYS: building, dirty, 6 staging keys. ARGV: token.
 */
export const RELEASE_REBUILD_LUA = `${PRELUDE}
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('UNLINK', KEYS[1], KEYS[2])
end
unlink_data({ KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8] })
return 1
`;

/** Removes every key of a bot's snapshot and its rebuild marker. KEYS: 6 data keys, building, dirty. */
export const DROP_ALL_LUA = `${PRELUDE}
unlink_data({ KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6] })
redis.call('UNLINK', KEYS[7], KEYS[8])
return 1
`;
