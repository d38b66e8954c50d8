--[[
  Raises per-shard watermarks (the latest counter order time seen per shard); never lowers
  one, so processes and sources that observe out of order cannot move a watermark back.

  KEYS[1]  hash: shard -> ms
  ARGV     shard, ms, shard, ms, ...
  returns  how many watermarks rose
]]
local raised = 0
for i = 1, #ARGV, 2 do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  if tonumber(ARGV[i + 1]) > current then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    raised = raised + 1
  end
end
return raised
