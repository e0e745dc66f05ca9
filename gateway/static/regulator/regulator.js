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

  /** GET `path` with the key in the X-API-Key header: the response, or an ApiError with its problem document. */
  async function request(path, accept) {
    const key = sessionStorage.getItem(KEY_ITEM);
    if (!key) throw new ApiError(401, { code: 'API_KEY_MISSING', detail: 'enter your API key' });
    const response = await fetch(path, {
      headers: { 'X-API-Key': key, Accept: accept },
      credentials: 'omit',
      cache: 'no-store',
    });
    if (!response.ok) {
      let problem;
      try {
        problem = JSON.parse(await response.text());
      } catch {
        problem = undefined;
      }
      if (response.status === 401) showKeyForm('密钥无效或已吊销 The key is unknown or revoked');
      throw new ApiError(response.status, problem);
    }
    return response;
  }

  async function api(path, accept = 'application/json') {
    const text = await (await request(path, accept)).text();
    return accept === 'text/html' ? text : JSON.parse(text);
  }

  /**
   * Save the CSV at `path` as a file. A link to it could not carry the key (it must not be in a URL), so the page
   * fetches it with the header and hands the browser the bytes as a Blob, named as the gateway names the file.
   */
  async function download(path) {
    const response = await request(path, 'text/csv');
    const disposition = response.headers.get('Content-Disposition') || '';
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] || 'statistic.csv';
    const url = URL.createObjectURL(await response.blob());
    const link = h('a', { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
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

  // ---- Statistics ------------------------------------------------------------------------------------------
  //
  // Charts are inline SVG drawn here from the statistics endpoints' JSON (no chart library, no other origin);
  // every bar carries its number (data-value) and a tooltip, every chart a title and description for screen
  // readers, and a button that saves the same statistic as CSV (format=csv of the same request).

  const SVG_NS = 'http://www.w3.org/2000/svg';

  /** An SVG element with attributes and children, as `h` makes HTML ones. */
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) el.setAttribute(name, String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  const MEASURES = [
    ['issued', '签发 Issued'],
    ['traded', '交易 Traded'],
    ['redeemed', '兑付 Redeemed'],
    ['exchanged', '兑换 Exchanged'],
    ['expired', '过期 Expired'],
    ['withdrawn', '撤回 Withdrawn'],
  ];
  const DIMENSION_LABEL = {
    province: '省份 Province',
    technology: '技术类型 Technology',
    participant: '市场主体 Participant',
  };
  const PROVINCE_ZH = {
    110000: '北京',
    120000: '天津',
    130000: '河北',
    140000: '山西',
    150000: '内蒙古',
    210000: '辽宁',
    220000: '吉林',
    230000: '黑龙江',
    310000: '上海',
    320000: '江苏',
    330000: '浙江',
    340000: '安徽',
    350000: '福建',
    360000: '江西',
    370000: '山东',
    410000: '河南',
    420000: '湖北',
    430000: '湖南',
    440000: '广东',
    450000: '广西',
    460000: '海南',
    500000: '重庆',
    510000: '四川',
    520000: '贵州',
    530000: '云南',
    540000: '西藏',
    610000: '陕西',
    620000: '甘肃',
    630000: '青海',
    640000: '宁夏',
    650000: '新疆',
  };
  /** Colours of stacked groups (the last for every group beyond them, 其他 Other). */
  const PALETTE = ['#2e7d32', '#1565c0', '#ef6c00', '#6a1b9a', '#00838f', '#ad1457', '#9e9e9e'];
  const OTHER = '\u0000other';
  const mwh = (n) => `${grouped(n)} MWh`;
  const MAX_MONTHS = 120;
  const MAX_BARS = 25;

  /** `YYYY-MM` of the Asia/Shanghai month `offset` months from this one. */
  function shanghaiMonth(offset) {
    const now = new Date(Date.now() + 8 * 3600000);
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1)).toISOString().slice(0, 7);
  }

  /** Every month `YYYY-MM` from `from` up to `to` (excluded). */
  function monthsBetween(from, to) {
    const months = [];
    let [year, month] = from.split('-').map(Number);
    for (let text = from; text < to && months.length <= MAX_MONTHS;) {
      months.push(text);
      month += 1;
      if (month > 12) [year, month] = [year + 1, 1];
      text = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
    }
    return months;
  }

  /** A group's key (as the API names it) and what the page calls it. */
  function groupOf(dimension, row) {
    const key = row[dimension] ?? '';
    if (dimension === 'participant') {
      return { key, label: row.participantName ? `${row.participantName} (${key})` : key || '—' };
    }
    if (dimension === 'province')
      return { key, label: key ? `${PROVINCE_ZH[key] || ''} ${key}`.trim() : '—' };
    return { key, label: key || '—' };
  }

  /** 0, then the smallest of 1, 2, 5 × 10ⁿ at or above `value`: the top of a value axis. */
  function axisTop(value) {
    if (value <= 0) return 1;
    const power = 10 ** Math.floor(Math.log10(value));
    return [1, 2, 5, 10].map((f) => f * power).find((top) => top >= value);
  }

  /** A `<figure>` with an SVG chart labelled for screen readers (role img, its title and description). */
  function figure(id, title, description, width, height, body, extra) {
    return h(
      'figure',
      { class: 'chart', id },
      svg(
        'svg',
        {
          viewBox: `0 0 ${width} ${height}`,
          width: '100%',
          role: 'img',
          'aria-labelledby': `${id}-title ${id}-desc`,
        },
        svg('title', { id: `${id}-title` }, title),
        svg('desc', { id: `${id}-desc` }, description),
        body,
      ),
      h('figcaption', {}, title, ' — ', description),
      extra,
    );
  }

  /**
   * One measure by month as bars; stacked by group when `series` has more than one. series: [{ key, label,
   * colour, values: Map(month → certificates) }].
   */
  function monthlyChart(measure, label, months, series) {
    const W = 360;
    const H = 200;
    const left = 50;
    const right = 8;
    const top = 18;
    const bottom = 34;
    const plotWidth = W - left - right;
    const plotHeight = H - top - bottom;
    const totals = months.map((m) => series.reduce((sum, s) => sum + (s.values.get(m) || 0), 0));
    const total = totals.reduce((a, b) => a + b, 0);
    // At least 2, so that the half-way tick is a whole certificate.
    const axis = axisTop(Math.max(2, ...totals));
    const y = (value) => top + plotHeight - (value / axis) * plotHeight;
    const slot = plotWidth / Math.max(months.length, 1);
    const barWidth = Math.max(2, slot * 0.7);
    const every = Math.ceil(months.length / 6);
    const parts = [];
    // The value axis: 0, half and the top, with grid lines.
    for (const tick of [0, axis / 2, axis]) {
      parts.push(
        svg('line', { class: 'grid', x1: left, x2: W - right, y1: y(tick), y2: y(tick) }),
        svg('text', { class: 'tick', x: left - 4, y: y(tick) + 4, 'text-anchor': 'end' }, grouped(tick)),
      );
    }
    months.forEach((month, i) => {
      const x = left + i * slot + (slot - barWidth) / 2;
      let base = 0;
      for (const s of series) {
        const value = s.values.get(month) || 0;
        if (value <= 0) continue;
        const name = s.label ? `${month} · ${s.label}` : month;
        parts.push(
          svg(
            'rect',
            {
              class: 'bar',
              x,
              y: y(base + value),
              width: barWidth,
              height: Math.max(1, y(base) - y(base + value)),
              fill: s.colour,
              'data-month': month,
              'data-group': s.key,
              'data-value': value,
            },
            svg('title', {}, `${name}: ${mwh(value)}`),
          ),
        );
        base += value;
      }
      if (totals[i] > 0 && months.length <= MAX_BARS) {
        parts.push(
          svg(
            'text',
            {
              class: 'value',
              x: x + barWidth / 2,
              y: y(totals[i]) - 3,
              'text-anchor': 'middle',
              'data-month': month,
            },
            grouped(totals[i]),
          ),
        );
      }
      if (i % every === 0) {
        parts.push(
          svg(
            'text',
            { class: 'tick', x: x + barWidth / 2, y: H - bottom + 14, 'text-anchor': 'middle' },
            month,
          ),
        );
      }
    });
    parts.push(svg('line', { class: 'axis', x1: left, x2: W - right, y1: y(0), y2: y(0) }));
    const busiest = totals.indexOf(Math.max(...totals));
    const description =
      total > 0
        ? `${mwh(total)} in ${months.length} months; most in ${months[busiest]} (${mwh(totals[busiest])})`
        : `none in ${months.length} months`;
    const chart = figure(`chart-${measure}`, `${label} (MWh)`, description, W, H, parts);
    chart.dataset.total = String(total);
    return chart;
  }

  /** Bars across, one per item: [{ key, label, value, text, inner? }] (inner: a part of value, drawn inside). */
  function barsAcross(id, title, description, items, innerLabel) {
    const W = 760;
    const row = 24;
    const labelWidth = 230;
    const textWidth = 190;
    const H = items.length * row + 8;
    const plotWidth = W - labelWidth - textWidth - 12;
    const axis = axisTop(Math.max(0, ...items.map((item) => item.value)));
    const parts = items.map((item, i) => {
      const y = 4 + i * row;
      const width = (item.value / axis) * plotWidth;
      const label = item.label.length > 30 ? `${item.label.slice(0, 29)}…` : item.label;
      return svg(
        'g',
        { class: 'item', 'data-key': item.key, 'data-value': item.value },
        svg('title', {}, `${item.label}: ${item.text}`),
        svg('text', { class: 'label', x: labelWidth - 6, y: y + 15, 'text-anchor': 'end' }, label),
        svg('rect', { class: 'bar', x: labelWidth, y: y + 3, width: Math.max(1, width), height: row - 8 }),
        item.inner > 0 &&
          svg('rect', {
            class: 'bar inner',
            x: labelWidth,
            y: y + 3,
            width: Math.max(1, (item.inner / axis) * plotWidth),
            height: row - 8,
            'data-value': item.inner,
          }),
        svg('text', { class: 'value', x: labelWidth + width + 6, y: y + 15 }, item.text),
      );
    });
    return figure(
      id,
      title,
      description,
      W,
      H,
      parts,
      innerLabel && h('p', { class: 'note legend' }, h('span', { class: 'swatch inner' }), innerLabel),
    );
  }

  /** A heading, a CSV download of `path`, and what `render` makes of `path`'s JSON once it is read. */
  function statisticBlock(id, heading, path, render, load = () => api(path)) {
    const body = h('div', {}, h('p', { class: 'note' }, '统计中… Counting…'));
    const save = h('button', { type: 'button', class: 'download' }, '下载 CSV Download CSV');
    const separator = path.includes('?') ? '&' : '?';
    save.addEventListener('click', () =>
      download(`${path}${separator}format=csv`).catch((error) =>
        body.prepend(h('p', { class: 'fail' }, `CSV: ${error.message}`)),
      ),
    );
    const block = h(
      'section',
      { id, class: 'statistic', dataset: { state: 'loading' } },
      h('h3', {}, heading, ' ', save),
      body,
    );
    load().then(
      (data) => {
        body.replaceChildren(render(data));
        block.dataset.state = 'ready';
      },
      (error) => {
        body.replaceChildren(
          h('p', { class: 'fail' }, `${error.status || ''} ${error.code || ''} ${error.message}`),
        );
        block.dataset.state = 'failed';
      },
    );
    return block;
  }

  /** The certificate statistic by month: a chart per measure, stacked by the chosen dimension's largest groups. */
  function certificateCharts(months, chosen) {
    return (statistic) => {
      // Unstacked when the answer is by month only: the stacked one had too many rows for JSON (see below).
      const dimension = chosen && statistic.groupBy.includes(chosen) ? chosen : '';
      const groups = new Map();
      for (const row of statistic.rows) {
        const { key, label } = dimension ? groupOf(dimension, row) : { key: '', label: '' };
        const group = groups.get(key) || { key, label, size: 0, rows: [] };
        group.size += MEASURES.reduce((sum, [m]) => sum + row[m], 0);
        group.rows.push(row);
        groups.set(key, group);
      }
      const ranked = [...groups.values()].sort((a, b) => b.size - a.size);
      const shown = ranked.length <= PALETTE.length ? ranked : ranked.slice(0, PALETTE.length - 1);
      const rest = ranked.slice(shown.length);
      const stacks = shown.map((g, i) => ({ ...g, colour: PALETTE[i] }));
      if (rest.length > 0) {
        stacks.push({
          key: OTHER,
          label: `其他 Other (${rest.length})`,
          colour: PALETTE[PALETTE.length - 1],
          rows: rest.flatMap((g) => g.rows),
        });
      }
      const charts = MEASURES.map(([measure, label]) =>
        monthlyChart(
          measure,
          label,
          months,
          stacks.map((s) => {
            const values = new Map();
            for (const row of s.rows) values.set(row.month, (values.get(row.month) || 0) + row[measure]);
            return { key: s.key, label: s.label, colour: s.colour, values };
          }),
        ),
      );
      return h(
        'div',
        {},
        table([
          ['合计 Totals', MEASURES.map(([m, label]) => `${label} ${mwh(statistic.totals[m])}`).join(' · ')],
        ]),
        chosen &&
          !dimension &&
          h(
            'p',
            { class: 'note', id: 'not-stacked' },
            `按月与${DIMENSION_LABEL[chosen]}的行数超过 JSON 上限，柱状图仅按月；CSV 含全部行。 More rows by month and ` +
              `${DIMENSION_LABEL[chosen]} than a JSON answer holds: the bars are by month only; the CSV has every row.`,
          ),
        dimension &&
          h(
            'p',
            { class: 'legend' },
            stacks.map((s) =>
              h(
                'span',
                { class: 'legend-item' },
                h('span', { class: `swatch c${PALETTE.indexOf(s.colour)}` }),
                s.label,
              ),
            ),
          ),
        h('div', { class: 'charts' }, charts),
      );
    };
  }

  /** The certificate statistic by one dimension, as a table with a totals row. */
  function groupTable(dimension) {
    return (statistic) =>
      h(
        'table',
        { id: 'group-table' },
        h(
          'tr',
          {},
          h('th', {}, DIMENSION_LABEL[dimension]),
          MEASURES.map(([, label]) => h('th', { class: 'number' }, label)),
        ),
        statistic.rows.map((row) =>
          h(
            'tr',
            { dataset: { group: row[dimension] ?? '' } },
            h('td', {}, groupOf(dimension, row).label),
            MEASURES.map(([m]) => h('td', { class: 'number', dataset: { measure: m } }, mwh(row[m]))),
          ),
        ),
        h(
          'tr',
          { class: 'totals' },
          h('th', {}, '合计 Total'),
          MEASURES.map(([m]) => h('th', { class: 'number' }, mwh(statistic.totals[m]))),
        ),
      );
  }

  function greenChart(statistic) {
    if (statistic.rows.length === 0)
      return h('p', { class: 'note' }, '区间内无绿电消费 No green consumption attested in the range.');
    const rows = [...statistic.rows].sort(
      (a, b) => b.greenKwh - a.greenKwh || (a.consumer < b.consumer ? -1 : 1),
    );
    const shown = rows.slice(0, 30);
    return h(
      'div',
      {},
      barsAcross(
        'chart-green',
        '绿电消费 Green consumption per consumer (kWh)',
        `${mwh(statistic.totals.greenKwh / 1000)} attested for ${grouped(rows.length)} consumers in ${grouped(statistic.totals.vouchers)} vouchers; ${mwh(statistic.totals.claimedKwh / 1000)} claimed`,
        shown.map((row) => ({
          key: row.consumer,
          label: row.consumerName ? `${row.consumerName} (${row.consumer})` : row.consumer,
          value: row.greenKwh,
          inner: row.claimedKwh,
          text: kwh(row.greenKwh),
        })),
        '已核销 Claimed as consumption evidence',
      ),
      rows.length > shown.length &&
        h(
          'p',
          { class: 'note' },
          `最多的 ${shown.length} 个 The ${shown.length} largest of ${grouped(rows.length)}; the CSV has every consumer.`,
        ),
    );
  }

  function rejectedChart(statistic) {
    if (statistic.rows.length === 0)
      return h('p', { class: 'note' }, '区间内无被拒交易 No trade rejected in the range.');
    return barsAcross(
      'chart-rejected',
      '被拒交易 Rejected trades by failed check',
      `${grouped(statistic.totals.trades)} trades rejected (${kwh(statistic.totals.volumeKwh)}); a trade counts under each check it failed`,
      statistic.rows.map((row) => ({
        key: row.code ? `${row.check}:${row.code}` : row.check,
        label: row.code ? `${row.check} (${row.code})` : row.check,
        value: row.trades,
        text: `${grouped(row.trades)} trades · ${grouped(row.volumeKwh)} kWh`,
      })),
    );
  }

  function showStatistics() {
    const from = $('stat-from').value;
    const to = $('stat-to').value;
    const dimension = $('stat-group').value;
    const out = $('statistics-result');
    const months = monthsBetween(from, to);
    if (!from || !to || months.length === 0 || months.length > MAX_MONTHS) {
      out.replaceChildren(
        h(
          'p',
          { class: 'fail', id: 'statistics-error' },
          `选择 1 至 ${MAX_MONTHS} 个月 Choose 1 to ${MAX_MONTHS} months (From before To)`,
        ),
      );
      return;
    }
    const range = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    const certificates = `/v1/statistics/certificates?${range}&groupBy=${dimension ? `month,${dimension}` : 'month'}`;
    out.replaceChildren(
      statisticBlock(
        'stat-certificates',
        `绿证 Certificates by month${dimension ? ` and ${DIMENSION_LABEL[dimension]}` : ''}, ${from} – ${months[months.length - 1]}`,
        certificates,
        certificateCharts(months, dimension),
        // Month × participant can hold more rows than a JSON answer (422 STATISTIC_TOO_LARGE): then by month only.
        () =>
          api(certificates).catch((error) => {
            if (error.code !== 'STATISTIC_TOO_LARGE') throw error;
            return api(`/v1/statistics/certificates?${range}&groupBy=month`);
          }),
      ),
      dimension &&
        statisticBlock(
          'stat-groups',
          `绿证 Certificates by ${DIMENSION_LABEL[dimension]}`,
          `/v1/statistics/certificates?${range}&groupBy=${dimension}`,
          groupTable(dimension),
        ),
      statisticBlock(
        'stat-green',
        '绿电消费 Green consumption per consumer',
        `/v1/statistics/green-consumption?${range}`,
        greenChart,
      ),
      statisticBlock(
        'stat-rejected',
        '被拒交易 Rejected trades by failed check',
        `/v1/statistics/rejected-trades?${range}`,
        rejectedChart,
      ),
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
    // The last 12 Asia/Shanghai months, this one included, until the regulator picks a range.
    $('stat-from').value = shanghaiMonth(-11);
    $('stat-to').value = shanghaiMonth(1);
    $('statistics-form').addEventListener('submit', (event) => {
      event.preventDefault();
      showStatistics();
    });
    const key = sessionStorage.getItem(KEY_ITEM);
    if (key) void enter(key);
  });
})();
