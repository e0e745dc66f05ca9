/*
 * The regulator page (监管查询): plain browser JavaScript, no framework, no build step, no request but to this
 * gateway's own JSON API. The API key is entered once and kept in this tab's sessionStorage; it travels only in
 * the X-API-Key header (never in a URL, so it reaches no log, history or Referer). Everything the page shows is
 * built with textContent, never innerHTML, so nothing the API returns can run as markup.
 */
'use strict';

(function () {
  const KEY_ITEM = 'gec.regulator.apiKey';
  const SERIAL = /^[0-9A-Z]{17}\d{4}(0[1-9]|1[0-2])\d{7}[WSHBGO][TN]$/;

  const $ = (id) => document.getElementById(id);

  /** An element with attributes and children (strings become text nodes). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'dataset') Object.assign(el.dataset, value);
      else el.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  /** `YYYY-MM-DD HH:mm:ss` in Asia/Shanghai (UTC+8, no daylight saving), as every time on the page. */
  function shanghai(iso) {
    if (!iso) return '—';
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) return String(iso);
    return new Date(ms + 8 * 3600000).toISOString().slice(0, 19).replace('T', ' ');
  }
  const grouped = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : String(n ?? '—'));
  const kwh = (n) => `${grouped(n)} kWh (${grouped(n / 1000)} MWh)`;

  const badge = (ok) =>
    h('span', { class: `badge ${ok ? 'pass' : 'fail'}` }, ok ? '✔ PASS 通过' : '✘ FAIL 未通过');

  function table(rows) {
    return h(
      'table',
      {},
      rows.filter(Boolean).map(([label, value]) => h('tr', {}, h('th', {}, label), h('td', {}, value))),
    );
  }

  /** A link that searches for `value` as `kind`. */
  const searchLink = (kind, value) =>
    value ? h('button', { type: 'button', class: 'link', dataset: { kind, value } }, value) : '—';

  // ---- The API ---------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem) {
      super(problem && problem.detail ? problem.detail : `HTTP ${status}`);
      this.status = status;
      this.code = problem && problem.code;
    }
  }

  async function api(path, accept) {
    const key = sessionStorage.getItem(KEY_ITEM);
    if (!key) throw new ApiError(401, { code: 'API_KEY_MISSING', detail: 'enter your API key' });
    const response = await fetch(path, {
      headers: { 'X-API-Key': key, Accept: accept || 'application/json' },
      credentials: 'omit',
      cache: 'no-store',
    });
    const text = await response.text();
    if (!response.ok) {
      let problem;
      try {
        problem = JSON.parse(text);
      } catch {
        problem = undefined;
      }
      if (response.status === 401) showKeyForm('密钥无效或已吊销 The key is unknown or revoked');
      throw new ApiError(response.status, problem);
    }
    return accept === 'text/html' ? text : JSON.parse(text);
  }

  const path = (template, value) => template.replace('{}', encodeURIComponent(value));

  // ---- Session ---------------------------------------------------------------------------------------------

  function showKeyForm(message) {
    sessionStorage.removeItem(KEY_ITEM);
    $('app').hidden = true;
    $('session').hidden = true;
    $('key-section').hidden = false;
    $('key-error').hidden = !message;
    $('key-error').textContent = message || '';
  }

  async function enter(key) {
    sessionStorage.setItem(KEY_ITEM, key);
    try {
      await api('/v1/audit/chain?from=0&to=0');
    } catch (error) {
      if (error.status !== 401) {
        showKeyForm(
          error.status === 403
            ? '该密钥不是监管方或管理员密钥 This key may not read the audit endpoints'
            : `无法验证密钥 Could not check the key: ${error.message}`,
        );
      }
      return;
    }
    $('key-section').hidden = true;
    $('app').hidden = false;
    $('session').hidden = false;
    $('session-info').textContent = `已登录（密钥 ${key.slice(0, 8)}…） Signed in`;
  }

  // ---- Search ----------------------------------------------------------------------------------------------

  function guessKind(value) {
    if (SERIAL.test(value)) return 'serial';
    if (/^VCH-/.test(value)) return 'voucher';
    return 'trade-or-participant';
  }

  async function search(kind, value) {
    const result = $('result');
    result.replaceChildren(h('p', { class: 'note' }, '查询中… Searching…'));
    try {
      let shown;
      if (kind === 'auto') kind = guessKind(value);
      if (kind === 'trade-or-participant') {
        shown = await showTrade(value).catch((error) => {
          if (error.status === 404) return showParticipant(value);
          throw error;
        });
      } else {
        shown = await {
          serial: showSerial,
          trade: showTrade,
          voucher: showVoucher,
          participant: showParticipant,
        }[kind](value);
      }
      result.replaceChildren(shown);
    } catch (error) {
      result.replaceChildren(
        h(
          'p',
          { class: 'fail', id: 'search-error' },
          `${error.status || ''} ${error.code || ''} ${error.message}`,
        ),
      );
    }
  }

  const KIND_ZH = {
    ISSUED: '注册绿证',
    SPLIT: '拆分',
    TRANSFERRED: '转让',
    LISTED: '挂牌',
    DELISTED: '撤牌',
    SOLD: '售出',
    TRADE_ATTESTED: '交易存证（托管）',
    VOUCHER_RELEASED: '凭证交付',
    VOUCHER_CLAIMED: '凭证核销',
    VOUCHER_REVOKED: '凭证撤销',
    RETURNED: '退回',
    REDEEMED: '兑付/核销',
    EXCHANGED: '绿电兑换',
    EXPIRED: '过期',
    WITHDRAWN: '撤回',
    CHANGED: '变更',
  };

  /** A provenance's timeline: each step with its time, what happened, and its ledger proof. */
  function timeline(events) {
    return h(
      'ol',
      { class: 'timeline' },
      events.map((e) =>
        h(
          'li',
          { dataset: { kind: e.kind } },
          h('span', { class: 'when' }, shanghai(e.committedAt)),
          h('span', { class: 'kind' }, `${KIND_ZH[e.kind] || e.kind} ${e.kind}`),
          h('div', {}, e.detail),
          h(
            'div',
            { class: 'proof mono' },
            `${e.transaction} · block ${e.blockNumber} · ${e.validationCode} · ${e.mspId} · tx ${e.txId}`,
          ),
        ),
      ),
    );
  }

  function provenanceView(p) {
    const i = p.issuance;
    return h(
      'div',
      {},
      table([
        ['序列号 Serial', h('span', { class: 'mono' }, p.serial)],
        ['所在批次 Lot now', h('span', { class: 'mono' }, p.lotId)],
        ['状态 Status', p.status],
        ['持有人 Holder', searchLink('participant', p.owner)],
        i && [
          '签发 Issuance',
          `${i.unitId} · ${i.productionMonth} · ${grouped(i.certificates)} MWh · attested ${i.attestedKwh} kWh · ${i.issuedByMsp}`,
        ],
        p.vouchers.length > 0 && [
          '绿电凭证 Vouchers',
          p.vouchers.map((v) => searchLink('voucher', v.voucherId)),
        ],
      ]),
      h('h3', {}, '溯源时间线 Provenance timeline (from the ledger, times Asia/Shanghai)'),
      timeline(p.timeline),
    );
  }

  async function showSerial(serial) {
    const [p, redemption] = await Promise.all([
      api(path('/v1/certificates/{}/provenance', serial)),
      api(path('/v1/certificates/{}/redemption', serial)),
    ]);
    return h(
      'div',
      { id: 'serial-view' },
      h('h2', {}, '绿证溯源 Certificate provenance'),
      provenanceView(p),
      h('h3', {}, '兑付信息核查 Redemption check (from the ledger)'),
      table([
        ['已兑付 Redeemed', redemption.redeemed ? '是 yes' : '否 no'],
        redemption.redeemed && [
          '详情 Detail',
          `${redemption.redemptionId} · ${redemption.beneficiary} · ${redemption.purpose}`,
        ],
        ['已兑换 Exchanged', redemption.exchanged ? '是 yes' : '否 no'],
      ]),
    );
  }

  function hashRow(label, check) {
    return [
      label,
      h('span', {}, badge(check.matches), ' ', h('span', { class: 'mono' }, `ledger ${check.ledger}`)),
    ];
  }

  async function showTrade(tradeId) {
    const trade = await api(path('/v1/trades/{}', tradeId));
    const view = h(
      'div',
      { id: 'trade-view' },
      h('h2', {}, `交易 Trade ${trade.tradeId}`),
      table([
        ['状态 State', trade.state],
        ['类型 Kind', trade.kind],
        ['售电方 Seller', searchLink('participant', trade.seller)],
        ['购电方 Buyer', searchLink('participant', trade.buyer)],
        ['电量 Volume', kwh(trade.volumeKwh)],
        ['交割期间 Delivery', `${shanghai(trade.deliveryStart)} — ${shanghai(trade.deliveryEnd)} (UTC+8)`],
        ['上链 Ledger', trade.txId ? `tx ${trade.txId} · block ${trade.blockNumber}` : '—'],
        ['绿电凭证 Voucher', searchLink('voucher', trade.voucherId)],
      ]),
    );
    if (trade.state !== 'COMMITTED') {
      view.append(h('p', { class: 'note' }, '未上链的交易没有存证证据 Only committed trades have evidence.'));
      return view;
    }
    const evidence = await api(path('/v1/trades/{}/evidence', tradeId));
    view.append(
      h('h3', {}, '存证证据核验 Evidence check ', badge(evidence.ok)),
      table([
        hashRow('交易数据哈希 Trade data hash', evidence.tradeDataHash),
        hashRow('校验数据哈希 Check data hash', evidence.checkDataHash),
        hashRow('计量证据摘要 Meter evidence digest', evidence.meterEvidenceDigest),
        ...evidence.meters.map((m) => [`计量点 Meter ${m.meterId} ${m.period}`, badge(m.matches)]),
      ]),
    );
    view.dataset.evidence = evidence.ok ? 'pass' : 'fail';
    return view;
  }

  async function showVoucher(voucherId) {
    const [v, provenance] = await Promise.all([
      api(path('/v1/vouchers/{}', voucherId)),
      api(path('/v1/vouchers/{}/provenance', voucherId)),
    ]);
    const printArea = h('div', { id: 'print-area' });
    const printButton = h('button', { type: 'button', id: 'show-print' }, '打印版 Printable voucher');
    printButton.addEventListener('click', () =>
      showPrint(v.id, printArea).catch((error) =>
        printArea.replaceChildren(h('p', { class: 'fail' }, error.message)),
      ),
    );
    return h(
      'div',
      { id: 'voucher-view' },
      h('h2', {}, `绿电凭证 Voucher ${v.id}`),
      table([
        ['状态 Status', v.status],
        ['持有人 Consumer', searchLink('participant', v.consumer)],
        ['售电方 Seller', searchLink('participant', v.seller)],
        ['交易 Trade', searchLink('trade', v.trade.tradeId)],
        ['电量 Volume', kwh(v.volumeKwh)],
        [
          '签发 Issued',
          `${shanghai(v.ledger.committedAt)} (UTC+8) · block ${v.ledger.blockNumber} · tx ${v.ledger.txId}`,
        ],
      ]),
      printButton,
      printArea,
      provenance.lots.map((lot) =>
        h('section', {}, h('h3', {}, `来源批次 Source lot ${lot.lotId}`), timeline(lot.timeline)),
      ),
    );
  }

  /** The printable voucher, fetched with the key and shown in a frame of this page; printed from there. */
  async function showPrint(voucherId, area) {
    const html = await api(path('/v1/vouchers/{}/print', voucherId), 'text/html');
    const frame = h('iframe', {
      class: 'print',
      id: 'print-frame',
      title: 'Printable voucher',
      sandbox: 'allow-same-origin allow-modals',
    });
    frame.srcdoc = html;
    const print = h('button', { type: 'button', id: 'print-now' }, '打印 Print');
    print.addEventListener('click', () => frame.contentWindow.print());
    area.replaceChildren(print, frame);
  }

  async function showParticipant(id) {
    const [p, vouchers] = await Promise.all([
      api(path('/v1/participants/{}', id)),
      api(`/v1/vouchers?consumer=${encodeURIComponent(id)}&limit=50`),
    ]);
    return h(
      'div',
      { id: 'participant-view' },
      h('h2', {}, `市场主体 Participant ${p.id}`),
      table([
        ['名称 Name', p.name],
        ['类型 Kind', p.kind],
        ['地区 Region', p.region],
        ['状态 Status', p.status],
        ['登记 Registered', `${shanghai(p.registeredAt)} (UTC+8)`],
        vouchers.items.length > 0 && [
          '绿电凭证 Vouchers',
          vouchers.items.map((v) =>
            h('div', {}, searchLink('voucher', v.id), ` ${v.status} · ${kwh(v.volumeKwh)}`),
          ),
        ],
      ]),
    );
  }

  // ---- Integrity -------------------------------------------------------------------------------------------

  /** Run one integrity check and show its answer (or why it could not be made) in the integrity area. */
  async function integrityCheck(progress, load, render) {
    const out = $('integrity-result');
    out.replaceChildren(h('p', { class: 'note' }, progress));
    try {
      out.replaceChildren(render(await load()));
    } catch (error) {
      out.replaceChildren(h('p', { class: 'fail' }, error.message));
    }
  }

  function chainView(r) {
    const failure = r.firstFailure;
    return h(
      'div',
      { id: 'chain-result', dataset: { ok: String(r.ok) } },
      h('h3', {}, '区块链校验 Chain verification ', badge(r.ok)),
      table([
        ['区块 Blocks', `${r.from} – ${r.to} (${grouped(r.blocksChecked)} checked, height ${r.height})`],
        [
          '检查项 Checks',
          r.checks
            .filter((c) => c.performed)
            .map((c) => c.check)
            .join(', '),
        ],
        failure && ['首个失败 First failure', `block ${failure.blockNumber}: ${failure.check}`],
        r.nextFrom !== null && ['继续 Continue', `from block ${r.nextFrom}`],
      ]),
    );
  }

  function projectionView(r) {
    return h(
      'div',
      { id: 'projection-result', dataset: { ok: String(r.ok) } },
      h('h3', {}, '副本比对 Projection check ', badge(r.ok)),
      r.differences.length === 0
        ? h('p', {}, '每张表都与链上一致 Every projected table matches the ledger.')
        : table(
            r.differences
              .slice(0, 50)
              .map((d) => [
                `${d.table} ${d.key}`,
                `${d.kind}${d.field ? ` ${d.field}` : ''}: ledger ${d.ledger ?? '—'}, stored ${d.stored ?? '—'}`,
              ]),
          ),
      r.count > r.differences.length && h('p', { class: 'note' }, `${r.count} differences in all`),
    );
  }

  // ---- Wiring ----------------------------------------------------------------------------------------------

  document.addEventListener('DOMContentLoaded', () => {
    $('key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const key = $('key-input').value.trim();
      $('key-input').value = '';
      if (key) void enter(key);
    });
    $('forget-key').addEventListener('click', () => showKeyForm());
    $('search-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void search($('search-kind').value, $('search-input').value.trim());
    });
    $('result').addEventListener('click', (event) => {
      const link = event.target.closest('button.link');
      if (!link) return;
      $('search-kind').value = link.dataset.kind;
      $('search-input').value = link.dataset.value;
      void search(link.dataset.kind, link.dataset.value);
    });
    $('check-chain').addEventListener('click', () => {
      void integrityCheck('校验中… Verifying…', () => api('/v1/audit/chain'), chainView);
    });
    $('check-projection').addEventListener('click', () => {
      void integrityCheck('比对中… Comparing…', () => api('/v1/audit/projection'), projectionView);
    });
    const key = sessionStorage.getItem(KEY_ITEM);
    if (key) void enter(key);
  });
})();
