-- Applies one batch of changes.
-- KEYS: 6 data keys, building, dirty.
-- ARGV[1]: '' for the live snapshot; for a staging snapshot, the TTL (ms) its keys keep.
-- ARGV[2]: the caller's deadline in Unix ms ('' for none): past it the caller has given up on this call.
-- ARGV[3]: the most bytes a vector segment may hold (sets rows per segment when an empty snapshot takes
-- its dimension).
-- ARGV[4..]: changes in order, 'u', chunk_id, vector bytes, row JSON, text  |  'r', chunk_id, row JSON (the
-- row of a chunk held, vector and text kept; nothing for a chunk not held)  |  'd', chunk_id.
-- A row is stored as its slot, a space and its JSON (see `encodeRowValue`).
-- Returns 'expired' (ran after the deadline, changed nothing), 'absent', 'dropped' (found broken and
-- deleted), or 'applied'.
--@include snapshot-prelude

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
