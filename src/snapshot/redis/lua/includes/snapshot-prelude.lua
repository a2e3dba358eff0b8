-- The prelude every snapshot script shares (included by `--@include snapshot-prelude`). Each snapshot
-- script runs atomically inside Redis, touches only keys of one bot (one hash tag, so it runs on Redis
-- Cluster), and costs O(1) plus O(what it is given): no script scans a whole snapshot. Every script that
-- takes the data keys takes them as KEYS[1..6] in the order of `dataKeyList` (meta, vec, rows, idx,
-- text, free): the vec, rows, idx and text keys are the bases of their segments and buckets. Here: key
-- names of segments and buckets, the O(1)-per-key checks of a snapshot's invariants, deleting a snapshot
-- whole, and the int8 quantisation the stream applies. See docs/snapshot.md for the invariants.
-- The constants in double braces below are filled in from keys.ts when the scripts are loaded.
--
-- `snapshot_state(k)` checks, with one command per key, that the data keys agree with the meta hash: a
-- key evicted or lost changes a length or a sum of lengths, so any partial snapshot is caught here.
-- Returns 'absent' (no meta), 'broken', or 'ok', dim, slots, live, seg, bk.
local DEFAULT_BUCKETS = {{DEFAULT_ID_BUCKETS}}
local MAX_SEGMENTS = {{MAX_SEGMENTS}}

-- Vector segment n of the data keys k: the string k[2] .. ':' .. n (same hash tag as every other key).
local function seg_key(k, n)
  return k[2] .. ':' .. n
end

-- Its int8 scan codes: the string k[2] .. ':' .. n .. ':i8' (one byte per float of segment n).
local function code_key(k, n)
  return k[2] .. ':' .. n .. ':i8'
end

-- The rows of the slots of vector segment n: the hash k[3] .. ':' .. n.
local function rows_key(k, n)
  return k[3] .. ':' .. n
end

--@include bucket

local function seg_count(slots, seg)
  if slots == 0 then return 0 end
  return math.floor((slots + seg - 1) / seg)
end

-- HLEN of base:0 ... base:(count - 1), summed: a lost key lowers the sum (an existing hash is never empty).
-- Sets the TTL of a snapshot's meta and free list, of its first segments (vectors, codes, rows) and of
-- its buckets (index, texts): how staging keys are kept alive.
local function expire_snapshot(k, segments, buckets, ttl)
  redis.call('PEXPIRE', k[1], ttl)
  redis.call('PEXPIRE', k[6], ttl)
  for n = 0, segments - 1 do
    redis.call('PEXPIRE', seg_key(k, n), ttl)
    redis.call('PEXPIRE', code_key(k, n), ttl)
    redis.call('PEXPIRE', rows_key(k, n), ttl)
  end
  for b = 0, buckets - 1 do
    redis.call('PEXPIRE', bucket_key(k[4], b), ttl)
    redis.call('PEXPIRE', bucket_key(k[5], b), ttl)
  end
end

local function hlen_sum(base, count)
  local total = 0
  for j = 0, count - 1 do
    total = total + redis.call('HLEN', base .. ':' .. j)
  end
  return total
end

