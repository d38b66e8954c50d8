--[[
  Hands an order from one settlement step to the next, atomically: the entry of step n is
  acknowledged and the entry of step n+1 added in one step, so a crash can never leave the
  order in both streams or in neither.

  KEYS[1]  stream of step n
  KEYS[2]  stream of step n+1
  ARGV[1]  consumer group
  ARGV[2]  id of the entry of step n
  ARGV[3..] field, value, ... of the entry of step n+1
  returns  the id of the new entry
]]
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
