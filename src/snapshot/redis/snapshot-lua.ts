/**
 * The Lua scripts of the Redis snapshot store. Each runs atomically inside Redis, touches only keys of
 * one bot (one hash tag, so it runs on Redis Cluster), and costs O(1) plus O(what it is given): no script
 * scans a whole snapshot. Every script that takes the data keys takes them as KEYS[1..6] in the order of
 * `dataKeyList` (meta, vec, rows, idx, text, free): the vec, rows, idx and text keys are the bases of
 * their segments and buckets. See docs/snapshot.md for the invariants they keep.
 */
import { PRELUDE } from './snapshot-lua-prelude';

/**
 * Applies one batch of changes.
 * KEYS: 6 data keys, building, dirty.
 * ARGV[1]: '' for the live snapshot; for a staging snapshot, the TTL (ms) its keys keep.
 * ARGV[2]: the caller's deadline in Unix ms ('' for none): past it the caller has given up on this call.
 * ARGV[3]: the most bytes a vector segment may hold (sets rows per segment when an empty snapshot takes
 * its dimension).
 * ARGV[4..]: changes in order, 'u', chunk_id, vector bytes, row JSON, text  |  'r', chunk_id, row JSON (the
 * row of a chunk held, vector and text kept; nothing for a chunk not held)  |  'd', chunk_id.
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
    if ARGV[i] == 'u' then i = i + 5 elseif ARGV[i] == 'r' then i = i + 3 else i = i + 2 end
  end
  if added > 0 then
    redis.call('HINCRBY', building, 'dirty', added)
  end
  local ttl = redis.call('PTTL', building)
  if ttl > 0 then
    redis.call('PEXPIRE', dirty, ttl)
  end
end

local state, dim, slots, live, seg, bk = live_state(k)
if state ~= 'ok' then return state end
local q = redis.call('HMGET', k[1], 'qs', 'qc', 'qr')
local qs, qc, qr = tonumber(q[1]) or 0, tonumber(q[2]) or 0, tonumber(q[3]) or 0

local touched = false
local function remove(id)
  local b = bucket_of(id, bk)
  local slot = redis.call('HGET', bucket_key(k[4], b), id)
  if slot then
    redis.call('HDEL', bucket_key(k[4], b), id)
    redis.call('HDEL', rows_key(k, math.floor(tonumber(slot) / seg)), slot)
    redis.call('HDEL', bucket_key(k[5], b), id)
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
      local b = bucket_of(id, bk)
      local slot = redis.call('HGET', bucket_key(k[4], b), id)
      if not slot then
        slot = redis.call('RPOP', k[6])
        if not slot then
          slot = slots
          slots = slots + 1
        end
        redis.call('HSET', bucket_key(k[4], b), id, slot)
        live = live + 1
      end
      local n = math.floor(tonumber(slot) / seg)
      redis.call('SETRANGE', seg_key(k, n), (tonumber(slot) - n * seg) * dim * 4, bytes)
      local codes, code_norm, residual_norm = quantise(bytes, dim, qs)
      redis.call('SETRANGE', code_key(k, n), (tonumber(slot) - n * seg) * dim, codes)
      -- Maxima only grow (a delete keeps them): an upper bound stays a valid bound, a rebuild tightens it.
      qc = math.max(qc, code_norm)
      qr = math.max(qr, residual_norm)
      redis.call('HSET', rows_key(k, n), slot, slot .. ' ' .. ARGV[i + 3])
      redis.call('HSET', bucket_key(k[5], b), id, ARGV[i + 4])
      touched = true
    else
      -- A vector of another dimension is not a valid embedding for this snapshot: the chunk leaves it.
      remove(id)
    end
    i = i + 5
  elseif ARGV[i] == 'r' then
    local slot = redis.call('HGET', bucket_key(k[4], bucket_of(id, bk)), id)
    if slot then
      redis.call('HSET', rows_key(k, math.floor(tonumber(slot) / seg)), slot, slot .. ' ' .. ARGV[i + 2])
      touched = true
    end
    i = i + 3
  else
    remove(id)
    i = i + 2
  end
end

redis.call('HSET', k[1], 'dim', dim, 'slots', slots, 'live', live, 'seg', seg, 'qs', qs, 'qc', qc, 'qr', qr)
if touched then
  redis.call('HINCRBY', k[1], 'seq', 1)
end
if staging_ttl ~= '' then expire_snapshot(k, seg_count(slots, seg), bk, staging_ttl) end
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
local staged, _, staged_slots, _, staged_seg, staged_bk = snapshot_state(s)
if staged ~= 'ok' then return 'staging-broken' end
unlink_data(k)
local moves = { { s[1], k[1] }, { s[6], k[6] } }
for n = 0, seg_count(staged_slots, staged_seg) - 1 do
  moves[#moves + 1] = { seg_key(s, n), seg_key(k, n) }
  moves[#moves + 1] = { code_key(s, n), code_key(k, n) }
  moves[#moves + 1] = { rows_key(s, n), rows_key(k, n) }
end
for b = 0, staged_bk - 1 do
  moves[#moves + 1] = { bucket_key(s[4], b), bucket_key(k[4], b) }
  moves[#moves + 1] = { bucket_key(s[5], b), bucket_key(k[5], b) }
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

/**
 * Keeps a running rebuild alive: re-arms the TTL of its slot, the dirty set and every staging key, but only
 * while the ticket still holds the slot (a rebuild that lost it must not revive a slot another one may hold,
 * nor keys nobody will publish). KEYS: building, dirty, 6 staging keys. ARGV: token, ttl ms, segments and
 * buckets staged so far (the staged meta's, once it exists, when larger: commit rounds may add segments).
 * O(segments + buckets). Returns 1, or 0 when the slot is lost.
 */
export const KEEP_REBUILD_LUA = `${PRELUDE}
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
local ttl = ARGV[2]
local s = { KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8] }
local segments, buckets = tonumber(ARGV[3]), tonumber(ARGV[4])
local m = redis.call('HMGET', s[1], 'slots', 'seg', 'bk')
local slots, seg, bk = tonumber(m[1]), tonumber(m[2]), tonumber(m[3])
if slots and seg and seg > 0 then segments = math.max(segments, seg_count(slots, seg)) end
if bk then buckets = math.max(buckets, bk) end
-- PEXPIRE of a key not (yet) created is a no-op, so the counts may overshoot.
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
expire_snapshot(s, segments, buckets, ttl)
return 1
`;

/** Removes every key of a bot's snapshot and its rebuild marker. KEYS: 6 data keys, building, dirty. */
export const DROP_ALL_LUA = `${PRELUDE}
unlink_data({ KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6] })
redis.call('UNLINK', KEYS[7], KEYS[8])
return 1
`;
