-- Naming a chunk id's index or text bucket (`--@include bucket`); the keyword index's scripts use it
-- too, to ask whether the snapshot holds a chunk.
-- Bucket b of the index (base k[4]) or the texts (base k[5]).
local function bucket_key(base, b)
  return base .. ':' .. b
end

-- The bucket of a chunk id: the first 32 bits of its SHA-1, modulo the bucket count (bucketOf in
-- keys.ts computes the same in TypeScript).
local function bucket_of(id, buckets)
  if buckets <= 1 then return 0 end
  return tonumber(string.sub(redis.sha1hex(id), 1, 8), 16) % buckets
end
