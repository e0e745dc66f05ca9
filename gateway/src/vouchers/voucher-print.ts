import type { VoucherDto } from './vouchers.dto';

const escape = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STATUS_ZH: Record<string, string> = {
  IN_CUSTODY: '托管中',
  RELEASED: '已交付',
  CLAIMED: '已核销（作为消纳依据）',
  REVOKED: '已撤销',
};

/** Shanghai calendar date of an instant, `YYYY-MM-DD`. */
function shanghaiDate(iso: string, endExclusive = false): string {
  const ms = Date.parse(iso) - (endExclusive ? 1 : 0);
  return new Date(ms + 8 * 3600000).toISOString().slice(0, 10);
}

/**
 * A printable, self-contained HTML page of a voucher (绿电凭证), Chinese and English labels, no external
 * resources, with how to verify it against the ledger.
 */
export function voucherHtml(voucher: VoucherDto, verifyUrl: string): string {
  const row = (zh: string, en: string, value: string) =>
    `<tr><th>${zh}<br><small>${en}</small></th><td>${value}</td></tr>`;
  const lots = voucher.sourceLots
    .map(
      (l) =>
        `<tr><td class="mono">${escape(l.serialStart)}</td><td class="mono">${escape(l.serialEnd)}</td>` +
        `<td class="num">${escape(l.volume)}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>绿电凭证 Green Electricity Voucher ${escape(voucher.id)}</title>
<style>
  body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 2em auto; max-width: 52em; color: #111; }
  h1 { text-align: center; margin-bottom: 0; } h1 small { display: block; font-size: 0.5em; color: #444; }
  table { border-collapse: collapse; width: 100%; margin: 1em 0; }
  th, td { border: 1px solid #999; padding: 0.4em 0.6em; text-align: left; vertical-align: top; }
  th { background: #f1f5f1; width: 14em; } small { color: #555; font-weight: normal; }
  .mono { font-family: "DejaVu Sans Mono", monospace; word-break: break-all; } .num { text-align: right; }
  .status { font-weight: bold; } .hint { font-size: 0.9em; color: #333; border-top: 1px solid #999; padding-top: 0.5em; }
  @media print { body { margin: 0; } }
</style>
</head>
<body>
<h1>绿电凭证<small>Green Electricity Consumption Voucher</small></h1>
<table>
${row('凭证编号', 'Voucher ID', `<span class="mono">${escape(voucher.id)}</span>`)}
${row('状态', 'Status', `<span class="status">${escape(STATUS_ZH[voucher.status] ?? voucher.status)} (${escape(voucher.status)})</span>${voucher.statusReason ? ` — ${escape(voucher.statusReason)}` : ''}`)}
${row('用电企业（持有人）', 'Consumer (holder)', escape(voucher.consumer))}
${row('售电方', 'Seller', escape(voucher.seller))}
${row('绿电电量', 'Volume', `${escape(voucher.volumeKwh.toLocaleString('en-US'))} kWh`)}
${row('消纳期间', 'Period', `${escape(shanghaiDate(voucher.periodStart))} — ${escape(shanghaiDate(voucher.periodEnd, true))} (Asia/Shanghai)`)}
${row('交易编号', 'Trade', `<span class="mono">${escape(voucher.trade.tradeId)}</span> (${escape(voucher.trade.kind)})`)}
${row('交易价格', 'Price (as reported)', `${escape((voucher.priceFen / 100).toFixed(2))} ${escape(voucher.currency)}`)}
${row('交易数据哈希', 'Trade data hash (SHA-256)', `<span class="mono">${escape(voucher.trade.tradeDataHash ?? '—')}</span>`)}
${row('上链交易号', 'Transaction ID', `<span class="mono">${escape(voucher.ledger.txId)}</span>`)}
${row('区块高度', 'Block', escape(voucher.ledger.blockNumber))}
${row('签发时间', 'Issued at', escape(voucher.ledger.committedAt))}
</table>
<h2>来源绿证序列号 <small>Source certificate serial ranges</small></h2>
<table>
<tr><th>起始序列号<br><small>First serial</small></th><th>结束序列号<br><small>Last serial</small></th><th>张数 (MWh)<br><small>Certificates</small></th></tr>
${lots}
</table>
<p class="hint">核验方式 Verification: 凭交易号在联盟链上查询该交易（区块 ${escape(voucher.ledger.blockNumber)}），或访问
<span class="mono">${escape(verifyUrl)}</span>；链上凭证 <span class="mono">vouchers:GetVoucher("${escape(voucher.id)}")</span>
应与本页内容一致。Look the transaction id up on the consortium ledger (block ${escape(voucher.ledger.blockNumber)}) or at the
address above; the on-chain voucher must match this page.</p>
</body>
</html>
`;
}
