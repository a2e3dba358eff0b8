/**
 * Lua scripts of the Redis keyword index (docs/snapshot.md, "The keyword index"). Each runs atomically,
 * touches only keys under one bot's hash tag, and costs O(1) plus O(what it is given); dropping an index
 * costs one UNLINK per term. Every script takes ARGV[1] = the base name `${prefix}:{bot}:kw` from which
 * the generation's keys are formed:
 *   <base>:meta                 hash: stamp, gen, build, n, total, terms
 *   <base>:<gen>:docs           hash: chunk_id -> "length term tf term tf ..."
 *   <base>:<gen>:df             hash: term -> how many chunks hold it
 *   <base>:<gen>:p:<term>       hash: chunk_id -> "tf:length" (the postings of one term)
 * `stamp` is the snapshot version the index describes exactly, `pending:<token>` while a stream update
 * runs, or `building:<gen>` while a build runs; readers use the index only when it equals their version.
 */

import { BUCKET_LUA } from './snapshot-lua-prelude';

const PRELUDE = `
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
`;

/**
 * Before a stream batch's snapshot update. KEYS: index meta, snapshot meta. ARGV: base, token.
 * When the index describes the snapshot as it is now, marks it `pending:<token>` (readers leave it alone)
 * and returns 1; otherwise deletes whatever index there is and returns 0.
 */
export const KEYWORD_BEGIN_LUA = `${PRELUDE}
local stamp = redis.call('HGET', KEYS[1], 'stamp')
if not stamp then return 0 end
local build, version = snapshot_version(KEYS[2])
if build and stamp == version then
  redis.call('HSET', KEYS[1], 'stamp', 'pending:' .. ARGV[2], 'build', build)
  return 1
end
drop_index(KEYS[1])
return 0
`;

/**
 * After the snapshot update. KEYS: index meta, snapshot meta, base name of the snapshot's text buckets. ARGV: base, token, then
 * pairs chunk_id, entry ('' for a chunk the batch deleted), one per chunk, its last change in the batch.
 * Each chunk's old postings go; a chunk the snapshot now holds (its text bucket has it) gets the entry's.
 * Then the stamp becomes the snapshot's version. Returns 'ok'; 'lost' when the pending mark is not this
 * token's (another update or a reader dropped it); 'dropped' when the snapshot was rebuilt or is gone.
 */
export const KEYWORD_FINISH_LUA = `${PRELUDE}${BUCKET_LUA}
local m = redis.call('HMGET', KEYS[1], 'stamp', 'build', 'gen')
if m[1] ~= 'pending:' .. ARGV[2] then return 'lost' end
local build, version = snapshot_version(KEYS[2])
local buckets = tonumber(redis.call('HGET', KEYS[2], 'bk'))
if not build or build ~= m[2] or not buckets then
  drop_index(KEYS[1])
  return 'dropped'
end
for i = 3, #ARGV, 2 do
  local chunk, entry = ARGV[i], ARGV[i + 1]
  remove_doc(KEYS[1], m[3], chunk)
  local texts = bucket_key(KEYS[3], bucket_of(chunk, buckets))
  if entry ~= '' and redis.call('HEXISTS', texts, chunk) == 1 then
    add_doc(KEYS[1], m[3], chunk, entry)
  end
end
redis.call('HSET', KEYS[1], 'stamp', version)
return 'ok'
`;

/** Deletes the index. KEYS: index meta. ARGV: base. */
export const KEYWORD_DROP_LUA = `${PRELUDE}
drop_index(KEYS[1])
return 1
`;

/**
 * The query terms' postings at one snapshot version. KEYS: index meta. ARGV: base, version, terms.
 * Returns 'absent'; 'busy' (an update or build runs); 'stale' (the stamp is another version); 'broken' (a key
 * was lost: a length disagrees with the counts, and the index is deleted); or
 * ['ok', n, total, postings of term 1 (flat chunk_id, "tf:length" ...), ...].
 */
export const KEYWORD_READ_LUA = `${PRELUDE}
local m = redis.call('HMGET', KEYS[1], 'stamp', 'gen', 'n', 'total', 'terms')
if not m[1] then return 'absent' end
if string.sub(m[1], 1, 8) == 'pending:' or string.sub(m[1], 1, 9) == 'building:' then return 'busy' end
if m[1] ~= ARGV[2] then return 'stale' end
local gen = m[2]
local df = gkey(gen, 'df')
if redis.call('HLEN', gkey(gen, 'docs')) ~= tonumber(m[3]) or redis.call('HLEN', df) ~= tonumber(m[5]) then
  drop_index(KEYS[1])
  return 'broken'
end
local out = { 'ok', m[3], m[4] }
for i = 3, #ARGV do
  local postings = gkey(gen, 'p:' .. ARGV[i])
  if redis.call('HLEN', postings) ~= tonumber(redis.call('HGET', df, ARGV[i]) or '0') then
    drop_index(KEYS[1])
    return 'broken'
  end
  out[#out + 1] = redis.call('HGETALL', postings)
end
return out
`;

