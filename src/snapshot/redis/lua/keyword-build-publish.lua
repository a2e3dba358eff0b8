-- Publishes a build whose keys were written in bulk under generation ARGV[2]: stamps it with the version
-- when the build still holds the claim, the snapshot is at that version, and the build holds exactly the
-- snapshot's chunks (as many as the given count and its text buckets, each of them in its bucket);
-- otherwise deletes the build's keys. KEYS: index meta, snapshot meta, base name of the text buckets. ARGV: base, gen, version, chunk
-- count, total length, term count. Returns 1 when published.
--@include keyword-prelude
--@include bucket
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
