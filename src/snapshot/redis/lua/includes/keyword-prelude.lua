-- The prelude every keyword index script shares (`--@include keyword-prelude`; docs/snapshot.md, "The
-- keyword index"). Each script runs atomically, touches only keys under one bot's hash tag, and costs
-- O(1) plus O(what it is given) plus O(buckets) for the count checks. Every script takes ARGV[1] = the
-- base name `<prefix>:{bot}:kw` from which the generation's keys are formed:
--   <base>:meta               hash: stamp, gen, build, n, total, terms, next, tid, seq, bs, dk
--   <base>:<gen>:terms        hash: term -> term id (1 .. tid)
--   <base>:<gen>:p:<id>       hash: `t` -> the term, `d` -> how many chunks hold it, and per bucket b of
--                             document numbers (b = floor(number / bs)) the postings of that bucket, packed
--   <base>:<gen>:ids:<b>      hash: `#` -> seq of its last change, number - b * bs -> "length chunk_id"
--   <base>:<gen>:docs:<k>     hash: chunk_id -> packed document number, length and term ids with their
--                             tfs (what removing the chunk takes away), k the id's bucket of dk (bucket.lua)
--   <base>:<gen>:free         list: document numbers below `next` that no chunk holds
-- Packed: varints (7 bits a byte, low first). A bucket's postings, ascending by number: per posting
-- varint((gap - 1) * 2 + (tf > 1 and 1 or 0)) then varint(tf - 2) when tf > 1, gap the distance from the
-- previous number (the first from b * bs - 1). A docs entry: varint(number), varint(length), then its
-- term ids ascending coded the same way (the first gap from 0).
-- `stamp` is the snapshot version the index describes exactly, `pending:<token>` while a stream update
-- runs, or `building:<gen>` while a build runs; readers use the index only when it equals their version.
-- Here: the key names, the varint codec, the count checks, dropping a generation or an index, and the
-- snapshot version.
local base = ARGV[1]
local function gkey(gen, part) return base .. ':' .. gen .. ':' .. part end

local function words(entry)
  local out = {}
  for w in string.gmatch(entry, '%S+') do out[#out + 1] = w end
  return out
end

local function put_varint(out, v)
  while v >= 128 do
    out[#out + 1] = string.char(v % 128 + 128)
    v = math.floor(v / 128)
  end
  out[#out + 1] = string.char(v)
end

-- The varint at pos of s and the position after it.
local function get_varint(s, pos)
  local v, mul = 0, 1
  while true do
    local b = string.byte(s, pos)
    pos = pos + 1
    if b < 128 then return v + b * mul, pos end
    v = v + (b - 128) * mul
    mul = mul * 128
  end
end

-- Appends ascending numbers with their tfs, gaps from start - 1 (see above).
local function put_postings(out, numbers, tfs, start)
  local prev = start - 1
  for i = 1, #numbers do
    local tf = tfs[i]
    put_varint(out, (numbers[i] - prev - 1) * 2 + (tf > 1 and 1 or 0))
    if tf > 1 then put_varint(out, tf - 2) end
    prev = numbers[i]
  end
end

-- Decodes what put_postings wrote from position pos of s into numbers and tfs.
local function get_postings(s, pos, start, numbers, tfs)
  local prev = start - 1
  local len = #s
  while pos <= len do
    local code, tf
    code, pos = get_varint(s, pos)
    if code % 2 == 1 then
      tf, pos = get_varint(s, pos)
      tf = tf + 2
    else
      tf = 1
    end
    prev = prev + math.floor(code / 2) + 1
    numbers[#numbers + 1] = prev
    tfs[#tfs + 1] = tf
  end
end

-- Id buckets below `next` document numbers of bs each.
local function id_buckets(handed, bs)
  return math.ceil(handed / bs)
end

-- UNLINKs keys in calls of at most 1000.
local function unlink_all(keys)
  for i = 1, #keys, 1000 do
    redis.call('UNLINK', unpack(keys, i, math.min(i + 999, #keys)))
  end
end

-- Deletes every key generation gen can have, given its term ids handed out, document numbers handed
-- out, bucket size and docs bucket count (any of them lost or never written: UNLINK skips it).
local function drop_gen(gen, tid, handed, bs, dk)
  local keys = { gkey(gen, 'terms'), gkey(gen, 'free') }
  for id = 1, tid do keys[#keys + 1] = gkey(gen, 'p:' .. id) end
  for k = 0, dk - 1 do keys[#keys + 1] = gkey(gen, 'docs:' .. k) end
  if bs > 0 then
    for b = 0, id_buckets(handed, bs) - 1 do keys[#keys + 1] = gkey(gen, 'ids:' .. b) end
  end
  unlink_all(keys)
end

-- Deletes every key of the index and its meta hash (a broken index leaves no postings behind).
local function drop_index(meta)
  local m = redis.call('HMGET', meta, 'gen', 'tid', 'next', 'bs', 'dk')
  if m[1] then
    drop_gen(m[1], tonumber(m[2] or '0'), tonumber(m[3] or '0'), tonumber(m[4] or '0'), tonumber(m[5] or '0'))
  end
  redis.call('UNLINK', meta)
end

-- Whether the generation's keys agree with the meta's counts, so that no key of it was lost: the terms
-- hash holds `terms` terms, the docs buckets `n` chunks, every id bucket exists and together they hold
-- `n` chunks besides their tags, and the free list the numbers below `next` that no chunk holds. (A lost
-- postings hash shows when it is read or edited: its term is in the terms hash.)
local function counts_hold(gen, n, terms, handed, bs, dk)
  if redis.call('HLEN', gkey(gen, 'terms')) ~= terms then return false end
  if redis.call('LLEN', gkey(gen, 'free')) ~= handed - n then return false end
  local held = 0
  for k = 0, dk - 1 do held = held + redis.call('HLEN', gkey(gen, 'docs:' .. k)) end
  if held ~= n then return false end
  held = 0
  for b = 0, id_buckets(handed, bs) - 1 do
    local fields = redis.call('HLEN', gkey(gen, 'ids:' .. b))
    if fields == 0 then return false end
    held = held + fields - 1
  end
  return held == n
end

-- The snapshot's build and version (build:seq), or nil when it has no meta hash.
local function snapshot_version(snapshot_meta)
  local s = redis.call('HMGET', snapshot_meta, 'build', 'seq')
  if not s[1] then return nil end
  return s[1], s[1] .. ':' .. (s[2] or '0')
end
