--[[
  Accepts a copy-trading signal at most once: unless its id was seen (the seen key), the
  signal is added to the signal stream and its id remembered for a while; one round trip,
  atomic, so two frames of the same id racing on two connections add one entry.

  KEYS[1]  seen key of this trader and signal id ({prefix}:copy:seen:{traderId}:{signalId})
  KEYS[2]  signal stream ({prefix}:copy:signals)
  ARGV[1]  how long the id is remembered (ms): longer than any client retries, and than the
           allowed clock skew of a frame (a replayed frame is then stale or a duplicate)
  ARGV[2..] field, value, ... of the stream entry
  returns  the id of the new entry, or false when the signal id had been seen
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return false
end
-- added first: if XADD fails, nothing else has changed
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
redis.call('SET', KEYS[1], id, 'PX', ARGV[1])
return id
