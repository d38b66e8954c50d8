import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Money } from '../../src/domain/money.js';
import { FIXED_ACCOUNTS, simPolicy } from '../../src/sim/accounts.js';
import { Rejected } from '../../src/sim/errors.js';
import { assertBalanced, Ledger, type Posting } from '../../src/sim/ledger.js';
import { nextPrice } from '../../src/sim/price-feed.js';
import { parseSwap, parseTrade, parseTransfer } from '../../src/sim/requests.js';
import {
  counterSwap,
  fillTrade,
  fundingTransfer,
  swapPostings,
  tradeMarket,
  transferPostings,
} from '../../src/sim/services.js';

const FEE = new Money('0.001');
const show = (ps: Posting[]) => ps.map((x) => `${x.account} ${x.currency} ${x.amount.toFixed()}`);

describe('sim services', () => {
  describe('counter swap', () => {
    const body = {
      key: 'o:1',
      orderId: 'o',
      userId: 'u',
      flow: 'open',
      asset: 'BTC',
      qty: '0.5',
      usdt: '900',
    };
    const open = parseSwap(body);

    it('open: the user pays the swap house, the option house takes the delta', () => {
      const ps = swapPostings(open);
      assert.deepEqual(show(ps), [
        'user:u USDT -900',
        'house:swap USDT 900',
        'house:swap BTC -0.5',
        'house:options BTC 0.5',
      ]);
      assertBalanced(ps);
    });

    it('close: both legs reversed; a close without USDT posts no USDT', () => {
      const close = parseSwap({ ...body, flow: 'close', asset: 'ETH', usdt: '31.25' });
      assert.deepEqual(show(swapPostings(close)), [
        'user:u USDT 31.25',
        'house:swap USDT -31.25',
        'house:swap ETH 0.5',
        'house:options ETH -0.5',
      ]);
      const bare = parseSwap({ ...body, flow: 'close', usdt: '0' });
      assert.deepEqual(show(swapPostings(bare)), ['house:swap BTC 0.5', 'house:options BTC -0.5']);
    });

    it('applies on the ledger and answers {key, applied}', () => {
      const l = new Ledger(simPolicy, FIXED_ACCOUNTS);
      assert.deepEqual(counterSwap(l, open), { key: 'o:1', applied: true });
      assert.equal(l.balance('user:u', 'USDT').toFixed(), '999100');
    });

    it('refuses a user who cannot pay', () => {
      const l = new Ledger(simPolicy, FIXED_ACCOUNTS);
      assert.throws(
        () => counterSwap(l, { ...open, usdt: new Money('1000000.00000001') }),
        (e: unknown) => e instanceof Rejected && e.code === 'INSUFFICIENT_BALANCE',
      );
    });
  });

  describe('funding transfer', () => {
    it('moves the amount between house accounts and answers it', () => {
      const req = parseTransfer({
        key: 't',
        from: 'house:swap',
        to: 'house:funding',
        currency: 'ETH',
        amount: '1.23',
      });
      assert.deepEqual(show(transferPostings(req)), ['house:swap ETH -1.23', 'house:funding ETH 1.23']);
      const l = new Ledger(simPolicy, FIXED_ACCOUNTS);
      assert.deepEqual(fundingTransfer(l, req), { key: 't', amount: '1.23' });
      assert.throws(
        () =>
          fundingTransfer(l, {
            ...req,
            key: 't2',
            from: 'house:funding',
            to: 'house:swap',
            amount: new Money('2'),
          }),
        (e: unknown) => e instanceof Rejected && e.code === 'INSUFFICIENT_BALANCE',
      );
    });
  });

  describe('trade math', () => {
    it('buy: floor8(quote/price), fee floor8(gross*rate) in the asset', () => {
      const req = parseTrade({
        key: 'b',
        account: 'house:funding',
        side: 'buy',
        asset: 'BTC',
        quoteAmount: '1000',
      });
      const fill = fillTrade(req, new Money('60000'), FEE);
      assert.equal(fill.baseQty.toFixed(), '0.01665');
      assert.equal(fill.quoteQty.toFixed(), '1000');
      assert.equal(fill.fee.toFixed(), '0.00001666');
      assert.equal(fill.feeCurrency, 'BTC');
      assert.deepEqual(show(fill.postings), [
        'house:funding USDT -1000',
        'market USDT 1000',
        'market BTC -0.01666666',
        'house:funding BTC 0.01665',
        'fees BTC 0.00001666',
      ]);
      assertBalanced(fill.postings);
    });

    it('buy with awkward decimals rounds every leg down to 8 places', () => {
      const req = parseTrade({
        key: 'b',
        account: 'house:swap',
        side: 'buy',
        asset: 'ETH',
        quoteAmount: '1234.56789',
      });
      const fill = fillTrade(req, new Money('3011.17'), FEE);
      assert.deepEqual(
        [fill.baseQty, fill.fee].map((m) => m.toFixed()),
        ['0.40958608', '0.00040999'],
      );
      assert.equal(
        fill.postings.find((x) => x.account === 'market' && x.currency === 'ETH')?.amount.toFixed(),
        '-0.40999607',
      );
    });

    it('sell: floor8(base*price), fee floor8(grossQuote*rate) in USDT', () => {
      const req = parseTrade({
        key: 's',
        account: 'house:funding',
        side: 'sell',
        asset: 'BTC',
        baseAmount: '0.12345678',
      });
      const fill = fillTrade(req, new Money('61234.57'), FEE);
      assert.equal(fill.baseQty.toFixed(), '0.12345678');
      assert.equal(fill.quoteQty.toFixed(), '7552.26301405');
      assert.equal(fill.fee.toFixed(), '7.55982283');
      assert.equal(fill.feeCurrency, 'USDT');
      assert.deepEqual(show(fill.postings), [
        'house:funding BTC -0.12345678',
        'market BTC 0.12345678',
        'market USDT -7559.82283688',
        'house:funding USDT 7552.26301405',
        'fees USDT 7.55982283',
      ]);
      assertBalanced(fill.postings);
    });

    it('a zero fee rate posts no fee', () => {
      const req = parseTrade({
        key: 's',
        account: 'house:funding',
        side: 'sell',
        asset: 'ETH',
        baseAmount: '2',
      });
      const fill = fillTrade(req, new Money('3000.5'), new Money(0));
      assert.equal(fill.fee.toFixed(), '0');
      assert.equal(fill.postings.length, 4);
    });

    it('refuses an order too small to fill', () => {
      const req = parseTrade({
        key: 'b',
        account: 'house:funding',
        side: 'buy',
        asset: 'BTC',
        quoteAmount: '0.0001',
      });
      assert.throws(
        () => fillTrade(req, new Money('60000'), FEE),
        (e: unknown) => e instanceof Rejected && e.code === 'AMOUNT_TOO_SMALL',
      );
    });

    it('tradeMarket answers decimal strings and moves the ledger', () => {
      const l = new Ledger(simPolicy, FIXED_ACCOUNTS);
      l.apply('seed', [
        { account: 'house:swap', currency: 'USDT', amount: new Money('-1000') },
        { account: 'house:funding', currency: 'USDT', amount: new Money('1000') },
      ]);
      const req = parseTrade({
        key: 'b',
        account: 'house:funding',
        side: 'buy',
        asset: 'BTC',
        quoteAmount: '1000',
      });
      assert.deepEqual(tradeMarket(l, req, new Money('60000.25'), FEE), {
        key: 'b',
        price: '60000.25',
        baseQty: '0.01664993',
        quoteQty: '1000',
        fee: '0.00001666',
        feeCurrency: 'BTC',
      });
      assert.equal(l.balance('house:funding', 'BTC').toFixed(), '0.01664993');
      assert.equal(l.balance('house:funding', 'USDT').toFixed(), '0');
      assert.equal(l.audit().conserved, true);
    });
  });

  describe('price walk', () => {
    it('moves at most 0.1% per tick, to the cent', () => {
      const p = new Money('60000');
      assert.equal(nextPrice(p, 0).toFixed(), '59940');
      assert.equal(nextPrice(p, 0.5).toFixed(), '60000');
      assert.equal(nextPrice(p, 0.999999).toFixed(), '60059.99');
      assert.equal(nextPrice(new Money('3000.01'), 0.75).toFixed(), '3001.51');
    });

    it('never reaches zero', () => {
      let p = new Money('0.02');
      for (let i = 0; i < 1000; i++) p = nextPrice(p, 0);
      assert.ok(p.gt(0));
      assert.equal(nextPrice(new Money('0.01'), 0).toFixed(), '0.01');
    });
  });
});