local function snapshot_state(k)
  local m = redis.call('HMGET', k[1], 'dim', 'slots', 'live', 'seg', 'qs', 'qc', 'qr', 'bkz')
  if not m[1] then
    return 'absent'
  end
  local dim, slots, live, seg, bk = tonumber(m[1]), tonumber(m[2]), tonumber(m[3]), tonumber(m[4]), tonumber(m[8])
  -- No bkz: a layout whose texts are not all as text-codec.ts stores them (its bucket count is `bk`, or it
  -- has no buckets at all), dropped whole. A reader that knows only `bk` drops a snapshot with `bkz` the
  -- same way, so no reader ever hands out a stored text it cannot decode.
  if not dim or not slots or not live or not seg or not bk or bk < 1 or live > slots or live < 0
    or (slots > 0 and seg < 1)
    -- The int8 codes' scale and the two maxima their error bound needs (see quantise below).
    or (slots > 0 and not (tonumber(m[5]) and tonumber(m[5]) > 0 and tonumber(m[6]) and tonumber(m[7])))
    or hlen_sum(k[4], bk) ~= live
    or hlen_sum(k[5], bk) ~= live
    or redis.call('LLEN', k[6]) ~= slots - live then
    return 'broken'
  end
  -- Two STRLENs and an HLEN per segment (a 1M-chunk 384-d bot has a few dozen segments), and no segment
  -- past the last, nor a single key of the unsegmented layout.
  local count = seg_count(slots, seg)
  -- A corrupt slot count must not walk millions of keys inside this script (it holds Redis meanwhile).
  if count > MAX_SEGMENTS or (count > 1 and redis.call('EXISTS', seg_key(k, count - 1)) == 0) then
    return 'broken'
  end
  if hlen_sum(k[3], count) ~= live then return 'broken' end
  for n = 0, count - 1 do
    local rows = math.min(seg, slots - n * seg)
    if redis.call('STRLEN', seg_key(k, n)) ~= rows * dim * 4 then return 'broken' end
    if redis.call('STRLEN', code_key(k, n)) ~= rows * dim then return 'broken' end
  end
  if redis.call('EXISTS', seg_key(k, count), code_key(k, count), rows_key(k, count),
      k[2], k[3], k[4], k[5]) > 0 then
    return 'broken'
  end
  return 'ok', dim, slots, live, seg, bk
end

-- Unlinks segments 0, 1, ... (vectors, codes, rows): at least the known ones, then on until the first
-- that is missing.
local function unlink_segments(k, known)
  -- A corrupt count claims no more than a snapshot can have.
  known = math.min(known, MAX_SEGMENTS)
  local n = 0
  while true do
    local removed = redis.call('UNLINK', seg_key(k, n), code_key(k, n), rows_key(k, n))
    if removed == 0 and n >= known then break end
    n = n + 1
  end
end

-- The same for the index and text buckets.
local function unlink_buckets(k, known)
  local b = 0
  while true do
    local removed = redis.call('UNLINK', bucket_key(k[4], b), bucket_key(k[5], b))
    if removed == 0 and b >= known then break end
    b = b + 1
  end
end

local function unlink_data(k)
  local m = redis.call('HMGET', k[1], 'slots', 'seg', 'bkz')
  local slots, seg, bk = tonumber(m[1]), tonumber(m[2]), tonumber(m[3])
  local known = 0
  if slots and seg and seg >= 1 then known = seg_count(slots, seg) end
  unlink_segments(k, known)
  -- Without a meta hash (orphans) the bucket count is unknown: the default, then on while buckets exist.
  unlink_buckets(k, math.max(bk or 0, DEFAULT_BUCKETS))
  -- k[2..5] are the single keys of the unsegmented layout (the whole blob and hashes): removed too, so
  -- such a snapshot leaves nothing.
  redis.call('UNLINK', k[1], k[2], k[3], k[4], k[5], k[6])
end

local function has_orphans(k)
  local names = { seg_key(k, 0), code_key(k, 0), rows_key(k, 0), k[2], k[3], k[4], k[5], k[6] }
  for b = 0, DEFAULT_BUCKETS - 1 do
    names[#names + 1] = bucket_key(k[4], b)
    names[#names + 1] = bucket_key(k[5], b)
  end
  return redis.call('EXISTS', unpack(names)) > 0
end

-- The live snapshot as a script may use it: 'ok', dim, slots, live, seg, bk; or 'absent'; or 'dropped'
-- after deleting what a broken snapshot (or the orphans of an evicted meta hash) left behind.
local function live_state(k)
  local state, dim, slots, live, seg, bk = snapshot_state(k)
  if state == 'ok' then return state, dim, slots, live, seg, bk end
  if state == 'broken' or has_orphans(k) then
    unlink_data(k)
    return 'dropped'
  end
  return 'absent'
end

-- int8 codes of a float32 little-endian vector under scale s: c = round(x * s), clamped to +-127 (a
-- clamped code only makes its residual larger, which the bound then covers). Returns the codes as a
-- string, ||c / s|| and ||x - c / s|| (the per-row terms of the error bound of src/domain/ranking/quantised-scan.ts).
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
