-- The prelude every keyword index script shares (`--@include keyword-prelude`; docs/snapshot.md, "The
-- keyword index"). Each script runs atomically, touches only keys under one bot's hash tag, and costs
-- O(1) plus O(what it is given); dropping an index costs one UNLINK per term. Every script takes
-- ARGV[1] = the base name `<prefix>:{bot}:kw` from which the generation's keys are formed:
--   <base>:meta                 hash: stamp, gen, build, n, total, terms
--   <base>:<gen>:docs           hash: chunk_id -> "length term tf term tf ..."
--   <base>:<gen>:df             hash: term -> how many chunks hold it
--   <base>:<gen>:p:<term>       hash: chunk_id -> "tf:length" (the postings of one term)
-- `stamp` is the snapshot version the index describes exactly, `pending:<token>` while a stream update
-- runs, or `building:<gen>` while a build runs; readers use the index only when it equals their version.
-- Here: the generation's key names, dropping a generation or an index, and the snapshot version.
local base = ARGV[1]
local function gkey(gen, part) return base .. ':' .. gen .. ':' .. part end

local function words(entry)
  local out = {}
  for w in string.gmatch(entry, '%S+') do out[#out + 1] = w end
  return out
end

-- Deletes every key of generation gen: one UNLINK per term of its df hash, and per term of its chunks'
-- entries when scan_docs (the df hash may miss terms: it was lost, or a build was cut off while writing).
local function drop_gen(gen, scan_docs)
  local df, docs = gkey(gen, 'df'), gkey(gen, 'docs')
  local seen = {}
  for _, term in ipairs(redis.call('HKEYS', df)) do seen[term] = true end
  if scan_docs then
    for _, entry in ipairs(redis.call('HVALS', docs)) do
      local w = words(entry)
      for i = 2, #w, 2 do seen[w[i]] = true end
    end
  end
  for term in pairs(seen) do redis.call('UNLINK', gkey(gen, 'p:' .. term)) end
  redis.call('UNLINK', df, docs)
end

-- Deletes every key of the index and its meta hash (a broken index leaves no postings behind).
local function drop_index(meta)
  local m = redis.call('HMGET', meta, 'gen', 'terms', 'stamp')
  if m[1] then
    local building = m[3] and string.sub(m[3], 1, 9) == 'building:'
    drop_gen(m[1], building or redis.call('HLEN', gkey(m[1], 'df')) ~= tonumber(m[2] or '-1'))
  end
  redis.call('UNLINK', meta)
end

local function remove_doc(meta, gen, chunk)
  local docs, df = gkey(gen, 'docs'), gkey(gen, 'df')
  local entry = redis.call('HGET', docs, chunk)
  if not entry then return end
  local w = words(entry)
  for i = 2, #w, 2 do
    if redis.call('HDEL', gkey(gen, 'p:' .. w[i]), chunk) == 1 then
      if redis.call('HINCRBY', df, w[i], -1) <= 0 then
        redis.call('HDEL', df, w[i])
        redis.call('HINCRBY', meta, 'terms', -1)
      end
    end
  end
  redis.call('HDEL', docs, chunk)
  redis.call('HINCRBY', meta, 'n', -1)
  -- 0 - x, not -x: Lua writes -0 as '-0', which HINCRBY refuses (a chunk of no terms has length 0).
  redis.call('HINCRBY', meta, 'total', 0 - tonumber(w[1]))
end

local function add_doc(meta, gen, chunk, entry)
  local docs, df = gkey(gen, 'docs'), gkey(gen, 'df')
  local w = words(entry)
  for i = 2, #w, 2 do
    if redis.call('HSET', gkey(gen, 'p:' .. w[i]), chunk, w[i + 1] .. ':' .. w[1]) == 1 then
      if redis.call('HINCRBY', df, w[i], 1) == 1 then
        redis.call('HINCRBY', meta, 'terms', 1)
      end
    end
  end
  redis.call('HSET', docs, chunk, entry)
  redis.call('HINCRBY', meta, 'n', 1)
  redis.call('HINCRBY', meta, 'total', tonumber(w[1]))
end

-- The snapshot's build and version (build:seq), or nil when it has no meta hash.
local function snapshot_version(snapshot_meta)
  local s = redis.call('HMGET', snapshot_meta, 'build', 'seq')
  if not s[1] then return nil end
  return s[1], s[1] .. ':' .. (s[2] or '0')
end
