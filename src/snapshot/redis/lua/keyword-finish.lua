-- After the snapshot update. KEYS: index meta, snapshot meta, base name of the snapshot's text buckets. ARGV: base, token, then
-- pairs chunk_id, entry ('' for a chunk the batch deleted), one per chunk, its last change in the batch.
-- Each chunk's old postings go; a chunk the snapshot now holds (its text bucket has it) gets the entry's.
-- Then the stamp becomes the snapshot's version. Returns 'ok'; 'lost' when the pending mark is not this
-- token's (another update or a reader dropped it); 'dropped' when the snapshot was rebuilt or is gone.
--@include keyword-prelude
--@include bucket
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