/**
 * Starts building the index of snapshot version ARGV[3] under generation ARGV[2] (replacing any index).
 * KEYS: index meta, snapshot meta. ARGV: base, gen, version. Returns 1, or 0 when the snapshot moved on.
 */
export const KEYWORD_BUILD_START_LUA = `${PRELUDE}
local _, version = snapshot_version(KEYS[2])
if version ~= ARGV[3] then return 0 end
drop_index(KEYS[1])
redis.call('HSET', KEYS[1], 'stamp', 'building:' .. ARGV[2], 'gen', ARGV[2], 'n', 0, 'total', 0, 'terms', 0)
return 1
`;

/**
 * Claims the index for a snapshot rebuild that starts now: deletes any index and marks it
 * `building:<gen>` (readers and stream updates leave it; a stream update drops it), for at most ARGV[3]
 * ms (a rebuild that died leaves no mark behind for long). KEYS: index meta. ARGV: base, gen, ttl ms.
 * Returns 1.
 */
export const KEYWORD_BUILD_CLAIM_LUA = `${PRELUDE}
drop_index(KEYS[1])
redis.call('HSET', KEYS[1], 'stamp', 'building:' .. ARGV[2], 'gen', ARGV[2], 'n', 0, 'total', 0, 'terms', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

/**
 * Publishes a build whose keys were written in bulk under generation ARGV[2]: stamps it with the version
 * when the build still holds the claim, the snapshot is at that version, and the build holds exactly the
 * snapshot's chunks (as many as the given count and its text buckets, each of them in its bucket);
 * otherwise deletes the build's keys. KEYS: index meta, snapshot meta, base name of the text buckets. ARGV: base, gen, version, chunk
 * count, total length, term count. Returns 1 when published.
 */
export const KEYWORD_BUILD_PUBLISH_LUA = `${PRELUDE}${BUCKET_LUA}
local gen = ARGV[2]
if redis.call('HGET', KEYS[1], 'stamp') ~= 'building:' .. gen then
  -- Claimed by another rebuild or dropped by a stream update while this one wrote: only its keys go.
  if redis.call('HGET', KEYS[1], 'gen') ~= gen then drop_gen(gen, true) end
  return 0
end
local _, version = snapshot_version(KEYS[2])
local buckets = tonumber(redis.call('HGET', KEYS[2], 'bk'))
local n = tonumber(ARGV[4])
local docs = gkey(gen, 'docs')
local whole = buckets ~= nil and version == ARGV[3] and redis.call('HLEN', docs) == n
  and redis.call('HLEN', gkey(gen, 'df')) == tonumber(ARGV[6])
if whole then
  local held = 0
  for b = 0, buckets - 1 do held = held + redis.call('HLEN', bucket_key(KEYS[3], b)) end
  whole = held == n
end
if whole then
  for _, chunk in ipairs(redis.call('HKEYS', docs)) do
    if redis.call('HEXISTS', bucket_key(KEYS[3], bucket_of(chunk, buckets)), chunk) == 0 then
      whole = false
      break
    end
  end
end
if not whole then
  drop_index(KEYS[1])
  return 0
end
redis.call('HSET', KEYS[1], 'n', ARGV[4], 'total', ARGV[5], 'terms', ARGV[6], 'stamp', version)
redis.call('PERSIST', KEYS[1])
return 1
`;

/**
 * Writes part of a build in bulk. KEYS: index meta. ARGV: base, gen, separator, then pairs part, packed:
 * part is `docs`, `df` or `p:<term>`, packed the hash's fields and values each followed by the separator
 * (a character none of them holds). Returns 1, or 0 when the build no longer holds the index (then
 * nothing is written).
 */
export const KEYWORD_BUILD_WRITE_LUA = `${PRELUDE}
if redis.call('HGET', KEYS[1], 'stamp') ~= 'building:' .. ARGV[2] then return 0 end
local sep = ARGV[3]
local piece = '([^' .. sep .. ']*)' .. sep
for i = 4, #ARGV, 2 do
  local key = gkey(ARGV[2], ARGV[i])
  local flat, count = {}, 0
  for s in string.gmatch(ARGV[i + 1], piece) do
    count = count + 1
    flat[count] = s
    if count == 2000 then
      redis.call('HSET', key, unpack(flat, 1, count))
      count = 0
    end
  end
  if count > 0 then redis.call('HSET', key, unpack(flat, 1, count)) end
end
return 1
`;
