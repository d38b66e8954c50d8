import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Money } from '../../src/domain/money.js';
import { ExchangeEngine } from '../../src/sim/exchange/engine.js';
import { equityView } from '../../src/sim/exchange/equity.js';
import { parseAccount, parseOrder } from '../../src/sim/exchange/requests.js';

describe("simulator: an account's equity for the leaderboard", () => {
  it('is the wallet plus unrealised PnL at the feed price; deposits add up over the life of the account', () => {
    const prices = { BTC: new Money('60000'), ETH: new Money('3000') };
    const engine = new ExchangeEngine({ feeRate: '0.0005', slippageBps: 0, price: (a) => prices[a] });
    engine.createAccount(parseAccount({ account: 'a', balances: { USDT: '1000' } }));
    engine.createAccount(parseAccount({ account: 'a', balances: { USDT: '250' } }));
    // 2 contracts of 0.01 BTC at 60000: notional 1200, fee 0.6
    const r = engine.place(
      parseOrder({ account: 'a', instrument: 'BTC-USDT-SWAP', clientOrderId: 'o1', side: 'buy', qty: '2' }),
    );
    assert.equal(r.status, 'filled');
    prices.BTC = new Money('61000');
    const v = equityView(engine, 'a', 5);
    // wallet 1250 − 0.6; unrealised (61000 − 60000) × 2 × 0.01 = 20
    assert.deepEqual(
      {
        wallet: v.wallet,
        unrealised: v.unrealisedPnl,
        equity: v.equity,
        deposited: v.deposited,
        net: v.netDeposits,
      },
      { wallet: '1249.4', unrealised: '20', equity: '1269.4', deposited: '1250', net: '1250' },
    );
    assert.equal(v.positions[0]?.markPrice, '61000');
    prices.BTC = new Money('59000');
    assert.equal(equityView(engine, 'a', 6).equity, '1229.4');
    assert.throws(() => equityView(engine, 'nobody', 7), /no account nobody/);
  });
});
