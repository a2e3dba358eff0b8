-- Publishes a build whose keys were written in bulk under generation ARGV[2]: stamps it with the version
-- when the build still holds the claim, the snapshot is at that version, and the build holds exactly the
-- snapshot's chunks (as many as the given count and its text buckets, each of them in its bucket) with
-- every key whole; otherwise deletes the build's keys. KEYS: index meta, snapshot meta, base name of the
-- text buckets. ARGV: base, gen, version, chunk count, total length, term count, term ids handed out,
-- document numbers handed out, bucket size, docs bucket count, docs groups. Returns 1 when published.
--@include keyword-prelude
--@include bucket
local gen = ARGV[2]
local n, terms, tid, handed = tonumber(ARGV[4]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local bs, dk, dg = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
if redis.call('HGET', KEYS[1], 'stamp') ~= 'building:' .. gen then
  -- Claimed by another rebuild or dropped by a stream update while this one wrote: only its keys go.
  if redis.call('HGET', KEYS[1], 'gen') ~= gen then drop_gen(gen, tid, handed, bs, dk) end
  return 0
end
redis.call('HSET', KEYS[1], 'tid', tid, 'next', handed, 'bs', bs, 'dk', dk, 'dg', dg)
local _, version = snapshot_version(KEYS[2])
local buckets = tonumber(redis.call('HGET', KEYS[2], 'bkz'))
local whole = buckets ~= nil and version == ARGV[3] and n >= 0 and counts_hold(gen, n, terms, handed, bs, dk, dg)
if whole then
  local held = 0
  for b = 0, buckets - 1 do held = held + redis.call('HLEN', bucket_key(KEYS[3], b)) end
  whole = held == n
end
if whole then
  for k = 0, dk - 1 do
    local flat = redis.call('HGETALL', gkey(gen, 'docs:' .. k))
    for i = 1, #flat, 2 do
      if flat[i] ~= '#' then
        for _, chunk in ipairs((get_docs_group(flat[i + 1]))) do
          if redis.call('HEXISTS', bucket_key(KEYS[3], bucket_of(chunk, buckets)), chunk) == 0 then
            whole = false
            break
          end
        end
      end
      if not whole then break end
    end
    if not whole then break end
  end
end
if not whole then
  drop_index(KEYS[1])
  return 0
end
redis.call('HSET', KEYS[1], 'n', n, 'total', ARGV[5], 'terms', terms, 'seq', 0, 'stamp', version)
redis.call('PERSIST', KEYS[1])
return 1
